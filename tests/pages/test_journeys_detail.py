"""A plan's page: the steps in order and in words, versions (an older one can be viewed), live
counts per step and status, publish (errors naming the step), create / edit / delete."""

from __future__ import annotations

import html as html_lib
import json
import re
from typing import Any

import pytest

from journeys import services
from journeys.layout import ordered
from journeys.models import ExecutionRun, ExecutionRunStatus, Plan, PlanVersion
from journeys.templatetags.journeys_ui import condition_text, describe, seconds_text
from kaireon.models import AuditLog, Role
from tests.pages.journeys_fixtures import admin, advance, enrol, make_plan, reachable, welcome_steps

pytestmark = pytest.mark.django_db


def step_ids(html: str) -> list[str]:
    return re.findall(r'<li class="step-card [^"]*" id="step-[^"]+" data-step="([^"]+)">', html)


def step_card(html: str, step_id: str) -> str:
    match = re.search(rf'data-step="{re.escape(step_id)}">(.*?)</li>\s*(?:<li class="step-card|</ol>)', html, re.S)
    assert match, f"no card for {step_id}"
    return match.group(1)


def steps_error(html: str) -> list[str]:
    match = re.search(r'<ul class="field-errors" id="steps-error">(.*?)</ul>', html, re.S)
    return re.findall(r'<li class="field-error">(.*?)</li>', match.group(1), re.S) if match else []


@pytest.fixture
def welcome(tenant, catalogue) -> Plan:
    return make_plan(tenant, welcome_steps(catalogue), key="welcome", name="Welcome series")


