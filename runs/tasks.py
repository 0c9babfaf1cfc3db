"""Thin Celery tasks: ids in, one service call each. Every task is idempotent by a conditional
state transition (see the services), so redelivery and the reaper are harmless."""

from __future__ import annotations

import os
import socket
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from runs import services


class ChunkTask(Task):
    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        """Retries exhausted: record the chunk as failed (the run may end completed_with_errors)."""
        chunk_id = args[0] if args else kwargs["chunk_id"]
        services.run_chunk_fail(chunk_id=chunk_id, error=f"{type(exc).__name__}: {exc}")


@shared_task(name="runs.plan", autoretry_for=services.TRANSIENT_ERRORS, retry_backoff=True, max_retries=3)
def plan_run(run_id: str) -> None:
    """Snapshot the audience into chunks and fan them out (idempotent: pending runs only). A
    planning error fails the run; a lost connection is retried, then left to the reaper."""
    services.run_plan(run_id=run_id)


@shared_task(
    bind=True,
    base=ChunkTask,
    name="runs.process_chunk",
    # Any error is retried: a chunk may fail on a lost connection as well as on a deadlock; the
    # retries are bounded and the last failure is recorded on the chunk by ChunkTask.on_failure.
    autoretry_for=(Exception,),
    max_retries=settings.RUNS_CHUNK_MAX_RETRIES,
    retry_backoff=settings.RUNS_CHUNK_RETRY_BACKOFF,
    retry_jitter=True,
)
def process_chunk(self: Task, chunk_id: int) -> None:
    """Decide for one chunk and write its rows (idempotent: claimed by attempt, written once)."""
    worker = f"{socket.gethostname()}:{os.getpid()}:{self.request.id}"
    services.run_chunk_process(chunk_id=chunk_id, worker=worker)


@shared_task(name="runs.finalize", autoretry_for=services.TRANSIENT_ERRORS, retry_backoff=True, max_retries=5)
def finalize_run(run_id: str) -> None:
    """Summary, contact history and final status (idempotent: running runs only, once)."""
    services.run_finalize(run_id=run_id)


@shared_task(name="runs.reap")
def reap() -> None:
    """Re-dispatch chunks of dead workers and lost messages (periodic, on beat)."""
    services.runs_reap()
