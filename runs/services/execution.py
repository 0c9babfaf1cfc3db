"""Runs as the workers execute them: plan, process chunks, finalise, recover.

Locking (runs.locks): a chunk row is locked while its rows are written; the run row is locked
by the counter UPDATE and by finalise/cancel. Order is always chunk, then run.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from kaireon import broker
from kaireon.services import audit_record
from runs import datapath, hooks, locks, selectors
from runs.models import ChunkStatus, Run, RunChunk, RunStatus

logger = logging.getLogger(__name__)

# A lost or busy database connection: worth another try (the task's retries, then the reaper's
# re-dispatch; each try counts, at most RUNS_RECOVERY_MAX_ATTEMPTS), where any other error fails
# the run at once with its reason. The tasks retry on these classes; ``_is_transient`` narrows
# SQLite's OperationalError, which also says "no such table", to a locked database.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError) and connection.vendor == "sqlite":
        return "locked" in str(exc) or "busy" in str(exc)
    return isinstance(exc, TRANSIENT_ERRORS)


def _start_stage(run_id: str, *, status: RunStatus, stage: str) -> bool:
    """Count one attempt at a stage (planning a pending run, finalising a running one) as a
    worker starts it; past RUNS_RECOVERY_MAX_ATTEMPTS the run fails instead. False when there is
    nothing to do (another status) or the run just failed. Only executions count, never the
    reaper's re-sends: a message waiting behind a long queue is not a failed attempt.

    The conditional UPDATE waits while another worker holds the row (planning or finalising
    it), then finds its status changed and counts nothing."""
    counted = Run.objects.filter(pk=run_id, status=status).update(recovery_attempts=F("recovery_attempts") + 1)
    if not counted:
        return False
    attempts = Run.objects.values_list("recovery_attempts", flat=True).get(pk=run_id)
    if attempts <= settings.RUNS_RECOVERY_MAX_ATTEMPTS:
        return True
    last = (Run.objects.values_list("error_context", flat=True).get(pk=run_id) or {}).get("last_error", "")
    message = f"{stage.capitalize()} did not complete in {attempts - 1} attempts" + (
        f"; last error: {last}" if last else " (it kept failing on the database)."
    )
    run_fail(run_id=run_id, stage=stage, message=message, expected=status)
    return False


def _note_transient(run_id: str, exc: BaseException) -> None:
    """Best effort: keep the last transient error for the message a later failure gives."""
    try:
        Run.objects.filter(pk=run_id).update(error_context={"last_error": f"{type(exc).__name__}: {exc}"[:1000]})
    except Exception:  # noqa: BLE001  (the database may be what is failing)
        logger.warning("run %s: could not record a transient error (%s)", run_id, exc)


# --- plan ----------------------------------------------------------------------------------


def run_plan(*, run_id: str, dispatch: bool = True) -> list[int]:
    """pending → running: snapshot the audience into chunks (ids at this moment, selected by the
    filters frozen at creation) and, after commit, enqueue one task per chunk.

    Idempotent: only a pending run is planned; a second call returns [] and does nothing. An
    error ends the run ``failed`` with the reason, in a transaction of its own (the planning one
    is rolled back whole); a lost connection is left to the task's retries and the reaper."""
    if not _start_stage(run_id, status=RunStatus.PENDING, stage="planning"):
        return []
    try:
        return _plan(run_id=run_id, dispatch=dispatch)
    except Exception as exc:
        if _is_transient(exc):
            _note_transient(run_id, exc)
            raise
        run_fail(run_id=run_id, stage="planning", exc=exc, expected=RunStatus.PENDING)
        return []


@transaction.atomic
def _plan(*, run_id: str, dispatch: bool) -> list[int]:
    run = locks.run_for_update().select_related("tenant").filter(pk=run_id).first()
    if run is None or run.status != RunStatus.PENDING:
        return []
    total, chunk_count = _snapshot(run)
    now = timezone.now()
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        total_customers=total,
        chunk_count=chunk_count,
        recovery_attempts=0,
        started_at=now,
        updated_at=now,
    )
    audit_record(
        tenant=run.tenant,
        actor=None,
        action="start",
        instance=run,
        before={"status": RunStatus.PENDING},
        after={"status": RunStatus.RUNNING, "total_customers": total, "chunks": chunk_count},
    )
    chunk_ids = list(RunChunk.objects.filter(run=run).order_by("seq").values_list("pk", flat=True))
    if not chunk_ids:
        transaction.on_commit(lambda: run_finalize(run_id=run_id), robust=True)
    elif dispatch:
        transaction.on_commit(lambda: _dispatch_chunks(chunk_ids), robust=True)
    return chunk_ids


