"""The dashboard: counts, runs in progress (live), recent outcomes, role-specific actions."""

from __future__ import annotations

import pytest

from kaireon.models import Role
from runs.models import RunStatus
from tests.factories import UserFactory
from tests.pages.conftest import new_run

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("role", "can_create"), [(Role.VIEWER, False), (Role.EDITOR, True), (Role.ADMIN, True)])
def test_dashboard_renders_for_every_role_with_its_actions(client_as, tenant, catalogue, role, can_create):
    response = client_as(tenant, role).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Dashboard" in html
    assert ('href="/runs/new/"' in html) is can_create
    assert 'data-count="customers">60<' in html
    assert 'data-count="offers">4<' in html
    assert 'data-count="flows">1<' in html
    assert 'data-count="segments">2<' in html
    assert 'href="/api/docs/"' in html


def test_admin_link_only_for_staff(client_as, tenant, catalogue):
    assert 'href="/admin/"' not in client_as(tenant, Role.ADMIN).get("/").content.decode()
    assert 'href="/admin/"' in client_as(tenant, Role.VIEWER, staff=True).get("/").content.decode()


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_user_without_tenant_is_told_so(client):
    client.force_login(UserFactory.create(username="loner"))
    response = client.get("/")
    assert response.status_code == 200
    assert "not a member of any tenant" in response.content.decode()


def test_running_run_is_shown_with_a_live_progress_bar(as_viewer, running_run, finished_run):
    html = as_viewer.get("/").content.decode()
    live = html[html.index('id="dashboard-live"') :]
    assert 'hx-get="/dashboard/live/"' in html
    assert 'hx-trigger="every 2s"' in html
    assert "Going run" in live
    assert 'role="progressbar"' in live
    assert 'aria-valuenow="33.3"' in live
    assert "ETA 20 s" in live
    # the finished one is among the recent outcomes
    recent = html[html.index('id="recent-title"') :]
    assert "Done run" in recent
    assert "Completed" in recent


def test_without_active_runs_the_dashboard_does_not_poll(as_viewer, finished_run):
    html = as_viewer.get("/").content.decode()
    assert "hx-trigger" not in html
    assert "No run is going right now." in html


def test_live_fragment_polls_while_running_and_stops_after(as_viewer, running_run):
    response = as_viewer.get("/dashboard/live/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Going run" in html
    assert 'hx-swap-oob="innerHTML:#dashboard-announcer"' in html
    assert "Going run: 30% complete." in html

    running_run.status = RunStatus.COMPLETED
    running_run.save(update_fields=["status"])
    response = as_viewer.get("/dashboard/live/", HTTP_HX_REQUEST="true")
    assert response.status_code == 286  # htmx: stop polling
    assert "No run is going right now." in response.content.decode()


def test_dashboard_query_count_does_not_grow_with_runs(as_viewer, catalogue, django_assert_num_queries):
    for index in range(3):
        new_run(catalogue, name=f"run {index}")
    as_viewer.get("/")  # warm the session
    # session, user, membership (principal), 4 counts, active runs, recent runs, memberships (switcher)
    with django_assert_num_queries(10):
        as_viewer.get("/")
    for index in range(20):
        new_run(catalogue, name=f"more {index}")
    with django_assert_num_queries(10):
        response = as_viewer.get("/")
    assert response.content.decode().count('role="progressbar"') == 10  # DASHBOARD_ACTIVE_RUNS


def test_polled_fragment_of_an_expired_session_moves_the_page_to_sign_in(client, running_run):
    response = client.get(
        f"/runs/{running_run.pk}/progress/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver/runs/{running_run.pk}/",
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/login/?next=%2Fruns%2F{running_run.pk}%2F"
    assert client.get("/runs/").status_code == 302  # a plain request is redirected as usual
