"""Helpers of the campaign page tests (imported explicitly): campaigns made through the
service, campaign runs executed in-process with their file and deliveries."""

from __future__ import annotations

from typing import Any

from campaigns import deliveries, files, services, tasks
from campaigns.models import Campaign, CampaignRun
from decisionflows.models import Channel
from kaireon.models import Role
from kaireon.principal import Principal
from runs import services as run_services
from tests.runs.conftest import Catalogue


def actor(catalogue: Catalogue) -> Principal:
    return Principal(tenant=catalogue.tenant, role=Role.ADMIN)


def make_campaign(catalogue: Catalogue, **data: Any) -> Campaign:
    body = {"decision_flow_id": catalogue.flow.pk, "segment_id": catalogue.everyone.pk, **data}
    return services.campaign_create(tenant=catalogue.tenant, actor=actor(catalogue), data=body)


def trigger(campaign: Campaign) -> CampaignRun:
    """A pending campaign run (its Run is enqueued on commit, which a test transaction never does)."""
    return services.campaign_trigger(
        tenant=campaign.tenant, actor=Principal(tenant=campaign.tenant, role=Role.ADMIN), campaign=campaign
    )


def execute(campaign: Campaign, *, deliver: bool = False) -> CampaignRun:
    """Trigger, run to completion in this process, write the file; with ``deliver``, create the
    deliveries and send each batch once (final attempt: failures are recorded at once)."""
    campaign_run = trigger(campaign)
    run_services.run_execute_inline(run_id=campaign_run.run_id or "")
    files.campaign_file_write(campaign_run_id=campaign_run.pk)
    if deliver:
        for batch in deliveries.deliveries_start(campaign_run_id=campaign_run.pk):
            tasks.deliver_batch.apply(args=batch)
    return CampaignRun.objects.select_related("run").get(pk=campaign_run.pk)


def break_webhook(catalogue: Catalogue) -> None:
    """The SMS channel without a webhook URL: each of its deliveries fails at the first attempt."""
    Channel.objects.filter(pk=catalogue.sms.pk).update(provider_config={"webhookUrl": ""})