def _snapshot(run: Run) -> tuple[int, int]:
    """Write the run's chunks page by page of its audience (memory bounded by a page, whatever
    the audience's size); returns (customers, chunks). A page holds at least
    RUNS_TARGET_CHUNKS chunks of the largest size, so a first page that is not full is the whole
    audience and sizes the chunks, and a full one means chunks of the largest size."""
    page_size = max(datapath.SNAPSHOT_PAGE, settings.RUNS_TARGET_CHUNKS * settings.RUNS_CHUNK_SIZE_MAX)
    size = 0
    seq = total = 0
    pending = np.zeros(0, dtype=np.int64)
    for page in datapath.audience_ids(run, page_size=page_size):
        if not size:
            size = chunk_size(int(page.size) if page.size < page_size else page_size)
        total += int(page.size)
        pending = np.concatenate([pending, page]) if pending.size else page
        whole = pending.size - pending.size % size if page.size == page_size else pending.size
        chunks = [_chunk(run, seq + i, pending[start : start + size]) for i, start in enumerate(range(0, whole, size))]
        RunChunk.objects.bulk_create(chunks, batch_size=100)
        seq += len(chunks)
        pending = pending[whole:]
    if pending.size:
        RunChunk.objects.bulk_create([_chunk(run, seq, pending)])
        seq += 1
    return total, seq


def chunk_size(total: int) -> int:
    """Customers per chunk: the setting when given, else ~RUNS_TARGET_CHUNKS chunks per run."""
    if settings.RUNS_CHUNK_SIZE:
        return int(settings.RUNS_CHUNK_SIZE)
    wanted = -(-total // settings.RUNS_TARGET_CHUNKS)  # ceiling division
    return min(max(wanted, settings.RUNS_CHUNK_SIZE_MIN), settings.RUNS_CHUNK_SIZE_MAX)


def _chunk(run: Run, seq: int, ids: np.ndarray) -> RunChunk:
    return RunChunk(
        run=run,
        seq=seq,
        first_customer_id=int(ids[0]),
        last_customer_id=int(ids[-1]),
        customer_ids=RunChunk.pack(ids),
        size=int(ids.size),
    )


def _dispatch_chunks(chunk_ids: Iterable[int]) -> None:
    """After planning commits. A broker that drops out here loses nothing: the planned run's
    pending chunks are what the reaper's "forgotten" pass sends again."""
    from runs import tasks

    def fan_out() -> None:
        for chunk_id in chunk_ids:
            tasks.process_chunk.delay(chunk_id)

    broker.send(fan_out, instead="the reaper will send the chunks")


@transaction.atomic
def run_fail(
    *, run_id: str, stage: str, exc: BaseException | None = None, message: str = "", expected: RunStatus | None = None
) -> bool:
    """pending/running → failed, with the error and what the run was doing (stage, exception,
    traceback for admins). Its own transaction, so call it after the failed work rolled back.
    Returns False, changing nothing, when the run has finished or is no longer ``expected``
    (planning committed meanwhile, say)."""
    run = locks.run_for_update().select_related("tenant").filter(pk=run_id).first()
    if run is None or run.is_finished or (expected is not None and run.status != expected):
        return False
    if exc is not None:
        message = f"{type(exc).__name__}: {exc}"
    now = timezone.now()
    context: dict[str, Any] = {"stage": stage, "status_before": run.status}
    if exc is not None:
        context["exception"] = type(exc).__name__
        context["traceback"] = "".join(traceback.format_exception(exc))[-4000:]
    if run.recovery_attempts:
        context["recovery_attempts"] = run.recovery_attempts
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.FAILED,
        error=f"Run failed during {stage}: {message}",
        error_context=context,
        completed_at=now,
        updated_at=now,
    )
    RunChunk.objects.filter(run=run, status=ChunkStatus.PENDING).update(status=ChunkStatus.CANCELLED, finished_at=now)
    audit_record(
        tenant=run.tenant,
        actor=None,
        action="fail",
        instance=run,
        before={"status": run.status},
        after={"status": RunStatus.FAILED, "error": message, "stage": stage},
    )
    return True


