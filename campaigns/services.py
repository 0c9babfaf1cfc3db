"""Every change to campaigns and campaign runs. Each service is its own transaction and writes
an audit entry.

Locking: the campaign row is locked (FOR NO KEY UPDATE) by every service that numbers, fires
or reschedules its runs, so run numbers are "previous max + 1" without gaps or repeats. Lock
order is campaign, then run (``run_delete``), then tenant (``audit_record``).

Firing a schedule slot is guarded twice: the campaign lock serialises the firers, and the unique
(campaign, scheduled_for) key makes a slot's insert fail for every firer but one, whatever beat
does (two beats, a task delivered twice, a stale ``next_run_at``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from celery import Task
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from campaigns import config, locks, schedules
from campaigns.error_codes import CampaignErrorCode
from campaigns.models import Campaign, CampaignRun, CampaignRunStatus, CampaignStatus, ScheduleType, TriggeredBy
from decisionflows.models import Channel, DecisionFlow
from kaireon import broker
from kaireon.errors import Conflict, DomainError, ValidationError, not_found
from kaireon.models import Tenant
from kaireon.naming import camel
from kaireon.services import Actor, audit_record, snapshot
from runs.models import Run
from runs.services import run_create, run_delete
from segments.models import Segment

logger = logging.getLogger(__name__)

Data = Mapping[str, Any]

SCHEDULE_FIELDS = (
    "schedule_type",
    "schedule_day_of_week",
    "schedule_day_of_month",
    "schedule_time",
    "schedule_timezone",
    "schedule_cron",
)
# Campaigns looked at per beat tick; the rest are due on the next tick (30 s later).
FIRE_BATCH = 500


def _flow(tenant: Tenant, flow_id: str) -> DecisionFlow:
    flow = DecisionFlow.objects.filter(tenant=tenant, pk=flow_id).first()
    if flow is None:
        raise not_found("Decision flow", flow_id, field="decision_flow_id")
    return flow


def _segment(tenant: Tenant, segment_id: str) -> Segment:
    segment = Segment.objects.filter(tenant=tenant, pk=segment_id).first()
    if segment is None:
        raise not_found("Segment", segment_id, field="segment_id")
    return segment


def _channel_ids(tenant: Tenant, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError({"channel_ids": "Must be a list of channel ids."})
    wanted = list(dict.fromkeys(value))
    found = set(
        Channel.objects.filter(tenant=tenant, pk__in=wanted).active().batch_compatible().values_list("pk", flat=True)
    )
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise ValidationError(
            {"channel_ids": f"Not active batch-compatible channels of this tenant: {', '.join(missing)}."}
        )
    return wanted


def _apply(campaign: Campaign, *, tenant: Tenant, data: Data) -> None:
    """Set the request's fields on ``campaign`` (targets looked up in the tenant: 404 otherwise)."""
    for name, value in data.items():
        if name == "decision_flow_id":
            campaign.decision_flow = _flow(tenant, value)
        elif name == "segment_id":
            campaign.segment = _segment(tenant, value)
        else:
            setattr(campaign, name, value)


def _check(campaign: Campaign, *, tenant: Tenant, given: Data) -> None:
    """Validate the row as it will be stored, normalising what the rules say (cleared fields)."""
    try:
        campaign.clean_fields(exclude=["tenant", "decision_flow", "segment", "next_run_at"])
    except DjangoValidationError as exc:
        raise ValidationError.from_django(exc) from None
    values = {name: getattr(campaign, name) for name in SCHEDULE_FIELDS}
    for name, value in config.schedule_clean(values, given=given).items():
        setattr(campaign, name, value)
    campaign.volume_constraints = config.volume_constraints_clean(campaign.volume_constraints)
    campaign.file_config = config.file_config_clean(campaign.file_config)
    campaign.channel_ids = _channel_ids(tenant, campaign.channel_ids)
    if campaign.schedule_type == ScheduleType.CRON and schedules.next_occurrence(campaign, timezone.now()) is None:
        raise ValidationError({"schedule_cron": f"{campaign.schedule_cron!r} never matches a date."})


