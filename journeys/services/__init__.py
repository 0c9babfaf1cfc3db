"""Every state change of journeys (STYLE: services for writes). Split by subject:

- ``plans``: plans and versions (create, edit, publish, delete);
- ``enrolment``: runs started for one contact, in bulk, or by the public trigger;
- ``runs``: pause / resume / cancel, one run or in bulk;
- ``trigger``: seed 004's public trigger and its idempotency keys;
- ``ticks``: the clock and the tick's batches.
"""

from __future__ import annotations

from journeys.services.enrolment import run_bulk_execute, run_execute
from journeys.services.plans import plan_create, plan_delete, plan_draft_problems, plan_publish, plan_update
from journeys.services.runs import run_cancel, run_pause, run_resume, runs_bulk_cancel
from journeys.services.ticks import journey_batch_process, journeys_drain, journeys_tick, run_events_verify
from journeys.services.trigger import request_hash, run_trigger

__all__ = [
    "journey_batch_process",
    "journeys_drain",
    "journeys_tick",
    "plan_create",
    "plan_delete",
    "plan_draft_problems",
    "plan_publish",
    "plan_update",
    "request_hash",
    "run_bulk_execute",
    "run_cancel",
    "run_events_verify",
    "run_execute",
    "run_pause",
    "run_resume",
    "run_trigger",
    "runs_bulk_cancel",
]
