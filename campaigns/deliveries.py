"""Deliveries of a campaign run: its recommendations on integration channels are posted to the
channel's ``providerConfig.webhookUrl`` in batches, its recommendations on manual channels
become work items for agents. One Delivery row per recipient, unique per (campaign run,
customer, offer, channel), so nothing is delivered twice whatever is retried or restarted.

A batch is an id range of one channel's rows: the task sends the range's *pending* rows and,
after a 2xx, marks them sent in one transaction (conditional on still pending). 5xx, 429 and
network errors are retried by Celery with exponential backoff; after the last attempt, or at
once on another 4xx, a redirect (never followed) or a host webhooks may not reach
(``kaireon.webhooks``: loopback, private, metadata… checked after DNS), the rows are failed
with the error. The batch that settles the last
pending row sets the campaign run's counts (and completed_with_errors if any failed).

The request carries ``Idempotency-Key: <campaign run>:<channel>:<first id>`` so a receiver can
drop the one repeat we cannot prevent: a 2xx whose commit was lost with its worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests
from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from campaigns import locks
from campaigns.error_codes import CampaignErrorCode
from campaigns.models import CampaignRun, CampaignRunStatus, Delivery, DeliveryStatus
from decisionflows.models import Channel, DeliveryMode
from decisionflows.personalization import render
from kaireon.errors import Conflict, not_found
from kaireon.models import Tenant
from kaireon.services import Actor, audit_record
from kaireon.webhooks import WebhookRefused, webhook_post
from runs.models import Recommendation, RunStatus
from runs.selectors import customer_fields, offer_fields

# Recipients per POST: 500 ≈ 150 kB of JSON, well under common gateway limits (1-10 MB).
BATCH_SIZE = 500
TIMEOUT_SECONDS = 10.0
DELIVERED_MODES = (DeliveryMode.INTEGRATION, DeliveryMode.MANUAL)


class RetryableDeliveryError(Exception):
    """A 5xx or 429 answer: worth another attempt."""


class PermanentDeliveryError(Exception):
    """A 4xx answer or no webhook URL: another attempt would fail the same way."""


Batch = tuple[str, str, int, int]  # campaign run, channel, first id, last id


def deliveries_create(*, campaign_run: CampaignRun) -> int:
    """One Delivery row per recommendation of the run on an integration or manual channel.
    Idempotent: INSERT … SELECT … ON CONFLICT DO NOTHING on the recipient key (one statement,
    ~3 s for 1M rows on PostgreSQL)."""
    assert campaign_run.run_id is not None
    table = Delivery._meta.db_table
    recs = Recommendation._meta.db_table
    channels = Channel._meta.db_table
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        # "WHERE" before ON CONFLICT: SQLite's parser needs it to tell the clause from a join
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, campaign_run_id, customer_id, offer_id, channel_id, creative_id, "  # noqa: S608
            "mode, rank, score, status, attempts, last_error, done_by, created_at, updated_at) "
            f"SELECT %s, %s, r.customer_id, r.offer_id, r.channel_id, r.creative_id, c.delivery_mode, r.rank, "
            f"r.score, 'pending', 0, '', '', %s, %s FROM {recs} r JOIN {channels} c ON c.id = r.channel_id "
            "WHERE r.run_id = %s AND c.delivery_mode IN ('integration', 'manual') "
            "ORDER BY r.channel_id, r.customer_id, r.rank "
            "ON CONFLICT (campaign_run_id, customer_id, offer_id, channel_id) DO NOTHING",
            [campaign_run.tenant_id, campaign_run.pk, now, now, campaign_run.run_id],
        )
        return int(cursor.rowcount)


def delivery_batches(*, campaign_run_id: str, status: str = DeliveryStatus.PENDING) -> list[Batch]:
    """The id ranges of BATCH_SIZE pending integration rows, per channel."""
    batches: list[Batch] = []
    rows = (
        Delivery.objects.filter(campaign_run_id=campaign_run_id, mode=DeliveryMode.INTEGRATION, status=status)
        .order_by("channel_id", "id")
        .values_list("channel_id", "id")
    )
    current: list[int] = []
    current_channel = ""
    for channel_id, delivery_id in rows.iterator(chunk_size=10_000):
        if current and (channel_id != current_channel or len(current) == BATCH_SIZE):
            batches.append((campaign_run_id, current_channel, current[0], current[-1]))
            current = []
        current_channel = channel_id
        current.append(delivery_id)
    if current:
        batches.append((campaign_run_id, current_channel, current[0], current[-1]))
    return batches


def deliveries_start(*, campaign_run_id: str) -> list[Batch]:
    """After the Run completed: create the rows and return the batches to send (the caller
    enqueues them). With nothing to send, the campaign run is settled at once."""
    campaign_run = CampaignRun.objects.select_related("run").filter(pk=campaign_run_id).first()
    if campaign_run is None or campaign_run.run is None:
        return []
    if campaign_run.run.status not in (RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_ERRORS):
        return []
    with transaction.atomic():
        deliveries_create(campaign_run=campaign_run)
    batches = delivery_batches(campaign_run_id=campaign_run_id)
    if not batches:
        deliveries_settle(campaign_run_id=campaign_run_id)
    return batches


# --- sending -------------------------------------------------------------------------------


def _recipient(delivery: Delivery) -> dict[str, Any]:
    customer, offer, creative = delivery.customer, delivery.offer, delivery.creative
    fields = customer_fields(customer)
    values = offer_fields(offer)
    return {
        "customerId": customer.external_id,
        "email": customer.email,
        "offerKey": offer.key,
        "offerName": offer.name,
        "channel": delivery.channel.name,
        "creative": creative.name if creative else "",
        "rank": delivery.rank,
        "score": delivery.score,
        "personalization": {
            "subject": render(creative.subject, fields, values) if creative else "",
            "content": render(creative.content, fields, values) if creative else "",
        },
    }


def post_json(url: str, body: dict[str, Any], *, idempotency_key: str) -> int:
    """POST ``body``; returns the 2xx status, raises Retryable (5xx, 429, network) or Permanent
    (another answer, a redirect, or a host webhooks must not reach: ``kaireon.webhooks``)."""
    timeout = float(getattr(settings, "CAMPAIGNS_WEBHOOK_TIMEOUT", TIMEOUT_SECONDS))
    try:
        response = webhook_post(url, body, headers={"Idempotency-Key": idempotency_key}, timeout=timeout)
    except WebhookRefused as exc:
        raise PermanentDeliveryError(str(exc)) from exc
    except requests.RequestException as exc:
        raise RetryableDeliveryError(f"{type(exc).__name__}: {exc}") from exc
    status = response.status_code
    if 200 <= status < 300:
        return status
    if status >= 500 or status == 429:
        raise RetryableDeliveryError(f"HTTP {status} from {url}")
    if 300 <= status < 400:
        # Redirects are not followed: the target was never checked and could be internal.
        raise PermanentDeliveryError(f"HTTP {status} from {url}: webhook redirects are not followed")
    raise PermanentDeliveryError(f"HTTP {status} from {url}")


def _pending(campaign_run_id: str, channel_id: str, first_id: int, last_id: int) -> Any:
    return Delivery.objects.filter(
        campaign_run_id=campaign_run_id,
        channel_id=channel_id,
        id__gte=first_id,
        id__lte=last_id,
        status=DeliveryStatus.PENDING,
    )


def delivery_batch_send(
    *, campaign_run_id: str, channel_id: str, first_id: int, last_id: int, final: bool = True
) -> str:
    """Send the batch's pending rows once; returns sent | failed | nothing. Raises
    RetryableDeliveryError when not ``final`` so the task retries it. Idempotent: only pending
    rows are sent and marked, and marking is conditional on still pending."""
    rows = list(
        _pending(campaign_run_id, channel_id, first_id, last_id)
        .select_related("customer", "offer", "channel", "creative")
        .order_by("id")
    )
    if not rows:
        deliveries_settle(campaign_run_id=campaign_run_id)
        return "nothing"
    ids = [row.pk for row in rows]
    Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING).update(
        attempts=F("attempts") + 1, updated_at=timezone.now()
    )
    channel = rows[0].channel
    url = (channel.provider_config or {}).get("webhookUrl") or ""
    body = {
        "campaignRunId": campaign_run_id,
        "channelId": channel_id,
        "batch": first_id,
        "recipients": [_recipient(row) for row in rows],
    }
    try:
        if not url:
            raise PermanentDeliveryError(f"Channel {channel.name!r} has no providerConfig.webhookUrl.")
        post_json(url, body, idempotency_key=f"{campaign_run_id}:{channel_id}:{first_id}")
    except RetryableDeliveryError as exc:
        if not final:
            Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING).update(last_error=str(exc)[:2000])
            raise
        _fail(ids, str(exc))
        deliveries_settle(campaign_run_id=campaign_run_id)
        return "failed"
    except PermanentDeliveryError as exc:
        _fail(ids, str(exc))
        deliveries_settle(campaign_run_id=campaign_run_id)
        return "failed"
    with transaction.atomic():
        Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error="", updated_at=timezone.now()
        )
    deliveries_settle(campaign_run_id=campaign_run_id)
    return "sent"


def _fail(ids: Sequence[int], error: str) -> None:
    Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, last_error=error[:2000], updated_at=timezone.now()
    )


def deliveries_settle(*, campaign_run_id: str) -> bool:
    """When no integration row is pending: store the counts on the campaign run, and
    completed_with_errors when some failed (completed again once a retry sent them all).
    Idempotent: recomputed from the rows each time."""
    counts: dict[tuple[str, str], int] = {
        (row["mode"], row["status"]): row["n"]
        for row in Delivery.objects.filter(campaign_run_id=campaign_run_id)
        .values("mode", "status")
        .annotate(n=Count("id"))
        .order_by()
    }
    integration = {status: n for (mode, status), n in counts.items() if mode == DeliveryMode.INTEGRATION}
    if integration.get(DeliveryStatus.PENDING):
        return False
    failed = integration.get(DeliveryStatus.FAILED, 0)
    total = sum(integration.values())
    with transaction.atomic():
        campaign_run = locks.campaign_run_for_update().get(pk=campaign_run_id)
        status = campaign_run.status
        error = campaign_run.error
        if failed:
            status, error = CampaignRunStatus.COMPLETED_WITH_ERRORS, f"{failed} of {total} deliveries failed."
        elif status == CampaignRunStatus.COMPLETED_WITH_ERRORS:
            status, error = CampaignRunStatus.COMPLETED, ""
        CampaignRun.objects.filter(pk=campaign_run_id).update(
            deliveries_total=total,
            deliveries_sent=integration.get(DeliveryStatus.SENT, 0),
            deliveries_failed=failed,
            work_items=sum(n for (mode, _), n in counts.items() if mode == DeliveryMode.MANUAL),
            deliveries_settled_at=timezone.now(),
            status=status,
            error=error,
            updated_at=timezone.now(),
        )
    return True


# --- actions -------------------------------------------------------------------------------


@transaction.atomic
def deliveries_retry(*, tenant: Tenant, actor: Actor, campaign_run: CampaignRun) -> list[Batch]:
    """Failed → pending for the campaign run's failed deliveries, sent again after commit;
    returns their batches. Sent rows are never touched, so nothing goes twice."""
    locked = locks.campaign_run_for_update().get(pk=campaign_run.pk, tenant=tenant)
    updated = Delivery.objects.filter(campaign_run=locked, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.PENDING, attempts=0, updated_at=timezone.now()
    )
    if not updated:
        raise Conflict(
            "This campaign run has no failed deliveries to retry.",
            code=CampaignErrorCode.NOTHING_TO_RETRY,
            current_status=locked.status,
        )
    CampaignRun.objects.filter(pk=locked.pk).update(deliveries_settled_at=None, updated_at=timezone.now())
    audit_record(tenant=tenant, actor=actor, action="retry_deliveries", instance=locked, after={"deliveries": updated})
    batches = delivery_batches(campaign_run_id=locked.pk)
    deliveries_dispatch(batches)
    return batches


def deliveries_dispatch(batches: list[Batch]) -> None:
    """Enqueue one ``campaigns.deliver_batch`` per batch after the caller's transaction commits.
    The task is looked up by its name: campaigns.tasks imports this module, not the reverse."""

    def send() -> None:
        deliver_batch = current_app.tasks["campaigns.deliver_batch"]
        for batch in batches:
            deliver_batch.delay(*batch)

    transaction.on_commit(send)


@transaction.atomic
def work_item_done(*, tenant: Tenant, actor: Actor, delivery_id: int) -> Delivery:
    """A manual work item pending → done (editor). 404 for other tenants, 409 when not pending."""
    item = locks.delivery_for_update().filter(pk=delivery_id, tenant=tenant, mode=DeliveryMode.MANUAL).first()
    if item is None:
        raise not_found("Work item", delivery_id)
    if item.status != DeliveryStatus.PENDING:
        raise Conflict(
            f"Work item is {item.status}; only pending items can be marked done.",
            code=CampaignErrorCode.WORK_ITEM_NOT_PENDING,
            current_status=item.status,
        )
    who = actor.actor_label if actor is not None else "system"
    Delivery.objects.filter(pk=item.pk).update(
        status=DeliveryStatus.DONE, done_by=who[:200], sent_at=timezone.now(), updated_at=timezone.now()
    )
    audit_record(
        tenant=tenant, actor=actor, action="done", instance=item, before={"status": "pending"}, after={"status": "done"}
    )
    item.refresh_from_db()
    return item
