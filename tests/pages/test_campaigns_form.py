"""The campaign form: editors only, every field of docs/api-contract.md §2.2, the schedule builder (only the fields
the type uses are sent), the live next-occurrences preview, and the service's validation shown
beside each field with nothing written."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from campaigns.models import Campaign
from kaireon.models import Role
from tests.pages.campaigns_fixtures import make_campaign
from tests.pages.conftest import field_errors

pytestmark = pytest.mark.django_db


def form_data(catalogue, **changes):
    data = {
        "name": "",
        "description": "",
        "decision_flow": catalogue.flow.pk,
        "segment": catalogue.everyone.pk,
        "status": "draft",
        "schedule_type": "manual",
        "schedule_time": "09:00",
        "schedule_timezone": "UTC",
        "schedule_day_of_week": "",
        "schedule_day_of_month": "",
        "schedule_cron": "",
        "max_total_per_run": "",
        "max_per_offer": "",
        "max_per_channel": "",
        "file_format": "csv",
        "file_columns": ["customer_id", "offer_name", "channel", "score"],
        "file_destination": "download",
        "file_s3_path": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def described_by(html: str, element_id: str) -> str:
    match = re.search(rf'<(?:input|select|textarea)[^>]*id="{element_id}"[^>]*>', html)
    assert match, element_id
    found = re.search(r'aria-describedby="([^"]*)"', match.group(0))
    return found.group(1) if found else ""


# --- roles ---------------------------------------------------------------------------------


def test_viewer_cannot_open_or_post_the_forms(as_viewer, catalogue):
    campaign = make_campaign(catalogue, name="Existing")
    assert as_viewer.get("/campaigns/new/").status_code == 403
    response = as_viewer.post("/campaigns/new/", form_data(catalogue, name="Sneaky"))
    assert response.status_code == 403
    assert "needs the editor role" in response.content.decode()
    assert as_viewer.get(f"/campaigns/{campaign.pk}/edit/").status_code == 403
    assert as_viewer.post(f"/campaigns/{campaign.pk}/edit/", form_data(catalogue, name="Renamed")).status_code == 403
    assert as_viewer.post("/campaigns/schedule-preview/", {"schedule_type": "daily"}).status_code == 403
    assert list(Campaign.objects.values_list("name", flat=True)) == ["Existing"]


def test_another_tenants_campaign_cannot_be_edited(as_outsider, catalogue):
    campaign = make_campaign(catalogue, name="Theirs")
    assert as_outsider.get(f"/campaigns/{campaign.pk}/edit/").status_code == 404
    assert as_outsider.post(f"/campaigns/{campaign.pk}/edit/", form_data(catalogue, name="Mine")).status_code == 404
    campaign.refresh_from_db()
    assert campaign.name == "Theirs"


@pytest.mark.parametrize("role", [Role.EDITOR, Role.ADMIN])
def test_new_form_lists_targets_batch_channels_zones_and_columns(client_as, tenant, catalogue, role):
    response = client_as(tenant, role).get("/campaigns/new/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<option value="{catalogue.flow.pk}" selected>Next Best Action · version 1</option>' in html
    assert "All customers — 60 customers" in html
    for channel in (catalogue.email, catalogue.sms, catalogue.call_centre):
        assert f'value="{channel.pk}"' in html
    assert f'value="{catalogue.web.pk}"' not in html  # api delivery: real time only
    for kind in ("manual", "daily", "weekly", "monthly", "cron"):
        assert f'id="id_schedule_type_{kind}"' in html
    assert 'id="id_schedule_type_manual" checked' in html
    assert "<option selected>UTC</option>" in html
    assert "<option>Europe/London</option>" in html
    assert '<optgroup label="America">' in html
    assert '<option value="last_working_day">Last working day (Monday-Friday)</option>' in html
    assert '<option value="1">Monday</option>' in html
    # the documented columns, the default four checked
    assert 'id="id_file_columns_customer_id" checked' in html
    assert 'id="id_file_columns_external_id">' in html
    assert 'id="id_file_columns_offer_key">' in html
    assert 'hx-post="/campaigns/schedule-preview/"' in html
    assert "Runs only when someone presses" in html  # the preview of a manual schedule


def test_anonymous_is_sent_to_sign_in(client, catalogue):
    response = client.get("/campaigns/new/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# --- create --------------------------------------------------------------------------------


def test_creating_with_defaults_generates_the_name(as_editor, catalogue):
    response = as_editor.post("/campaigns/new/", form_data(catalogue))
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    assert campaign.name == "Next Best Action x All customers campaign"
    assert (campaign.status, campaign.schedule_type, campaign.schedule_time, campaign.schedule_timezone) == (
        "draft",
        "manual",
        "09:00",
        "UTC",
    )
    assert campaign.volume_constraints is None
    assert campaign.file_config is None
    assert campaign.channel_ids == []
    assert campaign.created_by == "editor-acme"
    assert campaign.next_run_at is None
    assert (
        "Campaign “Next Best Action x All customers campaign” created."
        in as_editor.get(response["Location"]).content.decode()
    )


def test_creating_an_active_weekly_campaign_with_every_option(as_editor, catalogue):
    data = form_data(
        catalogue,
        name="Weekly High-Value Campaign",
        description="Monday push",
        segment=catalogue.gold.pk,
        channels=[catalogue.email.pk, catalogue.call_centre.pk],
        status="active",
        schedule_type="weekly",
        schedule_day_of_week="1",
        schedule_time="09:00",
        schedule_timezone="America/New_York",
        # left over from other types the builder hid: not sent to the service
        schedule_day_of_month="15",
        schedule_cron="0 9 * * 1",
        max_total_per_run="10000",
        max_per_offer="500",
        file_enabled="on",
        file_format="json",
        file_columns=["external_id", "offer_key", "rank"],
        file_include_personalization="on",
        file_destination="s3",
        file_s3_path="s3://acme-results/campaigns",
    )
    response = as_editor.post("/campaigns/new/", data)
    assert response.status_code == 302, field_errors(response.content.decode(), "schedule_day_of_week")
    campaign = Campaign.objects.get()
    assert campaign.name == "Weekly High-Value Campaign"
    assert campaign.description == "Monday push"
    assert campaign.segment_id == catalogue.gold.pk
    assert campaign.channel_ids == [catalogue.email.pk, catalogue.call_centre.pk]
    assert (campaign.schedule_type, campaign.schedule_day_of_week, campaign.schedule_timezone) == (
        "weekly",
        1,
        "America/New_York",
    )
    assert campaign.schedule_day_of_month is None
    assert campaign.schedule_cron is None
    assert campaign.volume_constraints == {"max_total_per_run": 10000, "max_per_offer": 500}
    assert campaign.file_config == {
        "format": "json",
        "columns": ["external_id", "offer_key", "rank"],
        "include_personalization": True,
        "destination": "s3",
        "escape_formulas": True,
        "s3_path": "s3://acme-results/campaigns",
    }
    assert campaign.next_run_at is not None
    assert campaign.next_run_at.astimezone(UTC).hour in (13, 14)  # 09:00 in New York, EST or EDT


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"decision_flow": ""}, "decision_flow", "This field is required."),
        ({"segment": ""}, "segment", "This field is required."),
        ({"schedule_type": "weekly"}, "schedule_day_of_week", "Required when the schedule is weekly."),
        ({"schedule_type": "monthly"}, "schedule_day_of_month", "Required when the schedule is monthly."),
        ({"schedule_type": "cron"}, "schedule_cron", "Required when the schedule is cron."),
        ({"schedule_type": "cron", "schedule_cron": "0 9 * *"}, "schedule_cron", "is not a five-field cron"),
        ({"schedule_type": "cron", "schedule_cron": "0 0 30 2 *"}, "schedule_cron", "never matches a date"),
        ({"schedule_type": "daily", "schedule_time": "25:00"}, "schedule_time", "Use HH:mm"),
        ({"schedule_type": "daily", "schedule_timezone": "Mars/Olympus"}, "schedule_timezone", "not an IANA"),
        ({"max_per_offer": "0"}, "max_per_offer", "Must be an integer from 1 to 2,147,483,647 (got 0)."),
        ({"max_total_per_run": "many"}, "max_total_per_run", "Enter a whole number."),
        ({"file_enabled": "on", "file_destination": "s3"}, "file_s3_path", "Required when destination is s3"),
        ({"file_enabled": "on", "file_destination": "s3", "file_s3_path": "bucket"}, "file_s3_path", "s3://"),
        ({"file_enabled": "on", "file_columns": []}, "file_columns", "non-empty list"),
        ({"file_enabled": "on", "file_columns": ["ssn"]}, "file_columns", "Select a valid choice"),
        ({"channels": ["ch_nope"]}, "channels", "Select a valid choice"),
        ({"name": "x" * 301}, "name", "at most 300 characters"),
    ],
)
def test_invalid_input_is_shown_beside_its_field_and_nothing_is_created(as_editor, catalogue, changes, field, message):
    response = as_editor.post("/campaigns/new/", form_data(catalogue, **changes))
    assert response.status_code == 200
    html = response.content.decode()
    errors = field_errors(html, field)
    assert errors, f"no error beside {field}"
    assert any(message in error for error in errors), errors
    assert "The campaign was not created." in html
    assert not Campaign.objects.exists()


def test_errors_are_announced_by_their_inputs(as_editor, catalogue):
    html = as_editor.post(
        "/campaigns/new/", form_data(catalogue, schedule_type="daily", schedule_time="7pm")
    ).content.decode()
    assert "schedule_time-error" in described_by(html, "id_schedule_time")
    assert re.search(r'id="id_schedule_time" name="schedule_time"[^>]* value="7pm" aria-invalid="true"', html)
    assert 'id="id_schedule_type_daily" checked' in html  # what was chosen is kept
    html = as_editor.post("/campaigns/new/", form_data(catalogue, max_per_channel="-1")).content.decode()
    assert "max_per_channel-error" in described_by(html, "id_max_per_channel")
    assert described_by(html, "id_max_per_offer") == ""


def test_an_inactive_channel_gets_the_services_message(as_editor, catalogue):
    from decisionflows.models import Channel

    campaign = make_campaign(catalogue, channel_ids=[catalogue.email.pk])
    Channel.objects.filter(pk=catalogue.email.pk).update(status="inactive")
    response = as_editor.post(
        f"/campaigns/{campaign.pk}/edit/", form_data(catalogue, name="Still", channels=[catalogue.email.pk])
    )
    assert response.status_code == 200
    errors = field_errors(response.content.decode(), "channels")
    assert errors
    assert "Not active batch-compatible channels" in errors[0]


# --- edit ----------------------------------------------------------------------------------


def test_edit_form_shows_the_campaign_and_saves_a_new_schedule_and_target(as_editor, catalogue):
    campaign = make_campaign(
        catalogue,
        name="Mondays",
        status="active",
        schedule_type="weekly",
        schedule_day_of_week=1,
        schedule_time="07:15",
        schedule_timezone="Europe/Berlin",
        volume_constraints={"max_per_channel": 20},
        file_config={"format": "csv", "columns": ["customer_id", "score"], "destination": "download"},
    )
    html = as_editor.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert 'value="Mondays"' in html
    assert 'id="id_schedule_type_weekly" checked' in html
    assert '<option value="1" selected>Monday</option>' in html
    assert 'value="07:15"' in html
    assert "<option selected>Europe/Berlin</option>" in html
    assert 'name="max_per_channel" value="20"' in html
    assert 'id="id_file_enabled" name="file_enabled" value="on" checked' in html
    assert 'id="id_file_columns_score" checked' in html
    assert 'id="id_file_columns_offer_name">' in html
    assert "Every Monday at 07:15 Europe/Berlin" in html  # the preview

    response = as_editor.post(
        f"/campaigns/{campaign.pk}/edit/",
        form_data(
            catalogue,
            name="Month end",
            segment=catalogue.gold.pk,
            status="active",
            schedule_type="monthly",
            schedule_day_of_week="1",
            schedule_day_of_month="last_working_day",
            schedule_time="18:30",
            schedule_timezone="UTC",
        ),
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "Month end"
    assert campaign.segment_id == catalogue.gold.pk  # retargeted
    assert (campaign.schedule_type, campaign.schedule_day_of_week, campaign.schedule_day_of_month) == (
        "monthly",
        None,
        "last_working_day",
    )
    assert campaign.volume_constraints is None  # emptied
    assert campaign.file_config is None  # the box was unchecked
    assert campaign.next_run_at is not None
    assert campaign.next_run_at.strftime("%H:%M") == "18:30"
    assert campaign.next_run_at.weekday() < 5


def test_an_empty_name_on_edit_is_refused(as_editor, catalogue):
    campaign = make_campaign(catalogue, name="Keep me")
    response = as_editor.post(f"/campaigns/{campaign.pk}/edit/", form_data(catalogue, name=""))
    assert response.status_code == 200
    assert field_errors(response.content.decode(), "name") == ["This field cannot be blank."]
    assert "The campaign was not saved." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.name == "Keep me"


# --- the schedule preview -----------------------------------------------------------------------


@pytest.fixture
def frozen_now(monkeypatch):
    """Friday 7 March 2025, 12:00 UTC: America/New_York springs forward on Sunday 9 March."""
    now = datetime(2025, 3, 7, 12, 0, tzinfo=UTC)
    monkeypatch.setattr("campaigns.pages.form.timezone", SimpleNamespace(now=lambda: now))
    return now


def occurrences(html: str) -> list[str]:
    return re.findall(r'<li><time datetime="[^"]+">([^<]+)</time>', html)


def test_preview_lists_the_next_five_slots_on_the_zones_wall_clock_across_dst(as_editor, frozen_now):
    html = as_editor.post(
        "/campaigns/schedule-preview/",
        {"schedule_type": "daily", "schedule_time": "02:30", "schedule_timezone": "America/New_York"},
    ).content.decode()
    assert "<html" not in html
    assert "Every day at 02:30 America/New_York" in html
    assert occurrences(html) == [
        "Sat 8 Mar 2025, 02:30 EST",
        "Sun 9 Mar 2025, 03:00 EDT",  # 02:30 does not exist that day: the first valid instant
        "Mon 10 Mar 2025, 02:30 EDT",
        "Tue 11 Mar 2025, 02:30 EDT",
        "Wed 12 Mar 2025, 02:30 EDT",
    ]
    assert "8 Mar, 07:30 UTC" in html
    assert "Scheduled runs happen only while the campaign is active" not in html  # no status sent


def test_preview_of_weekly_monthly_and_cron(as_editor, frozen_now):
    weekly = as_editor.post(
        "/campaigns/schedule-preview/",
        {
            "schedule_type": "weekly",
            "schedule_day_of_week": "1",
            "schedule_time": "09:00",
            "schedule_timezone": "Europe/London",
            "status": "draft",
        },
    ).content.decode()
    assert occurrences(weekly)[:2] == ["Mon 10 Mar 2025, 09:00 GMT", "Mon 17 Mar 2025, 09:00 GMT"]
    assert occurrences(weekly)[3] == "Mon 31 Mar 2025, 09:00 BST"
    assert "only while the campaign is active; it is draft" in weekly
    monthly = as_editor.post(
        "/campaigns/schedule-preview/",
        {"schedule_type": "monthly", "schedule_day_of_month": "last_working_day", "schedule_time": "18:30"},
    ).content.decode()
    assert "Last working day of the month at 18:30 UTC" in monthly
    assert occurrences(monthly)[:3] == [
        "Mon 31 Mar 2025, 18:30 UTC",
        "Wed 30 Apr 2025, 18:30 UTC",
        "Fri 30 May 2025, 18:30 UTC",
    ]
    cron = as_editor.post(
        "/campaigns/schedule-preview/", {"schedule_type": "cron", "schedule_cron": "0 */6 * * *"}
    ).content.decode()
    assert "Cron 0 */6 * * * (UTC)" in cron
    assert occurrences(cron)[:2] == ["Fri 7 Mar 2025, 18:00 UTC", "Sat 8 Mar 2025, 00:00 UTC"]


def test_preview_explains_what_is_missing_or_wrong(as_editor, frozen_now):
    html = as_editor.post("/campaigns/schedule-preview/", {"schedule_type": "weekly"}).content.decode()
    assert "No preview yet" in html
    assert "Required when the schedule is weekly." in html
    html = as_editor.post(
        "/campaigns/schedule-preview/", {"schedule_type": "daily", "schedule_timezone": "Nowhere/Land"}
    ).content.decode()
    assert "is not an IANA time zone" in html
    html = as_editor.post("/campaigns/schedule-preview/", {"schedule_type": "manual"}).content.decode()
    assert "Runs only when someone presses" in html
    assert occurrences(html) == []


def test_without_script_the_preview_button_reshows_the_form_without_saving(as_editor, catalogue, frozen_now):
    response = as_editor.post(
        "/campaigns/new/",
        form_data(catalogue, schedule_type="weekly", schedule_day_of_week="3", schedule_time="10:00", _preview="1"),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert not Campaign.objects.exists()
    assert "The campaign was not created." not in html
    assert "Every Wednesday at 10:00 UTC" in html
    assert occurrences(html)[0] == "Wed 12 Mar 2025, 10:00 UTC"
    assert '<option value="3" selected>Wednesday</option>' in html


@pytest.mark.parametrize("day", ["7", "²", "-1", "x"])
def test_schedule_from_refuses_a_day_of_week_that_is_not_0_to_6(day):
    from campaigns.forms import schedule_from

    _, errors = schedule_from({"schedule_type": "weekly", "schedule_day_of_week": day, "schedule_time": "09:00"})
    assert "Choose a day of the week." in errors["schedule_day_of_week"]


def test_an_edit_keeps_formula_escaping_turned_off_through_the_api(as_editor, catalogue):
    file_config = {"format": "csv", "columns": ["customer_id", "score"], "escape_formulas": False}
    campaign = make_campaign(catalogue, name="Machine feed", file_config=file_config)
    data = form_data(catalogue, name="Machine feed", file_enabled="on", file_columns=["customer_id", "score"])
    assert as_editor.post(f"/campaigns/{campaign.pk}/edit/", data).status_code == 302
    campaign.refresh_from_db()
    assert (campaign.file_config or {})["escape_formulas"] is False
