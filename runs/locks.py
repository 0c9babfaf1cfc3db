"""Row locks on runs and their chunks (the policy: ``kaireon.locks``).

Order: chunks, then their run, then the tenant's audit chain. A chunk's write locks its chunk
row, then the run row (after writing the recommendations: a cancel either committed first and
the rows roll back, or waits for them); deleting a run locks its chunks first for the same order.
"""

from __future__ import annotations

from django.db.models import QuerySet

from kaireon.locks import for_delete, for_update
from runs.models import Run, RunChunk


def run_for_update() -> QuerySet[Run]:
    """Runs locked while their status or counters change (plan, fail, cancel, finalise)."""
    return for_update(Run.objects.all())


def run_for_delete() -> QuerySet[Run]:
    """Runs locked FOR UPDATE: the transaction deletes them."""
    return for_delete(Run.objects.all())


def chunk_for_update() -> QuerySet[RunChunk]:
    """A chunk locked while an attempt commits its rows (only the owner of the attempt goes on)."""
    return for_update(RunChunk.objects.all())


def chunks_of_run_for_delete(*, run_id: str) -> list[int]:
    """Lock the run's chunks FOR UPDATE (their run is deleted, they cascade), in pk order;
    returns their ids. Taken before the run's own lock: the order a chunk's write takes."""
    chunks = for_delete(RunChunk.objects.filter(run_id=run_id).order_by("pk"))
    return list(chunks.values_list("pk", flat=True))
