"""Thin Celery tasks: primitive ids in, one service call each."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from journeys import services


@shared_task(name="journeys.tick", ignore_result=True)
def tick() -> int:
    """Advance the clock one tick and fan its due runs out to batch tasks (periodic, on beat).
    Each beat message is one more tick: running it twice makes time pass faster, nothing else."""
    number, _ = services.journeys_tick()
    return number


@shared_task(
    name="journeys.process_batch",
    ignore_result=True,
    # a lost connection or a deadlock victim: the transaction rolled back, nothing was written
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=1,
    retry_jitter=True,
    max_retries=3,
)
def process_batch(tick: int) -> int:
    """Claim and process one batch of the runs due at ``tick``. Idempotent: the claim takes only
    runs still due at ``tick`` (SKIP LOCKED), and processing moves each past it in the same
    transaction, so a redelivered message finds nothing to do twice."""
    return services.journey_batch_process(tick=tick).runs
