"""End to end with a real Celery worker: beat's task fires a due slot, and the worker runs the
campaign run's Run to completion (on-commit dispatch and JSON serialisation included)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import services, tasks
from campaigns.models import Campaign, CampaignRun
from kaireon.principal import Principal
from runs.models import Run
from tests.runs.conftest import build_catalogue
from tests.worker import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_due_slot_fired_by_the_task_runs_to_completion_on_a_real_worker(celery_worker_process, tenant, client_for):
    catalogue = build_catalogue(tenant, customers=40)
    actor = Principal(tenant=tenant, role="admin")
    campaign = services.campaign_create(
        tenant=tenant,
        actor=actor,
        data={
            "decision_flow_id": catalogue.flow.pk,
            "segment_id": catalogue.everyone.pk,
            "status": "active",
            "schedule_type": "daily",
        },
    )
    slot = timezone.now().replace(microsecond=0) - timedelta(seconds=5)
    Campaign.objects.filter(pk=campaign.pk).update(next_run_at=slot)

    tasks.fire_due.delay()

    def finished_run() -> Run | None:
        campaign_run = CampaignRun.objects.filter(campaign=campaign).select_related("run").first()
        run = campaign_run.run if campaign_run else None
        return run if run is not None and run.is_finished else None

    run = wait_for(finished_run, timeout=60, message=celery_worker_process.log)
    assert run.status == "completed", run.error
    assert run.execution_mode == "celery"
    assert run.total_customers == 40
    campaign_run = CampaignRun.objects.get(campaign=campaign)
    assert campaign_run.scheduled_for == slot
    assert campaign_run.triggered_by == "schedule"
    campaign.refresh_from_db()
    assert campaign.next_run_at is not None
    assert campaign.next_run_at > timezone.now()
    assert campaign.next_run_at.strftime("%H:%M") == "09:00"
    viewer = client_for(tenant, "viewer")
    listed = viewer.get(f"/api/v1/campaigns/{campaign.pk}/campaign-runs").json()["campaignRuns"]
    assert [(r["runNumber"], r["status"]) for r in listed] == [(1, "completed")]