# --- chunks --------------------------------------------------------------------------------


def _claim(chunk_id: int, worker: str) -> int | None:
    """pending (or running with an expired lease) → running, for a running run; returns the
    attempt number this caller now owns, or None when the chunk is not to be processed."""
    now = timezone.now()
    claimable = Q(status=ChunkStatus.PENDING) | Q(status=ChunkStatus.RUNNING, lease_expires_at__lt=now)
    updated = RunChunk.objects.filter(claimable, pk=chunk_id, run__status=RunStatus.RUNNING).update(
        status=ChunkStatus.RUNNING,
        attempts=F("attempts") + 1,
        lease_expires_at=now + timedelta(seconds=settings.RUNS_CHUNK_LEASE_SECONDS),
        worker=worker[:200],
        started_at=now,
        error="",
    )
    if not updated:
        return None
    return int(RunChunk.objects.values_list("attempts", flat=True).get(pk=chunk_id))


def run_chunk_process(*, chunk_id: int, worker: str = "", finalize: bool = True) -> bool:
    """Decide for one chunk and write its rows; returns True when it was the run's last chunk.

    Idempotent: the rows and the chunk's ``done`` commit together, and the commit happens only
    if this attempt still owns the chunk (same attempt number, still running) — a chunk run
    twice writes its rows once."""
    attempt = _claim(chunk_id, worker)
    if attempt is None:
        return False
    try:
        return _chunk_decide_and_write(chunk_id, attempt, finalize=finalize)
    except BaseException as exc:
        # Give the claim back so the retry (or the reaper) can take the chunk at once.
        RunChunk.objects.filter(pk=chunk_id, status=ChunkStatus.RUNNING, attempts=attempt).update(
            status=ChunkStatus.PENDING, lease_expires_at=None, error=f"{type(exc).__name__}: {exc}"[:4000]
        )
        raise


def _chunk_decide_and_write(chunk_id: int, attempt: int, *, finalize: bool) -> bool:
    chunk = RunChunk.objects.select_related("run__tenant", "run__flow_version").get(pk=chunk_id)
    run = chunk.run
    context = datapath.run_context(run)
    outcome = datapath.chunk_decide(tenant=run.tenant, chunk=chunk, context=context)
    rows = datapath.recommendation_frame(run.pk, outcome, context)
    with transaction.atomic():
        owned = locks.chunk_for_update().filter(pk=chunk_id, status=ChunkStatus.RUNNING, attempts=attempt).exists()
        if not owned:
            return False
        datapath.recommendations_write(rows)
        # The run row is locked only now, after the write (the counter UPDATE below locks it
        # anyway): a cancel either committed before this, and the rows are rolled back, or waits
        # for this commit, and the rows landed before the cancel. Never rows after a cancel.
        status = locks.run_for_update().filter(pk=run.pk).values_list("status", flat=True).first()
        if status != RunStatus.RUNNING:
            transaction.set_rollback(True)
            last = None
        else:
            RunChunk.objects.filter(pk=chunk_id).update(
                status=ChunkStatus.DONE,
                recommendation_count=rows.height,
                funnel=outcome.funnel,
                breakdown=datapath.recommendation_breakdown(rows),
                finished_at=timezone.now(),
                lease_expires_at=None,
            )
            last = _count_chunk(run.pk, processed=outcome.customers, recommendations=rows.height, failed=0)
    if last is None:
        RunChunk.objects.filter(pk=chunk_id, status=ChunkStatus.RUNNING, attempts=attempt).update(
            status=ChunkStatus.CANCELLED, finished_at=timezone.now(), lease_expires_at=None
        )
        return False
    if last and finalize:
        _enqueue_finalize(run.pk)
    return last