def _next_run_at(campaign: Campaign, now: datetime) -> datetime | None:
    if campaign.status != CampaignStatus.ACTIVE:
        return None
    return schedules.next_occurrence(campaign, now)


@transaction.atomic
def campaign_create(*, tenant: Tenant, actor: Actor, data: Data) -> Campaign:
    """Create a campaign (it does not run); the name defaults to "<flow> x <segment> campaign"."""
    missing = {f: ["This field is required."] for f in ("decision_flow_id", "segment_id") if not data.get(f)}
    if missing:
        raise ValidationError(missing)
    campaign = Campaign(tenant=tenant, created_by=(actor.actor_label if actor else "system")[:200])
    _apply(campaign, tenant=tenant, data=data)
    if not campaign.name:
        campaign.name = f"{campaign.decision_flow.name} x {campaign.segment.name} campaign"[:300]
    _check(campaign, tenant=tenant, given=data)
    campaign.next_run_at = _next_run_at(campaign, timezone.now())
    campaign.save(force_insert=True)
    audit_record(tenant=tenant, actor=actor, action="create", instance=campaign, after=snapshot(campaign))
    return campaign


@transaction.atomic
def campaign_update(*, tenant: Tenant, actor: Actor, instance: Campaign, data: Data) -> Campaign:
    """Change any combination of fields, including the flow and the segment (retargeting).
    Activating, or changing the schedule of an active campaign, recomputes ``next_run_at``
    from now; pausing, archiving or drafting clears it."""
    campaign = locks.campaign_for_update().get(pk=instance.pk, tenant=tenant)
    before = snapshot(campaign)
    _apply(campaign, tenant=tenant, data=data)
    _check(campaign, tenant=tenant, given=data)
    rescheduled = any(before[name] != getattr(campaign, name) for name in SCHEDULE_FIELDS)
    if campaign.status != CampaignStatus.ACTIVE:
        campaign.next_run_at = None
    elif rescheduled or before["status"] != CampaignStatus.ACTIVE or campaign.next_run_at is None:
        campaign.next_run_at = _next_run_at(campaign, timezone.now())
    campaign.save()
    after = snapshot(campaign)
    changed = {key for key, value in after.items() if before.get(key) != value}
    if changed:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="update",
            instance=campaign,
            before={key: before.get(key) for key in changed},
            after={key: after[key] for key in changed},
        )
    return campaign


@transaction.atomic
def campaign_delete(*, tenant: Tenant, actor: Actor, instance: Campaign) -> None:
    """Delete a campaign with its campaign runs and their runs (results included). A run still
    pending or running is a 409: cancel it first, as for DELETE /api/v1/runs/{id}."""
    campaign = locks.campaign_for_update().get(pk=instance.pk, tenant=tenant)
    linked = list(
        CampaignRun.objects.filter(campaign=campaign, run__isnull=False).select_related("run").order_by("run_id")
    )
    busy = [c for c in linked if c.run is not None and not c.run.is_finished]
    if busy:
        run = busy[0].run
        assert run is not None
        raise Conflict(
            f"Campaign run #{busy[0].run_number} is {run.status}: cancel its run {run.pk} "
            "before deleting the campaign.",
            code=CampaignErrorCode.RUN_BUSY,
            current_status=run.status,
            run_id=run.pk,
        )
    runs = [c.run for c in linked if c.run is not None]
    for run in runs:
        run_delete(tenant=tenant, actor=actor, instance=run, reason=f"campaign {campaign.pk} deleted")
    audit_record(
        tenant=tenant,
        actor=actor,
        action="delete",
        instance=campaign,
        before={**snapshot(campaign), "campaign_runs": campaign.campaign_runs.count()},
    )
    campaign.delete()


# --- campaign runs -------------------------------------------------------------------------


def _next_number(campaign: Campaign) -> int:
    """Call with the campaign row locked."""
    highest = CampaignRun.objects.filter(campaign=campaign).aggregate(highest=Max("run_number"))["highest"]
    return (highest or 0) + 1


