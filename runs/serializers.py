from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from decisionflows.serializers import RecommendedOfferSerializer
from kaireon.serializers import ModelSerializer, NameField, UTCDateTimeField
from runs.models import Run


class ProgressSerializer(serializers.Serializer):
    processed_customers = serializers.IntegerField()
    total_customers = serializers.IntegerField()
    failed_customers = serializers.IntegerField()
    percent = serializers.FloatField()
    rate_per_second = serializers.FloatField(allow_null=True)
    eta_seconds = serializers.FloatField(allow_null=True)
    chunks_done = serializers.IntegerField()
    chunks_failed = serializers.IntegerField()
    chunk_count = serializers.IntegerField()


class DiscardedSerializer(serializers.Serializer):
    customers_processed = serializers.IntegerField(help_text="Customers decided before the run stopped.")
    recommendations_written = serializers.IntegerField()
    customers_contacted = serializers.IntegerField()
    message = serializers.CharField()


class RunSerializer(ModelSerializer):
    """A batch run, plus progress while it goes. A cancelled or failed run has no results
    (``recommendationCount`` 0); ``discarded`` says what it wrote before it stopped."""

    tenant_id = serializers.CharField(read_only=True)
    decision_flow_id = serializers.CharField(read_only=True)
    segment_id = serializers.CharField(read_only=True, allow_null=True)
    # annotated on the run (runs.selectors.with_names): one model per row, not four
    decision_flow_name = serializers.CharField(read_only=True)
    decision_flow_key = serializers.CharField(read_only=True)
    flow_version = serializers.IntegerField(source="flow_version_number", read_only=True)
    segment_customer_count = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    eta_seconds = serializers.FloatField(read_only=True, allow_null=True)
    recommendation_count = serializers.IntegerField(source="result_count", read_only=True)
    discarded = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [
            "id",
            "tenant_id",
            "name",
            "decision_flow_id",
            "segment_id",
            "status",
            "decision_flow_name",
            "decision_flow_key",
            "flow_version",
            "segment_name",
            "segment_customer_count",
            "channel_ids",
            "execution_mode",
            "progress",
            "eta_seconds",
            "recommendation_count",
            "discarded",
            "started_at",
            "completed_at",
            "error",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_segment_customer_count(self, run: Run) -> int | None:
        if run.segment_id is None:
            return run.total_customers if run.status != "pending" else None
        return run.segment_size  # type: ignore[attr-defined]  # annotated (runs.selectors.with_names)

    # The two objects below are built as plain dicts in their serializers' shapes (the schema
    # names the serializers): a nested serializer per row of a list cost more than the row.

    @extend_schema_field(DiscardedSerializer(allow_null=True))
    def get_discarded(self, run: Run) -> dict[str, Any] | None:
        if not run.is_discarded:
            return None
        return {
            "customers_processed": run.processed_customers - run.failed_customers,
            "recommendations_written": run.recommendation_count,
            "customers_contacted": 0,
            "message": run.discarded_message,
        }

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, run: Run) -> dict[str, Any]:
        rate = run.rate
        return {
            "processed_customers": run.processed_customers,
            "total_customers": run.total_customers,
            "failed_customers": run.failed_customers,
            "percent": float(run.percent),
            "rate_per_second": round(rate, 1) if rate else None,
            "eta_seconds": run.eta_seconds,
            "chunks_done": run.chunks_done,
            "chunks_failed": run.chunks_failed,
            "chunk_count": run.chunk_count,
        }


class RunDetailSerializer(RunSerializer):
    filters = serializers.JSONField(read_only=True)
    error_context = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "filters", "error_context", "summary"]
        read_only_fields = fields

    def get_error_context(self, run: Run) -> dict[str, Any]:
        context = dict(run.error_context or {})
        context.pop("traceback", None)  # for admins and logs, not API clients
        return context

    def get_summary(self, run: Run) -> dict[str, Any] | None:
        from runs.selectors import run_results

        return run_results(run) if run.summary else None


class RunCreateSerializer(serializers.Serializer):
    decision_flow_id = serializers.CharField(max_length=40)
    segment_id = serializers.CharField(max_length=40, required=False, allow_blank=False)
    filters = serializers.JSONField(required=False, help_text="An ad-hoc audience instead of a saved segment.")
    name = NameField(max_length=300, required=False, allow_blank=True)
    channel_ids = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, help_text="Empty: every batch channel."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("segment_id") and "filters" not in attrs:
            raise serializers.ValidationError({"segment_id": ["This field is required (or give ad-hoc filters)."]})
        if attrs.get("segment_id") and "filters" in attrs:
            raise serializers.ValidationError({"filters": ["Give a segmentId or ad-hoc filters, not both."]})
        return attrs


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class ExecuteInlineSerializer(serializers.Serializer):
    run_id = serializers.CharField(max_length=40)
    decision_flow_id = serializers.CharField(max_length=40)
    segment_view_name = serializers.CharField(max_length=63)


class ExecuteInlineResponseSerializer(serializers.Serializer):
    status = serializers.CharField()
    run_id = serializers.CharField()


class RunCustomerSerializer(serializers.Serializer):
    customer_id = serializers.CharField(help_text="The customer's externalId.")
    customer_ref = serializers.IntegerField(help_text="Internal id; the keyset cursor.")
    email = serializers.CharField()
    name = serializers.CharField()
    recommendations = RecommendedOfferSerializer(many=True)


class RunCustomersPageSerializer(serializers.Serializer):
    customers = RunCustomerSerializer(many=True)
    next_cursor = serializers.IntegerField(allow_null=True)


class RunResultsSerializer(serializers.Serializer):
    run_id = serializers.CharField()
    status = serializers.CharField()
    completed_at = UTCDateTimeField(allow_null=True)
    summary = serializers.DictField(allow_null=True)