def _count_chunk(run_id: str, *, processed: int, recommendations: int, failed: int) -> bool:
    """Add a finished chunk to the run's counters; True for the chunk that completes the count.

    The UPDATE locks the run row, so concurrent chunks count one after another and exactly one
    of them reads the final total."""
    Run.objects.filter(pk=run_id).update(
        processed_customers=F("processed_customers") + processed,
        failed_customers=F("failed_customers") + failed,
        recommendation_count=F("recommendation_count") + recommendations,
        chunks_done=F("chunks_done") + (0 if failed else 1),
        chunks_failed=F("chunks_failed") + (1 if failed else 0),
        updated_at=timezone.now(),
    )
    done, failed_chunks, count = Run.objects.values_list("chunks_done", "chunks_failed", "chunk_count").get(pk=run_id)
    return done + failed_chunks == count


def run_chunk_fail(*, chunk_id: int, error: str) -> bool:
    """A chunk that exhausted its retries: failed with its error, its customers counted as
    failed. Returns True when it completed the run's count (then the run is finalised)."""
    with transaction.atomic():
        # The UPDATE locks the chunk row itself.
        updated = (
            RunChunk.objects.filter(pk=chunk_id)
            .exclude(status__in=[ChunkStatus.DONE, ChunkStatus.FAILED, ChunkStatus.CANCELLED])
            .update(status=ChunkStatus.FAILED, error=error[:4000], finished_at=timezone.now(), lease_expires_at=None)
        )
        if not updated:
            return False
        chunk = RunChunk.objects.get(pk=chunk_id)
        last = _count_chunk(chunk.run_id, processed=chunk.size, recommendations=0, failed=chunk.size)
    if last:
        _enqueue_finalize(chunk.run_id)
    return last


def _enqueue_finalize(run_id: str) -> None:
    from runs import tasks

    def send() -> None:
        broker.send(
            lambda: tasks.finalize_run.delay(run_id),
            instead=f"finalising run {run_id} in this process",
            fallback=lambda _: run_finalize(run_id=run_id),
        )

    transaction.on_commit(send)


# --- finish --------------------------------------------------------------------------------


def run_finalize(*, run_id: str) -> Run | None:
    """running → completed / completed_with_errors / failed: the summary by SQL aggregates,
    the contact history of what was recommended, the final status. Idempotent: only a running
    run whose chunks are all finished is finalised, once. An error fails the run with its reason
    (in a transaction of its own); a lost connection is left to the retries and the reaper."""
    ready = Run.objects.filter(pk=run_id, chunk_count=F("chunks_done") + F("chunks_failed"))
    if ready.exists() and not _start_stage(run_id, status=RunStatus.RUNNING, stage="finalising"):
        return Run.objects.filter(pk=run_id).first()
    try:
        return _finalize(run_id=run_id)
    except Exception as exc:
        if _is_transient(exc):
            _note_transient(run_id, exc)
            raise
        run_fail(run_id=run_id, stage="finalising", exc=exc, expected=RunStatus.RUNNING)
        return Run.objects.filter(pk=run_id).first()


