"""Every rule of a campaign's configuration: a 400 naming the field, one test per rule, on
create and (where the rule depends on other fields) on update."""

from __future__ import annotations

from datetime import datetime

import pytest

from decisionflows.models import Channel
from tests.campaigns.helpers import fields, ok
from tests.decisionflows.factories import ChannelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(editor, catalogue):
    def send(**extra):
        body = {"decisionFlowId": catalogue.flow.pk, "segmentId": catalogue.everyone.pk, **extra}
        return editor.post("/api/v1/campaigns", body, format="json")

    return send


# --- status and schedule type --------------------------------------------------------------


@pytest.mark.parametrize("status", ["draft", "active", "paused", "archived"])
def test_every_seed_status_is_accepted(post, status):
    assert ok(post(status=status), 201)["status"] == status


def test_unknown_status_is_400(post):
    assert fields(post(status="running")) == {"status": ['"running" is not a valid choice.']}


@pytest.mark.parametrize(
    ("schedule_type", "extra"),
    [
        ("manual", {}),
        ("daily", {}),
        ("weekly", {"scheduleDayOfWeek": 0}),
        ("monthly", {"scheduleDayOfMonth": "1"}),
        ("cron", {"scheduleCron": "0 9 * * 1"}),
    ],
)
def test_every_schedule_type_is_accepted(post, schedule_type, extra):
    assert ok(post(scheduleType=schedule_type, **extra), 201)["scheduleType"] == schedule_type


def test_unknown_schedule_type_is_400(post):
    assert fields(post(scheduleType="hourly")) == {"scheduleType": ['"hourly" is not a valid choice.']}


# --- day of week ---------------------------------------------------------------------------


@pytest.mark.parametrize("day", [-1, 7])
def test_day_of_week_outside_0_to_6_is_400(post, day):
    assert "scheduleDayOfWeek" in fields(post(scheduleType="weekly", scheduleDayOfWeek=day))


@pytest.mark.parametrize("day", [0, 6])
def test_day_of_week_0_and_6_are_accepted(post, day):
    assert ok(post(scheduleType="weekly", scheduleDayOfWeek=day), 201)["scheduleDayOfWeek"] == day


def test_day_of_week_is_required_for_weekly(post):
    assert fields(post(scheduleType="weekly")) == {"scheduleDayOfWeek": ["Required when scheduleType is weekly."]}


def test_day_of_week_with_another_type_is_400(post):
    assert fields(post(scheduleType="daily", scheduleDayOfWeek=1)) == {
        "scheduleDayOfWeek": ["Only used when scheduleType is weekly (scheduleType is daily)."]
    }


# --- day of month --------------------------------------------------------------------------


@pytest.mark.parametrize("day", ["1", "15", "28", "last_working_day"])
def test_day_of_month_1_to_28_or_last_working_day_is_accepted(post, day):
    assert ok(post(scheduleType="monthly", scheduleDayOfMonth=day), 201)["scheduleDayOfMonth"] == day


@pytest.mark.parametrize("day", ["0", "29", "31", "last_day", ""])
def test_other_days_of_month_are_400(post, day):
    assert "scheduleDayOfMonth" in fields(post(scheduleType="monthly", scheduleDayOfMonth=day))


def test_day_of_month_is_required_for_monthly(post):
    assert fields(post(scheduleType="monthly")) == {"scheduleDayOfMonth": ["Required when scheduleType is monthly."]}


def test_day_of_month_with_another_type_is_400(post):
    errors = fields(post(scheduleType="weekly", scheduleDayOfWeek=1, scheduleDayOfMonth="3"))
    assert errors == {"scheduleDayOfMonth": ["Only used when scheduleType is monthly (scheduleType is weekly)."]}


# --- time and zone -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["00:00", "23:59", "09:05"])
def test_schedule_time_hh_mm_is_accepted(post, value):
    assert ok(post(scheduleType="daily", scheduleTime=value), 201)["scheduleTime"] == value


@pytest.mark.parametrize("value", ["24:00", "9:00", "09:60", "0900", "09:00:00", "noon"])
def test_schedule_time_not_hh_mm_is_400(post, value):
    assert fields(post(scheduleType="daily", scheduleTime=value)) == {
        "scheduleTime": ["Use HH:mm, from 00:00 to 23:59."]
    }


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "UTC"])
def test_iana_zones_are_accepted(post, zone):
    assert ok(post(scheduleTimezone=zone), 201)["scheduleTimezone"] == zone


@pytest.mark.parametrize("zone", ["Mars/Olympus", "america/new_york", "GMT+2", ""])
def test_unknown_zone_is_400(post, zone):
    assert "scheduleTimezone" in fields(post(scheduleTimezone=zone))


# --- cron ----------------------------------------------------------------------------------


