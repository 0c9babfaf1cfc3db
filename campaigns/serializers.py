"""Campaign and campaign-run shapes (docs/api-contract.md §2.2, §2.8). Field types only: the rules (which schedule
field goes with which type, the file columns, the channels) are checked by the services, and
the help text here says what they are."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns import config, schedules, selectors
from campaigns.models import (
    Campaign,
    CampaignRun,
    CampaignRunStatus,
    CampaignStatus,
    FileStatus,
    ScheduleType,
    schedule_time_validator,
)
from kaireon.serializers import ModelSerializer, NameField, UTCDateTimeField
from runs.selectors import run_results
from runs.serializers import RunCustomerSerializer

PREVIEW_COUNT = 5

# --- JSON columns, typed for the OpenAPI schema --------------------------------------------


class VolumeConstraintsSchema(serializers.Serializer):
    max_total_per_run = serializers.IntegerField(min_value=1, required=False)
    max_per_offer = serializers.IntegerField(min_value=1, required=False)
    max_per_channel = serializers.IntegerField(min_value=1, required=False)


class FileConfigSchema(serializers.Serializer):
    format = serializers.ChoiceField(choices=config.FILE_FORMATS, default="csv")
    columns = serializers.ListField(
        child=serializers.ChoiceField(choices=config.FILE_COLUMNS + config.PERSONALIZATION_COLUMNS),
        default=config.DEFAULT_FILE_COLUMNS,
    )
    include_personalization = serializers.BooleanField(default=False)
    destination = serializers.ChoiceField(choices=config.DESTINATIONS, default="download")
    s3_path = serializers.CharField(required=False, help_text="s3://bucket/prefix; required for destination s3.")
    escape_formulas = serializers.BooleanField(
        default=True, help_text="CSV: a leading ' before text starting with = + - @ tab or CR (formula injection)."
    )


@extend_schema_field(VolumeConstraintsSchema)
class VolumeConstraintsField(serializers.JSONField):
    pass


@extend_schema_field(FileConfigSchema)
class FileConfigField(serializers.JSONField):
    pass


class DeliveryCountsSchema(serializers.Serializer):
    total = serializers.IntegerField(help_text="Recipients on integration channels.")
    sent = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="POST /campaign-runs/{id}/retry-deliveries resends these.")
    work_items = serializers.IntegerField(help_text="Recommendations on manual channels (the work queue).")
    settled_at = UTCDateTimeField(allow_null=True, help_text="When the last batch settled; null while sending.")


class CampaignFileSchema(serializers.Serializer):
    status = serializers.ChoiceField(choices=FileStatus.choices)
    format = serializers.CharField()
    destination = serializers.CharField()
    rows = serializers.IntegerField()
    checksum = serializers.CharField(help_text="sha256 of the file, hex.")
    error = serializers.CharField()
    file_url = serializers.CharField(allow_null=True, help_text="Download (destination download, when ready).")
    manifest = serializers.CharField(allow_null=True, help_text="The manifest: rows, sha256, columns, generatedAt.")
    path = serializers.CharField(allow_null=True, help_text="s3://bucket/key (destination s3).")


# --- campaign runs -------------------------------------------------------------------------


class CampaignRunSerializer(ModelSerializer):
    """A campaign run. ``status`` is its Run's while it has one (pending → running → completed…);
    ``skipped`` marks a schedule slot missed beyond the grace period, ``failed`` with ``error``
    and no ``runId`` a slot whose run could not be created."""

    campaign_id = serializers.CharField(read_only=True)
    run_id = serializers.CharField(read_only=True, allow_null=True)
    status = serializers.ChoiceField(source="current_status", choices=CampaignRunStatus.choices, read_only=True)
    triggered_by = serializers.CharField(
        read_only=True,
        help_text=(
            "manual: started by a person (UI or API, session or API key); schedule: beat, for scheduledFor; "
            "api: API-key triggers stored before manual covered them."
        ),
    )
    deliveries = serializers.SerializerMethodField()
    file = serializers.SerializerMethodField()

    class Meta:
        model = CampaignRun
        fields = [
            "id",
            "campaign_id",
            "run_number",
            "triggered_by",
            "scheduled_for",
            "status",
            "error",
            "run_id",
            "created_at",
            "deliveries",
            "file",
        ]
        read_only_fields = fields

    @extend_schema_field(DeliveryCountsSchema)
    def get_deliveries(self, campaign_run: CampaignRun) -> dict[str, Any]:
        return {
            "total": campaign_run.deliveries_total,
            "sent": campaign_run.deliveries_sent,
            "failed": campaign_run.deliveries_failed,
            "work_items": campaign_run.work_items,
            "settled_at": UTCDateTimeField().to_representation(campaign_run.deliveries_settled_at)
            if campaign_run.deliveries_settled_at
            else None,
        }

    @extend_schema_field(CampaignFileSchema(allow_null=True))
    def get_file(self, campaign_run: CampaignRun) -> dict[str, Any] | None:
        record = getattr(campaign_run, "file", None)
        if record is None:
            return None
        base = f"/api/v1/campaigns/{campaign_run.campaign_id}/campaign-runs/{campaign_run.pk}/file"
        ready = record.status == FileStatus.READY
        return {
            "status": record.status,
            "format": record.format,
            "destination": record.destination,
            "rows": record.rows,
            "checksum": record.checksum,
            "error": record.error,
            "file_url": base if ready and record.destination == "download" else None,
            "manifest": f"{base}/manifest" if ready else None,
            "path": record.path if record.destination == "s3" else None,
        }


class CampaignRunListSerializer(serializers.Serializer):
    campaign_runs = CampaignRunSerializer(many=True)
    total = serializers.IntegerField()


class LatestRunSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The campaign run (crun_…).")
    run_id = serializers.CharField(allow_null=True, help_text="Its batch run (run_…), for progress and results.")
    status = serializers.ChoiceField(source="current_status", choices=CampaignRunStatus.choices)
    run_number = serializers.IntegerField()
    created_at = UTCDateTimeField()


class RunBriefSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    total_customers = serializers.IntegerField()
    processed_customers = serializers.IntegerField()
    recommendation_count = serializers.IntegerField(source="result_count", help_text="0 for a cancelled or failed run.")
    started_at = UTCDateTimeField(allow_null=True)
    completed_at = UTCDateTimeField(allow_null=True)
    error = serializers.CharField()


class RecentCampaignRunSerializer(CampaignRunSerializer):
    """A campaign run with its run and the run's summary (offer and channel names resolved)."""

    run = RunBriefSerializer(read_only=True, allow_null=True)
    summary = serializers.SerializerMethodField(help_text="As GET /api/v1/runs/{runId}/results shows it.")

    class Meta(CampaignRunSerializer.Meta):
        fields = [*CampaignRunSerializer.Meta.fields, "run", "summary"]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_summary(self, campaign_run: CampaignRun) -> dict[str, Any] | None:
        run = campaign_run.run
        return run_results(run) if run is not None and run.summary else None


