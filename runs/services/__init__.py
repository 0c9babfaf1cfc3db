"""Batch runs: create, plan, process chunks, finalise, cancel, delete, recover.

Lifecycle (DESIGN.md, "The run pipeline"): ``run_create`` stores a pending run and, after
commit, enqueues planning; ``run_plan`` snapshots the audience into RunChunk rows and fans them
out; each ``run_chunk_process`` writes its recommendations and bumps the run's counters in one
transaction, and the chunk that completes the count triggers ``run_finalize``. ``runs_reap``
re-dispatches what a dead worker or a lost message left behind.

Locking: a chunk row is locked (FOR UPDATE) while its rows are written; the run row is locked
by the counter UPDATE and by finalise/cancel. Order is always chunk, then run.
"""

from runs.services.execution import (
    TRANSIENT_ERRORS,
    chunk_size,
    run_chunk_fail,
    run_chunk_process,
    run_fail,
    run_finalize,
    run_plan,
    runs_reap,
)
from runs.services.lifecycle import (
    run_cancel,
    run_create,
    run_delete,
    run_dispatch,
    run_execute_in_thread,
    run_execute_inline,
    run_start_inline,
)

__all__ = [
    "TRANSIENT_ERRORS",
    "chunk_size",
    "run_cancel",
    "run_chunk_fail",
    "run_chunk_process",
    "run_create",
    "run_delete",
    "run_dispatch",
    "run_execute_in_thread",
    "run_execute_inline",
    "run_fail",
    "run_finalize",
    "run_plan",
    "run_start_inline",
    "runs_reap",
]