def test_cron_is_required_for_cron(post):
    assert fields(post(scheduleType="cron")) == {"scheduleCron": ["Required when scheduleType is cron."]}


@pytest.mark.parametrize("schedule_type", [None, "manual", "daily", "weekly", "monthly"])
def test_cron_with_the_seed_schedule_types_governs_the_schedule(post, schedule_type):
    # docs/api-contract.md §2.4, §6.2: a scheduleCron sent beside manual, daily, weekly or monthly is
    # for a frequency they do not cover: the expression wins.
    extra = {} if schedule_type is None else {"scheduleType": schedule_type}
    body = ok(post(status="active", scheduleCron="30 6 * * 2", scheduleTimezone="UTC", **extra), 201)
    assert (body["scheduleType"], body["scheduleCron"]) == ("cron", "30 6 * * 2")
    next_run_at = datetime.fromisoformat(body["nextRunAt"].replace("Z", "+00:00"))
    assert (next_run_at.weekday(), next_run_at.hour, next_run_at.minute) == (1, 6, 30)  # a Tuesday, 06:30


def test_cron_sent_on_update_governs_a_weekly_campaign(post, editor):
    campaign = ok(post(status="active", scheduleType="weekly", scheduleDayOfWeek=1), 201)
    response = editor.patch(f"/api/v1/campaigns/{campaign['id']}", {"scheduleCron": "0 7 1 * *"}, format="json")
    body = ok(response, 200)
    assert (body["scheduleType"], body["scheduleCron"], body["scheduleDayOfWeek"]) == ("cron", "0 7 1 * *", None)
    assert body["nextRunAt"].endswith("-01T07:00:00.000Z")


@pytest.mark.parametrize(
    "days",
    [{"scheduleType": "weekly", "scheduleDayOfWeek": 1}, {"scheduleType": "monthly", "scheduleDayOfMonth": "15"}],
)
def test_the_types_day_beside_a_cron_is_accepted_and_the_cron_governs(post, days):
    body = ok(post(status="active", scheduleCron="0 9 * * 3", scheduleTimezone="UTC", **days), 201)
    assert (body["scheduleType"], body["scheduleDayOfWeek"], body["scheduleDayOfMonth"]) == ("cron", None, None)
    next_run_at = datetime.fromisoformat(body["nextRunAt"].replace("Z", "+00:00"))
    assert (next_run_at.weekday(), next_run_at.hour) == (2, 9)  # a Wednesday: the cron's day, not Monday or the 15th


def test_another_type_on_update_clears_the_stored_cron(post, editor):
    campaign = ok(post(scheduleCron="0 9 * * 1"), 201)
    body = ok(editor.patch(f"/api/v1/campaigns/{campaign['id']}", {"scheduleType": "daily"}, format="json"), 200)
    assert (body["scheduleType"], body["scheduleCron"]) == ("daily", None)


@pytest.mark.parametrize("expression", ["61 * * * *", "0 9 * *", "0 0 9 * * 1", "@daily", "every monday"])
def test_cron_that_is_not_five_valid_fields_is_400(post, expression):
    errors = fields(post(scheduleType="cron", scheduleCron=expression))
    assert list(errors) == ["scheduleCron"]
    assert "five-field cron expression" in errors["scheduleCron"][0]


def test_cron_that_never_matches_is_400(post):
    assert fields(post(scheduleType="cron", scheduleCron="0 0 30 2 *")) == {
        "scheduleCron": ["'0 0 30 2 *' never matches a date."]
    }


# --- volume constraints --------------------------------------------------------------------


def test_volume_constraints_take_the_three_keys(post):
    body = ok(post(volumeConstraints={"maxTotalPerRun": 100, "maxPerOffer": 10, "maxPerChannel": 50}), 201)
    assert body["volumeConstraints"] == {"maxTotalPerRun": 100, "maxPerOffer": 10, "maxPerChannel": 50}


def test_volume_constraints_with_another_key_is_400(post):
    assert fields(post(volumeConstraints={"maxPerCustomer": 3})) == {
        "volumeConstraints.maxPerCustomer": ["Unknown key: use maxTotalPerRun, maxPerOffer or maxPerChannel."]
    }


@pytest.mark.parametrize("value", [0, -5, 1.5, "10", True])
def test_volume_constraint_that_is_not_a_positive_integer_is_400(post, value):
    assert list(fields(post(volumeConstraints={"maxPerOffer": value}))) == ["volumeConstraints.maxPerOffer"]


def test_volume_constraints_must_be_an_object(post):
    assert fields(post(volumeConstraints=[1, 2])) == {"volumeConstraints": ["Must be an object."]}


# --- file config ---------------------------------------------------------------------------


