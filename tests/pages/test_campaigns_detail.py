"""The campaign detail page: configuration, schedule in words and its next occurrences, the
run history (live progress, summaries, constraint drops, the result file, deliveries), and
the trigger, status, delete and retry actions with their roles."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from campaigns.models import Campaign, CampaignRun, Delivery, DeliveryStatus
from kaireon.models import Role
from runs import services as run_services
from runs.models import Recommendation, Run, RunStatus
from tests.pages.campaigns_fixtures import break_webhook, execute, make_campaign, trigger

pytestmark = pytest.mark.django_db

CSV_FILE = {"format": "csv", "columns": ["external_id", "offer_key", "score"], "destination": "download"}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def history_rows(html: str) -> list[tuple[str, str]]:
    """(run number, status) of each history row."""
    return re.findall(r'<tr class="history-row" id="crun-[^"]+" data-run-number="(\d+)" data-status="([a-z_]+)">', html)


def flashes(client) -> str:
    return client.get("/campaigns/").content.decode()


# --- rendering and roles -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "trigger_", "edit", "delete"),
    [(Role.VIEWER, False, False, False), (Role.EDITOR, True, True, False), (Role.ADMIN, True, True, True)],
)
def test_detail_renders_for_every_role_with_its_actions(client_as, tenant, catalogue, role, trigger_, edit, delete):
    campaign = make_campaign(catalogue, name="Weekly High-Value Campaign")
    response = client_as(tenant, role).get(f"/campaigns/{campaign.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Weekly High-Value Campaign</h1>" in html
    assert 'class="badge badge-neutral status-draft"' in html
    assert ('id="trigger-campaign"' in html) is trigger_
    assert ('id="edit-campaign"' in html) is edit
    assert ('id="status-active"' in html) is edit
    assert ('id="delete-campaign"' in html) is delete
    assert "No runs yet" in html


def test_another_tenants_campaign_is_a_404_everywhere(as_outsider, catalogue):
    campaign = make_campaign(catalogue, name="Theirs", file_config=CSV_FILE)
    campaign_run = execute(campaign)
    base = f"/campaigns/{campaign.pk}"
    for url in (f"{base}/", f"{base}/history/", f"{base}/runs/{campaign_run.pk}/file/"):
        assert as_outsider.get(url).status_code == 404, url
    for url in (f"{base}/trigger/", f"{base}/status/", f"{base}/delete/", f"{base}/runs/{campaign_run.pk}/retry/"):
        assert as_outsider.post(url, {"status": "archived"}).status_code == 404, url
    assert CampaignRun.objects.filter(campaign=campaign).count() == 1
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"


def test_configuration_and_schedule_with_next_occurrences(as_viewer, catalogue, monkeypatch):
    now = datetime(2025, 3, 26, 12, 0, tzinfo=UTC)
    monkeypatch.setattr("campaigns.pages.detail.timezone", SimpleNamespace(now=lambda: now))
    campaign = make_campaign(
        catalogue,
        name="Sunday brunch",
        description="Weekend offers for everyone.",
        status="active",
        schedule_type="weekly",
        schedule_day_of_week=0,
        schedule_time="10:30",
        schedule_timezone="Europe/London",
        channel_ids=[catalogue.email.pk, catalogue.call_centre.pk],
        volume_constraints={"max_total_per_run": 1000, "max_per_offer": 50},
        file_config={**CSV_FILE, "include_personalization": True},
    )
    html = as_viewer.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "Weekend offers for everyone." in html
    assert "<dd data-schedule>Every Sunday at 10:30 Europe/London</dd>" in html
    assert "Call centre, Email" in html
    assert "Per run ≤ 1,000" in html
    assert "Per offer ≤ 50" in html
    assert "CSV, to download, with personalization" in html
    assert "External id · Offer key · Score · subject · content" in html
    slots = re.findall(r'<li><time datetime="[^"]+">([^<]+)</time>', html)
    # London moves to BST on 30 March 2025
    assert slots == [
        "Sun 30 Mar 2025, 10:30 BST",
        "Sun 6 Apr 2025, 10:30 BST",
        "Sun 13 Apr 2025, 10:30 BST",
        "Sun 20 Apr 2025, 10:30 BST",
        "Sun 27 Apr 2025, 10:30 BST",
    ]
    assert "30 Mar, 09:30 UTC" in html
    assert campaign.next_run_at is not None
    assert "Next run" in html


# --- trigger -------------------------------------------------------------------------------


def test_editor_triggers_a_manual_run_that_the_history_follows(
    as_editor, catalogue, django_capture_on_commit_callbacks
):
    campaign = make_campaign(catalogue, name="On demand")
    with django_capture_on_commit_callbacks() as callbacks:
        response = as_editor.post(f"/campaigns/{campaign.pk}/trigger/")
    assert response.status_code == 302
    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    campaign_run = CampaignRun.objects.get(campaign=campaign)
    assert (campaign_run.run_number, campaign_run.triggered_by) == (1, "manual")
    assert campaign_run.run is not None
    assert campaign_run.run.status == RunStatus.PENDING
    assert len(callbacks) == 1  # the run is enqueued after commit
    html = as_editor.get(response["Location"]).content.decode()
    assert "Run #1 created; it starts as soon as a worker picks it up." in html
    assert history_rows(html) == [("1", "pending")]
    assert f'hx-get="/campaigns/{campaign.pk}/history/" hx-trigger="every 2s"' in html
    assert f'href="/runs/{campaign_run.run.pk}/"' in html
    assert "Waiting for a worker" in html


def test_viewer_cannot_trigger(as_viewer, catalogue):
    campaign = make_campaign(catalogue)
    response = as_viewer.post(f"/campaigns/{campaign.pk}/trigger/")
    assert response.status_code == 403
    assert not CampaignRun.objects.exists()


def test_an_archived_campaign_cannot_be_triggered(as_editor, catalogue):
    campaign = make_campaign(catalogue, status="archived")
    html = as_editor.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="trigger-campaign"' not in html
    assert 'id="status-draft"' in html  # restore
    as_editor.post(f"/campaigns/{campaign.pk}/trigger/")
    assert not CampaignRun.objects.exists()
    assert "archived campaign cannot be run" in as_editor.get(f"/campaigns/{campaign.pk}/").content.decode()


def test_a_run_that_cannot_start_says_why(as_editor, catalogue):
    from decisionflows.models import DecisionFlow

    campaign = make_campaign(catalogue)
    DecisionFlow.objects.filter(pk=catalogue.flow.pk).update(status="draft")
    as_editor.post(f"/campaigns/{campaign.pk}/trigger/")
    assert not CampaignRun.objects.exists()
    html = as_editor.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "The campaign could not run:" in html


# --- history -------------------------------------------------------------------------------


def test_running_run_shows_live_progress_and_the_poll_stops_when_it_is_done(as_viewer, catalogue, settings):
    settings.RUNS_CHUNK_SIZE = 20
    campaign = make_campaign(catalogue, name="Going")
    run_id = trigger(campaign).run_id or ""
    chunk_ids = run_services.run_plan(run_id=run_id, dispatch=False)
    run_services.run_chunk_process(chunk_id=chunk_ids[0], worker="test", finalize=False)
    html = as_viewer.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert history_rows(html) == [("1", "running")]
    assert 'role="progressbar"' in html
    assert 'aria-valuenow="33.3"' in html
    response = as_viewer.get(f"/campaigns/{campaign.pk}/history/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    for chunk_id in chunk_ids[1:]:
        run_services.run_chunk_process(chunk_id=chunk_id, worker="test", finalize=False)
    run_services.run_finalize(run_id=run_id)
    response = as_viewer.get(f"/campaigns/{campaign.pk}/history/", HTTP_HX_REQUEST="true")
    assert response.status_code == 286  # htmx: stop polling
    assert history_rows(response.content.decode()) == [("1", "completed")]


def test_finished_run_shows_summary_constraint_drops_and_its_file(as_viewer, catalogue):
    campaign = make_campaign(catalogue, name="Capped", volume_constraints={"max_per_offer": 5}, file_config=CSV_FILE)
    campaign_run = execute(campaign)
    run = Run.objects.get(pk=campaign_run.run_id)
    summary = run.summary or {}
    dropped = summary["constraints"]["max_per_offer"]["recommendations_dropped"]
    assert dropped > 0
    html = as_viewer.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert history_rows(html) == [("1", "completed")]
    assert 'hx-trigger="every' not in html  # nothing moves
    assert f"<strong>{summary['total_recommendations']}</strong> recommendations" in html
    assert f"{summary['customers_processed']} customers reached" in html
    assert re.search(rf'data-constraint="max_per_offer"><span class="tag">Per offer ≤ 5</span> {dropped} dropped', html)
    record = campaign_run.file
    url = f"/campaigns/{campaign.pk}/runs/{campaign_run.pk}/file/"
    assert f'href="{url}"' in html
    assert f'data-rows="{record.rows}"' in html
    assert f"sha256 {record.checksum[:12]}…" in html
    assert record.rows == Recommendation.objects.filter(run=run).count() > 0

    response = as_viewer.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    content = b"".join(response.streaming_content)
    assert hashlib.sha256(content).hexdigest() == record.checksum == response["X-Checksum-Sha256"]
    rows = list(csv.reader(io.StringIO(content.decode())))
    assert rows[0] == ["external_id", "offer_key", "score"]
    assert len(rows) - 1 == record.rows


def test_no_file_is_a_404(as_viewer, catalogue):
    campaign = make_campaign(catalogue)
    campaign_run = execute(campaign)
    assert as_viewer.get(f"/campaigns/{campaign.pk}/runs/{campaign_run.pk}/file/").status_code == 404
    assert as_viewer.get(f"/campaigns/{campaign.pk}/runs/crun_nope/file/").status_code == 404


def test_history_query_count_does_not_grow_with_runs(as_viewer, catalogue, django_assert_num_queries):
    campaign = make_campaign(catalogue, file_config=CSV_FILE)
    execute(campaign)
    url = f"/campaigns/{campaign.pk}/history/"
    as_viewer.get(url)
    with django_assert_num_queries(6):  # session, user, membership, campaign, its runs (run, file joined)
        as_viewer.get(url)
    for _ in range(3):
        execute(campaign)
        trigger(campaign)
    with django_assert_num_queries(6):
        response = as_viewer.get(url)
    assert len(history_rows(response.content.decode())) == 7


# --- deliveries ----------------------------------------------------------------------------


def test_failed_deliveries_are_counted_and_an_editor_retries_them(
    as_viewer, as_editor, catalogue, django_capture_on_commit_callbacks
):
    break_webhook(catalogue)
    campaign = make_campaign(catalogue, channel_ids=[catalogue.sms.pk, catalogue.call_centre.pk])
    campaign_run = execute(campaign, deliver=True)
    assert campaign_run.deliveries_failed > 0
    failed = campaign_run.deliveries_failed
    viewer_html = as_viewer.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert history_rows(viewer_html) == [("1", "completed_with_errors")]
    assert f"{failed} failed" in viewer_html
    assert f"0</strong> of {campaign_run.deliveries_total} sent" in viewer_html
    assert f"{campaign_run.work_items} work item" in viewer_html
    assert "Retry failed deliveries" not in viewer_html
    assert as_viewer.post(f"/campaigns/{campaign.pk}/runs/{campaign_run.pk}/retry/").status_code == 403

    html = as_editor.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "Retry failed deliveries" in html
    with django_capture_on_commit_callbacks() as callbacks:
        response = as_editor.post(f"/campaigns/{campaign.pk}/runs/{campaign_run.pk}/retry/")
    assert response.status_code == 302
    assert len(callbacks) == 1  # the batches are enqueued after commit
    rows = Delivery.objects.filter(campaign_run=campaign_run, mode="integration")
    assert set(rows.values_list("status", flat=True)) == {DeliveryStatus.PENDING}
    html = as_editor.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f"Resending {failed} failed deliveries of run #1." in html
    # nothing failed any more (pending again): nothing to retry
    as_editor.post(f"/campaigns/{campaign.pk}/runs/{campaign_run.pk}/retry/")
    assert "no failed deliveries to retry" in flashes(as_editor)


# --- status and delete ------------------------------------------------------------------------


def test_editor_activates_pauses_archives_and_restores(as_editor, catalogue):
    campaign = make_campaign(catalogue, schedule_type="daily", schedule_time="06:00")
    url = f"/campaigns/{campaign.pk}/status/"
    assert as_editor.post(url, {"status": "active"}).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == "active"
    assert campaign.next_run_at is not None
    html = as_editor.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "is now active" in html
    assert 'id="status-paused"' in html
    assert 'id="status-active"' not in html
    as_editor.post(url, {"status": "paused"})
    campaign.refresh_from_db()
    assert (campaign.status, campaign.next_run_at) == ("paused", None)
    as_editor.post(url, {"status": "archived"})
    campaign.refresh_from_db()
    assert campaign.status == "archived"
    as_editor.post(url, {"status": "draft"})
    campaign.refresh_from_db()
    assert campaign.status == "draft"
    as_editor.post(url, {"status": "bogus"})
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_viewer_cannot_change_the_status(as_viewer, catalogue):
    campaign = make_campaign(catalogue)
    assert as_viewer.post(f"/campaigns/{campaign.pk}/status/", {"status": "active"}).status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_only_an_admin_deletes_and_not_while_a_run_goes(as_editor, as_admin, catalogue):
    campaign = make_campaign(catalogue, name="Short-lived")
    assert as_editor.post(f"/campaigns/{campaign.pk}/delete/").status_code == 403
    trigger(campaign)
    response = as_admin.post(f"/campaigns/{campaign.pk}/delete/")
    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    assert "cancel its run" in as_admin.get(response["Location"]).content.decode()
    Run.objects.filter(campaign_run__campaign=campaign).update(status=RunStatus.CANCELLED)
    response = as_admin.post(f"/campaigns/{campaign.pk}/delete/")
    assert response["Location"] == "/campaigns/"
    assert not Campaign.objects.filter(pk=campaign.pk).exists()
    assert not Run.objects.exists()
    assert "Campaign “Short-lived” and its runs were deleted." in flashes(as_admin)
