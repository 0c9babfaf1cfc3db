"""A marketer's afternoon, in a real browser against a live server and a real Celery worker:
sign in, fail then succeed at creating a run, watch it go to 100 % without a reload, read the
charts, look a customer up, download the CSV."""

from __future__ import annotations

import csv
import re
import time

import pytest
from playwright.sync_api import Page

from kaireon.models import Role
from runs.models import Recommendation, Run, RunStatus
from segments.models import Customer
from tests.browser.conftest import sign_in
from tests.runs.conftest import build_catalogue
from tests.worker import WorkerProcess, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.worker]

CUSTOMERS = 2_000
# 2,000 customers in chunks of 50 on one worker process: ~40 chunk tasks, several seconds of
# work, so the page sees the percentage climb between its one-second polls.
CHUNK_SIZE = "50"


@pytest.fixture
def slow_worker(celery_worker_process: WorkerProcess) -> WorkerProcess:
    celery_worker_process.env["RUNS_CHUNK_SIZE"] = CHUNK_SIZE
    celery_worker_process.env["TEST_CHUNK_DELAY"] = "0.1"  # a pause per chunk, so progress is visible
    return celery_worker_process.restart()


def percent_of(page: Page) -> float:
    value = page.locator("#run-percent").get_attribute("data-percent", timeout=2_000)
    return float(value or 0)


def test_editor_creates_a_run_and_watches_it_finish(live_server, slow_worker, tenant, page, screenshot):
    catalogue = build_catalogue(tenant, customers=CUSTOMERS)
    base = live_server.url
    sign_in(page, base, tenant, Role.EDITOR)

    # --- New run: an error first, shown beside its field -----------------------------------
    page.get_by_role("link", name="New run").first.click()
    page.wait_for_url(f"{base}/runs/new/")
    page.get_by_label("Segment", exact=True).select_option("")
    page.get_by_role("button", name="Create run").click()
    error = page.locator("#segment-error")
    assert error.inner_text() == "Choose the segment to run, or switch to an ad-hoc filter."
    # the message sits in the segment field's own block, and the select points at it
    assert page.locator(".field.has-error").filter(has=page.locator("#id_segment")).count() == 1
    assert "segment-error" in (page.locator("#id_segment").get_attribute("aria-describedby") or "")
    screenshot("new-run-error")

    # --- then the real thing ---------------------------------------------------------------
    page.get_by_label("Segment", exact=True).select_option(catalogue.everyone.pk)
    page.get_by_label("Run name").fill("Browser spring push")
    page.get_by_role("button", name="Create run").click()
    page.wait_for_url(re.compile(rf"{re.escape(base)}/runs/run_[0-9a-z]+/$"))
    run_url = page.url
    run = Run.objects.get(name="Browser spring push")

    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    # --- live progress, no reload ----------------------------------------------------------
    seen: list[float] = []
    running_shot = False
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        value = percent_of(page)
        if not seen or value != seen[-1]:
            seen.append(value)
        if 0 < value < 100 and not running_shot:
            assert page.locator("#run-eta").inner_text() != ""
            screenshot("run-detail-running", full_page=False)
            running_shot = True
        if value >= 100:
            break
        time.sleep(0.1)
    assert seen[-1] == 100.0, (seen, slow_worker.log()[-3000:])
    assert seen == sorted(seen), seen  # never goes backwards
    assert any(0 < value < 100 for value in seen), f"no intermediate progress seen: {seen}"
    assert running_shot
    assert navigations == []  # the page updated itself
    assert page.url == run_url

    # --- the summary swaps in: status, charts, funnel --------------------------------------
    page.locator("#offer-chart").wait_for()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED, run.error
    summary = run.summary
    assert summary is not None
    assert page.locator("#run-status").inner_text().strip() == "Completed"
    assert page.locator("#cancel-run").count() == 0
    offers = page.locator("#offer-chart tbody tr")
    assert offers.count() == len(summary["offer_counts"])
    names = offers.locator("th").all_inner_texts()
    assert "Gold Card" in names
    first = offers.first.locator("td.num").all_inner_texts()
    assert re.fullmatch(r"[\d,]+", first[0])
    assert first[1].endswith("%")
    assert page.locator("#channel-chart tbody tr").count() == len(summary["channel_counts"])
    assert page.locator("[data-summary=processed]").inner_text() == f"{summary['customers_processed']:,}"
    assert page.get_by_role("heading", name="Decision funnel").is_visible()
    screenshot("run-detail-finished")

    # --- one customer, by externalId -------------------------------------------------------
    customer = Customer.objects.get(
        pk=Recommendation.objects.filter(run=run).order_by("-customer_id").values_list("customer_id", flat=True)[0]
    )
    page.get_by_label("Customer externalId").fill(customer.external_id)
    page.get_by_role("button", name="Search").click()
    row = page.locator(f'.customer-row[data-external-id="{customer.external_id}"]')
    row.wait_for()
    assert page.locator(".customer-row").count() == 1
    assert row.locator(".reco").count() == Recommendation.objects.filter(run=run, customer=customer).count()
    assert "for you" in row.inner_text()  # the creative's personalized content
    assert navigations == []

    # --- the CSV download ------------------------------------------------------------------
    with page.expect_download() as download_info:
        page.locator("#download-csv").click()
    download = download_info.value
    assert download.suggested_filename.endswith(f"{run.pk}.csv")
    with open(download.path(), newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:5] == ["customer_id", "external_id", "email", "rank", "offer_id"]
    assert len(rows) - 1 == run.recommendation_count == Recommendation.objects.filter(run=run).count()

    # --- where the run now shows up --------------------------------------------------------
    main_nav = page.get_by_role("navigation", name="Main")
    main_nav.get_by_role("link", name="Runs").click()
    page.wait_for_url(f"{base}/runs/")
    assert page.locator("tbody tr").filter(has_text="Browser spring push").locator(".status-completed").count() == 1
    screenshot("runs-list")
    main_nav.get_by_role("link", name="Dashboard").click()
    page.wait_for_url(f"{base}/")
    assert page.locator("#dashboard-live").filter(has_text="Browser spring push").count() == 1
    screenshot("dashboard")


def test_dashboard_and_list_follow_a_run_live(live_server, slow_worker, tenant, page, screenshot):
    """A run started elsewhere (the API, a campaign) moves on the dashboard and the runs list
    by itself: both poll while something runs and stop when it is done."""
    from runs import services

    catalogue = build_catalogue(tenant, customers=CUSTOMERS)
    base = live_server.url
    sign_in(page, base, tenant, Role.VIEWER)
    assert page.locator("#dashboard-live[hx-trigger]").count() == 0  # nothing to follow yet

    run = services.run_create(
        tenant=tenant, actor=None, decision_flow_id=catalogue.flow.pk, segment_id=catalogue.everyone.pk, name="Nightly"
    )
    wait_for(lambda: Run.objects.filter(pk=run.pk, processed_customers__gt=0).exists(), timeout=60)
    page.goto(f"{base}/")
    assert page.locator("#dashboard-live[hx-trigger]").count() == 1
    assert page.get_by_role("link", name="New run").count() == 0  # a viewer does not create runs
    bar = page.get_by_role("progressbar", name="Progress of Nightly")
    start = float(bar.get_attribute("aria-valuenow") or 0)
    screenshot("dashboard-running", full_page=False)
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    recent = page.locator("#dashboard-live .card").nth(1)
    recent.filter(has_text="Nightly").wait_for(timeout=90_000)
    assert recent.locator(".status-completed").count() == 1
    assert navigations == []
    assert start < 100