class LatestResultsSerializer(serializers.Serializer):
    run_id = serializers.CharField()
    run_number = serializers.IntegerField()
    customers = RunCustomerSerializer(many=True)
    next_cursor = serializers.IntegerField(
        allow_null=True, help_text="GET /api/v1/runs/{runId}/customers?cursor=nextCursor for the next page."
    )


# --- campaigns -----------------------------------------------------------------------------


class CampaignSerializer(ModelSerializer):
    """A campaign: a decision flow over a segment, on a schedule. PUT and PATCH both accept any
    combination of fields, including decisionFlowId and segmentId to retarget."""

    decision_flow_id = serializers.CharField(max_length=40, help_text="A decision flow of this tenant (404 otherwise).")
    segment_id = serializers.CharField(max_length=40, help_text="A segment of this tenant (404 otherwise).")
    name = NameField(max_length=300, required=False, help_text='Default: "<flow name> x <segment name> campaign".')
    status = serializers.ChoiceField(
        choices=CampaignStatus.choices,
        default="draft",
        help_text=(
            "draft: created, not yet active; active: scheduled runs execute automatically; paused: "
            "temporarily disabled; archived: retired, kept for history. Draft, active and paused "
            "campaigns can be triggered by hand; archived ones cannot (409)."
        ),
    )
    schedule_type = serializers.ChoiceField(
        choices=ScheduleType.choices, default="manual", help_text=config.SCHEDULE_RULES
    )
    schedule_time = serializers.CharField(
        default="09:00",
        validators=[schedule_time_validator],
        help_text="HH:mm on the zone's wall clock (daily, weekly, monthly).",
    )
    schedule_timezone = serializers.CharField(
        max_length=64,
        default="UTC",
        validators=[config.validate_timezone],
        help_text="An IANA time zone, e.g. America/New_York.",
    )
    schedule_cron = serializers.CharField(
        max_length=120,
        required=False,
        allow_null=True,
        allow_blank=True,
        validators=[config.validate_cron],
        help_text=(
            "Five fields, evaluated in scheduleTimezone (e.g. '0 9 * * 1'). Sent with scheduleType absent or "
            "manual/daily/weekly/monthly, the expression governs, scheduleType becomes cron and the type's day "
            "(scheduleDayOfWeek, scheduleDayOfMonth), if sent, is not used."
        ),
    )
    volume_constraints = VolumeConstraintsField(required=False, allow_null=True, help_text=config.VOLUME_HELP)
    file_config = FileConfigField(required=False, allow_null=True, help_text=config.FILE_CONFIG_HELP)
    channel_ids = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        help_text="Active batch-compatible channels of this tenant; empty: all of them.",
    )
    decision_flow_name = serializers.CharField(source="decision_flow.name", read_only=True)
    segment_name = serializers.CharField(source="segment.name", read_only=True)
    segment_customer_count = serializers.IntegerField(source="segment.customer_count", read_only=True)
    next_run_at = UTCDateTimeField(
        read_only=True, allow_null=True, help_text="The next schedule slot (UTC); null unless active and scheduled."
    )
    run_count = serializers.IntegerField(read_only=True, help_text="Campaign runs so far, skipped slots included.")
    last_run_at = UTCDateTimeField(
        read_only=True, allow_null=True, help_text="When the latest campaign run was created (skipped slots included)."
    )
    latest_run = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "description",
            "status",
            "decision_flow_id",
            "decision_flow_name",
            "segment_id",
            "segment_name",
            "segment_customer_count",
            "schedule_type",
            "schedule_day_of_week",
            "schedule_day_of_month",
            "schedule_time",
            "schedule_timezone",
            "schedule_cron",
            "volume_constraints",
            "file_config",
            "channel_ids",
            "next_run_at",
            "run_count",
            "last_run_at",
            "latest_run",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_by"]
        extra_kwargs = {
            "schedule_day_of_week": {"help_text": "0=Sunday … 6=Saturday; weekly only, and required for weekly."},
            "schedule_day_of_month": {"help_text": '"1"-"28" or "last_working_day"; monthly only, and required.'},
        }

    @extend_schema_field(LatestRunSerializer(allow_null=True))
    def get_latest_run(self, campaign: Campaign) -> dict[str, Any] | None:
        latest = getattr(campaign, "latest_runs", None)
        if not latest:
            return None
        return LatestRunSerializer(latest[0]).data


