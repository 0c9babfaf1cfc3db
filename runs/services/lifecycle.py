"""Runs as people handle them: create (the checks of docs/api-contract.md §1.5), dispatch or execute inline, cancel,
delete. Every change is audited."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from decisionflows.models import Channel, DecisionFlow
from decisionflows.selectors import flow_runnable_version
from kaireon import broker
from kaireon.errors import Conflict, ErrorCode, ValidationError, not_found
from kaireon.models import Tenant
from kaireon.services import Actor, audit_record, snapshot
from runs import datapath, hooks, locks
from runs.error_codes import RunErrorCode
from runs.models import ChunkStatus, ExecutionMode, Run, RunChunk, RunStatus
from runs.services.execution import TRANSIENT_ERRORS, run_chunk_fail, run_chunk_process, run_finalize, run_plan
from segments.locks import segment_lock_in_use
from segments.selectors import segment_view_exists, validated_filters

logger = logging.getLogger(__name__)


# --- create --------------------------------------------------------------------------------


@transaction.atomic
def run_create(
    *,
    tenant: Tenant,
    actor: Actor,
    decision_flow_id: str,
    segment_id: str | None = None,
    filters: Mapping[str, Any] | None = None,
    name: str = "",
    channel_ids: Iterable[str] | None = None,
    dispatch: bool = True,
) -> Run:
    """Validate as docs/api-contract.md §1.5 says, snapshot the flow's published version and store a pending run;
    planning is enqueued after commit (``dispatch=False`` leaves that to the caller)."""
    if not decision_flow_id:
        raise ValidationError({"decision_flow_id": "This field is required."}, code=ErrorCode.REQUIRED)
    if not segment_id and filters is None:
        raise ValidationError(
            {"segment_id": "This field is required (or give ad-hoc filters)."}, code=ErrorCode.REQUIRED
        )
    flow = DecisionFlow.objects.filter(tenant=tenant, pk=decision_flow_id).first()
    if flow is None:
        raise not_found("Decision flow", decision_flow_id, field="decision_flow_id")
    segment = None
    if segment_id:
        # Kept from deletion until the run is stored (with the filters frozen by then), rather
        # than pulled from under the check.
        segment = segment_lock_in_use(tenant=tenant, segment_id=segment_id)
        if segment is None:
            raise not_found("Segment", segment_id, field="segment_id")
        if not segment.has_view or not segment_view_exists(segment):
            raise ValidationError(
                {"segment_id": "Segment has no materialized view: save it with filters first."},
                code=RunErrorCode.SEGMENT_WITHOUT_VIEW,
            )
    clean_filters = None
    if filters is not None and segment is None:
        clean_filters = validated_filters(tenant=tenant, filters=filters)
    version = flow_runnable_version(flow)
    if version is None:
        raise ValidationError(
            {
                "decision_flow_id": (
                    f"Decision flow {flow.key!r} is not runnable: it must be active with a published version."
                )
            },
            code=RunErrorCode.FLOW_NOT_RUNNABLE,
        )
    batch_channels = Channel.objects.filter(tenant=tenant).active().batch_compatible()
    wanted = list(dict.fromkeys(channel_ids or []))
    if wanted:
        found = set(batch_channels.filter(pk__in=wanted).values_list("pk", flat=True))
        missing = [c for c in wanted if c not in found]
        if missing:
            raise ValidationError(
                {"channel_ids": f"Not active batch-compatible channels of this tenant: {', '.join(missing)}."},
                code=RunErrorCode.CHANNELS_NOT_BATCH,
            )
    else:
        # All of them, as they are now: a channel activated while the run goes is not added to
        # its later chunks (what a run targets is fixed at creation).
        wanted = list(batch_channels.order_by("pk").values_list("pk", flat=True))
        if not wanted:
            message = "No batch-compatible channels found (delivery mode file, integration or manual)."
            raise ValidationError(message, code=RunErrorCode.NO_BATCH_CHANNELS)
    audience_name = segment.name if segment else "ad-hoc filter"
    run = Run.objects.create(
        tenant=tenant,
        name=name or f"{flow.name} x {audience_name}",
        decision_flow=flow,
        flow_version=version,
        segment=segment,
        segment_name=audience_name,
        filters=clean_filters,
        segment_filters=segment.filters if segment is not None else None,
        channel_ids=wanted,
        created_by=actor.actor_label if actor else "system",
    )
    audit_record(tenant=tenant, actor=actor, action="create", instance=run, after=snapshot(run))
    if dispatch:
        transaction.on_commit(lambda: run_dispatch(run_id=run.pk))
    return run


def run_dispatch(*, run_id: str) -> str:
    """Hand the run to the workers; with the broker down, run it in a background thread of
    this process instead and record that (the broker-down fallback of docs/api-contract.md §2.9). Returns the mode."""
    from runs import tasks

    def inline(_: Exception) -> None:
        Run.objects.filter(pk=run_id).update(execution_mode=ExecutionMode.INLINE, updated_at=timezone.now())
        run_execute_in_thread(run_id=run_id)

    sent = broker.send(lambda: tasks.plan_run.delay(run_id), instead=f"executing run {run_id} inline", fallback=inline)
    return ExecutionMode.CELERY if sent else ExecutionMode.INLINE


def run_execute_in_thread(*, run_id: str) -> threading.Thread:
    def target() -> None:
        try:
            run_execute_inline(run_id=run_id)
        finally:
            connection.close()

    thread = threading.Thread(target=target, name=f"run-{run_id}", daemon=True)
    thread.start()
    return thread


@transaction.atomic
def run_start_inline(*, tenant: Tenant, actor: Actor, run: Run) -> None:
    """Execute-inline (docs/api-contract.md §2.9): a pending run executes in a background thread of this
    process (after commit). Any other status is a 409."""
    locked = locks.run_for_update().get(pk=run.pk, tenant=tenant)
    if locked.status != RunStatus.PENDING:
        raise Conflict(
            f"Run is {locked.status}; only a pending run can be executed.",
            code=RunErrorCode.NOT_PENDING,
            current_status=locked.status,
        )
    Run.objects.filter(pk=run.pk).update(execution_mode=ExecutionMode.INLINE, updated_at=timezone.now())
    audit_record(
        tenant=tenant,
        actor=actor,
        action="execute_inline",
        instance=locked,
        before={"execution_mode": locked.execution_mode},
        after={"execution_mode": ExecutionMode.INLINE},
    )
    transaction.on_commit(lambda: run_execute_in_thread(run_id=run.pk))


def run_execute_inline(*, run_id: str, progress: Callable[[Run], None] | None = None) -> Run:
    """Plan, process every chunk and finalise in this process, one chunk after another."""
    for chunk_id in run_plan(run_id=run_id, dispatch=False):
        _chunk_inline(chunk_id)
        if progress is not None:
            progress(Run.objects.get(pk=run_id))
    run_finalize(run_id=run_id)
    return Run.objects.get(pk=run_id)


def _chunk_inline(chunk_id: int) -> None:
    """A chunk with the worker's retries (RUNS_CHUNK_MAX_RETRIES; a lost connection backs off),
    then, still failing, recorded failed: the run ends completed_with_errors, never running."""
    error = ""
    for attempt in range(settings.RUNS_CHUNK_MAX_RETRIES + 1):
        try:
            run_chunk_process(chunk_id=chunk_id, worker="inline", finalize=False)
            return
        except Exception as exc:  # noqa: BLE001  (as the task's autoretry_for=(Exception,))
            error = f"{type(exc).__name__}: {exc}"
            logger.warning("inline chunk %s, attempt %s: %s", chunk_id, attempt + 1, error)
            if isinstance(exc, TRANSIENT_ERRORS):
                time.sleep(min(settings.RUNS_CHUNK_RETRY_BACKOFF * 2**attempt, 30))
    run_chunk_fail(chunk_id=chunk_id, error=error)


# --- cancel, delete ------------------------------------------------------------------------


@transaction.atomic
def run_cancel(*, tenant: Tenant, actor: Actor, run: Run, reason: str = "") -> Run:
    """pending/running → cancelled; chunks not yet done are not processed. 409 otherwise."""
    locked = locks.run_for_update().get(pk=run.pk, tenant=tenant)
    if locked.status not in (RunStatus.PENDING, RunStatus.RUNNING):
        raise Conflict(
            f"Run is {locked.status}; only pending or running runs can be cancelled.",
            code=RunErrorCode.ALREADY_FINISHED,
            current_status=locked.status,
        )
    now = timezone.now()
    Run.objects.filter(pk=run.pk).update(status=RunStatus.CANCELLED, completed_at=now, updated_at=now)
    RunChunk.objects.filter(run=run, status=ChunkStatus.PENDING).update(status=ChunkStatus.CANCELLED, finished_at=now)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="cancel",
        instance=run,
        before={"status": locked.status},
        after={"status": RunStatus.CANCELLED},
        reason=reason,
    )
    run.refresh_from_db()
    return run


@transaction.atomic
def run_delete(*, tenant: Tenant, actor: Actor, instance: Run, reason: str = "") -> None:
    """Remove a finished run with its chunks and recommendation rows (one DELETE by run id).

    Its chunks are locked before the run, the order a chunk's own write takes (chunk, then run):
    a chunk still rolling back its write after a cancel finishes first, no deadlock."""
    locks.chunks_of_run_for_delete(run_id=instance.pk)
    locked = locks.run_for_delete().get(pk=instance.pk, tenant=tenant)
    if not locked.is_finished:
        raise Conflict(
            f"Run is {locked.status}; cancel it before deleting it.",
            code=RunErrorCode.NOT_FINISHED,
            current_status=locked.status,
        )
    if not locked.is_discarded:
        datapath.contact_history_keep(run=locked)
    hooks.run_before_delete(locked)
    rows = datapath.recommendations_delete(locked.pk)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="delete",
        instance=locked,
        before={**snapshot(locked, exclude=["summary", "error_context"]), "recommendations": rows},
        reason=reason,
    )
    locked.delete()
