"""Bulk enrol from a segment (dry-run preview, then enrol) and bulk cancel, on the plan page."""

from __future__ import annotations

import re

import pytest

from journeys.models import ExecutionRun, ExecutionRunStatus, Plan, RunEvent
from kaireon.models import AuditLog
from segments.models import Customer
from tests.pages.conftest import field_errors
from tests.pages.journeys_fixtures import enrol, make_plan, reachable, welcome_steps

pytestmark = pytest.mark.django_db


@pytest.fixture
def welcome(tenant, catalogue) -> Plan:
    return make_plan(tenant, welcome_steps(catalogue), key="welcome", name="Welcome series")


def reason_count(html: str, reason: str) -> int:
    match = re.search(rf'<tr data-reason="{reason}"><th scope="row">[^<]+</th><td class="num">([\d,]+)</td>', html)
    assert match, f"no row for {reason}"
    return int(match.group(1).replace(",", ""))


def test_preview_counts_who_would_be_enrolled_and_who_is_skipped_why(as_editor, tenant, welcome, catalogue):
    suppressed = Customer.objects.filter(tenant=tenant, suppressed=True).count()
    enrolled = enrol(welcome, reachable(tenant, 3))
    total = Customer.objects.filter(tenant=tenant).count()
    response = as_editor.post(
        f"/journeys/{welcome.pk}/enrol/",
        {"segment": catalogue.everyone.pk, "variables": "", "action": "preview"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # the panel, swapped in place
    would = total - suppressed - len(enrolled)
    assert f'data-would-enrol="{would}"' in html
    assert f'data-would-skip="{suppressed + 3}"' in html
    assert reason_count(html, "already_enrolled") == 3
    assert reason_count(html, "suppressed") == suppressed
    assert f'id="enrol-commit">Enrol {would} contacts</button>' in html
    assert ExecutionRun.objects.count() == 3  # a dry run writes nothing
    assert not AuditLog.objects.filter(action="bulk_execute").exists()


def test_enrol_commits_and_says_what_it_did(as_editor, tenant, welcome, catalogue):
    suppressed = Customer.objects.filter(tenant=tenant, suppressed=True).count()
    total = Customer.objects.filter(tenant=tenant).count()
    response = as_editor.post(
        f"/journeys/{welcome.pk}/enrol/",
        {"segment": catalogue.everyone.pk, "variables": '{"source": "spring"}', "action": "enrol"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/journeys/{welcome.pk}/"
    runs = ExecutionRun.objects.filter(plan=welcome)
    assert runs.count() == total - suppressed
    assert set(runs.values_list("status", flat=True)) == {ExecutionRunStatus.ACTIVE}
    assert {str(v) for v in runs.values_list("variables", flat=True)} == {str({"source": "spring"})}
    page = as_editor.get(response["Location"]).content.decode()
    assert (
        f"Enrolled {total - suppressed} contacts in “Welcome series”. {suppressed} skipped ({suppressed} suppressed)."
        in page
    )
    assert f'data-status-count="active">{total - suppressed}<' in page
    # through htmx the answer sends the browser to the plan page
    again = as_editor.post(
        f"/journeys/{welcome.pk}/enrol/",
        {"segment": catalogue.gold.pk, "action": "enrol"},
        HTTP_HX_REQUEST="true",
    )
    assert again.status_code == 204
    assert again["HX-Redirect"] == f"/journeys/{welcome.pk}/"


def test_enrol_form_errors_are_beside_their_fields(as_editor, tenant, welcome, catalogue):
    html = as_editor.post(f"/journeys/{welcome.pk}/enrol/", {"segment": "", "variables": "[1]"}).content.decode()
    assert "<h1>Enrol a segment in Welcome series</h1>" in html  # without htmx, a page of its own
    assert field_errors(html, "segment") == ["Choose the segment whose customers to enrol."]
    assert field_errors(html, "variables") == [
        "Shared variables are a JSON object, such as {&quot;source&quot;: &quot;spring&quot;}."
    ]
    assert 'aria-describedby="segment-help segment-error"' in html
    assert ExecutionRun.objects.count() == 0


def test_a_paused_plan_cannot_enrol_and_says_why(as_editor, tenant, welcome, catalogue):
    Plan.objects.filter(pk=welcome.pk).update(status="paused")
    html = as_editor.post(
        f"/journeys/{welcome.pk}/enrol/", {"segment": catalogue.everyone.pk, "action": "preview"}
    ).content.decode()
    assert "cannot start runs: its status is paused" in html
    assert 'id="enrol-errors"' in html
    assert ExecutionRun.objects.count() == 0


def test_viewer_may_not_enrol_or_cancel(as_viewer, tenant, welcome, catalogue):
    enrol(welcome, reachable(tenant, 2))
    assert as_viewer.get(f"/journeys/{welcome.pk}/enrol/").status_code == 403
    assert (
        as_viewer.post(
            f"/journeys/{welcome.pk}/enrol/", {"segment": catalogue.everyone.pk, "action": "enrol"}
        ).status_code
        == 403
    )
    assert as_viewer.post(f"/journeys/{welcome.pk}/cancel-runs/", {"reason": "no"}).status_code == 403
    assert ExecutionRun.objects.filter(status=ExecutionRunStatus.ACTIVE).count() == 2
    html = as_viewer.get(f"/journeys/{welcome.pk}/").content.decode()
    assert 'id="bulk-cancel"' not in html
    assert 'id="enrol-panel"' not in html


def test_bulk_cancel_the_plans_live_runs_with_a_reason(as_editor, tenant, welcome, catalogue):
    other = make_plan(tenant, welcome_steps(catalogue), key="other")
    runs = enrol(welcome, reachable(tenant, 3))
    [kept] = enrol(other, reachable(tenant, 1))
    ExecutionRun.objects.filter(pk=runs[0].pk).update(status=ExecutionRunStatus.COMPLETED)
    html = as_editor.get(f"/journeys/{welcome.pk}/").content.decode()
    assert 'id="bulk-cancel">Cancel 2 live runs</button>' in html
    # a reason is required: the error sits beside it, nothing is cancelled
    html = as_editor.post(f"/journeys/{welcome.pk}/cancel-runs/", {"reason": ""}).content.decode()
    assert field_errors(html, "cancel_reason") == ["This field is required."]
    assert ExecutionRun.objects.filter(status=ExecutionRunStatus.CANCELLED).count() == 0
    response = as_editor.post(f"/journeys/{welcome.pk}/cancel-runs/", {"reason": "Plan deprecated"}, follow=True)
    assert "Cancelled 2 runs of “Welcome series”." in response.content.decode()
    assert ExecutionRun.objects.filter(plan=welcome, status=ExecutionRunStatus.CANCELLED).count() == 2
    assert ExecutionRun.objects.get(pk=runs[0].pk).status == ExecutionRunStatus.COMPLETED
    assert ExecutionRun.objects.get(pk=kept.pk).status == ExecutionRunStatus.ACTIVE
    assert set(RunEvent.objects.filter(action="cancelled").values_list("reason", flat=True)) == {"Plan deprecated"}


def test_enrol_says_how_many_could_not_be_enrolled_and_why(as_editor, tenant, welcome, catalogue, monkeypatch):
    from django.db import DatabaseError

    from journeys import bulk

    def insert(model, columns, rows):
        raise DatabaseError("disk full")

    monkeypatch.setattr(bulk, "insert", insert)
    suppressed = Customer.objects.filter(tenant=tenant, suppressed=True).count()
    total = Customer.objects.filter(tenant=tenant).count()
    response = as_editor.post(
        f"/journeys/{welcome.pk}/enrol/", {"segment": catalogue.everyone.pk, "action": "enrol"}, follow=True
    )
    failed = total - suppressed
    assert (
        f"Enrolled 0 contacts in “Welcome series”. {suppressed} skipped ({suppressed} suppressed). "
        f"{failed} could not be enrolled ({failed} write failed)." in response.content.decode()
    )
    assert not ExecutionRun.objects.exists()
