"""Request and response shapes of the journeys API. Field types only: rules live in services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from journeys.models import ExecutionRun, ExecutionRunStatus, Plan, PlanStatus, PlanVersion, RunEvent
from journeys.selectors import PUBLIC_STATUS
from kaireon.serializers import ModelSerializer, UTCDateTimeField

STEPS_HELP = (
    "The plan's steps; the first is where runs start. Each has id and type (send, decide, wait, "
    "branch, update, end) and, except branch and end, next. Keys are camelCase as written."
)


@extend_schema_field({"type": "array", "items": {"type": "object", "additionalProperties": True}})
class StepsField(serializers.JSONField):
    pass


class PlanSerializer(ModelSerializer):
    """A journey plan. ``steps`` are those of the newest version (a draft while being edited)."""

    key = serializers.SlugField(max_length=100)
    status = serializers.ChoiceField(choices=PlanStatus.choices, required=False)
    public_id = serializers.UUIDField(source="public_uuid", read_only=True, help_text="journeyId of the public API.")
    current_version = serializers.IntegerField(source="latest_version", read_only=True)
    published_version = serializers.IntegerField(read_only=True, allow_null=True)
    draft = serializers.SerializerMethodField(help_text="The newest version is a draft not yet published.")

    class Meta:
        model = Plan
        fields = [
            "id",
            "public_id",
            "key",
            "name",
            "description",
            "status",
            "current_version",
            "published_version",
            "draft",
            "created_at",
            "updated_at",
        ]
        validators: list[object] = []  # (tenant, key) is checked by the service, naming the field

    def get_draft(self, plan: Plan) -> bool:
        return plan.published_version != plan.latest_version


class PlanDetailSerializer(PlanSerializer):
    steps = StepsField(required=False, help_text=STEPS_HELP)

    class Meta(PlanSerializer.Meta):
        fields = [*PlanSerializer.Meta.fields, "steps"]

    def to_representation(self, instance: Plan) -> dict[str, Any]:
        data = super().to_representation(instance)
        steps = self.context.get("steps")
        if steps is None:
            steps = instance.versions.filter(number=instance.latest_version).values_list("steps", flat=True).first()
        data["steps"] = steps or []
        return data


class PlanVersionSerializer(ModelSerializer):
    plan_id = serializers.CharField(read_only=True)
    version = serializers.IntegerField(source="number", read_only=True)
    steps = StepsField(read_only=True)
    published = serializers.BooleanField(source="is_published", read_only=True)

    class Meta:
        model = PlanVersion
        fields = ["id", "plan_id", "version", "published", "steps", "published_at", "published_by", "created_at"]


class ExecutionRunSerializer(ModelSerializer):
    """A journey execution run, with wakeTick (the tick a waiting run wakes at) and error.
    stepsRemaining: steps on the longest path from the current step to an end, itself and the
    end included (cycles through waits counted once); 0 once the run has finished."""

    plan_id = serializers.CharField(read_only=True)
    variables = serializers.JSONField(read_only=True)

    class Meta:
        model = ExecutionRun
        fields = [
            "id",
            "plan_id",
            "plan_version",
            "contact_id",
            "status",
            "current_step",
            "steps_completed",
            "steps_remaining",
            "start_tick",
            "current_tick",
            "wake_tick",
            "started_at",
            "completed_at",
            "outcome",
            "variables",
            "error",
        ]
        read_only_fields = fields


class RunEventSerializer(ModelSerializer):
    # DRF's metaclass moves declared fields out of the class: "data" does not shadow .data.
    data = serializers.JSONField(read_only=True)  # type: ignore[assignment]

    class Meta:
        model = RunEvent
        fields = ["seq", "tick", "step", "action", "reason", "data", "created_at", "prev_hash", "hash"]
        read_only_fields = fields


class ExecuteSerializer(serializers.Serializer):
    contact_id = serializers.CharField(max_length=128, help_text="The customer's externalId.")
    variables = serializers.DictField(required=False, default=dict, help_text="The run's initial variables.")


@extend_schema_field(
    {
        "type": "object",
        "properties": {"id": {"type": "string", "maxLength": 128, "description": "The customer's externalId."}},
        "required": ["id"],
        "additionalProperties": True,
    }
)
class ContactField(serializers.Field):
    """A bulk-execute contact (docs/api-contract.md §3.7), ``{id, email, …}``: its id (the externalId) enrols it; the
    other keys are the caller's copy of the customer and are not read. A plain field, not a
    nested serializer: 100,000 contacts through a serializer each cost seconds."""

    def to_internal_value(self, data: Any) -> str:
        contact_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(contact_id, str) or not contact_id.strip():
            raise serializers.ValidationError("Must be an object whose id is the customer's externalId.")
        if len(contact_id) > 128:
            raise serializers.ValidationError("id: at most 128 characters.")
        return contact_id

    def to_representation(self, value: Any) -> Any:
        return value


class BulkExecuteSerializer(serializers.Serializer):
    contact_ids = serializers.ListField(
        child=serializers.CharField(max_length=128), required=False, max_length=100_000, help_text="externalIds"
    )
    contacts = serializers.ListField(
        child=ContactField(),
        required=False,
        max_length=100_000,
        help_text="Contacts as [{id, …}]: the same as contactIds with each contact's id.",
    )
    segment_id = serializers.CharField(
        required=False, help_text="Every customer of the segment, instead of contactIds."
    )
    variables = serializers.DictField(required=False, default=dict, help_text="Shared by every run created.")
    batch_size = serializers.IntegerField(
        required=False,
        default=100,
        min_value=1,
        max_value=10_000,
        help_text="Runs written per batch (default 100); a batch that cannot be written counts as errors.",
    )
    dry_run = serializers.BooleanField(required=False, default=False, help_text="Count only; enrol nobody.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if sum(name in attrs for name in ("contact_ids", "contacts", "segment_id")) != 1:
            raise serializers.ValidationError({"contact_ids": "Give exactly one of contactIds, contacts or segmentId."})
        return attrs


class SkippedSerializer(serializers.Serializer):
    contact_id = serializers.CharField()
    reason = serializers.ChoiceField(choices=["already_enrolled", "suppressed"])


class BulkErrorSerializer(serializers.Serializer):
    contact_id = serializers.CharField()
    reason = serializers.ChoiceField(
        choices=["unknown_contact", "write_failed"],
        help_text="unknown_contact: no customer of this tenant has the id; write_failed: its batch was not written.",
    )


class BulkExecuteResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Already enrolled or suppressed.")
    # DRF's metaclass moves declared fields out of the class: "errors" does not shadow .errors.
    errors = serializers.IntegerField(help_text="Unknown contacts and failed writes.")  # type: ignore[assignment]
    skipped_by_reason = serializers.DictField(
        child=serializers.IntegerField(), help_text="How many were skipped for each reason (exact)."
    )
    skipped_details = SkippedSerializer(many=True)
    errors_by_reason = serializers.DictField(
        child=serializers.IntegerField(), help_text="How many failed for each reason (exact)."
    )
    error_details = BulkErrorSerializer(many=True)
    dry_run = serializers.BooleanField()


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class RunFiltersSerializer(serializers.Serializer):
    status = serializers.ListField(
        child=serializers.ChoiceField(choices=ExecutionRunStatus.choices),
        required=False,
        help_text="One status or several.",
    )
    plan_id = serializers.CharField(required=False)
    contact_id = serializers.CharField(required=False)
    started_after = serializers.DateTimeField(required=False)
    started_before = serializers.DateTimeField(required=False)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("status"), str):
            data = {**data, "status": [data["status"]]}
        return super().to_internal_value(data)


class BulkCancelSerializer(RunFiltersSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class BulkCancelResultSerializer(serializers.Serializer):
    cancelled = serializers.IntegerField()


# --- the public API (docs/api-contract.md §5) ----------------------------------------------


class PublicRunSerializer(serializers.Serializer):
    run_id = serializers.UUIDField(source="id")
    journey_id = serializers.UUIDField(source="plan.public_uuid")
    profile_id = serializers.UUIDField()
    status = serializers.SerializerMethodField()
    triggered_at = UTCDateTimeField(source="started_at")
    completed_at = UTCDateTimeField(allow_null=True)
    error = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=["queued", "running", "completed", "failed", "exited"]))
    def get_status(self, run: ExecutionRun) -> str:
        return PUBLIC_STATUS[run.status]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_error(self, run: ExecutionRun) -> str | None:
        return run.error or None


class TriggerSerializer(serializers.Serializer):
    profile_id = serializers.UUIDField(required=False, help_text="The profile's UUID (from an earlier run).")
    contact_id = serializers.CharField(required=False, max_length=128, help_text="The customer's externalId.")
    variables = serializers.DictField(required=False, default=dict)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "profile_id" not in attrs and "contact_id" not in attrs:
            raise serializers.ValidationError({"profile_id": "Give profileId or contactId."})
        return attrs
