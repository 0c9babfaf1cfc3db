"""The clock: advance the tick and hand its due runs to batch tasks; process one batch."""

from __future__ import annotations

import logging
import math

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from journeys import events, selectors, stepping
from journeys.models import ExecutionRun, JourneyClock

logger = logging.getLogger(__name__)


def _advance_clock() -> int:
    now = timezone.now()
    if JourneyClock.objects.filter(pk=1).update(tick=F("tick") + 1, ticked_at=now):
        return selectors.clock_tick()
    try:
        with transaction.atomic():
            JourneyClock.objects.create(pk=1, tick=1, ticked_at=now)
    except IntegrityError:  # another tick created the row first: advance it instead
        JourneyClock.objects.filter(pk=1).update(tick=F("tick") + 1, ticked_at=now)
    return selectors.clock_tick()


@transaction.atomic
def journeys_tick(*, dispatch: bool = True) -> tuple[int, int]:
    """Advance the global tick by one and, after commit, enqueue one ``journeys.process_batch``
    task per JOURNEYS_BATCH_SIZE due runs. Returns (tick, batches).

    Idempotent enough for beat: a tick that runs twice only makes time pass faster; batch tasks
    claim with SKIP LOCKED, so surplus tasks find nothing and end after one query."""
    tick = _advance_clock()
    due = selectors.due_count(tick=tick)
    batches = math.ceil(due / int(settings.JOURNEYS_BATCH_SIZE)) if due else 0
    if dispatch and batches:
        from journeys import tasks

        def send() -> None:
            for _ in range(batches):
                tasks.process_batch.delay(tick)

        transaction.on_commit(send)
    logger.info("journeys tick %s: %s due runs in %s batches", tick, due, batches)
    return tick, batches


def journey_batch_process(*, tick: int, limit: int | None = None) -> stepping.BatchResult:
    """Process up to ``limit`` (JOURNEYS_BATCH_SIZE) runs due at ``tick``, in one transaction
    (journeys.stepping). Idempotent: processed runs are no longer due at ``tick``."""
    return stepping.process_batch(tick=tick, limit=limit or int(settings.JOURNEYS_BATCH_SIZE))


def journeys_drain(*, tick: int | None = None) -> int:
    """Process every run due at ``tick`` (the current one) in this process, batch after batch:
    ``manage.py`` and tests use it where no worker runs. Returns the number of runs processed."""
    tick = selectors.clock_tick() if tick is None else tick
    total = 0
    while True:
        result = journey_batch_process(tick=tick)
        if not result.runs:
            return total
        total += result.runs


def execution_run_events_verify(*, run: ExecutionRun) -> list[str]:
    """Every break in the run's event chain; [] when intact."""
    run.refresh_from_db(fields=["event_seq", "event_head"])
    return events.verify(run, selectors.run_events(run=run).iterator(chunk_size=2000))
