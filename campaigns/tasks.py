"""Thin Celery tasks: one service call each."""

from __future__ import annotations

from celery import Task, shared_task
from django.conf import settings

from campaigns import deliveries, files, services


@shared_task(name="campaigns.fire_due")
def fire_due() -> dict[str, int]:
    """Beat's tick (every 30 s): fire the due slot of every active campaign. Idempotent: the
    unique (campaign, scheduled_for) key lets a slot fire once however often this runs."""
    return services.campaigns_fire_due()


@shared_task(name="campaigns.write_file", autoretry_for=(ConnectionError, OSError), retry_backoff=True, max_retries=3)
def write_file(campaign_run_id: str) -> None:
    """The campaign run's result file and manifest (idempotent: one CampaignFile per campaign
    run; a ready one is not rewritten)."""
    files.campaign_file_write(campaign_run_id=campaign_run_id)


@shared_task(name="campaigns.start_deliveries")
def start_deliveries(campaign_run_id: str) -> None:
    """Create the delivery rows and fan out one task per batch (idempotent: the recipient key
    inserts each row once; batches send only pending rows)."""
    deliveries.deliveries_dispatch(deliveries.deliveries_start(campaign_run_id=campaign_run_id))


@shared_task(
    bind=True,
    name="campaigns.deliver_batch",
    autoretry_for=(deliveries.RetryableDeliveryError,),
    max_retries=getattr(settings, "CAMPAIGNS_DELIVERY_MAX_RETRIES", 4),
    retry_backoff=2,  # 2, 4, 8, 16 s (capped by retry_backoff_max), with jitter
    retry_backoff_max=300,
    retry_jitter=True,
)
def deliver_batch(self: Task, campaign_run_id: str, channel_id: str, first_id: int, last_id: int) -> str:
    """POST one batch to its channel's webhook (idempotent: only pending rows are sent and
    marked sent, conditionally, in one transaction after a 2xx); the last attempt records
    failures instead of raising."""
    return deliveries.delivery_batch_send(
        campaign_run_id=campaign_run_id,
        channel_id=channel_id,
        first_id=first_id,
        last_id=last_id,
        final=self.request.retries >= (self.max_retries or 0),
    )