def _start_run(campaign: Campaign, campaign_run: CampaignRun, *, actor: Actor) -> Run:
    """The run checks (docs/api-contract.md §1.5) and a pending Run, enqueued after commit; its errors propagate."""
    run = run_create(
        tenant=campaign.tenant,
        actor=actor,
        decision_flow_id=campaign.decision_flow_id,
        segment_id=campaign.segment_id,
        name=f"{campaign.name[:280]} #{campaign_run.run_number}",
        channel_ids=campaign.channel_ids,
        dispatch=True,
    )
    campaign_run.run = run
    campaign_run.volume_constraints = campaign.volume_constraints
    campaign_run.save(update_fields=["run", "volume_constraints", "updated_at"])
    return run


@transaction.atomic
def campaign_trigger(
    *, tenant: Tenant, actor: Actor, campaign: Campaign, triggered_by: str = TriggeredBy.MANUAL
) -> CampaignRun:
    """Create the next campaign run and its Run now. A draft, active or paused campaign can be
    triggered (pausing stops the schedule, not people); an archived one is a 409. The run's
    validation errors (docs/api-contract.md §1.5) are the trigger's: 400 or 404, and nothing is created.

    A person starts it, through the UI or the API (with a session or an API key): the
    trigger answers ``triggeredBy: "manual"`` (docs/api-contract.md §2.8); beat passes "schedule" for its slots."""
    locked = locks.campaign_for_update().select_related("tenant").get(pk=campaign.pk, tenant=tenant)
    if locked.status == CampaignStatus.ARCHIVED:
        raise Conflict(
            "Campaign is archived; an archived campaign cannot be run.",
            code=CampaignErrorCode.ARCHIVED,
            current_status=locked.status,
        )
    campaign_run = CampaignRun.objects.create(
        tenant=tenant, campaign=locked, run_number=_next_number(locked), triggered_by=triggered_by
    )
    _start_run(locked, campaign_run, actor=actor)
    audit_record(tenant=tenant, actor=actor, action="trigger", instance=campaign_run, after=snapshot(campaign_run))
    return campaign_run


def _error_text(exc: DomainError) -> str:
    """The error in one line, each field's messages after its API name ("segmentId: ...")."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{camel(key if key is not None else 'non_field_errors')}: {' '.join(messages)}"
            for key, messages in exc.by_field().items()
        )
    return exc.message


def grace_period() -> timedelta:
    return timedelta(seconds=settings.CAMPAIGNS_GRACE_SECONDS)


@transaction.atomic
def campaign_fire_slot(*, campaign: Campaign, slot: datetime, now: datetime | None = None) -> CampaignRun | None:
    """Fire one schedule slot of an active campaign: a campaign run for ``slot`` with its Run, or
    a ``skipped`` one when the slot is older than the grace period, or a ``failed`` one when the
    run cannot be created (the flow is no longer runnable...). Then ``next_run_at`` moves to the
    first slot after both ``slot`` and ``now``.

    Idempotent: returns None, creating nothing, when the slot fired already (unique key) or the
    campaign is no longer active."""
    now = now or timezone.now()
    locked = locks.campaign_for_update().select_related("tenant").get(pk=campaign.pk)
    if locked.status != CampaignStatus.ACTIVE:
        return None
    tenant = locked.tenant
    skipped = now - slot > grace_period()
    try:
        # A savepoint: a duplicate slot rolls back this insert only, the transaction goes on.
        with transaction.atomic():
            campaign_run: CampaignRun | None = CampaignRun.objects.create(
                tenant=tenant,
                campaign=locked,
                run_number=_next_number(locked),
                triggered_by=TriggeredBy.SCHEDULE,
                scheduled_for=slot,
                status=CampaignRunStatus.SKIPPED if skipped else CampaignRunStatus.PENDING,
            )
    except IntegrityError:
        if not CampaignRun.objects.filter(campaign=locked, scheduled_for=slot).exists():
            raise
        campaign_run = None
    if campaign_run is not None:
        action = "skip" if skipped else "fire"
        if skipped:
            late = int((now - slot).total_seconds())
            grace = settings.CAMPAIGNS_GRACE_SECONDS
            campaign_run.error = f"Slot missed by {late} s, beyond the grace period of {grace} s."
            campaign_run.save(update_fields=["error", "updated_at"])
        else:
            try:
                with transaction.atomic():
                    _start_run(locked, campaign_run, actor=None)
            except DomainError as exc:
                action = "fail"
                campaign_run.status = CampaignRunStatus.FAILED
                campaign_run.error = f"The run could not be created: {_error_text(exc)}"
                campaign_run.save(update_fields=["status", "error", "updated_at"])
        audit_record(tenant=tenant, actor=None, action=action, instance=campaign_run, after=snapshot(campaign_run))
    next_run_at = schedules.next_occurrence(locked, max(slot, now))
    if next_run_at != locked.next_run_at:
        Campaign.objects.filter(pk=locked.pk).update(next_run_at=next_run_at, updated_at=timezone.now())
    return campaign_run


def campaign_fire_due(*, campaign_id: str, now: datetime | None = None) -> CampaignRun | None:
    """Fire what is due of one campaign: only its most recent slot at or before ``now`` is
    considered (fired within the grace period, else recorded as skipped); earlier slots missed
    in the same outage are neither run nor recorded, so a long outage leaves one row, not one
    per missed slot. None when nothing is due."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = (
            locks.campaign_for_update()
            .filter(pk=campaign_id, status=CampaignStatus.ACTIVE, next_run_at__lte=now)
            .first()
        )
        if campaign is None or campaign.next_run_at is None:
            return None
        slot = schedules.latest_occurrence(campaign, first=campaign.next_run_at, until=now)
        return campaign_fire_slot(campaign=campaign, slot=slot, now=now)


