"""Beat's tick: due slots fire once (whatever beat does), late ones are skipped past the grace
period, paused campaigns stay quiet, and run numbers keep counting."""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from campaigns import services, tasks
from campaigns.models import Campaign, CampaignRun
from kaireon.models import AuditLog
from runs import services as run_services
from runs.models import Run

SLOT = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC
DAY = timedelta(days=1)


def due_campaign(make_campaign: Any, slot: datetime = SLOT, **data: Any) -> Campaign:
    """An active daily 09:00 UTC campaign whose next slot is ``slot``."""
    campaign = make_campaign(status="active", schedule_type="daily", schedule_time="09:00", **data)
    Campaign.objects.filter(pk=campaign.pk).update(next_run_at=slot)
    campaign.refresh_from_db()
    return campaign


def next_run_at(campaign: Campaign) -> datetime | None:
    campaign.refresh_from_db()
    return campaign.next_run_at


@pytest.mark.django_db
class TestFireDue:
    def test_a_due_slot_creates_its_campaign_run_and_run_and_moves_to_the_next_slot(self, make_campaign, catalogue):
        campaign = due_campaign(make_campaign)
        assert services.campaigns_fire_due(now=SLOT + timedelta(seconds=20)) == {"fired": 1}
        campaign_run = CampaignRun.objects.get(campaign=campaign)
        assert campaign_run.run_number == 1
        assert campaign_run.triggered_by == "schedule"
        assert campaign_run.scheduled_for == SLOT
        assert campaign_run.run is not None
        assert campaign_run.run.status == "pending"
        assert campaign_run.run.segment_id == catalogue.everyone.pk
        assert next_run_at(campaign) == SLOT + DAY
        assert AuditLog.objects.filter(object_id=campaign_run.pk, action="fire", actor_type="system").exists()

    def test_nothing_before_the_slot(self, make_campaign):
        campaign = due_campaign(make_campaign)
        assert services.campaigns_fire_due(now=SLOT - timedelta(seconds=1)) == {}
        assert not CampaignRun.objects.exists()
        assert next_run_at(campaign) == SLOT

    def test_firing_twice_at_the_same_moment_creates_one_campaign_run(self, make_campaign):
        campaign = due_campaign(make_campaign)
        now = SLOT + timedelta(seconds=5)
        services.campaigns_fire_due(now=now)
        assert services.campaigns_fire_due(now=now) == {}
        assert CampaignRun.objects.filter(campaign=campaign).count() == 1
        assert Run.objects.count() == 1

    def test_firing_the_same_slot_twice_creates_one_campaign_run(self, make_campaign):
        campaign = due_campaign(make_campaign)
        first = services.campaign_fire_slot(campaign=campaign, slot=SLOT, now=SLOT)
        second = services.campaign_fire_slot(campaign=campaign, slot=SLOT, now=SLOT)
        assert first is not None
        assert second is None
        assert CampaignRun.objects.filter(campaign=campaign, scheduled_for=SLOT).count() == 1
        assert Run.objects.count() == 1
        assert next_run_at(campaign) == SLOT + DAY

    def test_a_stale_next_run_at_cannot_fire_a_slot_again(self, make_campaign):
        # a second beat (or a restored backup) still believes the slot is due: the unique key holds
        campaign = due_campaign(make_campaign)
        services.campaigns_fire_due(now=SLOT + timedelta(seconds=1))
        Campaign.objects.filter(pk=campaign.pk).update(next_run_at=SLOT)
        assert services.campaigns_fire_due(now=SLOT + timedelta(seconds=40)) == {"none": 1}
        assert CampaignRun.objects.filter(campaign=campaign).count() == 1
        assert next_run_at(campaign) == SLOT + DAY

    def test_each_day_fires_its_own_slot(self, make_campaign):
        campaign = due_campaign(make_campaign)
        for day in range(3):
            services.campaigns_fire_due(now=SLOT + day * DAY + timedelta(seconds=30))
        runs = CampaignRun.objects.filter(campaign=campaign).order_by("run_number")
        assert [(r.run_number, r.scheduled_for) for r in runs] == [(n + 1, SLOT + n * DAY) for n in range(3)]

    def test_a_slot_past_the_grace_period_is_skipped(self, make_campaign):
        campaign = due_campaign(make_campaign)
        now = SLOT + timedelta(seconds=settings.CAMPAIGNS_GRACE_SECONDS + 60)
        assert services.campaigns_fire_due(now=now) == {"skipped": 1}
        campaign_run = CampaignRun.objects.get(campaign=campaign)
        assert campaign_run.status == "skipped"
        assert campaign_run.run is None
        assert campaign_run.scheduled_for == SLOT
        assert "grace period" in campaign_run.error
        assert not Run.objects.exists()
        assert next_run_at(campaign) == SLOT + DAY

    def test_a_slot_within_the_grace_period_still_fires(self, make_campaign):
        due_campaign(make_campaign)
        now = SLOT + timedelta(seconds=settings.CAMPAIGNS_GRACE_SECONDS - 60)
        assert services.campaigns_fire_due(now=now) == {"fired": 1}

    def test_grace_period_is_a_setting(self, make_campaign, settings):
        settings.CAMPAIGNS_GRACE_SECONDS = 60
        due_campaign(make_campaign)
        assert services.campaigns_fire_due(now=SLOT + timedelta(seconds=120)) == {"skipped": 1}

    def test_after_a_long_outage_only_the_latest_missed_slot_is_recorded(self, make_campaign):
        campaign = due_campaign(make_campaign)
        now = SLOT + 10 * DAY + timedelta(hours=1, minutes=30)  # ten days down, 90 min past today's slot
        assert services.campaigns_fire_due(now=now) == {"skipped": 1}
        only = CampaignRun.objects.get(campaign=campaign)
        assert only.scheduled_for == SLOT + 10 * DAY
        assert next_run_at(campaign) == SLOT + 11 * DAY

    def test_after_an_outage_a_slot_within_grace_fires_and_older_ones_are_dropped(self, make_campaign):
        campaign = due_campaign(make_campaign)
        now = SLOT + 4 * DAY + timedelta(minutes=10)
        assert services.campaigns_fire_due(now=now) == {"fired": 1}
        only = CampaignRun.objects.get(campaign=campaign)
        assert only.scheduled_for == SLOT + 4 * DAY
        assert next_run_at(campaign) == SLOT + 5 * DAY

    def test_a_slot_whose_run_cannot_be_created_is_recorded_failed(self, make_campaign, catalogue):
        campaign = due_campaign(make_campaign)
        catalogue.flow.status = "paused"
        catalogue.flow.save()
        assert services.campaigns_fire_due(now=SLOT + timedelta(seconds=3)) == {"failed": 1}
        campaign_run = CampaignRun.objects.get(campaign=campaign)
        assert campaign_run.status == "failed"
        assert campaign_run.run is None
        assert "decisionFlowId" in campaign_run.error
        assert "not runnable" in campaign_run.error
        assert next_run_at(campaign) == SLOT + DAY

    def test_pausing_stops_firing(self, make_campaign, system_actor):
        campaign = due_campaign(make_campaign)
        services.campaign_update(
            tenant=campaign.tenant, actor=system_actor, instance=campaign, data={"status": "paused"}
        )
        assert next_run_at(campaign) is None
        assert services.campaigns_fire_due(now=SLOT + 30 * DAY) == {}
        assert services.campaign_fire_slot(campaign=campaign, slot=SLOT, now=SLOT) is None
        assert not CampaignRun.objects.exists()

    def test_archiving_stops_firing_and_activating_resumes_from_now(self, make_campaign, system_actor):
        campaign = due_campaign(make_campaign)
        services.campaign_update(
            tenant=campaign.tenant, actor=system_actor, instance=campaign, data={"status": "archived"}
        )
        assert services.campaigns_fire_due(now=SLOT + DAY) == {}
        services.campaign_update(
            tenant=campaign.tenant, actor=system_actor, instance=campaign, data={"status": "active"}
        )
        resumed = next_run_at(campaign)
        assert resumed is not None
        now = timezone.now()
        assert now < resumed <= now + DAY
        assert resumed.strftime("%H:%M") == "09:00"

    def test_manual_and_draft_campaigns_never_fire(self, make_campaign):
        make_campaign(status="active")  # manual schedule
        make_campaign(status="draft", schedule_type="daily")
        assert Campaign.objects.filter(next_run_at__isnull=False).count() == 0
        assert services.campaigns_fire_due(now=SLOT + 365 * DAY) == {}

    def test_run_numbers_count_triggers_and_slots_together(self, make_campaign, system_actor):
        campaign = due_campaign(make_campaign)
        first = services.campaign_trigger(tenant=campaign.tenant, actor=system_actor, campaign=campaign)
        services.campaigns_fire_due(now=SLOT)
        third = services.campaign_trigger(tenant=campaign.tenant, actor=system_actor, campaign=campaign)
        numbers = dict(CampaignRun.objects.values_list("triggered_by", "run_number").order_by("run_number"))
        assert (first.run_number, third.run_number) == (1, 3)
        assert numbers["schedule"] == 2

    def test_a_fired_run_executes_and_completes(self, make_campaign):
        campaign = due_campaign(make_campaign)
        services.campaigns_fire_due(now=SLOT)
        campaign_run = CampaignRun.objects.get(campaign=campaign)
        assert campaign_run.run is not None
        run = run_services.run_execute_inline(run_id=campaign_run.run.pk)
        assert run.status == "completed"
        assert run.total_customers == 30

    def test_one_broken_campaign_does_not_stop_the_others(self, make_campaign, catalogue):
        broken = due_campaign(make_campaign, name="Broken")
        healthy = due_campaign(make_campaign, name="Healthy")
        # a zone that vanished from the tz database since the row was saved
        Campaign.objects.filter(pk=broken.pk).update(schedule_timezone="Atlantis/Capital")
        assert services.campaigns_fire_due(now=SLOT) == {"error": 1, "fired": 1}
        assert CampaignRun.objects.filter(campaign=healthy).count() == 1


