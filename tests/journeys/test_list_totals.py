"""The execution-run lists at scale (GET /api/v1/journeys/runs, ``operations.list_runs``): exact
totals from the counters (kaireon/listcounts.py) as runs are enrolled one by one and in bulk,
stepped by the tick, paused and cancelled; a page that loads only the columns a row shows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from journeys import operations
from journeys.models import ExecutionRun
from kaireon.listcounts import list_counts_check
from tests.journeys.conftest import advance, make_plan, reachable_customers
from tests.journeys.test_api import steps_body

pytestmark = pytest.mark.django_db


def filter_cases(plan, other, contact) -> list[tuple[dict[str, object], dict[str, object]]]:
    """(query parameters, the ORM filter that selects the same runs)."""
    return [
        ({}, {}),
        ({"status": "active"}, {"status": "active"}),
        ({"status": "active,paused"}, {"status__in": ["active", "paused"]}),
        ({"status": ["completed", "cancelled"]}, {"status__in": ["completed", "cancelled"]}),
        ({"planId": plan.pk}, {"plan": plan}),
        ({"planId": other.pk, "status": "active"}, {"plan": other, "status": "active"}),
        # not answered by the counters: counted by the database, as exact
        ({"contactId": contact}, {"contact_id": contact}),
        ({"startedAfter": "2000-01-01T00:00:00Z", "status": "active"}, {"status": "active"}),
    ]


def test_totals_follow_enrolment_ticks_pauses_and_cancels(viewer, outsider, tenant, catalogue):
    plan = make_plan(tenant, steps_body(catalogue))
    other = make_plan(tenant, steps_body(catalogue), key="other")
    customers = reachable_customers(tenant, 8)
    first = operations.execute(plan, customers[0])
    operations.execute(plan, customers[1])
    operations.bulk_execute(other, [c.external_id for c in customers[2:]], batch_size=2)
    cases = filter_cases(plan, other, customers[0].external_id)

    def assert_totals() -> None:
        for query, lookups in cases:
            expected = ExecutionRun.objects.filter(tenant=tenant, **lookups).count()
            assert viewer.get("/api/v1/journeys/runs", query).json()["total"] == expected, query
            if "startedAfter" not in query:  # the Python API takes datetimes
                assert operations.list_runs({"limit": 1, **query}, tenant=tenant)["total"] == expected, query

    assert_totals()
    assert viewer.get("/api/v1/journeys/runs", {"status": "active"}).json()["total"] == 8
    advance()  # the tick steps every run to its end
    operations.execute(plan, customers[0])  # enrolled again once the first run finished
    operations.pause_run(ExecutionRun.objects.get(plan=plan, status="active").pk, tenant=tenant)
    assert_totals()
    assert viewer.get("/api/v1/journeys/runs", {"status": "completed"}).json()["total"] == 8
    operations.resume_run(ExecutionRun.objects.get(status="paused").pk, tenant=tenant)
    operations.bulk_cancel({"planId": plan.pk}, "stop", tenant=tenant)
    assert_totals()
    assert viewer.get("/api/v1/journeys/runs", {"status": "cancelled", "planId": plan.pk}).json()["total"] == 1
    assert ExecutionRun.objects.get(pk=first.pk).status == "completed"
    assert outsider.get("/api/v1/journeys/runs").json()["total"] == 0
    assert list_counts_check() == []  # every tenant, plan and status (PostgreSQL; nothing to check on SQLite)


def test_the_page_loads_only_what_a_row_shows(viewer, tenant, catalogue):
    plan = make_plan(tenant, steps_body(catalogue))
    run = operations.execute(plan, reachable_customers(tenant, 1)[0], {"colour": "blue"})
    advance()
    with CaptureQueriesContext(connection) as queries:
        body = viewer.get("/api/v1/journeys/runs").json()
    page = next(q["sql"] for q in queries.captured_queries if '"journeys_executionrun"."contact_id"' in q["sql"])
    for column in ("visits", "last_result", "event_head"):
        assert f'."{column}"' not in page, column
    detail = viewer.get(f"/api/v1/journeys/runs/{run.pk}").json()
    assert body["runs"] == [detail]
