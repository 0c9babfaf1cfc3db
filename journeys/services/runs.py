"""Pause, resume and cancel: one run, or every run matching filters (bulkCancel).

Run rows are locked by primary key, then the tenant row (the audit chain, taken last by
audit_record). The tick's batches lock run rows with SKIP LOCKED and nothing else, so they never
wait for these services and cannot deadlock with them: a pause waits for the batch holding its
run to commit, then sees the run as the batch left it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from journeys import bulk, events, locks, selectors
from journeys.models import (
    DUE_STATUSES,
    LIVE_STATUSES,
    ExecutionRun,
    ExecutionRunStatus,
    RunEvent,
)
from kaireon.errors import Conflict, NotFound, ValidationError
from kaireon.models import Tenant
from kaireon.services import Actor, audit_record

CANCEL_CHUNK = 2_000


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _locked_run(*, tenant: Tenant, run: ExecutionRun | uuid.UUID | str) -> ExecutionRun:
    run_id = run.pk if isinstance(run, ExecutionRun) else run
    locked = locks.run_for_update().filter(tenant=tenant, pk=run_id).first()
    if locked is None:
        raise NotFound("No such journey run.")
    return locked


_STATE_FIELDS = [
    "status",
    "paused_from",
    "wake_tick",
    "completed_at",
    "error",
    "event_seq",
    "event_head",
    "updated_at",
]


def _transition(
    *, tenant: Tenant, actor: Actor, run: ExecutionRun, verb: str, to: str, reason: str = "", **data: Any
) -> None:
    """Move a locked run to ``to``: one event (``paused``, ``resumed``, ``cancelled``) and one
    audit entry (``pause``, ``resume``, ``cancel``) with the reason."""
    before = run.status
    now = timezone.now()
    run.status, run.updated_at = to, now
    if to == ExecutionRunStatus.CANCELLED:
        run.paused_from, run.wake_tick, run.completed_at = "", None, now
    event_action = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[verb]
    event = events.append(
        run, tick=selectors.clock_tick(), action=event_action, now=now, reason=reason, data={"from": before, **data}
    )
    run.save(update_fields=_STATE_FIELDS)
    event.save(force_insert=True)
    audit_record(
        tenant=tenant,
        actor=actor,
        action=verb,
        instance=run,
        before={"status": before},
        after={"status": to},
        reason=reason,
    )


@transaction.atomic
def execution_run_pause(*, tenant: Tenant, actor: Actor, run: ExecutionRun | uuid.UUID | str) -> ExecutionRun:
    """pending, active or waiting → paused (the tick skips it; a wait's clock keeps running)."""
    locked = _locked_run(tenant=tenant, run=run)
    if locked.status not in DUE_STATUSES:
        raise Conflict(
            f"Run is {locked.status}; only pending, active or waiting runs can be paused.",
            current_status=locked.status,
        )
    locked.paused_from = locked.status
    _transition(tenant=tenant, actor=actor, run=locked, verb="pause", to=ExecutionRunStatus.PAUSED)
    return locked


@transaction.atomic
def execution_run_resume(*, tenant: Tenant, actor: Actor, run: ExecutionRun | uuid.UUID | str) -> ExecutionRun:
    """paused → the status it was paused in: active (due at the next tick), waiting (until its
    wake tick, which may already have passed) or pending."""
    locked = _locked_run(tenant=tenant, run=run)
    if locked.status != ExecutionRunStatus.PAUSED:
        raise Conflict(f"Run is {locked.status}; only a paused run can be resumed.", current_status=locked.status)
    to = locked.paused_from or ExecutionRunStatus.ACTIVE
    locked.paused_from = ""
    if to == ExecutionRunStatus.ACTIVE:
        locked.wake_tick = min(locked.wake_tick or 0, selectors.clock_tick())
    _transition(tenant=tenant, actor=actor, run=locked, verb="resume", to=to)
    return locked


@transaction.atomic
def execution_run_cancel(
    *, tenant: Tenant, actor: Actor, run: ExecutionRun | uuid.UUID | str, reason: str = ""
) -> ExecutionRun:
    """Any live run → cancelled; the reason goes into the run's events and the audit log."""
    locked = _locked_run(tenant=tenant, run=run)
    if locked.status not in LIVE_STATUSES:
        raise Conflict(f"Run is {locked.status}; it has already finished.", current_status=locked.status)
    _transition(tenant=tenant, actor=actor, run=locked, verb="cancel", to=ExecutionRunStatus.CANCELLED, reason=reason)
    return locked


@transaction.atomic
def runs_bulk_cancel(*, tenant: Tenant, actor: Actor, filters: Mapping[str, Any], reason: str = "") -> int:
    """Cancel every live run matching the filters of docs/api-contract.md §3.8 (at least one); returns how many.
    One audit entry for the whole operation, one event per run."""
    if not any(filters.get(key) for key in ("status", "plan_id", "contact_id", "started_after", "started_before")):
        raise ValidationError({"filters": "Give at least one filter: cancelling every run needs saying so per plan."})
    ids = list(
        selectors.runs_matching(tenant=tenant, filters=filters)
        .filter(status__in=sorted(LIVE_STATUSES))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    count = 0
    tick, now = selectors.clock_tick(), timezone.now()
    stamp = events.timestamp(now)
    for chunk in _chunks(ids, CANCEL_CHUNK):
        runs = list(locks.run_for_update().filter(pk__in=chunk, status__in=sorted(LIVE_STATUSES)).order_by("pk"))
        cancelled = []
        for run in runs:
            before = run.status
            run.status, run.paused_from, run.wake_tick = ExecutionRunStatus.CANCELLED, "", None
            run.completed_at = run.updated_at = now
            cancelled.append(
                events.row(
                    run, tick=tick, action="cancelled", now=now, stamp=stamp, reason=reason, data={"from": before}
                )
            )
        bulk.insert(RunEvent, events.COLUMNS, cancelled)
        bulk.update(ExecutionRun, runs, _STATE_FIELDS)
        count += len(runs)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="bulk_cancel",
        object_type="executionrun",
        object_id="bulk",
        after={"cancelled": count, "filters": dict(filters)},
        reason=reason,
    )
    return count
