"""One batch of the tick: claim due runs, take each through its steps until it waits, ends or
reaches the per-tick step limit, and write everything back in the transaction that claimed it.

Claim: ``SELECT … WHERE status IN (pending, active, waiting) AND wake_tick <= tick ORDER BY
wake_tick, id LIMIT n FOR NO KEY UPDATE SKIP LOCKED`` on PostgreSQL, so batch tasks on several
workers take disjoint runs and never wait for each other. On SQLite the same SELECT runs inside
a ``BEGIN IMMEDIATE`` transaction (settings: ``transaction_mode``): the database has one writer,
so no other batch can claim or change those rows until this one commits.

Once a run has been processed at tick t its ``wake_tick`` is above t (or it is no longer due),
so a batch task delivered twice, or two tasks of the same tick, never process a run twice in
one tick. The claim, the steps' effects (contact history, sends, events) and the run's new
state commit together or not at all: a worker dying mid-batch leaves the runs due, with no send
recorded, for the next task.

Runs in a batch advance in waves: all runs at a send step are checked together
(journeys.sending), the other steps are cheap per run. ``batch.Batch`` takes the runs through
their steps and hands each wave's sends to ``sends.Sender``, which checks, renders and writes
them; ``lookups.Lookups`` holds what both read once per batch (tenants, catalogues, customers).
"""

from __future__ import annotations

from journeys.stepping.batch import Batch, BatchResult, process_batch
from journeys.stepping.state import RUN_FIELDS, CompiledPlan, RunState, Work, claim, compiled_plans

__all__ = [
    "RUN_FIELDS",
    "Batch",
    "BatchResult",
    "CompiledPlan",
    "RunState",
    "Work",
    "claim",
    "compiled_plans",
    "process_batch",
]