# --- the drawing -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR, Role.ADMIN])
def test_detail_renders_for_every_role_with_the_actions_it_allows(client_as, tenant, welcome, role):
    response = client_as(tenant, role).get(f"/journeys/{welcome.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Welcome series</h1>" in html
    assert ('id="edit-plan"' in html) is (role != Role.VIEWER)
    assert ('id="enrol-panel"' in html) is (role != Role.VIEWER)
    assert ('id="delete-plan"' in html) is (role == Role.ADMIN)
    assert 'id="publish-plan"' not in html  # nothing to publish: v1 is published


def test_steps_are_drawn_in_order_and_in_words(as_viewer, welcome, catalogue):
    html = as_viewer.get(f"/journeys/{welcome.pk}/").content.decode()
    # the main path first (send, wait, branch, its first target), the blocked-send end last
    assert step_ids(html) == ["hello", "pause", "check", "vip", "done", "stopped"]
    assert "Send offer Personal Loan on Email" in step_card(html, "hello")
    assert '<a href="#step-pause">pause</a>' in step_card(html, "hello")
    assert "if blocked" in step_card(html, "hello")
    assert "Wait 2 ticks (about 20 seconds)" in step_card(html, "pause")
    assert "Branch: if variables.tier = gold → vip, else → done" in step_card(html, "check")
    assert "Update variables: vip = true" in step_card(html, "vip")
    assert "End: finished" in step_card(html, "done")
    assert '<h2 id="steps-title">Steps of version 1</h2>' in html
    assert "Published · runs start here" in html


def test_live_counts_per_step_and_status_and_the_poll(as_viewer, tenant, welcome):
    runs = enrol(welcome, reachable(tenant, 4))
    html = as_viewer.get(f"/journeys/{welcome.pk}/").content.decode()
    assert 'data-status-count="active">4<' in html
    assert 'data-step-count="4"' in step_card(html, "hello")
    assert f'hx-get="/journeys/{welcome.pk}/live/?version=1" hx-trigger="every 3s"' in html
    advance(1)  # the send happens, every run waits at "pause"
    services.execution_run_pause(tenant=tenant, actor=admin(tenant), run=runs[0])
    fragment = as_viewer.get(f"/journeys/{welcome.pk}/live/?version=1")
    assert fragment.status_code == 200
    text = fragment.content.decode()
    assert "<html" not in text
    assert 'data-status-count="waiting">3<' in text
    assert 'data-status-count="paused">1<' in text
    assert 'data-step-count="0"' in step_card(text, "hello")
    pause = step_card(text, "pause")
    assert 'data-step-count="4"' in pause
    assert "3 waiting" in pause
    assert "1 paused" in pause
    ExecutionRun.objects.filter(plan=welcome).update(status=ExecutionRunStatus.CANCELLED)
    assert as_viewer.get(f"/journeys/{welcome.pk}/live/").status_code == 286


def test_an_older_version_can_be_viewed(as_viewer, tenant, welcome, catalogue):
    steps = welcome_steps(catalogue)
    steps[1]["ticks"] = 5
    services.plan_update(tenant=tenant, actor=admin(tenant), instance=welcome, data={"steps": steps})
    services.plan_publish(tenant=tenant, actor=admin(tenant), plan=welcome)
    html = as_viewer.get(f"/journeys/{welcome.pk}/").content.decode()
    assert "Wait 5 ticks" in step_card(html, "pause")  # v2, what runs use now
    assert '<a href="?version=1" aria-label="View the steps of version 1">v1</a>' in html
    assert "Superseded" in html
    old = as_viewer.get(f"/journeys/{welcome.pk}/?version=1").content.decode()
    assert "Steps of version 1" in old
    assert "Wait 2 ticks" in step_card(old, "pause")
    assert "Published earlier · superseded" in old
    assert as_viewer.get(f"/journeys/{welcome.pk}/?version=9").status_code == 404


def test_another_tenants_plan_is_a_404(as_outsider, welcome):
    for url in ("", "live/", "edit/", "enrol/"):
        assert as_outsider.get(f"/journeys/{welcome.pk}/{url}").status_code == 404
    for url in ("publish/", "delete/", "enrol/", "cancel-runs/"):
        assert as_outsider.post(f"/journeys/{welcome.pk}/{url}", {"reason": "x"}).status_code == 404
    assert as_outsider.get("/journeys/plan_nope/").status_code == 404


# --- publish ---------------------------------------------------------------------------------


def test_publish_errors_name_the_step_and_mark_its_card(as_editor, tenant):
    plan = make_plan(
        tenant,
        [
            {
                "id": "start",
                "type": "branch",
                "conditions": [{"condition": {"field": "variables.x", "operator": "eq", "value": 1}, "next": "end"}],
            },
            {"id": "end", "type": "end"},
            {"id": "orphan", "type": "end"},
        ],
        key="broken",
        publish=False,
    )
    response = as_editor.post(f"/journeys/{plan.pk}/publish/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Version 1 was not published" in html
    assert "steps[0] (id &quot;start&quot;): branch has no default" in html
    assert "branch has no default" in step_card(html, "start")
    classes = re.search(r'<li class="step-card ([^"]*)" id="step-start"', html)
    assert classes
    assert "has-error" in classes.group(1)
    plan.refresh_from_db()
    assert plan.published_version is None
    assert not PlanVersion.objects.filter(plan=plan, published_at__isnull=False).exists()


def test_publish_a_valid_draft(as_editor, tenant, catalogue):
    plan = make_plan(tenant, welcome_steps(catalogue), key="ready", publish=False)
    html = as_editor.get(f"/journeys/{plan.pk}/").content.decode()
    assert 'id="publish-plan">Publish version 1</button>' in html
    assert "Publish the journey first" in html
    response = as_editor.post(f"/journeys/{plan.pk}/publish/", follow=True)
    assert "Version 1 published" in response.content.decode()
    plan.refresh_from_db()
    assert (plan.published_version, plan.status) == (1, "active")
    # publishing again is the service's 409, shown as an error, not a crash
    again = as_editor.post(f"/journeys/{plan.pk}/publish/", follow=True).content.decode()
    assert "Version 1 is already published" in again
    assert "alert-error" in again


def test_viewer_may_not_publish_edit_or_create(as_viewer, tenant, welcome):
    assert as_viewer.post(f"/journeys/{welcome.pk}/publish/").status_code == 403
    assert as_viewer.get(f"/journeys/{welcome.pk}/edit/").status_code == 403
    assert as_viewer.post(f"/journeys/{welcome.pk}/edit/", {"name": "x", "steps": "[]"}).status_code == 403
    assert as_viewer.get("/journeys/new/").status_code == 403
    assert as_viewer.post("/journeys/new/", {"name": "x", "steps": "[]"}).status_code == 403
    assert Plan.objects.count() == 1


# --- create and edit -------------------------------------------------------------------------


def post_plan(client, url: str, steps: Any, **fields: Any):
    data = {
        "name": "Spring nurture",
        "description": "",
        "steps": steps if isinstance(steps, str) else json.dumps(steps),
    }
    data.update(fields)
    return client.post(url, data)


def test_create_a_draft_then_save_and_publish(as_editor, tenant, catalogue):
    form = as_editor.get("/journeys/new/").content.decode()
    assert catalogue.email.pk in form
    assert catalogue.offers["loan"].pk in form
    response = post_plan(as_editor, "/journeys/new/", welcome_steps(catalogue))
    plan = Plan.objects.get(tenant=tenant)
    assert response.status_code == 302
    assert response["Location"] == f"/journeys/{plan.pk}/"
    assert (plan.key, plan.published_version) == ("spring-nurture", None)
    response = post_plan(as_editor, "/journeys/new/", welcome_steps(catalogue), name="Second", action="publish")
    second = Plan.objects.get(tenant=tenant, key="second")
    assert second.published_version == 1
    assert AuditLog.objects.filter(tenant=tenant, action="publish", object_id=second.pk).exists()


def test_create_shows_errors_beside_the_fields_and_writes_nothing(as_editor, tenant, catalogue):
    html = post_plan(as_editor, "/journeys/new/", "[{oops", name="").content.decode()
    assert "This field is required." in html
    assert 'id="name-error"' in html
    assert steps_error(html)[0].startswith("Not valid JSON")
    assert 'aria-describedby="steps-help steps-error"' in html
    html = post_plan(as_editor, "/journeys/new/", {"id": "x"}).content.decode()
    assert steps_error(html) == ["The steps must be a JSON list of step objects: [{…}, {…}]."]
    make_plan(tenant, welcome_steps(catalogue), key="taken")
    html = post_plan(as_editor, "/journeys/new/", [], key="taken").content.decode()
    assert "A journey with key &#x27;taken&#x27; already exists." in html
    assert 'id="key-error"' in html
    # save and publish: the graph's errors go beside the steps, and the draft is not kept
    html = post_plan(
        as_editor, "/journeys/new/", [{"id": "a", "type": "wait", "ticks": 1}], action="publish"
    ).content.decode()
    assert any("steps[0] (id &quot;a&quot;): wait needs next" in e for e in steps_error(html))
    assert list(Plan.objects.values_list("key", flat=True)) == ["taken"]


def test_editing_a_published_plan_starts_a_new_draft_and_runs_stay(as_editor, tenant, welcome, catalogue):
    [run] = enrol(welcome, reachable(tenant, 1))
    form = as_editor.get(f"/journeys/{welcome.pk}/edit/").content.decode()
    assert "&quot;id&quot;: &quot;hello&quot;" in form  # the current steps, as JSON
    assert 'id="id_key"' not in form  # the key stays
    steps = welcome_steps(catalogue)
    steps[1]["ticks"] = 7
    response = post_plan(as_editor, f"/journeys/{welcome.pk}/edit/", steps, name="Welcome v2", status="active")
    assert response.status_code == 302
    page = as_editor.get(response["Location"]).content.decode()
    assert "Saved as draft version 2; runs stay on version 1" in page
    assert 'id="publish-plan">Publish version 2</button>' in page
    welcome.refresh_from_db()
    assert (welcome.name, welcome.latest_version, welcome.published_version) == ("Welcome v2", 2, 1)
    assert PlanVersion.objects.get(plan=welcome, number=1).steps[1]["ticks"] == 2  # v1 unchanged
    run.refresh_from_db()
    assert run.plan_version == 1
    draft = as_editor.get(f"/journeys/{welcome.pk}/?version=2").content.decode()
    assert "Draft · not published" in draft
    assert "Wait 7 ticks" in draft


def test_saving_a_draft_that_cannot_be_published_warns_with_the_problems(as_editor, tenant, welcome, catalogue):
    steps = welcome_steps(catalogue)
    steps[0]["next"] = "nowhere"
    response = post_plan(as_editor, f"/journeys/{welcome.pk}/edit/", steps, name=welcome.name, status="active")
    assert response.status_code == 302  # the draft is kept: drafts may be unfinished
    page = html_lib.unescape(as_editor.get(response["Location"]).content.decode())
    assert "Saved as draft version 2" in page
    assert "Saved, but it cannot be published yet:" in page
    assert 'steps[0] (id "hello"): next "nowhere" is not a step of this plan' in page
    assert PlanVersion.objects.get(plan=welcome, number=2).steps[0]["next"] == "nowhere"
    # a publishable draft saves without a warning
    fixed = post_plan(as_editor, f"/journeys/{welcome.pk}/edit/", welcome_steps(catalogue), name=welcome.name)
    assert "cannot be published yet" not in as_editor.get(fixed["Location"]).content.decode()


def test_edit_status_rules_come_from_the_service(as_editor, tenant, catalogue):
    draft = make_plan(tenant, welcome_steps(catalogue), key="draft", publish=False)
    assert 'id="id_status"' not in as_editor.get(f"/journeys/{draft.pk}/edit/").content.decode()
    published = make_plan(tenant, welcome_steps(catalogue), key="live")
    response = post_plan(as_editor, f"/journeys/{published.pk}/edit/", welcome_steps(catalogue), status="paused")
    assert response.status_code == 302
    published.refresh_from_db()
    assert published.status == "paused"
    html = as_editor.get(f"/journeys/{published.pk}/").content.decode()
    assert "The journey is paused: no new enrolments" in html
    assert 'id="enrol-panel"' not in html


# --- delete ----------------------------------------------------------------------------------


def test_only_admins_delete_and_a_plan_with_runs_is_kept(as_editor, as_admin, tenant, welcome, catalogue):
    assert as_editor.post(f"/journeys/{welcome.pk}/delete/").status_code == 403
    enrol(welcome, reachable(tenant, 1))
    page = as_admin.post(f"/journeys/{welcome.pk}/delete/", follow=True).content.decode()
    assert "has execution runs, which keep it" in page
    assert Plan.objects.filter(pk=welcome.pk).exists()
    spare = make_plan(tenant, welcome_steps(catalogue), key="spare", name="Spare")
    response = as_admin.post(f"/journeys/{spare.pk}/delete/")
    assert response.status_code == 302
    assert response["Location"] == "/journeys/"
    assert not Plan.objects.filter(pk=spare.pk).exists()


def test_detail_query_count_does_not_grow_with_runs(as_viewer, tenant, welcome, django_assert_num_queries):
    enrol(welcome, reachable(tenant, 2))
    as_viewer.get(f"/journeys/{welcome.pk}/")
    # session, user, membership, plan, versions, runs by status, live runs by step, offer and
    # channel names, memberships (switcher)
    with django_assert_num_queries(10):
        as_viewer.get(f"/journeys/{welcome.pk}/")
    enrol(welcome, reachable(tenant, 20)[2:])
    with django_assert_num_queries(10):
        as_viewer.get(f"/journeys/{welcome.pk}/")


# --- the words -------------------------------------------------------------------------------


def test_steps_in_words():
    names = {"off_1": "Gold Card", "ch_1": "Email", "df_1": "Next Best Action"}
    assert describe({"type": "send", "offerId": "off_1", "channelId": "ch_1"}, names) == "Send offer Gold Card on Email"
    assert describe({"type": "send", "offerFrom": "nba"}, names).startswith("Send the offer decided into variables.nba")
    assert describe({"type": "wait", "duration": 259200, "ticks": 25920}, names) == "Wait 3 days"
    assert describe({"type": "wait", "ticks": 1}, names, 10) == "Wait 1 tick (about 10 seconds)"
    assert describe({"type": "decide", "decisionFlowId": "df_1"}, names) == "Decide with flow Next Best Action"
    assert describe({"type": "end"}, names) == "End"
    assert describe({"type": "end", "outcome": "converted"}, names) == "End: converted"
    branch = {
        "type": "branch",
        "conditions": [{"condition": {"field": "variables.score", "operator": "gt", "value": 0.5}, "next": "step_b"}],
        "default": "step_c",
    }
    assert describe(branch, names) == "Branch: if variables.score > 0.5 → step_b, else → step_c"
    group = {
        "any": [
            {"field": "customer.tier", "operator": "in", "value": ["gold", "silver"]},
            {
                "all": [
                    {"field": "outcome.status", "operator": "eq", "value": "sent"},
                    {"field": "variables.x", "operator": "is_null"},
                ]
            },
        ]
    }
    assert (
        condition_text(group)
        == 'customer.tier in ["gold", "silver"] or (outcome.status = sent and variables.x is empty)'
    )
    assert seconds_text(5400) == "1 hour 30 minutes"


def test_order_follows_the_first_successor_skips_loops_and_puts_unreachable_steps_last():
    steps = [
        {"id": "a", "type": "send", "next": "w", "onBlocked": "z"},
        {"id": "orphan", "type": "end"},
        {"id": "z", "type": "end"},
        {"id": "w", "type": "wait", "ticks": 1, "next": "b"},
        {"id": "b", "type": "branch", "conditions": [{"condition": {}, "next": "w"}], "default": "z"},
    ]
    assert [(s["id"], reachable) for _, s, reachable in ordered(steps)] == [
        ("a", True),
        ("w", True),
        ("b", True),
        ("z", True),
        ("orphan", False),
    ]


def test_a_malformed_draft_still_renders_and_publishing_it_names_each_problem(as_editor, tenant):
    steps: list[dict[str, Any]] = [
        {"id": "a", "type": "branch", "conditions": 5, "default": 3},
        {"id": "b", "type": "send", "next": "nowhere"},
        {"type": "wait"},
    ]
    plan = make_plan(tenant, steps, key="messy", publish=False)
    html = as_editor.get(f"/journeys/{plan.pk}/").content.decode()
    assert step_ids(html) == ["a", "b", "steps[2]"]
    assert "Branch: else → 3" in step_card(html, "a")
    assert "nowhere (no such step)" in step_card(html, "b")
    assert "Not reachable" in step_card(html, "b")
    html = as_editor.post(f"/journeys/{plan.pk}/publish/").content.decode()
    assert "branch needs conditions" in step_card(html, "a")
    assert "send needs channelId" in step_card(html, "b")
