"""A marketer sets up a campaign in a real browser against a live server and a real Celery
worker: the schedule builder shows only the fields of the chosen type and previews the next
slots as they change, an error lands beside its field, the campaign is created, run by hand,
followed live to completion, its result file downloaded and checked; an agent then works the
manual channel's queue."""

from __future__ import annotations

import csv
import re

import pytest

from campaigns.models import Campaign, CampaignFile, CampaignRun, Delivery, FileStatus
from kaireon.models import Role
from runs.models import Recommendation
from tests.browser.conftest import sign_in
from tests.pages.campaigns_fixtures import make_campaign
from tests.runs.conftest import build_catalogue
from tests.worker import WorkerProcess, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.worker]

CUSTOMERS = 300


def test_editor_creates_a_campaign_runs_it_and_downloads_its_file(
    live_server, celery_worker_process: WorkerProcess, tenant, page, screenshot
):
    catalogue = build_catalogue(tenant, customers=CUSTOMERS)
    make_campaign(
        catalogue,
        name="Weekly High-Value Campaign",
        status="active",
        schedule_type="weekly",
        schedule_day_of_week=1,
        schedule_timezone="Europe/London",
        segment_id=catalogue.gold.pk,
    )
    make_campaign(catalogue, name="Month-end review", schedule_type="monthly", schedule_day_of_month="last_working_day")
    base = live_server.url
    sign_in(page, base, tenant, Role.EDITOR)

    # --- the list ----------------------------------------------------------------------------
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    page.wait_for_url(f"{base}/campaigns/")
    assert page.locator("tr.campaign-row").count() == 2
    assert page.get_by_text("Every Monday at 09:00 Europe/London").is_visible()
    screenshot("campaigns-list")

    # --- the form: the schedule builder and its live preview ----------------------------------
    page.get_by_role("link", name="New campaign").click()
    page.wait_for_url(f"{base}/campaigns/new/")
    day_of_week, cron, time_field = (
        page.locator("#id_schedule_day_of_week"),
        page.locator("#id_schedule_cron"),
        page.locator("#id_schedule_time"),
    )
    for field in (day_of_week, cron, time_field):
        assert field.is_hidden()  # manual: nothing to set
    page.get_by_label("Weekly", exact=True).check()
    assert day_of_week.is_visible()
    assert time_field.is_visible()
    assert cron.is_hidden()
    day_of_week.select_option(label="Thursday")
    time_field.fill("07:45")
    page.get_by_label("Time zone").select_option("Asia/Tokyo")
    preview = page.locator("#schedule-preview")
    preview.get_by_text("Every Thursday at 07:45 Asia/Tokyo").wait_for()
    slots = preview.locator("ol.occurrences li time").all_inner_texts()
    assert len(slots) == 5
    assert all(re.fullmatch(r"Thu \d+ \w+ \d{4}, 07:45 JST", slot) for slot in slots), slots
    page.get_by_label("Cron", exact=True).check()
    assert cron.is_visible()
    assert day_of_week.is_hidden()
    cron.fill("0 */6 * * *")
    preview.get_by_text("Cron 0 */6 * * * (Asia/Tokyo)").wait_for()
    page.get_by_label("Weekly", exact=True).check()
    preview.get_by_text("Every Thursday at 07:45 Asia/Tokyo").wait_for()

    page.get_by_label("Campaign name").fill("Browser loyalty push")
    page.get_by_label("Segment", exact=True).select_option(catalogue.everyone.pk)
    channels = page.get_by_role("group", name="Channels")
    channels.get_by_role("checkbox", name=re.compile("^Email")).check()
    channels.get_by_role("checkbox", name=re.compile("^Call centre")).check()
    page.get_by_label("Most per offer").fill("120")
    s3_path = page.locator("#id_file_s3_path")
    assert page.locator("#id_file_format_csv").is_hidden()  # no file wanted yet
    page.get_by_text("Write a result file after each run").click()
    assert page.locator("#id_file_format_csv").is_checked()
    page.get_by_label("External id").check()
    page.get_by_label("Offer key").check()
    page.get_by_role("radio", name="Amazon S3").check()
    assert s3_path.is_visible()
    screenshot("campaign-form")

    # an S3 destination without its path: the error sits beside the field
    page.get_by_role("button", name="Create campaign").click()
    error = page.locator("#file_s3_path-error")
    assert "Required when destination is s3" in error.inner_text()
    assert "file_s3_path-error" in (s3_path.get_attribute("aria-describedby") or "")
    assert not Campaign.objects.filter(name="Browser loyalty push").exists()
    assert page.locator("#id_schedule_type_weekly").is_checked()  # what was chosen is kept
    page.get_by_role("radio", name="Download").check()
    assert s3_path.is_hidden()
    page.get_by_role("button", name="Create campaign").click()
    page.wait_for_url(re.compile(rf"{re.escape(base)}/campaigns/camp_[0-9a-z]+/$"))
    campaign = Campaign.objects.get(name="Browser loyalty push")
    assert (campaign.schedule_type, campaign.schedule_day_of_week, campaign.schedule_time) == ("weekly", 4, "07:45")
    assert campaign.schedule_timezone == "Asia/Tokyo"
    assert sorted(campaign.channel_ids) == sorted([catalogue.email.pk, catalogue.call_centre.pk])
    assert campaign.volume_constraints == {"max_per_offer": 120}
    assert campaign.file_config == {
        "format": "csv",
        "columns": ["customer_id", "external_id", "offer_key", "offer_name", "channel", "score"],
        "include_personalization": False,
        "destination": "download",
        "escape_formulas": True,
    }

    # --- run it by hand and follow it live ------------------------------------------------------
    assert page.locator("dd[data-schedule]").inner_text() == "Every Thursday at 07:45 Asia/Tokyo"
    navigations: list[str] = []
    page.get_by_role("button", name="Run now").click()
    page.locator("#campaign-history tr.history-row").first.wait_for()
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    download_link = page.locator("#campaign-history a.file-download")
    download_link.wait_for(timeout=90_000)
    assert navigations == []  # the history updated itself
    campaign_run = CampaignRun.objects.select_related("run").get(campaign=campaign)
    assert campaign_run.triggered_by == "manual"
    assert campaign_run.run is not None
    assert campaign_run.run.status == "completed", (campaign_run.run.error, celery_worker_process.log()[-3000:])
    record = CampaignFile.objects.get(campaign_run=campaign_run)
    assert record.status == FileStatus.READY
    row = page.locator("#campaign-history tr.history-row").first
    assert row.get_attribute("data-status") == "completed"
    assert row.locator(".manifest").get_attribute("data-rows") == str(record.rows)
    assert f"sha256 {record.checksum[:12]}" in row.inner_text()
    assert row.locator("[data-constraint=max_per_offer]").is_visible()
    screenshot("campaign-detail")

    # --- the file ------------------------------------------------------------------------------
    with page.expect_download() as download_info:
        download_link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(f"{campaign_run.pk}.csv")
    with open(download.path(), newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["customer_id", "external_id", "offer_key", "offer_name", "channel", "score"]
    expected = Recommendation.objects.filter(run=campaign_run.run).count()
    assert len(rows) - 1 == record.rows == expected > 0
    assert all(r[1].startswith("c") for r in rows[1:])

    # --- an agent works the call-centre queue ---------------------------------------------------
    wait_for(lambda: CampaignRun.objects.filter(pk=campaign_run.pk, work_items__gt=0).exists(), timeout=30)
    page.get_by_role("link", name="Campaigns").first.click()
    page.get_by_role("link", name="Work queue").click()
    page.wait_for_url(f"{base}/campaigns/work-queue/")
    items = page.locator("tr.work-item")
    assert items.count() == min(Delivery.objects.filter(campaign_run=campaign_run, mode="manual").count(), 50)
    first = items.first
    item_id = (first.get_attribute("id") or "").removeprefix("item-")
    first.get_by_role("button", name=re.compile("^Mark done")).click()
    page.locator(f'#item-{item_id}[data-status="done"]').wait_for()
    assert "by editor-acme" in page.locator(f"#item-{item_id}").inner_text()
    assert Delivery.objects.get(pk=int(item_id)).status == "done"
    screenshot("campaigns-work-queue", full_page=False)
