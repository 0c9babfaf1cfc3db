"""End to end with a real Celery worker process on the configured broker and database."""

from __future__ import annotations

import signal

import pytest
from django.test import override_settings

from runs import services
from runs.models import ChunkStatus, Recommendation, Run, RunChunk, RunStatus
from tests.runs.conftest import build_catalogue
from tests.runs.test_execution import expected_recommendations, recommendations_of
from tests.worker import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def finished(run_id: str) -> Run | None:
    run = Run.objects.get(pk=run_id)
    return run if run.is_finished else None


def test_run_created_through_the_api_completes_on_a_real_worker(celery_worker_process, tenant, client_for):
    catalogue = build_catalogue(tenant)
    celery_worker_process.env["RUNS_CHUNK_SIZE"] = "20"  # planning happens in the worker
    celery_worker_process.restart()
    editor = client_for(tenant, "editor")
    response = editor.post(
        "/api/v1/runs", {"decisionFlowId": catalogue.flow.pk, "segmentId": catalogue.everyone.pk}, format="json"
    )
    assert response.status_code == 201
    run = wait_for(lambda: finished(response.json()["id"]), timeout=60, message=celery_worker_process.log)
    assert run.status == RunStatus.COMPLETED, run.error
    assert run.execution_mode == "celery"
    assert run.chunk_count == 3
    assert recommendations_of(run) == expected_recommendations(tenant)
    body = editor.get(f"/api/v1/runs/{run.pk}").json()
    assert body["progress"]["percent"] == 100.0


def test_worker_killed_mid_chunk_loses_nothing(celery_worker_process, tenant, settings):
    """SIGKILL the worker while it holds a chunk: after the lease the reaper hands the chunk out
    again, a new worker finishes it, and the run has exactly the right rows."""
    catalogue = build_catalogue(tenant)
    worker = celery_worker_process
    worker.env.update(TEST_CHUNK_DELAY="30", RUNS_CHUNK_LEASE_SECONDS="2", RUNS_CHUNK_SIZE="1000")
    worker.restart()
    run = services.run_create(
        tenant=tenant, actor=None, decision_flow_id=catalogue.flow.pk, segment_id=catalogue.everyone.pk
    )
    chunk = wait_for(
        lambda: RunChunk.objects.filter(run=run, status=ChunkStatus.RUNNING).first(), timeout=30, message=worker.log
    )
    worker.kill(signal.SIGKILL)
    assert not Recommendation.objects.filter(run=run).exists()

    worker.env.update(TEST_CHUNK_DELAY="0")
    worker.start()
    # the lease (2 s) runs out; the reaper (beat's job, called here) re-dispatches the chunk
    wait_for(lambda: services.runs_reap()["chunks"] >= 1, timeout=15, interval=0.5)
    run = wait_for(lambda: finished(run.pk), timeout=60, message=worker.log)
    assert run.status == RunStatus.COMPLETED, run.error
    chunk.refresh_from_db()
    assert chunk.attempts == 2
    assert recommendations_of(run) == expected_recommendations(tenant)
    assert run.processed_customers == 60


def test_chunk_that_keeps_failing_ends_completed_with_errors(celery_worker_process, tenant):
    """A chunk whose customers break the engine is retried, then failed; the others complete."""
    catalogue = build_catalogue(tenant)
    worker = celery_worker_process
    worker.env.update(RUNS_CHUNK_SIZE="30", RUNS_CHUNK_MAX_RETRIES="1", RUNS_CHUNK_RETRY_BACKOFF="1")
    worker.restart()
    run = services.run_create(
        tenant=tenant,
        actor=None,
        decision_flow_id=catalogue.flow.pk,
        segment_id=catalogue.everyone.pk,
        dispatch=False,
    )
    with override_settings(RUNS_CHUNK_SIZE=30):
        services.run_plan(run_id=run.pk, dispatch=False)
    good, bad = RunChunk.objects.filter(run=run).order_by("seq")
    RunChunk.objects.filter(pk=bad.pk).update(first_customer_id=-5, last_customer_id=-1, customer_ids=b"not int64")
    from runs.tasks import process_chunk

    process_chunk.delay(good.pk)
    process_chunk.delay(bad.pk)
    run = wait_for(lambda: finished(run.pk), timeout=60, message=worker.log)
    assert run.status == RunStatus.COMPLETED_WITH_ERRORS
    bad.refresh_from_db()
    assert bad.status == ChunkStatus.FAILED
    assert bad.attempts == 2  # the first try and one retry
    assert run.failed_customers == 30
    assert run.summary["customers_processed"] == 30