def test_file_config_defaults(post):
    assert ok(post(fileConfig={}), 201)["fileConfig"] == {
        "format": "csv",
        "columns": ["customer_id", "offer_name", "channel", "score"],
        "includePersonalization": False,
        "destination": "download",
        "escapeFormulas": True,
    }


def test_file_config_format_must_be_csv_or_json(post):
    assert ok(post(fileConfig={"format": "json"}), 201)["fileConfig"]["format"] == "json"
    assert fields(post(fileConfig={"format": "xml"})) == {"fileConfig.format": ["Use csv or json (got 'xml')."]}


def test_file_config_columns_come_from_the_catalogue(post):
    errors = fields(post(fileConfig={"columns": ["customer_id", "shoe_size"]}))
    assert list(errors) == ["fileConfig.columns"]
    assert errors["fileConfig.columns"][0].startswith("Unknown columns shoe_size")


def test_file_config_columns_must_not_be_empty(post):
    assert "fileConfig.columns" in fields(post(fileConfig={"columns": []}))


def test_file_config_personalization_columns_need_include_personalization(post):
    errors = fields(post(fileConfig={"columns": ["customer_id", "subject"]}))
    assert errors == {"fileConfig.columns": ["subject: personalization columns need includePersonalization: true."]}
    body = ok(post(fileConfig={"columns": ["customer_id", "subject", "content"], "includePersonalization": True}), 201)
    assert body["fileConfig"]["columns"] == ["customer_id", "subject", "content"]


def test_file_config_destination_must_be_download_or_s3(post):
    assert fields(post(fileConfig={"destination": "ftp"})) == {
        "fileConfig.destination": ["Use download or s3 (got 'ftp')."]
    }


def test_file_config_s3_needs_an_s3_path(post):
    assert fields(post(fileConfig={"destination": "s3"})) == {
        "fileConfig.s3Path": ["Required when destination is s3 (s3://bucket/prefix)."]
    }
    body = ok(post(fileConfig={"destination": "s3", "s3Path": "s3://acme-exports/campaigns/weekly"}), 201)
    assert body["fileConfig"]["s3Path"] == "s3://acme-exports/campaigns/weekly"


@pytest.mark.parametrize("path", ["acme-exports/weekly", "https://acme.s3.amazonaws.com/x", "s3://A_B/x"])
def test_file_config_s3_path_must_be_s3_bucket_prefix(post, path):
    assert list(fields(post(fileConfig={"destination": "s3", "s3Path": path}))) == ["fileConfig.s3Path"]


def test_file_config_with_an_unknown_key_is_400(post):
    assert list(fields(post(fileConfig={"delimiter": ";"}))) == ["fileConfig.delimiter"]


# --- channels ------------------------------------------------------------------------------


def test_channel_ids_must_be_batch_compatible(post, catalogue):
    errors = fields(post(channelIds=[catalogue.email.pk, catalogue.web.pk]))
    assert errors == {"channelIds": [f"Not active batch-compatible channels of this tenant: {catalogue.web.pk}."]}


def test_channel_ids_must_be_active(post, catalogue):
    Channel.objects.filter(pk=catalogue.sms.pk).update(status="inactive")
    assert list(fields(post(channelIds=[catalogue.sms.pk]))) == ["channelIds"]


def test_channel_ids_of_another_tenant_or_unknown_are_400(post, other_tenant):
    foreign = ChannelFactory.create(tenant=other_tenant, delivery_mode="file")
    assert list(fields(post(channelIds=[foreign.pk]))) == ["channelIds"]
    assert list(fields(post(channelIds=["ch_nope"]))) == ["channelIds"]


# --- the same rules on update --------------------------------------------------------------


def test_patch_to_weekly_without_a_day_is_400(editor, campaign):
    response = editor.patch(f"/api/v1/campaigns/{campaign.pk}", {"scheduleType": "weekly"}, format="json")
    assert fields(response) == {"scheduleDayOfWeek": ["Required when scheduleType is weekly."]}


def test_patch_a_day_of_week_onto_a_daily_campaign_is_400(editor, make_campaign):
    campaign = make_campaign(schedule_type="daily")
    response = editor.patch(f"/api/v1/campaigns/{campaign.pk}", {"scheduleDayOfWeek": 2}, format="json")
    assert list(fields(response)) == ["scheduleDayOfWeek"]


def test_patch_an_invalid_file_config_is_400(editor, campaign):
    response = editor.patch(f"/api/v1/campaigns/{campaign.pk}", {"fileConfig": {"destination": "s3"}}, format="json")
    assert list(fields(response)) == ["fileConfig.s3Path"]


def test_patch_a_blank_name_is_400(editor, campaign):
    assert list(fields(editor.patch(f"/api/v1/campaigns/{campaign.pk}", {"name": ""}, format="json"))) == ["name"]
