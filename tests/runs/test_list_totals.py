"""GET /api/v1/runs at scale: the exact total from the counters (kaireon/listcounts.py) for the filters
they answer, COUNT for the others, and a page that loads only the columns a row shows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kaireon.listcounts import list_counts_check
from runs import services
from runs.models import Run
from segments import services as seg
from tests.runs.test_api import finished_run

pytestmark = pytest.mark.django_db


def filter_cases(catalogue) -> list[tuple[dict[str, object], dict[str, object]]]:
    """(query parameters, the ORM filter that selects the same runs)."""
    flow, gold = catalogue.flow.pk, catalogue.gold.pk
    return [
        ({}, {}),
        ({"status": "completed"}, {"status": "completed"}),
        ({"status": ["pending", "cancelled"]}, {"status__in": ["pending", "cancelled"]}),
        ({"decisionFlowId": flow}, {"decision_flow_id": flow}),
        ({"segmentId": gold}, {"segment_id": gold}),
        (
            {"segmentId": gold, "status": ["completed", "pending"]},
            {"segment_id": gold, "status__in": ["completed", "pending"]},
        ),
        ({"decisionFlowId": flow, "status": "cancelled"}, {"decision_flow_id": flow, "status": "cancelled"}),
        # not answered by the counters: counted by the database, as exact
        ({"q": "gold"}, {"name__icontains": "gold"}),
        ({"createdAfter": "2000-01-01T00:00:00Z"}, {}),
        ({"decisionFlowId": flow, "segmentId": gold}, {"decision_flow_id": flow, "segment_id": gold}),
    ]


def pending_run(catalogue, actor, segment) -> Run:
    return services.run_create(
        tenant=catalogue.tenant, actor=actor, decision_flow_id=catalogue.flow.pk, segment_id=segment.pk, dispatch=False
    )


def assert_totals(client, catalogue) -> None:
    for query, lookups in filter_cases(catalogue):
        expected = Run.objects.filter(tenant=catalogue.tenant, **lookups).count()
        assert client.get("/api/v1/runs", query).json()["total"] == expected, query


def test_totals_follow_creates_status_changes_and_deletes(viewer, outsider, catalogue, system_actor):
    done = finished_run(catalogue, system_actor, segment=catalogue.gold)
    finished_run(catalogue, system_actor)
    waiting = [pending_run(catalogue, system_actor, segment) for segment in (catalogue.gold, catalogue.everyone)]
    services.run_cancel(tenant=catalogue.tenant, actor=system_actor, run=waiting[0])
    assert_totals(viewer, catalogue)
    assert viewer.get("/api/v1/runs", {"status": "completed"}).json()["total"] == 2

    services.run_delete(tenant=catalogue.tenant, actor=system_actor, instance=done)
    assert_totals(viewer, catalogue)
    assert viewer.get("/api/v1/runs", {"status": "completed"}).json()["total"] == 1
    assert outsider.get("/api/v1/runs").json()["total"] == 0
    assert list_counts_check() == []  # every tenant, scope and status (PostgreSQL; nothing to check on SQLite)


def test_deleting_a_segment_moves_its_runs_out_of_its_total(viewer, catalogue, system_actor):
    run = finished_run(catalogue, system_actor, segment=catalogue.gold)
    assert viewer.get("/api/v1/runs", {"segmentId": catalogue.gold.pk}).json()["total"] == 1
    seg.segment_delete(tenant=catalogue.tenant, actor=system_actor, instance=catalogue.gold)
    run.refresh_from_db()
    assert run.segment_id is None
    assert viewer.get("/api/v1/runs", {"segmentId": catalogue.gold.pk}).json()["total"] == 0
    assert viewer.get("/api/v1/runs").json()["total"] == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite counts every list with COUNT")
def test_counter_answers_replace_count_but_other_filters_still_count(viewer, catalogue, system_actor):
    pending_run(catalogue, system_actor, catalogue.gold)
    for query, counted in (({"status": "pending"}, False), ({"q": "gold"}, True)):
        with CaptureQueriesContext(connection) as queries:
            assert viewer.get("/api/v1/runs", query).json()["total"] == 1
        assert any("COUNT(" in q["sql"].upper() for q in queries.captured_queries) is counted, query


def test_the_page_loads_only_what_a_row_shows(viewer, catalogue, system_actor, django_assert_num_queries):
    run = finished_run(catalogue, system_actor)
    assert run.summary
    viewer.get("/api/v1/runs")  # the key's last-used stamp is written once
    with CaptureQueriesContext(connection) as queries:
        body = viewer.get("/api/v1/runs").json()
    page = next(q["sql"] for q in queries.captured_queries if '"runs_run"."name"' in q["sql"])
    for column in ("summary", "filters", "segment_filters", "error_context", "pipeline"):
        assert f'."{column}"' not in page, column
    detail = viewer.get(f"/api/v1/runs/{run.pk}").json()
    assert body["runs"][0] == {key: detail[key] for key in body["runs"][0]}
    assert body["runs"][0]["progress"]["percent"] == 100.0
