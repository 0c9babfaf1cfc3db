from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from campaigns import services
from campaigns.models import Campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db: None) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create(username="staff", is_staff=True, is_superuser=True))
    return client


def form(catalogue: Any, **extra: Any) -> dict[str, Any]:
    return {
        "tenant": catalogue.tenant.pk,
        "name": "From the admin",
        "description": "",
        "status": "active",
        "decision_flow": catalogue.flow.pk,
        "segment": catalogue.everyone.pk,
        "schedule_type": "daily",
        "schedule_day_of_week": "",
        "schedule_day_of_month": "",
        "schedule_time": "09:00",
        "schedule_timezone": "UTC",
        "schedule_cron": "",
        "volume_constraints": "null",
        "file_config": "null",
        "channel_ids": "[]",
        "campaign_runs-TOTAL_FORMS": "0",
        "campaign_runs-INITIAL_FORMS": "0",
        **extra,
    }


def test_changelists_search_and_change_pages_render(staff, campaign, system_actor):
    campaign_run = services.campaign_trigger(tenant=campaign.tenant, actor=system_actor, campaign=campaign)
    for model, pk in (("campaign", campaign.pk), ("campaignrun", campaign_run.pk)):
        changelist = reverse(f"admin:campaigns_{model}_changelist")
        assert staff.get(changelist).status_code == 200
        assert staff.get(changelist, {"q": "x"}).status_code == 200
        assert staff.get(reverse(f"admin:campaigns_{model}_change", args=[pk])).status_code == 200
    page = staff.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    assert "Weekly High-Value Campaign #1" in page  # the inline lists its runs (by run name)


def test_admin_add_of_an_active_campaign_sets_next_run_at(staff, catalogue):
    response = staff.post(reverse("admin:campaigns_campaign_add"), form(catalogue))
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get(name="From the admin")
    assert campaign.next_run_at is not None
    assert campaign.next_run_at.strftime("%H:%M") == "09:00"


def test_admin_rejects_a_weekly_schedule_without_its_day(staff, catalogue):
    response = staff.post(reverse("admin:campaigns_campaign_add"), form(catalogue, schedule_type="weekly"))
    assert response.status_code == 200
    assert "Required when scheduleType is weekly." in response.content.decode()
    assert not Campaign.objects.exists()


def test_admin_pausing_clears_next_run_at(staff, make_campaign, catalogue):
    campaign = make_campaign(name="From the admin", status="active", schedule_type="daily")
    assert campaign.next_run_at is not None
    response = staff.post(
        reverse("admin:campaigns_campaign_change", args=[campaign.pk]), form(catalogue, status="paused")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign.refresh_from_db()
    assert campaign.status == "paused"
    assert campaign.next_run_at is None


def test_admin_changing_a_cron_campaign_to_daily_clears_the_cron_left_in_its_box(staff, make_campaign, catalogue):
    campaign = make_campaign(name="From the admin", status="active", schedule_cron="0 7 * * 1")
    assert campaign.schedule_type == "cron"
    response = staff.post(
        reverse("admin:campaigns_campaign_change", args=[campaign.pk]),
        form(catalogue, schedule_type="daily", schedule_cron="0 7 * * 1"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign.refresh_from_db()
    assert (campaign.schedule_type, campaign.schedule_cron) == ("daily", None)


def test_admin_cron_typed_beside_another_type_governs_as_in_the_api(staff, make_campaign, catalogue):
    campaign = make_campaign(name="From the admin", status="active", schedule_type="daily")
    response = staff.post(
        reverse("admin:campaigns_campaign_change", args=[campaign.pk]),
        form(catalogue, schedule_type="daily", schedule_cron="0 7 * * 1"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign.refresh_from_db()
    assert (campaign.schedule_type, campaign.schedule_cron) == ("cron", "0 7 * * 1")
