"""Campaigns (docs/api-contract.md §2): a decision flow over a segment, repeated on a schedule, and the
campaign runs that each start one batch Run.

JSON columns keep snake_case keys (the API's camelCase parser and renderer convert them):
``volume_constraints`` = {max_total_per_run?, max_per_offer?, max_per_channel?};
``file_config`` = {format, columns, include_personalization, destination, s3_path?}.
"""

from __future__ import annotations

from typing import ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from campaigns.config import validate_cron, validate_timezone
from kaireon.ids import PublicId
from kaireon.listcounts import CountedList
from kaireon.models import TenantModel


class CampaignStatus(models.TextChoices):
    DRAFT = "draft"  # created, not yet active: never fires on its schedule
    ACTIVE = "active"  # scheduled runs execute automatically
    PAUSED = "paused"  # temporarily disabled
    ARCHIVED = "archived"  # retired, kept for history; cannot be triggered


class ScheduleType(models.TextChoices):
    MANUAL = "manual"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    CRON = "cron"


LAST_WORKING_DAY = "last_working_day"
DAY_OF_MONTH_CHOICES = [(str(day), str(day)) for day in range(1, 29)] + [
    (LAST_WORKING_DAY, "Last working day (Monday-Friday)")
]

schedule_time_validator = RegexValidator(r"^([01]\d|2[0-3]):[0-5]\d$", "Use HH:mm, from 00:00 to 23:59.")


