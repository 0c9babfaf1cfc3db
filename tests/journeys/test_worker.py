"""End to end with two real Celery worker processes sharing the tick's batches."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from decisionflows.models import ContactHistory
from journeys import operations, services, tasks
from journeys.models import DUE_STATUSES, ExecutionRun, RunEvent, Send
from journeys.selectors import clock_tick
from segments.models import Customer
from tests.journeys.conftest import STEP_ACTIONS, make_plan
from tests.runs.conftest import build_catalogue
from tests.worker import WorkerProcess, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

RUNS = 240
BATCH = 10


def _processed(log: str) -> list[int]:
    """Runs per journeys.process_batch task a worker's log says it finished."""
    return [int(n) for n in re.findall(r"Task journeys\.process_batch\[[^\]]+\] succeeded in [^:]+: (\d+)", log)]


def _nothing_due(tick: int) -> bool:
    return not ExecutionRun.objects.filter(status__in=sorted(DUE_STATUSES), wake_tick__lte=tick).exists()


def test_two_workers_share_the_ticks_and_process_each_step_once(celery_worker_process, tenant, tmp_path, settings):
    catalogue = build_catalogue(tenant, customers=RUNS)
    Customer.objects.filter(tenant=tenant).update(suppressed=False)
    email, loan, insurance = catalogue.email.pk, catalogue.offers["loan"].pk, catalogue.offers["insurance"].pk
    plan = make_plan(
        tenant,
        [
            {"id": "first", "type": "send", "channelId": email, "offerId": loan, "next": "pause"},
            {"id": "pause", "type": "wait", "ticks": 1, "next": "second"},
            {"id": "second", "type": "send", "channelId": email, "offerId": insurance, "next": "done"},
            {"id": "done", "type": "end", "outcome": "finished"},
        ],
    )
    contacts = list(Customer.objects.filter(tenant=tenant).values_list("external_id", flat=True))
    assert operations.bulk_execute(plan, contacts, batch_size=1000)["created"] == RUNS

    settings.JOURNEYS_BATCH_SIZE = BATCH  # this process dispatches RUNS / BATCH tasks per tick
    first = celery_worker_process
    first.env["JOURNEYS_BATCH_SIZE"] = str(BATCH)
    first.restart()
    second = WorkerProcess(env=first.env, log_path=tmp_path / "second-worker.log").start()
    logs = lambda: first.log() + second.log()  # noqa: E731
    try:
        # tick 1, fanned out from here; twice as many batch messages as needed, so the two
        # workers race for the same runs: SKIP LOCKED must give each run to one of them.
        tick, batches = services.journeys_tick()
        assert batches == RUNS // BATCH
        for _ in range(batches):
            tasks.process_batch.delay(tick)
        wait_for(lambda: _nothing_due(tick), timeout=90, message=logs)
        assert set(ExecutionRun.objects.filter(plan=plan).values_list("status", flat=True)) == {"waiting"}

        # tick 2, as beat sends it: the tick task itself runs on a worker
        tasks.tick.delay()
        wait_for(lambda: clock_tick() == tick + 1, timeout=30, message=logs)
        wait_for(
            lambda: not ExecutionRun.objects.filter(plan=plan).exclude(status="completed").exists(),
            timeout=90,
            message=logs,
        )
        processed_first, processed_second = _processed(first.log()), _processed(second.log())
    finally:
        second.stop()

    assert sum(processed_first) + sum(processed_second) == 2 * RUNS  # every run once per tick
    assert sum(processed_first) > 0, "both workers took batches"
    assert sum(processed_second) > 0, "both workers took batches"
    steps = Counter(
        RunEvent.objects.filter(run__plan=plan, action__in=STEP_ACTIONS).values_list("run_id", "step", "action")
    )
    assert len(steps) == 4 * RUNS
    assert set(steps.values()) == {1}, [key for key, n in steps.items() if n > 1][:5]
    assert Send.objects.filter(run__plan=plan).count() == 2 * RUNS
    assert ContactHistory.objects.filter(tenant=tenant, source="journey").count() == 2 * RUNS
    for run in ExecutionRun.objects.filter(plan=plan)[:20]:
        assert services.execution_run_events_verify(run=run) == []