class CampaignUpdateSerializer(CampaignSerializer):
    """PUT and PATCH: every field optional (any combination of fields)."""

    decision_flow_id = serializers.CharField(
        max_length=40, required=False, help_text="Retarget to another decision flow of this tenant (404 otherwise)."
    )
    segment_id = serializers.CharField(
        max_length=40, required=False, help_text="Retarget to another segment of this tenant (404 otherwise)."
    )


class CampaignDetailSerializer(CampaignSerializer):
    """The campaign with its next five slots, its last ten runs (with summaries) and the first
    page of per-customer results of its newest finished run."""

    next_occurrences = serializers.SerializerMethodField(
        help_text="The schedule's next five slots from now (UTC), whatever the status: what it does once active."
    )
    recent_runs = serializers.SerializerMethodField()
    latest_results = serializers.SerializerMethodField()

    class Meta(CampaignSerializer.Meta):
        fields = [*CampaignSerializer.Meta.fields, "next_occurrences", "recent_runs", "latest_results"]

    @extend_schema_field(serializers.ListField(child=UTCDateTimeField()))
    def get_next_occurrences(self, campaign: Campaign) -> list[Any]:
        slots = schedules.preview(campaign, timezone.now(), count=PREVIEW_COUNT)
        return [UTCDateTimeField().to_representation(slot) for slot in slots]

    @extend_schema_field(RecentCampaignRunSerializer(many=True))
    def get_recent_runs(self, campaign: Campaign) -> Any:
        return RecentCampaignRunSerializer(selectors.campaign_recent_runs(campaign), many=True).data

    @extend_schema_field(LatestResultsSerializer(allow_null=True))
    def get_latest_results(self, campaign: Campaign) -> Any:
        results = selectors.campaign_latest_results(campaign)
        return LatestResultsSerializer(results).data if results is not None else None


# --- work queue (manual channels) ----------------------------------------------------------


class WorkItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    campaign_run_id = serializers.CharField()
    campaign_id = serializers.CharField(source="campaign_run.campaign_id")
    status = serializers.CharField(help_text="pending (to do) or done.")
    channel_id = serializers.CharField()
    channel_name = serializers.CharField(source="channel.name")
    customer_id = serializers.CharField(source="customer.external_id")
    customer_email = serializers.CharField(source="customer.email")
    customer_name = serializers.SerializerMethodField()
    offer_id = serializers.CharField()
    offer_key = serializers.CharField(source="offer.key")
    offer_name = serializers.CharField(source="offer.name")
    rank = serializers.IntegerField()
    score = serializers.FloatField()
    done_by = serializers.CharField()
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()

    def get_customer_name(self, item: Any) -> str:
        return f"{item.customer.first_name} {item.customer.last_name}".strip()


class WorkItemListSerializer(serializers.Serializer):
    work_items = WorkItemSerializer(many=True)
    total = serializers.IntegerField()
