"""The campaigns API (docs/api-contract.md §2): create with its defaults, list, detail, update, delete, trigger and
the campaign-runs history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.models import Campaign, CampaignRun
from decisionflows.models import Channel
from kaireon.models import Membership, Role
from runs import services as run_services
from runs.models import Recommendation, Run
from segments.models import Segment
from tests.campaigns.helpers import fields, ok

pytestmark = pytest.mark.django_db

SEED_EXAMPLE = {
    "name": "Weekly High-Value Campaign",
    "status": "active",
    "scheduleType": "weekly",
    "scheduleDayOfWeek": 1,
    "scheduleTime": "09:00",
    "scheduleTimezone": "America/New_York",
    "volumeConstraints": {"maxTotalPerRun": 10000, "maxPerOffer": 500},
    "fileConfig": {
        "format": "csv",
        "columns": ["customer_id", "offer_name", "channel", "score"],
        "destination": "download",
    },
}
LIST_ITEM_FIELDS = {
    "id",
    "name",
    "description",
    "status",
    "decisionFlowId",
    "decisionFlowName",
    "segmentId",
    "segmentName",
    "segmentCustomerCount",
    "scheduleType",
    "scheduleDayOfWeek",
    "scheduleDayOfMonth",
    "scheduleTime",
    "scheduleTimezone",
    "scheduleCron",
    "volumeConstraints",
    "fileConfig",
    "channelIds",
    "nextRunAt",
    "runCount",
    "lastRunAt",
    "latestRun",
    "createdBy",
    "createdAt",
    "updatedAt",
}


def create(client, catalogue, **extra):
    body = {"decisionFlowId": catalogue.flow.pk, "segmentId": catalogue.everyone.pk, **extra}
    return client.post("/api/v1/campaigns", body, format="json")


def trigger(client, campaign_id):
    return client.post(f"/api/v1/campaigns/{campaign_id}/campaign-runs", format="json")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- create --------------------------------------------------------------------------------


def test_create_with_only_flow_and_segment_has_seed_defaults(editor, catalogue):
    response = create(editor, catalogue)
    body = ok(response, 201)
    assert set(body) == LIST_ITEM_FIELDS
    assert body["id"].startswith("camp_")
    assert response["Location"].endswith(f"/api/v1/campaigns/{body['id']}")
    assert body["status"] == "draft"
    assert body["scheduleType"] == "manual"
    assert body["scheduleTime"] == "09:00"
    assert body["scheduleTimezone"] == "UTC"
    assert body["scheduleDayOfWeek"] is None
    assert body["scheduleDayOfMonth"] is None
    assert body["scheduleCron"] is None
    assert body["volumeConstraints"] is None
    assert body["fileConfig"] is None
    assert body["channelIds"] == []
    assert body["description"] == ""
    assert body["nextRunAt"] is None
    assert body["runCount"] == 0
    assert body["lastRunAt"] is None
    assert body["latestRun"] is None
    assert body["createdBy"].startswith("API key editor key")


def test_create_names_the_campaign_after_flow_and_segment_when_name_is_omitted(editor, catalogue):
    assert ok(create(editor, catalogue), 201)["name"] == "Next Best Action x All customers campaign"
    assert ok(create(editor, catalogue, name="Q1 push"), 201)["name"] == "Q1 push"


def test_create_shows_flow_and_segment_names_and_segment_size(editor, catalogue):
    body = ok(create(editor, catalogue, segmentId=catalogue.gold.pk), 201)
    assert body["decisionFlowId"] == catalogue.flow.pk
    assert body["decisionFlowName"] == "Next Best Action"
    assert body["segmentName"] == "Gold tier"
    assert body["segmentCustomerCount"] == Segment.objects.get(pk=catalogue.gold.pk).customer_count > 0


def test_create_stores_the_seed_example_and_echoes_it_in_camel_case(editor, catalogue):
    body = ok(create(editor, catalogue, **SEED_EXAMPLE, description="Mondays"), 201)
    assert body["description"] == "Mondays"
    assert body["status"] == "active"
    assert body["scheduleType"] == "weekly"
    assert body["scheduleDayOfWeek"] == 1
    assert body["scheduleTimezone"] == "America/New_York"
    assert body["volumeConstraints"] == {"maxTotalPerRun": 10000, "maxPerOffer": 500}
    assert body["fileConfig"] == {
        "format": "csv",
        "columns": ["customer_id", "offer_name", "channel", "score"],
        "includePersonalization": False,
        "destination": "download",
        "escapeFormulas": True,
    }
    stored = Campaign.objects.get(pk=body["id"])
    # snake_case keys inside the JSON columns, as the services read them
    assert stored.volume_constraints == {"max_total_per_run": 10000, "max_per_offer": 500}
    assert stored.file_config is not None
    assert stored.file_config["include_personalization"] is False


def test_an_active_scheduled_campaign_gets_its_next_run_at(editor, catalogue):
    before = timezone.now()
    body = ok(create(editor, catalogue, **SEED_EXAMPLE), 201)
    next_run_at = parse(body["nextRunAt"])
    assert body["nextRunAt"].endswith("Z")
    assert next_run_at > before
    local = next_run_at.astimezone(ZoneInfo("America/New_York"))
    assert (local.strftime("%A %H:%M")) == "Monday 09:00"
    assert next_run_at - before <= timedelta(days=7)


def test_a_draft_scheduled_campaign_has_no_next_run_at(editor, catalogue):
    body = ok(create(editor, catalogue, scheduleType="daily"), 201)
    assert body["status"] == "draft"
    assert body["nextRunAt"] is None


def test_create_does_not_run_anything(editor, catalogue):
    ok(create(editor, catalogue, status="active"), 201)
    assert CampaignRun.objects.count() == 0
    assert Run.objects.count() == 0


def test_create_with_chosen_channels(editor, catalogue):
    body = ok(create(editor, catalogue, channelIds=[catalogue.email.pk, catalogue.sms.pk, catalogue.email.pk]), 201)
    assert body["channelIds"] == [catalogue.email.pk, catalogue.sms.pk]


@pytest.mark.parametrize("missing", ["decisionFlowId", "segmentId"])
def test_create_without_flow_or_segment_is_400(editor, catalogue, missing):
    body = {"decisionFlowId": catalogue.flow.pk, "segmentId": catalogue.everyone.pk}
    del body[missing]
    errors = fields(editor.post("/api/v1/campaigns", body, format="json"))
    assert errors == {missing: ["This field is required."]}


def test_unknown_flow_or_segment_is_404(editor, catalogue):
    response = create(editor, catalogue, decisionFlowId="df_nope")
    assert response.status_code == 404
    assert response.json()["error"] == "Decision flow 'df_nope' not found."
    response = create(editor, catalogue, segmentId="seg_nope")
    assert response.status_code == 404
    assert response.json()["error"] == "Segment 'seg_nope' not found."


def test_another_tenants_flow_and_segment_are_404(outsider, catalogue):
    assert create(outsider, catalogue).status_code == 404
    assert Campaign.objects.count() == 0


# --- list ----------------------------------------------------------------------------------


def test_list_answers_campaigns_and_total_newest_first(viewer, make_campaign):
    first = make_campaign(name="First")
    second = make_campaign(name="Second")
    body = ok(viewer.get("/api/v1/campaigns"))
    assert set(body) == {"campaigns", "total"}
    assert body["total"] == 2
    assert [c["id"] for c in body["campaigns"]] == [second.pk, first.pk]
    assert set(body["campaigns"][0]) == LIST_ITEM_FIELDS


def test_list_limit_offset_default_50_and_max_200(viewer, make_campaign):
    for i in range(3):
        make_campaign(name=f"C{i}")
    body = ok(viewer.get("/api/v1/campaigns", {"limit": 2, "offset": 1}))
    assert body["total"] == 3
    assert [c["name"] for c in body["campaigns"]] == ["C1", "C0"]
    assert len(ok(viewer.get("/api/v1/campaigns", {"limit": 1000}))["campaigns"]) == 3
    assert fields(viewer.get("/api/v1/campaigns", {"limit": 0})) == {"limit": ["Must be an integer from 1 to 200."]}


def test_list_shows_run_count_last_run_and_latest_run(editor, viewer, campaign):
    first = ok(trigger(editor, campaign.pk), 201)
    second = ok(trigger(editor, campaign.pk), 201)
    item = ok(viewer.get("/api/v1/campaigns"))["campaigns"][0]
    assert item["runCount"] == 2
    assert item["lastRunAt"] == second["createdAt"]
    assert item["latestRun"] == {
        "id": second["id"],
        "runId": second["runId"],
        "status": "pending",
        "runNumber": 2,
        "createdAt": second["createdAt"],
    }
    assert first["runNumber"] == 1


def test_list_filters_by_status_and_schedule_type(viewer, make_campaign):
    make_campaign(name="A", status="active", schedule_type="daily")
    make_campaign(name="B")
    assert [c["name"] for c in ok(viewer.get("/api/v1/campaigns?status=active"))["campaigns"]] == ["A"]
    assert [c["name"] for c in ok(viewer.get("/api/v1/campaigns?scheduleType=manual"))["campaigns"]] == ["B"]


def test_list_query_count_does_not_grow_with_campaigns_or_runs(
    viewer, editor, make_campaign, catalogue, warm, django_assert_num_queries
):
    campaign = make_campaign(name="A")
    ok(trigger(editor, campaign.pk), 201)
    # the key lookup, the count, the page (with its names and run figures), the latest runs
    with django_assert_num_queries(4):
        first = ok(viewer.get("/api/v1/campaigns"))
    for i in range(5):
        other = make_campaign(name=f"B{i}", segment_id=catalogue.gold.pk)
        ok(trigger(editor, other.pk), 201)
        ok(trigger(editor, other.pk), 201)
    with django_assert_num_queries(4):
        second = ok(viewer.get("/api/v1/campaigns"))
    assert first["total"] == 1
    assert second["total"] == 6
    assert all(c["latestRun"]["runNumber"] == 2 for c in second["campaigns"][:5])


# --- detail --------------------------------------------------------------------------------


def test_detail_has_config_next_occurrences_and_no_runs_yet(viewer, make_campaign):
    campaign = make_campaign(status="active", schedule_type="daily", schedule_time="06:15")
    body = ok(viewer.get(f"/api/v1/campaigns/{campaign.pk}"))
    assert set(body) == LIST_ITEM_FIELDS | {"nextOccurrences", "recentRuns", "latestResults"}
    slots = [parse(value) for value in body["nextOccurrences"]]
    assert len(slots) == 5
    assert body["nextOccurrences"][0] == body["nextRunAt"]
    assert all(slot.strftime("%H:%M") == "06:15" for slot in slots)
    assert body["recentRuns"] == []
    assert body["latestResults"] is None


def test_detail_has_last_ten_runs_with_summaries_and_latest_results(editor, viewer, campaign, catalogue):
    for _ in range(11):
        ok(trigger(editor, campaign.pk), 201)
    latest = CampaignRun.objects.get(campaign=campaign, run_number=11)
    assert latest.run is not None
    run_services.run_execute_inline(run_id=latest.run.pk)
    body = ok(viewer.get(f"/api/v1/campaigns/{campaign.pk}"))
    assert [r["runNumber"] for r in body["recentRuns"]] == list(range(11, 1, -1))
    newest = body["recentRuns"][0]
    assert newest["status"] == "completed"
    assert newest["run"]["id"] == latest.run.pk
    assert newest["run"]["status"] == "completed"
    offer_names = {row["offerName"] for row in newest["summary"]["offerBreakdown"]}
    assert offer_names <= {"Gold Card", "Personal Loan", "Savings Account", "Home Insurance"}
    assert offer_names
    assert body["recentRuns"][1]["summary"] is None  # still pending
    results = body["latestResults"]
    assert results["runId"] == latest.run.pk
    assert results["runNumber"] == 11
    customer = results["customers"][0]
    assert customer["recommendations"][0]["offerName"] in offer_names
    assert customer["recommendations"][0]["personalization"]["content"].endswith("for you")


def test_detail_query_count_depends_on_the_ten_runs_shown_only(
    editor, viewer, campaign, warm, django_assert_num_queries
):
    for _ in range(12):
        ok(trigger(editor, campaign.pk), 201)

    def execute(*numbers: int) -> None:
        for crun in CampaignRun.objects.filter(campaign=campaign, run_number__in=numbers):
            assert crun.run is not None
            run_services.run_execute_inline(run_id=crun.run.pk)

    execute(10, 11, 12)
    path = f"/api/v1/campaigns/{campaign.pk}"
    # key, campaign, its latest run (prefetch), the last ten runs; 2 per summary shown
    # (runs.selectors.run_results resolves offers and channels); the newest finished run and its
    # first customers page (ids, offers, channels, creatives, customers, recommendations)
    expected = 4 + 2 * 3 + 7
    with django_assert_num_queries(expected):
        ok(viewer.get(path))
    execute(1, 2)  # older than the ten shown: no cost
    with django_assert_num_queries(expected):
        ok(viewer.get(path))


# --- update --------------------------------------------------------------------------------


def test_put_accepts_any_combination_of_fields(editor, campaign):
    body = ok(editor.put(f"/api/v1/campaigns/{campaign.pk}", {"description": "New notes"}, format="json"))
    assert body["description"] == "New notes"
    assert body["name"] == "Weekly High-Value Campaign"


def test_patch_retargets_flow_and_segment(editor, campaign, catalogue, system_actor):
    from decisionflows import services as df

    flow = df.decision_flow_create(
        tenant=catalogue.tenant,
        actor=system_actor,
        data={"key": "nba-2", "name": "Cross-Sell", "status": "active", "pipeline": catalogue.flow.pipeline},
    )
    body = ok(
        editor.patch(
            f"/api/v1/campaigns/{campaign.pk}",
            {"decisionFlowId": flow.pk, "segmentId": catalogue.gold.pk},
            format="json",
        )
    )
    assert body["decisionFlowId"] == flow.pk
    assert body["decisionFlowName"] == "Cross-Sell"
    assert body["segmentId"] == catalogue.gold.pk
    assert body["segmentName"] == "Gold tier"


def test_update_to_another_tenants_flow_is_404(editor, campaign, other_tenant):
    from tests.decisionflows.factories import DecisionFlowFactory

    foreign = DecisionFlowFactory.create(tenant=other_tenant)
    response = editor.patch(f"/api/v1/campaigns/{campaign.pk}", {"decisionFlowId": foreign.pk}, format="json")
    assert response.status_code == 404
    campaign.refresh_from_db()
    assert campaign.decision_flow_id != foreign.pk


def test_activating_computes_next_run_at_and_pausing_clears_it(editor, campaign):
    path = f"/api/v1/campaigns/{campaign.pk}"
    body = ok(editor.patch(path, {"scheduleType": "daily", "scheduleTime": "07:45"}, format="json"))
    assert body["nextRunAt"] is None  # still a draft
    body = ok(editor.patch(path, {"status": "active"}, format="json"))
    assert parse(body["nextRunAt"]).strftime("%H:%M") == "07:45"
    assert ok(editor.patch(path, {"status": "paused"}, format="json"))["nextRunAt"] is None
    assert ok(editor.patch(path, {"status": "active"}, format="json"))["nextRunAt"] is not None
    assert ok(editor.patch(path, {"status": "archived"}, format="json"))["nextRunAt"] is None


def test_editing_the_schedule_recomputes_next_run_at_and_other_edits_keep_it(editor, make_campaign):
    campaign = make_campaign(status="active", schedule_type="daily", schedule_time="09:00")
    path = f"/api/v1/campaigns/{campaign.pk}"
    due = datetime(2020, 1, 1, 9, tzinfo=UTC)
    Campaign.objects.filter(pk=campaign.pk).update(next_run_at=due)
    # a name change leaves a due slot due
    assert parse(ok(editor.patch(path, {"name": "Renamed"}, format="json"))["nextRunAt"]) == due
    body = ok(editor.patch(path, {"scheduleTime": "18:30", "scheduleTimezone": "Europe/Berlin"}, format="json"))
    next_run_at = parse(body["nextRunAt"])
    assert next_run_at > timezone.now()
    assert next_run_at.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") == "18:30"


def test_changing_the_type_clears_the_fields_of_the_old_type(editor, make_campaign):
    campaign = make_campaign(schedule_type="weekly", schedule_day_of_week=3)
    body = ok(editor.patch(f"/api/v1/campaigns/{campaign.pk}", {"scheduleType": "daily"}, format="json"))
    assert body["scheduleType"] == "daily"
    assert body["scheduleDayOfWeek"] is None
    errors = fields(editor.patch(f"/api/v1/campaigns/{campaign.pk}", {"scheduleType": "cron"}, format="json"))
    assert errors == {"scheduleCron": ["Required when scheduleType is cron."]}


def test_update_is_audited(editor, campaign):
    from kaireon.models import AuditLog

    ok(editor.patch(f"/api/v1/campaigns/{campaign.pk}", {"name": "Audited"}, format="json"))
    entry = AuditLog.objects.filter(object_id=campaign.pk, action="update").get()
    assert entry.before == {"name": "Weekly High-Value Campaign"}
    assert entry.after == {"name": "Audited"}


# --- delete --------------------------------------------------------------------------------


def test_delete_removes_campaign_runs_and_their_runs_with_results(admin, editor, campaign):
    ok(trigger(editor, campaign.pk), 201)
    crun = CampaignRun.objects.get(campaign=campaign)
    assert crun.run is not None
    run_id = crun.run.pk
    run_services.run_execute_inline(run_id=run_id)
    assert Recommendation.objects.filter(run_id=run_id).exists()
    assert admin.delete(f"/api/v1/campaigns/{campaign.pk}").status_code == 204
    assert not Campaign.objects.filter(pk=campaign.pk).exists()
    assert not CampaignRun.objects.exists()
    assert not Run.objects.filter(pk=run_id).exists()
    assert not Recommendation.objects.filter(run_id=run_id).exists()


def test_delete_with_a_run_still_going_is_409(admin, editor, campaign):
    body = ok(trigger(editor, campaign.pk), 201)
    response = admin.delete(f"/api/v1/campaigns/{campaign.pk}")
    assert response.status_code == 409
    assert response.json()["currentStatus"] == "pending"
    assert response.json()["runId"] == body["runId"]
    assert Campaign.objects.filter(pk=campaign.pk).exists()
    assert Run.objects.filter(pk=body["runId"]).exists()


# --- trigger and campaign runs -------------------------------------------------------------


def test_trigger_creates_a_campaign_run_and_its_run(editor, make_campaign, catalogue):
    campaign = make_campaign(channel_ids=[catalogue.email.pk])
    response = trigger(editor, campaign.pk)
    body = ok(response, 201)
    assert set(body) >= {"id", "campaignId", "runNumber", "triggeredBy", "status", "createdAt", "runId"}
    assert body["id"].startswith("crun_")
    assert body["campaignId"] == campaign.pk
    assert body["runNumber"] == 1
    assert body["status"] == "pending"
    assert body["scheduledFor"] is None
    run = Run.objects.get(pk=body["runId"])
    assert run.decision_flow_id == catalogue.flow.pk
    assert run.segment_id == catalogue.everyone.pk
    assert run.channel_ids == [catalogue.email.pk]
    assert run.name == "Next Best Action x All customers campaign #1"
    assert run.status == "pending"


def test_trigger_with_an_api_key_is_manual_as_in_the_seed(editor, campaign):
    # docs/api-contract.md §2.8: a person's trigger answers triggeredBy "manual", whatever the credential.
    ok(trigger(editor, campaign.pk), 201)
    assert ok(trigger(editor, campaign.pk), 201)["triggeredBy"] == "manual"
    assert set(CampaignRun.objects.values_list("triggered_by", flat=True)) == {"manual"}


def test_trigger_answers_a_location_that_serves_the_campaign_run(editor, viewer, outsider, campaign):
    response = trigger(editor, campaign.pk)
    body = ok(response, 201)
    location = response["Location"]
    assert location == f"http://testserver/api/v1/campaigns/{campaign.pk}/campaign-runs/{body['id']}"
    path = location.removeprefix("http://testserver")
    assert ok(viewer.get(path), 200) == body
    assert outsider.get(path).status_code == 404


def test_an_unknown_campaign_run_is_404(viewer, campaign):
    response = viewer.get(f"/api/v1/campaigns/{campaign.pk}/campaign-runs/crun_missing")
    assert response.status_code == 404
    assert response.json()["error"] == "Campaign run 'crun_missing' not found."


def test_trigger_by_a_signed_in_user_is_manual(campaign, tenant):
    user = get_user_model().objects.create(username="marketer")
    Membership.objects.create(user=user, tenant=tenant, role=Role.EDITOR)
    client = APIClient()
    client.force_login(user)
    body = ok(trigger(client, campaign.pk), 201)
    assert body["triggeredBy"] == "manual"


def test_run_numbers_increment(editor, campaign):
    assert [ok(trigger(editor, campaign.pk), 201)["runNumber"] for _ in range(3)] == [1, 2, 3]


@pytest.mark.parametrize("status", ["draft", "active", "paused"])
def test_draft_active_and_paused_campaigns_can_be_triggered(editor, make_campaign, status):
    campaign = make_campaign(status=status)
    assert ok(trigger(editor, campaign.pk), 201)["runNumber"] == 1


def test_an_archived_campaign_cannot_be_triggered(editor, make_campaign):
    campaign = make_campaign(status="archived")
    response = trigger(editor, campaign.pk)
    assert response.status_code == 409
    assert response.json()["currentStatus"] == "archived"
    assert not CampaignRun.objects.exists()


def test_trigger_surfaces_the_runs_checks_and_creates_nothing(editor, campaign, catalogue):
    catalogue.flow.status = "paused"
    catalogue.flow.save()
    errors = fields(trigger(editor, campaign.pk))
    assert "not runnable" in errors["decisionFlowId"][0]
    catalogue.flow.status = "active"
    catalogue.flow.save()
    Segment.objects.filter(pk=catalogue.everyone.pk).update(view_name="")
    assert fields(trigger(editor, campaign.pk)) == {
        "segmentId": ["Segment has no materialized view: save it with filters first."]
    }
    Segment.objects.filter(pk=catalogue.everyone.pk).update(view_name=catalogue.everyone.view_name)
    Channel.objects.filter(tenant=catalogue.tenant).exclude(delivery_mode="api").update(status="inactive")
    response = trigger(editor, campaign.pk)
    assert response.status_code == 400
    assert response.json()["error"].startswith("No batch-compatible channels found")
    assert not CampaignRun.objects.exists()
    assert not Run.objects.exists()


def test_triggered_run_completes_inline_and_the_campaign_run_follows_it(editor, viewer, campaign):
    body = ok(trigger(editor, campaign.pk), 201)
    run = run_services.run_execute_inline(run_id=body["runId"])
    assert run.status == "completed"
    assert run.total_customers == 30
    assert run.recommendation_count > 0
    listed = ok(viewer.get(f"/api/v1/campaigns/{campaign.pk}/campaign-runs"))["campaignRuns"]
    assert listed[0]["status"] == "completed"
    assert ok(viewer.get("/api/v1/campaigns"))["campaigns"][0]["latestRun"]["status"] == "completed"


def test_campaign_run_status_follows_a_cancelled_run(editor, viewer, campaign, system_actor):
    body = ok(trigger(editor, campaign.pk), 201)
    run_services.run_cancel(tenant=campaign.tenant, actor=system_actor, run=Run.objects.get(pk=body["runId"]))
    listed = ok(viewer.get(f"/api/v1/campaigns/{campaign.pk}/campaign-runs"))["campaignRuns"]
    assert listed[0]["status"] == "cancelled"


def test_a_campaign_run_keeps_its_outcome_when_its_run_is_deleted(editor, viewer, admin, campaign):
    body = ok(trigger(editor, campaign.pk), 201)
    run_services.run_execute_inline(run_id=body["runId"])
    assert admin.delete(f"/api/v1/runs/{body['runId']}").status_code == 204
    listed = ok(viewer.get(f"/api/v1/campaigns/{campaign.pk}/campaign-runs"))["campaignRuns"]
    assert listed[0]["status"] == "completed"  # not the "pending" it was created with
    assert listed[0]["runId"] is None
    assert CampaignRun.objects.get(pk=body["id"]).error == "Its run and results were deleted."


def test_campaign_runs_are_newest_first_and_at_most_50(viewer, campaign):
    CampaignRun.objects.bulk_create(
        CampaignRun(tenant=campaign.tenant, campaign=campaign, run_number=n, triggered_by="api", status="failed")
        for n in range(1, 56)
    )
    body = ok(viewer.get(f"/api/v1/campaigns/{campaign.pk}/campaign-runs"))
    assert body["total"] == 55
    numbers = [r["runNumber"] for r in body["campaignRuns"]]
    assert numbers == list(range(55, 5, -1))
    assert len(ok(viewer.get(f"/api/v1/campaigns/{campaign.pk}/campaign-runs?limit=200"))["campaignRuns"]) == 50
    tail = ok(viewer.get(f"/api/v1/campaigns/{campaign.pk}/campaign-runs?offset=50"))["campaignRuns"]
    assert [r["runNumber"] for r in tail] == [5, 4, 3, 2, 1]


def test_campaign_runs_query_count_does_not_grow(viewer, editor, campaign, warm, django_assert_num_queries):
    ok(trigger(editor, campaign.pk), 201)
    path = f"/api/v1/campaigns/{campaign.pk}/campaign-runs"
    # the key lookup, the campaign, the count, the page with its runs
    with django_assert_num_queries(4):
        ok(viewer.get(path))
    for _ in range(4):
        ok(trigger(editor, campaign.pk), 201)
    with django_assert_num_queries(4):
        assert len(ok(viewer.get(path))["campaignRuns"]) == 5