@pytest.mark.django_db
def test_the_task_fires_due_slots(make_campaign):
    campaign = due_campaign(make_campaign, slot=timezone.now().replace(microsecond=0) - timedelta(seconds=10))
    result = tasks.fire_due.apply()
    assert result.get() == {"fired": 1}
    assert CampaignRun.objects.filter(campaign=campaign, triggered_by="schedule").count() == 1


def test_beat_runs_the_task_every_30_seconds():
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["campaigns-fire-due"]
    assert entry == {"task": "campaigns.fire_due", "schedule": 30.0}
    app.loader.import_default_modules()
    assert "campaigns.fire_due" in app.tasks


# --- concurrency: two firers in two transactions -------------------------------------------


def run_together(count: int, target: Any) -> list[Any]:
    """Call ``target`` from ``count`` threads released at once; each has its own connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(target())
        except BaseException as exc:  # noqa: BLE001  (reported by the test below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.fixture
def no_dispatch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Committed runs are not handed to a broker (none runs here): no dispatch, no inline fallback."""
    module = sys.modules[run_services.run_create.__module__]  # where run_create looks the name up
    monkeypatch.setattr(module, "run_dispatch", lambda *, run_id: "celery")


@pytest.mark.django_db(transaction=True)
def test_two_transactions_firing_one_slot_create_one_campaign_run(make_campaign, no_dispatch):
    campaign = due_campaign(make_campaign)
    results = run_together(2, lambda: services.campaign_fire_slot(campaign=campaign, slot=SLOT, now=SLOT))
    assert sorted(result is None for result in results) == [False, True]
    assert CampaignRun.objects.filter(campaign=campaign).count() == 1
    assert Run.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_beats_ticking_together_fire_a_slot_once(make_campaign, no_dispatch):
    campaign = due_campaign(make_campaign)
    now = SLOT + timedelta(seconds=2)
    results = run_together(3, lambda: services.campaigns_fire_due(now=now))
    assert sum(result.get("fired", 0) for result in results) == 1
    assert CampaignRun.objects.filter(campaign=campaign, scheduled_for=SLOT).count() == 1
    assert Run.objects.count() == 1
    assert next_run_at(campaign) == SLOT + DAY