class Campaign(TenantModel):
    id = models.CharField(primary_key=True, max_length=40, default=PublicId("camp"), editable=False)
    name = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    # A flow or segment that campaigns target cannot be deleted from under them (409).
    decision_flow = models.ForeignKey("decisionflows.DecisionFlow", on_delete=models.PROTECT, related_name="campaigns")
    segment = models.ForeignKey("segments.Segment", on_delete=models.PROTECT, related_name="campaigns")
    schedule_type = models.CharField(max_length=10, choices=ScheduleType.choices, default=ScheduleType.MANUAL)
    # 0 = Sunday … 6 = Saturday (docs/api-contract.md §2.2), weekly only
    schedule_day_of_week = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(6)]
    )
    # "1".."28" or "last_working_day", monthly only
    schedule_day_of_month = models.CharField(max_length=20, choices=DAY_OF_MONTH_CHOICES, null=True, blank=True)
    schedule_time = models.CharField(max_length=5, default="09:00", validators=[schedule_time_validator])
    schedule_timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    schedule_cron = models.CharField(max_length=120, null=True, blank=True, validators=[validate_cron])
    volume_constraints = models.JSONField(null=True, blank=True)
    file_config = models.JSONField(null=True, blank=True)
    # Batch channels the runs deliver through; empty: every active batch channel.
    channel_ids = models.JSONField(default=list, blank=True)
    # The next schedule slot in UTC; null unless active with a schedule. Beat fires what is due.
    next_run_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # the API's list, newest first
            models.Index(fields=["tenant", "-created_at"], name="campaign_tenant_created"),
            # beat: active campaigns whose slot is due (across tenants)
            models.Index(
                fields=["next_run_at"],
                name="campaign_due",
                condition=models.Q(status="active", next_run_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(schedule_day_of_week__isnull=True) | models.Q(schedule_day_of_week__lte=6),
                name="campaign_day_of_week_range",
            ),
            models.CheckConstraint(
                condition=models.Q(status="active") | models.Q(next_run_at__isnull=True),
                name="campaign_next_run_only_when_active",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TriggeredBy(models.TextChoices):
    MANUAL = "manual"  # a person: the UI, or the API with a session or an API key (docs/api-contract.md §2.8)
    SCHEDULE = "schedule"  # beat, for a schedule slot
    API = "api"  # no longer written: API-key triggers before issue 10 (kept so old rows stay valid)


class CampaignRunStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"  # a schedule slot missed by more than CAMPAIGNS_GRACE_SECONDS


class CampaignRun(TenantModel):
    """One execution of a campaign. While it has a Run, its status is the Run's (see
    ``selectors.campaign_runs``); the stored status matters for the rows without one: a
    skipped slot, or a slot whose run could not be created (failed, with ``error``)."""

    id = models.CharField(primary_key=True, max_length=40, default=PublicId("crun"), editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="campaign_runs")
    run_number = models.PositiveIntegerField()
    triggered_by = models.CharField(max_length=10, choices=TriggeredBy.choices)
    # The schedule slot (UTC) this run is for; null for manual and API triggers.
    scheduled_for = models.DateTimeField(null=True, blank=True)
    run = models.OneToOneField(
        "runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="campaign_run"
    )
    status = models.CharField(max_length=24, choices=CampaignRunStatus.choices, default=CampaignRunStatus.PENDING)
    error = models.TextField(blank=True)
    # The campaign's volume constraints when this run started: finalise caps by these, so editing
    # the campaign while its run goes never lifts (or moves) the caps of that run.
    volume_constraints = models.JSONField(null=True, blank=True)
    # Deliveries (campaigns.deliveries): integration recipients and their outcome, manual work
    # items. When every batch is settled and some failed, status becomes completed_with_errors.
    deliveries_total = models.PositiveIntegerField(default=0)
    deliveries_sent = models.PositiveIntegerField(default=0)
    deliveries_failed = models.PositiveIntegerField(default=0)
    work_items = models.PositiveIntegerField(default=0)
    deliveries_settled_at = models.DateTimeField(null=True, blank=True)

    # the list's total per campaign (GET /api/v1/campaigns/{id}/campaign-runs)
    list_counts: ClassVar[CountedList] = CountedList(scopes=("campaign_id",))

    class Meta:
        ordering = ["campaign_id", "-run_number"]
        constraints = [
            # run numbers: previous max + 1, taken under the campaign's row lock
            models.UniqueConstraint(fields=["campaign", "run_number"], name="campaign_run_unique_number"),
            # the dedupe key of a schedule slot: it fires at most once, whatever beat does
            models.UniqueConstraint(fields=["campaign", "scheduled_for"], name="campaign_run_unique_slot"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} #{self.run_number}"


# --- files and deliveries (after a campaign run's Run finishes) -----------------------------


class FileStatus(models.TextChoices):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class CampaignFile(TenantModel):
    """The result file of one campaign run (fileConfig), written once its Run completes: under
    MEDIA_ROOT (destination download) or in S3 (s3), with a manifest beside it."""

    id = models.BigAutoField(primary_key=True)
    campaign_run = models.OneToOneField(CampaignRun, on_delete=models.CASCADE, related_name="file")
    format = models.CharField(max_length=10)
    destination = models.CharField(max_length=10)
    # the storage name (download) or the s3:// URL (s3); the manifest is path + ".manifest.json"
    path = models.CharField(max_length=500, blank=True)
    columns = models.JSONField(default=list)
    rows = models.PositiveBigIntegerField(default=0)
    size = models.PositiveBigIntegerField(default=0)
    checksum = models.CharField(max_length=64, blank=True)  # sha256, hex
    status = models.CharField(max_length=10, choices=FileStatus.choices, default=FileStatus.PENDING)
    error = models.TextField(blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.path or f"file of {self.campaign_run_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # integration: not sent yet; manual: a work item to do
    SENT = "sent"  # integration: the webhook answered 2xx for its batch
    FAILED = "failed"  # integration: retries exhausted (last_error says why)
    DONE = "done"  # manual: an agent marked it done


class Delivery(TenantModel):
    """One recommendation of a campaign run through an integration channel (posted to its
    webhook) or a manual one (a work item for agents). The unique key makes every recipient a
    single row whatever is retried or restarted."""

    id = models.BigAutoField(primary_key=True)
    campaign_run = models.ForeignKey(CampaignRun, on_delete=models.CASCADE, related_name="deliveries")
    customer = models.ForeignKey(
        "segments.Customer", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    offer = models.ForeignKey("decisionflows.Offer", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    channel = models.ForeignKey(
        "decisionflows.Channel", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    creative = models.ForeignKey(
        "decisionflows.Creative", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    mode = models.CharField(max_length=12)  # the channel's delivery mode: integration | manual
    rank = models.PositiveSmallIntegerField(default=1)
    score = models.FloatField(default=0.0)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    done_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["campaign_run", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign_run", "customer", "offer", "channel"], name="delivery_unique_recipient"
            ),
        ]
        indexes = [
            # a batch: pending rows of one campaign run and channel by id range; settle counts
            models.Index(fields=["campaign_run", "channel", "status", "id"], name="delivery_crun_channel_status"),
            # the work queue: one tenant's manual items, by channel and status, oldest first
            models.Index(fields=["tenant", "mode", "status", "channel", "id"], name="delivery_work_queue"),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.campaign_run_id}/{self.customer_id}/{self.offer_id}@{self.channel_id}"
