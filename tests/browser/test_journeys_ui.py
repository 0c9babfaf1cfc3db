"""A journey from the marketer's side, in a real browser against a live server: write and
publish a plan, preview a segment's enrolment (who would be skipped and why), enrol it, watch
the per-step counts move as the clock ticks (the tick is driven here with journeys_drain, as a
beat-fed worker would), then open one run's timeline and pause and resume it."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from journeys import services
from journeys.models import ExecutionRun, ExecutionRunStatus, Plan
from kaireon.models import Role
from segments.models import Customer
from tests.browser.conftest import sign_in
from tests.pages.journeys_fixtures import welcome_steps
from tests.runs.conftest import build_catalogue

pytestmark = pytest.mark.browser


def tick() -> None:
    number, _ = services.journeys_tick(dispatch=False)
    services.journeys_drain(tick=number)


def test_editor_publishes_enrols_and_follows_a_journey(live_server, tenant, page: Page, screenshot):
    catalogue = build_catalogue(tenant)
    everyone = Customer.objects.filter(tenant=tenant)
    suppressed = everyone.filter(suppressed=True).count()
    expected = everyone.count() - suppressed
    base = live_server.url
    sign_in(page, base, tenant, Role.EDITOR)
    page.on("dialog", lambda dialog: dialog.accept())

    # --- write and publish the plan --------------------------------------------------------
    page.goto(f"{base}/journeys/")
    page.get_by_role("link", name="New journey").first.click()
    page.get_by_label("Name", exact=True).fill("Welcome series")
    page.get_by_label("Steps").fill(json.dumps(welcome_steps(catalogue), indent=2))
    page.get_by_role("button", name="Save and publish").click()
    page.wait_for_url(re.compile(rf"{re.escape(base)}/journeys/plan_[0-9a-z]+/$"))
    page.get_by_text("Welcome series” saved and version 1 published.").wait_for()
    plan = Plan.objects.get(tenant=tenant, key="welcome-series")
    cards = page.locator(".journey-steps > li")
    assert cards.count() == 6
    assert cards.first.locator(".step-text").inner_text() == "Send offer Personal Loan on Email"
    assert "Branch: if variables.tier = gold → vip, else → done" in cards.nth(2).inner_text()

    # --- preview the enrolment, then enrol ------------------------------------------------
    page.get_by_label("Segment", exact=True).select_option(catalogue.everyone.pk)
    page.get_by_label("Shared variables").fill('{"tier": "gold"}')
    page.get_by_role("button", name="Preview").click()
    result = page.locator("#enrol-preview-result")
    result.wait_for()
    assert result.locator("[data-would-enrol]").inner_text() == str(expected)
    assert result.locator('tr[data-reason="suppressed"] td').inner_text() == str(suppressed)
    assert ExecutionRun.objects.count() == 0  # a dry run
    page.locator("#enrol-panel").scroll_into_view_if_needed()
    screenshot("journey-bulk-preview", full_page=False)
    page.get_by_role("button", name=f"Enrol {expected} contacts").click()
    page.get_by_text(f"Enrolled {expected} contacts in “Welcome series”.").wait_for()
    assert ExecutionRun.objects.filter(plan=plan, status=ExecutionRunStatus.ACTIVE).count() == expected
    expect(page.locator('[data-status-count="active"]')).to_have_text(str(expected))
    expect(page.locator('[data-step="hello"] .step-count')).to_contain_text(f"{expected} here")

    # --- the clock ticks: the page follows without a reload -------------------------------
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    tick()  # every run sends, then waits at "pause"
    expect(page.locator('[data-status-count="waiting"]')).to_have_text(str(expected), timeout=10_000)
    expect(page.locator('[data-step="pause"] .step-count')).to_contain_text(f"{expected} here")
    expect(page.locator('[data-step="hello"] .step-count')).to_contain_text("0 here")
    assert navigations == []
    screenshot("journey-detail")

    page.goto(f"{base}/journeys/")
    row = page.locator(f'tr[data-plan="{plan.pk}"]')
    expect(row.locator('[data-status="waiting"] strong')).to_have_text(str(expected))
    screenshot("journeys-list")

    # --- runs, one run's timeline, pause and resume ---------------------------------------
    row.get_by_role("link", name="Welcome series").click()
    page.locator("#plan-runs-link").click()
    page.wait_for_url(f"{base}/journeys/runs/?plan={plan.pk}")
    assert page.locator("tbody tr").count() == min(expected, 50)
    assert f"of {expected}" in page.locator(".pagination").inner_text()
    page.get_by_role("checkbox", name="Waiting").check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r".*status=waiting.*"))
    assert page.locator("tbody tr .status-waiting").count() == min(expected, 50)
    screenshot("journey-runs", full_page=False)
    page.locator("tbody tr").first.locator("td.primary-cell a").click()
    page.wait_for_url(re.compile(rf"{re.escape(base)}/journeys/runs/[0-9a-f-]{{36}}/$"))
    run = ExecutionRun.objects.get(pk=page.url.rstrip("/").rsplit("/", 1)[1])
    timeline = page.locator(".timeline-table tbody tr")
    assert timeline.locator("td:nth-child(4)").all_inner_texts()[:3] == ["Enrolled", "Sent", "Waiting"]
    assert page.locator('[data-field="currentStep"]').inner_text().startswith("pause")
    page.get_by_role("button", name="Pause").click()
    page.get_by_text("Run paused: the tick skips it").wait_for()
    expect(page.locator("#run-status")).to_have_text("Paused")
    run.refresh_from_db()
    assert run.status == ExecutionRunStatus.PAUSED
    page.get_by_role("button", name="Resume").click()
    page.get_by_text("Run resumed; it is waiting again.").wait_for()
    assert [t.strip() for t in timeline.locator("td:nth-child(4)").all_inner_texts()][-2:] == ["Paused", "Resumed"]
    run.refresh_from_db()
    assert run.status == ExecutionRunStatus.WAITING
    screenshot("journey-run-detail")
