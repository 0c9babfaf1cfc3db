"""Execution runs: the list with its filters (docs/api-contract.md §3.4) and pagination, one run's fields, variables
and event timeline, pause / resume / cancel (a 409 of the service is an error message)."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.utils import timezone

from journeys.models import ExecutionRun, ExecutionRunStatus, Plan
from kaireon.models import Role
from tests.pages.conftest import field_errors
from tests.pages.journeys_fixtures import advance, enrol, make_plan, reachable, welcome_steps

pytestmark = pytest.mark.django_db


def run_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-run="([0-9a-f-]{36})">', html)


def field(html: str, name: str) -> str:
    match = re.search(rf'<dd[^>]* data-field="{name}">(.*?)</dd>', html, re.S)
    assert match, f"no field {name}"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


@pytest.fixture
def welcome(tenant, catalogue) -> Plan:
    return make_plan(tenant, welcome_steps(catalogue), key="welcome", name="Welcome series")


@pytest.fixture
def other(tenant, catalogue) -> Plan:
    return make_plan(tenant, welcome_steps(catalogue), key="other", name="Other journey")


# --- list ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR, Role.ADMIN])
def test_list_renders_the_columns_for_every_role(client_as, tenant, welcome, role):
    [run] = enrol(welcome, reachable(tenant, 1))
    advance(1)
    response = client_as(tenant, role).get("/journeys/runs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert run_ids(html) == [str(run.pk)]
    match = re.search(rf'<tr data-run="{run.pk}">(.*?)</tr>', html, re.S)
    assert match
    row = match.group(1)
    assert f'href="/journeys/runs/{run.pk}/"' in row
    assert run.contact_id in row
    assert "Welcome series" in row
    assert "version 1" in row
    assert "status-waiting" in row
    assert "<code>pause</code>" in row
    assert '<td class="num">1 / 4</td>' in row  # hello done; pause, check, vip, done to go


def test_filters_status_many_plan_contact_and_dates(as_viewer, tenant, welcome, other):
    customers = reachable(tenant, 4)
    runs = enrol(welcome, customers[:3])
    [elsewhere] = enrol(other, customers[3:])
    ExecutionRun.objects.filter(pk=runs[0].pk).update(status=ExecutionRunStatus.PAUSED)
    ExecutionRun.objects.filter(pk=runs[1].pk).update(status=ExecutionRunStatus.COMPLETED)
    old = timezone.now() - dt.timedelta(days=3)
    ExecutionRun.objects.filter(pk=runs[2].pk).update(started_at=old)

    def ids(query: str) -> set[str]:
        return set(run_ids(as_viewer.get(f"/journeys/runs/?{query}").content.decode()))

    assert ids("status=paused") == {str(runs[0].pk)}
    assert ids("status=paused&status=completed") == {str(runs[0].pk), str(runs[1].pk)}
    assert ids(f"plan={other.pk}") == {str(elsewhere.pk)}
    assert ids(f"contact={customers[1].external_id}") == {str(runs[1].pk)}
    day = (timezone.now() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert ids(f"started_before={day}") == {str(runs[2].pk)}
    assert ids(f"started_after={day}&plan={welcome.pk}") == {str(runs[0].pk), str(runs[1].pk)}
    page = as_viewer.get(f"/journeys/runs/?plan={welcome.pk}").content.decode()
    assert "<h1>Runs of Welcome series</h1>" in page
    assert "No runs match these filters" in as_viewer.get("/journeys/runs/?status=failed").content.decode()


def test_a_bad_date_is_shown_beside_its_field_and_left_out(as_viewer, tenant, welcome):
    enrol(welcome, reachable(tenant, 2))
    html = as_viewer.get("/journeys/runs/?started_after=yesterday&status=bogus").content.decode()
    assert field_errors(html, "started_after") == ["Enter a valid date/time."]
    assert 'aria-describedby="started_after-error"' in html
    assert len(run_ids(html)) == 2  # the other filters still apply; an unknown status is ignored
    html = as_viewer.get(
        "/journeys/runs/?started_after=2030-01-02T00:00&started_before=2030-01-01T00:00"
    ).content.decode()
    assert field_errors(html, "started_before") == ["Must be later than “Started from”."]


def test_list_paginates_and_other_tenants_runs_are_not_shown(as_viewer, as_outsider, tenant, catalogue, welcome):
    enrol(welcome, reachable(tenant, 55))
    first = as_viewer.get("/journeys/runs/").content.decode()
    assert len(run_ids(first)) == 50
    assert "Showing <strong>1\N{EN DASH}50</strong> of <strong>55</strong>" in first
    second = as_viewer.get("/journeys/runs/?page=2").content.decode()
    assert len(run_ids(second)) == 5
    assert set(run_ids(first)).isdisjoint(run_ids(second))
    assert run_ids(as_outsider.get("/journeys/runs/").content.decode()) == []


def test_list_query_count_does_not_grow_with_runs(as_viewer, tenant, welcome, other, django_assert_num_queries):
    enrol(welcome, reachable(tenant, 2))
    as_viewer.get("/journeys/runs/")
    # session, user, membership, plan choices, count, page (plan joined), memberships (switcher)
    with django_assert_num_queries(7):
        as_viewer.get("/journeys/runs/")
    enrol(other, reachable(tenant, 30))
    with django_assert_num_queries(7):
        response = as_viewer.get("/journeys/runs/")
    assert len(run_ids(response.content.decode())) == 32


# --- one run ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR, Role.ADMIN])
def test_run_page_shows_every_field_variables_and_the_timeline(client_as, tenant, welcome, role):
    [run] = enrol(welcome, reachable(tenant, 1), tier="gold")
    advance(3)  # send, wait two ticks, wake up, branch to vip, update, end
    run.refresh_from_db()
    assert run.status == ExecutionRunStatus.COMPLETED
    html = client_as(tenant, role).get(f"/journeys/runs/{run.pk}/").content.decode()
    assert field(html, "id") == str(run.pk)
    assert field(html, "planVersion") == "1"
    assert field(html, "contactId") == run.contact_id
    assert field(html, "status") == "Completed"
    assert field(html, "currentStep") == "—"
    assert field(html, "stepsCompleted") == str(run.steps_completed)
    assert field(html, "stepsRemaining") == "0"
    assert field(html, "startTick") == str(run.start_tick)
    assert field(html, "currentTick") == str(run.current_tick)
    assert field(html, "outcome") == "finished"
    assert field(html, "completedAt") != "—"
    assert "&quot;vip&quot;: true" in html
    assert "&quot;tier&quot;: &quot;gold&quot;" in html
    actions = re.findall(r'<tr class="event-[a-z_]+" data-action="([a-z_]+)">', html)
    assert actions[0] == "enrolled"
    assert actions[-1] == "completed"
    assert "send" in actions
    assert "woke" in actions
    assert "update" in actions
    assert "<code>hello</code>" in html
    assert 'id="pause-run"' not in html
    assert 'id="cancel-run"' not in html
    assert 'id="run-live" hx-get' not in html  # and nothing to poll


def test_pause_resume_and_cancel(as_editor, tenant, welcome):
    [run] = enrol(welcome, reachable(tenant, 1))
    advance(1)
    html = as_editor.get(f"/journeys/runs/{run.pk}/").content.decode()
    assert 'id="pause-run"' in html
    assert 'id="cancel-run"' in html
    assert 'id="resume-run"' not in html
    assert f'hx-get="/journeys/runs/{run.pk}/live/"' in html
    assert "Send offer Personal Loan on Email" not in html
    assert "Wait 2 ticks" in html
    page = as_editor.post(f"/journeys/runs/{run.pk}/pause/", follow=True).content.decode()
    assert "Run paused" in page
    assert 'id="resume-run"' in page
    assert 'id="pause-run"' not in page
    run.refresh_from_db()
    assert (run.status, run.paused_from) == (ExecutionRunStatus.PAUSED, ExecutionRunStatus.WAITING)
    page = as_editor.post(f"/journeys/runs/{run.pk}/resume/", follow=True).content.decode()
    assert "Run resumed; it is waiting again." in page
    run.refresh_from_db()
    assert run.status == ExecutionRunStatus.WAITING
    as_editor.post(f"/journeys/runs/{run.pk}/cancel/", {"reason": "Contact requested removal"})
    run.refresh_from_db()
    assert run.status == ExecutionRunStatus.CANCELLED
    page = as_editor.get(f"/journeys/runs/{run.pk}/").content.decode()
    assert '<span class="event-reason">Contact requested removal</span>' in page


def test_an_invalid_transition_is_the_services_message_not_a_crash(as_editor, tenant, welcome):
    [run] = enrol(welcome, reachable(tenant, 1))
    response = as_editor.post(f"/journeys/runs/{run.pk}/resume/", follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<div class="alert alert-error">Run is active; only a paused run can be resumed.</div>' in html
    ExecutionRun.objects.filter(pk=run.pk).update(status=ExecutionRunStatus.CANCELLED)
    html = as_editor.post(f"/journeys/runs/{run.pk}/pause/", follow=True).content.decode()
    assert "Run is cancelled; only pending, active or waiting runs can be paused." in html
    html = as_editor.post(f"/journeys/runs/{run.pk}/cancel/", follow=True).content.decode()
    assert "Run is cancelled; it has already finished." in html


def test_the_live_part_polls_until_the_run_finishes(as_viewer, tenant, welcome):
    [run] = enrol(welcome, reachable(tenant, 1))
    response = as_viewer.get(f"/journeys/runs/{run.pk}/live/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "<html" not in text
    assert 'id="run-status" hx-swap-oob="true"' in text
    advance(4)
    assert as_viewer.get(f"/journeys/runs/{run.pk}/live/").status_code == 286


def test_roles_and_tenants_on_a_run(as_viewer, as_outsider, tenant, welcome):
    [run] = enrol(welcome, reachable(tenant, 1))
    html = as_viewer.get(f"/journeys/runs/{run.pk}/").content.decode()
    assert 'id="pause-run"' not in html
    assert 'id="cancel-run"' not in html
    for verb in ("pause", "resume", "cancel"):
        assert as_viewer.post(f"/journeys/runs/{run.pk}/{verb}/").status_code == 403
        assert as_outsider.post(f"/journeys/runs/{run.pk}/{verb}/").status_code == 404
    assert as_outsider.get(f"/journeys/runs/{run.pk}/").status_code == 404
    assert as_outsider.get(f"/journeys/runs/{run.pk}/live/").status_code == 404
    assert as_viewer.get(f"/journeys/runs/{uuid.uuid4()}/").status_code == 404
    assert as_viewer.get("/journeys/runs/not-a-uuid/").status_code == 404
    run.refresh_from_db()
    assert run.status == ExecutionRunStatus.ACTIVE


def test_run_page_query_count_does_not_grow_with_events(as_viewer, tenant, welcome, django_assert_num_queries):
    [run] = enrol(welcome, reachable(tenant, 1))
    as_viewer.get(f"/journeys/runs/{run.pk}/")
    # session, user, membership, run (plan, version joined), events, offer and channel names
    # of the current step, clock, memberships (switcher)
    with django_assert_num_queries(9):
        as_viewer.get(f"/journeys/runs/{run.pk}/")
    advance(2)
    run.refresh_from_db()
    assert run.event_seq > 2
    with django_assert_num_queries(7):  # the current step is now a wait: no names to look up
        as_viewer.get(f"/journeys/runs/{run.pk}/")
