from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import models
from djangorestframework_camel_case.util import camelize
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kaireon.models import ApiKey, AuditLog, Membership, Role, Tenant
from kaireon.principal import Principal
from kaireon.validators import COLUMN_RANGES, range_message, validate_name


class UTCDateTimeField(serializers.DateTimeField):
    """ISO 8601 in UTC with milliseconds and ``Z``, as docs/api-contract.md §0.4 writes them."""

    def to_representation(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            return value
        assert isinstance(value, datetime)
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class NameField(serializers.CharField):
    """A ``name``: printable characters only (``kaireon.validators.validate_name``). Every model
    serializer's ``name`` column is one; declared ``name`` fields use it too."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # appended: validators given as an argument (a model column's) replace the defaults
        self.validators.append(validate_name)


class ModelSerializer(serializers.ModelSerializer):
    """Project base: UTC timestamps, integer columns bounded as on PostgreSQL, names without
    control characters, and helpers to reach the request's principal."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UTCDateTimeField,
    }

    def build_standard_field(self, field_name: str, model_field: Any) -> tuple[type[serializers.Field], dict[str, Any]]:
        """An integer column takes what PostgreSQL's column takes, on SQLite too (which would
        take 64 bits), within the model's own validators; the message states the range."""
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if field_name == "name" and field_class is serializers.CharField:
            field_class = NameField
        bounds = COLUMN_RANGES.get(model_field.get_internal_type())
        if bounds is not None and issubclass(field_class, serializers.IntegerField):
            low = max(bounds[0], kwargs.get("min_value", bounds[0]))
            high = min(bounds[1], kwargs.get("max_value", bounds[1]))
            message = range_message(low, high)
            kwargs.update(min_value=low, max_value=high)
            kwargs["error_messages"] = {**kwargs.get("error_messages", {}), "min_value": message, "max_value": message}
        return field_class, kwargs

    @property
    def principal(self) -> Principal:
        principal = self.context["request"].auth
        assert isinstance(principal, Principal)
        return principal


class TenantRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference by public id, looked up inside the request's tenant only."""

    default_error_messages = {
        "does_not_exist": "No {model} with id {pk_value!r} in this tenant.",
        "incorrect_type": "Expected an id string, got {data_type}.",
    }

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        assert queryset is not None
        principal = self.context["request"].auth
        return queryset.filter(tenant=principal.tenant)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        queryset = self.get_queryset()
        try:
            return queryset.get(pk=data)
        except queryset.model.DoesNotExist:
            self.fail("does_not_exist", model=queryset.model._meta.verbose_name, pk_value=data)


class TenantSerializer(ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = ["id", "slug", "name", "role", "created_at", "updated_at"]

    def get_role(self, tenant: Tenant) -> str | None:
        roles: dict[str, str] = self.context.get("roles", {})
        return roles.get(tenant.pk)


class MembershipSerializer(ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.CharField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "email", "role", "created_at"]


class MembershipListSerializer(serializers.Serializer):
    """GET /api/v1/tenants/{id}/members: the list shape of every list, ``{members, total}``."""

    members = MembershipSerializer(many=True)
    total = serializers.IntegerField()


class ApiKeySerializer(ModelSerializer):
    role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)
    is_active = serializers.BooleanField(read_only=True)
    created_by = serializers.CharField(
        source="created_by.username",
        read_only=True,
        allow_null=True,
        default=None,
        help_text="The username of who made the key; null when made by a command or a deleted user.",
    )

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "role",
            "prefix",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "is_active",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["prefix", "last_used_at", "revoked_at", "created_at"]

    def validate_expires_at(self, value: datetime | None) -> datetime | None:
        from django.utils import timezone

        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("Must be in the future.")
        return value


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The secret key. Shown once, never again.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


# Fields of an audited row whose value is a map keyed by data, not by field names: the same
# fields the API's renderers leave as written (settings.JSON_CAMEL_CASE, and the journeys API's
# step keys, event data and remaining slots), so a snapshot reads as the API shows its object.
SNAPSHOT_DATA_FIELDS = frozenset(
    {"attributes", "variables", "personalization", "sample_attributes", "provider_config", "steps", "data", "remaining"}
)


@extend_schema_field({"type": "object", "additionalProperties": True, "nullable": True})
class SnapshotField(serializers.JSONField):
    """An audit entry's ``before``/``after`` in the API's spelling: the stored snapshot is keyed by
    model field names (``schedule_type``, ``volume_constraints.max_total_per_run``), shown
    camelCase like every field; keys under data fields (a customer's ``attributes.shoe_size``,
    a run's ``variables``) stay as written. Output only: the stored entry, and so its hash, keep
    the model's names. The renderer leaves before/after alone (settings.JSON_CAMEL_CASE), so the
    data keys survive it."""

    def to_representation(self, value: Any) -> Any:
        return camelize(value, ignore_fields=SNAPSHOT_DATA_FIELDS)


class AuditLogSerializer(ModelSerializer):
    before = SnapshotField(read_only=True, allow_null=True)
    after = SnapshotField(read_only=True, allow_null=True)

    class Meta:
        model = AuditLog
        fields = [
            "id",
            "created_at",
            "actor_type",
            "actor_id",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "before",
            "after",
            "reason",
            "prev_hash",
            "entry_hash",
        ]
