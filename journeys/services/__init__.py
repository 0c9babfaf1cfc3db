"""Every state change of journeys (STYLE: services for writes). Split by subject:

- ``plans``: plans and versions (create, edit, publish, delete);
- ``enrolment``: runs started for one contact, in bulk, or by the public trigger;
- ``runs``: pause / resume / cancel, one run or in bulk;
- ``trigger``: the public trigger (docs/api-contract.md §5.5) and its idempotency keys;
- ``ticks``: the clock and the tick's batches.
"""

from __future__ import annotations

from journeys.services.enrolment import execution_run_bulk_execute, execution_run_execute
from journeys.services.plans import plan_create, plan_delete, plan_draft_problems, plan_publish, plan_update
from journeys.services.runs import execution_run_cancel, execution_run_pause, execution_run_resume, runs_bulk_cancel
from journeys.services.ticks import execution_run_events_verify, journey_batch_process, journeys_drain, journeys_tick
from journeys.services.trigger import execution_run_trigger, request_hash

__all__ = [
    "execution_run_bulk_execute",
    "execution_run_cancel",
    "execution_run_events_verify",
    "execution_run_execute",
    "execution_run_pause",
    "execution_run_resume",
    "execution_run_trigger",
    "journey_batch_process",
    "journeys_drain",
    "journeys_tick",
    "plan_create",
    "plan_delete",
    "plan_draft_problems",
    "plan_publish",
    "plan_update",
    "request_hash",
    "runs_bulk_cancel",
]
