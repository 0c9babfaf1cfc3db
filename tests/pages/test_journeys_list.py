"""The journeys list: name, status, published version, step count, runs by status (one grouped
query), the live poll, the empty state, roles and tenants."""

from __future__ import annotations

import re

import pytest

from journeys.models import ExecutionRun, ExecutionRunStatus
from kaireon.models import Role
from tests.pages.journeys_fixtures import enrol, make_plan, reachable, welcome_steps

pytestmark = pytest.mark.django_db


def plan_names(html: str) -> list[str]:
    return re.findall(r'<td class="primary-cell"><a href="/journeys/plan_[^/]+/">([^<]+)</a>', html)


def row(html: str, plan_id: str) -> str:
    match = re.search(rf'<tr data-plan="{plan_id}">(.*?)</tr>', html, flags=re.S)
    assert match, f"no row for {plan_id}"
    return match.group(1)


@pytest.mark.parametrize(("role", "can_create"), [(Role.VIEWER, False), (Role.EDITOR, True), (Role.ADMIN, True)])
def test_list_renders_for_every_role(client_as, tenant, catalogue, role, can_create):
    make_plan(tenant, welcome_steps(catalogue), key="welcome", name="Welcome series")
    make_plan(tenant, [{"id": "bye", "type": "end"}], key="sketch", name="Sketch", publish=False)
    response = client_as(tenant, role).get("/journeys/")
    assert response.status_code == 200
    html = response.content.decode()
    assert plan_names(html) == ["Sketch", "Welcome series"]
    assert ('href="/journeys/new/"' in html) is can_create
    assert 'href="/journeys/runs/"' in html


def test_row_shows_status_version_steps_and_runs_by_status(as_viewer, tenant, catalogue):
    welcome = make_plan(tenant, welcome_steps(catalogue), key="welcome")
    draft = make_plan(tenant, [{"id": "bye", "type": "end"}], key="sketch", publish=False)
    runs = enrol(welcome, reachable(tenant, 5))
    ExecutionRun.objects.filter(pk=runs[0].pk).update(status=ExecutionRunStatus.COMPLETED)
    ExecutionRun.objects.filter(pk=runs[1].pk).update(status=ExecutionRunStatus.PAUSED)
    html = as_viewer.get("/journeys/").content.decode()
    published = row(html, welcome.pk)
    assert "status-active" in published
    assert "Published v1" in published
    assert '<td class="num" data-steps>6</td>' in published
    assert re.search(r'data-status="active"><span class="chip-label">Active</span> <strong>3</strong>', published)
    assert re.search(r'data-status="paused"><span class="chip-label">Paused</span> <strong>1</strong>', published)
    assert re.search(r'data-status="completed"><span class="chip-label">Completed</span> <strong>1</strong>', published)
    assert 'data-status="failed"' not in published  # zero counts are left out
    assert '<td class="num" data-live>4</td>' in published  # active 3 + paused 1
    sketch = row(html, draft.pk)
    assert "status-draft" in sketch
    assert "Never published" in sketch
    assert "No runs yet" in sketch
    assert '<td class="num" data-steps>1</td>' in sketch


def test_a_new_draft_of_a_published_plan_is_flagged(as_viewer, tenant, catalogue):
    from journeys import services
    from tests.pages.journeys_fixtures import admin

    plan = make_plan(tenant, welcome_steps(catalogue))
    services.plan_update(
        tenant=tenant, actor=admin(tenant), instance=plan, data={"steps": [{"id": "x", "type": "end"}]}
    )
    published = row(as_viewer.get("/journeys/").content.decode(), plan.pk)
    assert "Published v1" in published
    assert "Draft v2 in progress" in published
    assert '<td class="num" data-steps>6</td>' in published  # the version runs use


def test_polls_while_a_run_is_live_and_the_fragment_answers_286_after(as_viewer, tenant, catalogue):
    plan = make_plan(tenant, welcome_steps(catalogue))
    html = as_viewer.get("/journeys/").content.decode()
    assert 'id="plan-table" hx-get' not in html  # nothing live: no polling
    runs = enrol(plan, reachable(tenant, 2))
    html = as_viewer.get("/journeys/").content.decode()
    assert 'hx-trigger="every 3s"' in html
    fragment = as_viewer.get("/journeys/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert "<html" not in fragment.content.decode()
    assert '<td class="num" data-live>2</td>' in fragment.content.decode()
    ExecutionRun.objects.filter(pk__in=[r.pk for r in runs]).update(status=ExecutionRunStatus.CANCELLED)
    assert as_viewer.get("/journeys/", HTTP_HX_REQUEST="true").status_code == 286


def test_search_by_name_and_empty_states(as_editor, as_viewer, tenant, catalogue):
    html = as_editor.get("/journeys/").content.decode()
    assert "No journeys yet" in html
    assert 'class="btn btn-primary" href="/journeys/new/"' in html
    assert 'href="/journeys/new/"' not in as_viewer.get("/journeys/").content.decode()
    make_plan(tenant, welcome_steps(catalogue), key="welcome", name="Welcome series")
    make_plan(tenant, welcome_steps(catalogue), key="winback", name="Win-back")
    assert plan_names(as_viewer.get("/journeys/?q=win").content.decode()) == ["Win-back"]
    assert "No journeys match" in as_viewer.get("/journeys/?q=nothing").content.decode()


def test_other_tenants_plans_are_not_listed(as_outsider, tenant, catalogue):
    make_plan(tenant, welcome_steps(catalogue))
    assert plan_names(as_outsider.get("/journeys/").content.decode()) == []


def test_list_query_count_does_not_grow_with_plans_or_runs(as_viewer, tenant, catalogue, django_assert_num_queries):
    plan = make_plan(tenant, welcome_steps(catalogue), key="p0")
    enrol(plan, reachable(tenant, 2))
    as_viewer.get("/journeys/")
    # session, user, membership (principal), count, page of plans, their shown versions,
    # runs grouped by plan and status, memberships (switcher)
    with django_assert_num_queries(8):
        as_viewer.get("/journeys/")
    for index in range(1, 12):
        more = make_plan(tenant, welcome_steps(catalogue), key=f"p{index}")
        enrol(more, reachable(tenant, 3))
    with django_assert_num_queries(8):
        response = as_viewer.get("/journeys/")
    assert len(plan_names(response.content.decode())) == 12
    with django_assert_num_queries(7):  # the polled table: no switcher
        as_viewer.get("/journeys/", HTTP_HX_REQUEST="true")