def campaigns_fire_due(*, now: datetime | None = None) -> dict[str, int]:
    """Beat's tick: fire every active campaign whose ``next_run_at`` has come, each in its own
    transaction. Returns counts by outcome (fired, skipped, failed, none, error)."""
    now = now or timezone.now()
    due = list(
        Campaign.objects.filter(status=CampaignStatus.ACTIVE, next_run_at__lte=now)
        .order_by("next_run_at", "pk")
        .values_list("pk", flat=True)[:FIRE_BATCH]
    )
    outcomes: Counter[str] = Counter()
    for campaign_id in due:
        try:
            campaign_run = campaign_fire_due(campaign_id=campaign_id, now=now)
        except Exception:
            logger.exception("campaign %s: firing its due slot failed", campaign_id)
            outcomes["error"] += 1
            continue
        if campaign_run is None:
            outcomes["none"] += 1
        elif campaign_run.status == CampaignRunStatus.PENDING:
            outcomes["fired"] += 1
        else:
            outcomes[str(campaign_run.status)] += 1
    return dict(outcomes)


# --- after a campaign run's Run finishes: files and deliveries -----------------------------


def campaign_run_after_finish(run_id: str) -> None:
    """runs.hooks after-finish hook (after finalise commits): enqueue the campaign run's file
    and deliveries. A broker that is down falls back to doing them in this process."""
    from campaigns import tasks

    campaign_run_id = CampaignRun.objects.filter(run_id=run_id).values_list("pk", flat=True).first()
    if campaign_run_id is None:
        return
    for task in (tasks.write_file, tasks.start_deliveries):
        _send_or_apply(task, campaign_run_id)


def _send_or_apply(task: Task, campaign_run_id: str) -> None:
    broker.send(
        lambda: task.delay(campaign_run_id),
        instead=f"running {task.name} inline for {campaign_run_id}",
        fallback=lambda _: task.apply(args=(campaign_run_id,)),
    )


def campaign_run_keep_outcome(run: Run) -> None:
    """runs.hooks before-delete hook: a campaign run shows its Run's status while it has one;
    when the Run is deleted, its final status stays on the campaign run (failed deliveries'
    completed_with_errors stays as it is), with a note of why the results are gone."""
    (
        CampaignRun.objects.filter(run_id=run.pk)
        .exclude(status=CampaignRunStatus.COMPLETED_WITH_ERRORS)
        .update(status=run.status, error="Its run and results were deleted.")
    )