def _finalize(*, run_id: str) -> Run | None:
    with transaction.atomic():
        run = locks.run_for_update().select_related("tenant").filter(pk=run_id).first()
        if run is None or run.status != RunStatus.RUNNING:
            return run
        if run.chunks_done + run.chunks_failed < run.chunk_count:
            return run
        now = timezone.now()
        context: dict[str, Any] = {}
        if run.chunks_failed:
            failed = list(
                RunChunk.objects.filter(run=run, status=ChunkStatus.FAILED).order_by("seq").values_list("seq", "error")
            )
            context = {
                "stage": "chunks",
                "failed_chunks": [seq for seq, _ in failed[:100]],
                "first_error": failed[0][1] if failed else "",
            }
        if run.chunk_count and run.chunks_done == 0:
            status = RunStatus.FAILED
            error = f"Every chunk failed; nothing could be processed. First error: {context.get('first_error') or '?'}"
        elif run.chunks_failed:
            status = RunStatus.COMPLETED_WITH_ERRORS
            error = (
                f"{run.chunks_failed} of {run.chunk_count} chunks failed ({run.failed_customers} customers). "
                f"First error: {context['first_error']}"
            )
        else:
            status = RunStatus.COMPLETED
            error = ""
        # e.g. a campaign's volume constraints: they drop rows, so they go before the summary
        extra = hooks.run_before_summary(run) if status != RunStatus.FAILED else {}
        # a hook that answered may have changed the rows: then they are counted again
        summary = {**selectors.run_summary_compute(run=run, completed_at=now, recount=bool(extra)), **extra}
        Run.objects.filter(pk=run.pk).update(
            status=status,
            summary=summary,
            error=error,
            error_context=context,
            recommendation_count=summary["total_recommendations"],
            completed_at=now,
            updated_at=now,
        )
        audit_record(
            tenant=run.tenant,
            actor=None,
            action="finish",
            instance=run,
            before={"status": RunStatus.RUNNING},
            after={
                "status": status,
                "processed_customers": run.processed_customers,
                "recommendations": summary["total_recommendations"],
            },
        )
        # files and deliveries of a campaign run: after commit, so they see the final rows
        transaction.on_commit(lambda: hooks.run_after_finish(run_id))
    run.refresh_from_db()
    return run


# --- recovery ------------------------------------------------------------------------------


def runs_reap(*, stale_after: timedelta | None = None) -> dict[str, int]:
    """Re-dispatch what was lost: chunks whose lease expired (their worker died), pending
    chunks of running runs that no worker took (a lost message), runs stuck in pending, and
    runs whose chunks are all finished but that were not finalised. Bounded: a chunk past its
    attempts fails, a run handed out RUNS_RECOVERY_MAX_ATTEMPTS times fails with the reason."""
    from runs import tasks

    now = timezone.now()
    stale_after = stale_after or timedelta(seconds=settings.RUNS_CHUNK_LEASE_SECONDS)
    expired = list(
        RunChunk.objects.filter(
            status=ChunkStatus.RUNNING, lease_expires_at__lt=now, run__status=RunStatus.RUNNING
        ).values_list("pk", "attempts")
    )
    # Every claim counts an attempt: a chunk whose worker keeps dying (out of memory, say) has
    # had its tries once it has been claimed as often as its task may retry.
    exhausted = [pk for pk, attempts in expired if attempts > settings.RUNS_CHUNK_MAX_RETRIES]
    for chunk_id in exhausted:
        run_chunk_fail(
            chunk_id=chunk_id,
            error=(
                "Its lease expired on every attempt: the worker was killed or lost, or took longer than "
                f"RUNS_CHUNK_LEASE_SECONDS ({settings.RUNS_CHUNK_LEASE_SECONDS} s)."
            ),
        )
    forgotten = list(
        RunChunk.objects.filter(
            status=ChunkStatus.PENDING, run__status=RunStatus.RUNNING, run__started_at__lt=now - stale_after
        ).values_list("pk", flat=True)
    )
    retried = [pk for pk, attempts in expired if attempts <= settings.RUNS_CHUNK_MAX_RETRIES] + forgotten
    for chunk_id in retried:
        tasks.process_chunk.delay(chunk_id)
    plans = _resend(
        Run.objects.filter(status=RunStatus.PENDING, updated_at__lt=now - stale_after), task=tasks.plan_run, now=now
    )
    finals = _resend(
        Run.objects.filter(
            status=RunStatus.RUNNING,
            chunk_count=F("chunks_done") + F("chunks_failed"),
            updated_at__lt=now - stale_after,
        ),
        task=tasks.finalize_run,
        now=now,
    )
    return {"chunks": len(retried), "chunks_failed": len(exhausted), "plans": plans, "finalize": finals}


def _resend(runs: QuerySet[Run], *, task: Any, now: datetime) -> int:
    """Send each run's stage again, once per staleness window (``updated_at`` is touched, by a
    conditional UPDATE that skips a run whose status moved on). The stage counts its attempts
    when a worker starts it (``_start_stage``), so a queue's backlog never fails a run."""
    sent = 0
    for run_id, status in runs.values_list("pk", "status"):
        if Run.objects.filter(pk=run_id, status=status).update(updated_at=now):
            task.delay(run_id)
            sent += 1
    return sent
