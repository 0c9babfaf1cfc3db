from __future__ import annotations

from collections.abc import Iterator

import pytest

from runs.models import Run, RunStatus
from tests.runs.conftest import build_catalogue
from tests.worker import wait_for


def _reset_pools(app) -> None:
    # The connection and producer pools are built from broker_url on first use; forget them so
    # the next publish connects to the URL now configured.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def dead_broker() -> Iterator[None]:
    """The real app pointed at a port where nothing listens, as when Redis is down."""
    from config.celery import app

    previous = app.conf.broker_url
    app.conf.update(broker_url="redis://127.0.0.1:9/0")
    _reset_pools(app)
    try:
        yield
    finally:
        app.conf.update(broker_url=previous)
        _reset_pools(app)


@pytest.mark.django_db(transaction=True)
def test_run_executes_inline_when_the_broker_is_down(dead_broker, tenant, client_for):
    catalogue = build_catalogue(tenant)
    editor = client_for(tenant, "editor")
    response = editor.post(
        "/api/v1/runs", {"decisionFlowId": catalogue.flow.pk, "segmentId": catalogue.everyone.pk}, format="json"
    )
    assert response.status_code == 201
    run_id = response.json()["id"]
    run = wait_for(lambda: (r := Run.objects.get(pk=run_id)).is_finished and r, timeout=60)
    assert run.status == RunStatus.COMPLETED, run.error
    assert run.execution_mode == "inline"
    assert editor.get(f"/api/v1/runs/{run_id}").json()["executionMode"] == "inline"
    assert run.recommendation_count > 0


@pytest.mark.django_db(transaction=True)
def test_execute_inline_endpoint_runs_a_pending_run(tenant, client_for):
    from runs import services

    catalogue = build_catalogue(tenant)
    run = services.run_create(
        tenant=tenant,
        actor=None,
        decision_flow_id=catalogue.flow.pk,
        segment_id=catalogue.everyone.pk,
        dispatch=False,
    )
    editor = client_for(tenant, "editor")
    body = {"runId": run.pk, "decisionFlowId": catalogue.flow.pk, "segmentViewName": catalogue.everyone.view_name}
    response = editor.post("/api/v1/runs/execute-inline", body, format="json")
    assert response.status_code == 200
    assert response.json() == {"status": "executing", "runId": run.pk}
    run = wait_for(lambda: (r := Run.objects.get(pk=run.pk)).is_finished and r, timeout=60)
    assert run.status == RunStatus.COMPLETED
    assert run.execution_mode == "inline"
    # executing it again is refused: it is no longer pending
    assert editor.post("/api/v1/runs/execute-inline", body, format="json").status_code == 409
