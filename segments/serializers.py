from __future__ import annotations

from rest_framework import serializers

from kaireon.pagination import MAX_LIMIT
from kaireon.serializers import ModelSerializer
from segments.models import Customer, CustomerAttribute, CustomerImport, ImportFormat, Segment


class CustomerAttributeSerializer(ModelSerializer):
    class Meta:
        model = CustomerAttribute
        fields = ["id", "name", "type", "label", "description", "required", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class CustomerSerializer(ModelSerializer):
    """A customer; ``attributes`` keys are the schema's names and pass through unchanged."""

    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    attributes = serializers.DictField(
        required=False, default=dict, help_text="Values by attribute name, checked against the customer schema."
    )

    class Meta:
        model = Customer
        fields = [
            "id",
            "external_id",
            "email",
            "first_name",
            "last_name",
            "phone",
            "attributes",
            "suppressed",
            "unsubscribed",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class ImportErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="The line of the file where the row starts (1: the CSV header).")
    field = serializers.CharField(help_text="externalId, email, ... or attributes.<name>; empty for the whole row.")
    message = serializers.CharField()


class CustomerImportSerializer(ModelSerializer):
    percent = serializers.FloatField(read_only=True, help_text="processedRows / totalRows * 100; 100 once completed.")
    # The metaclass takes declared fields off the class, so this does not shadow Serializer.errors.
    errors = ImportErrorSerializer(  # type: ignore[assignment]
        many=True, read_only=True, help_text="The first 1,000 problems found."
    )

    class Meta:
        model = CustomerImport
        fields = [
            "id",
            "status",
            "format",
            "file_name",
            "runner",
            "total_rows",
            "processed_rows",
            "percent",
            "created_count",
            "updated_count",
            "error_count",
            "errors",
            "message",
            "started_at",
            "finished_at",
            "created_at",
        ]
        read_only_fields = fields


class CustomerImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV with a header row, a JSON array of objects, or JSON Lines.")
    format = serializers.ChoiceField(
        choices=ImportFormat.choices, required=False, help_text="Taken from the file name when left out."
    )


class CustomerImportRecordsSerializer(serializers.Serializer):
    # Bigger sets go as a file: a JSON body is read into memory whole (and Django caps it at 2.5 MB).
    customers = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=10_000)


class SegmentSerializer(ModelSerializer):
    filters = serializers.JSONField(
        required=False,
        default=dict,
        help_text='Conditions over customer fields: {"field": "age", "operator": "gte", "value": 18}, '
        "or groups {all: [...]} / {any: [...]}. Empty: every customer.",
    )
    has_view = serializers.BooleanField(read_only=True)

    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "description",
            "filters",
            "view_name",
            "has_view",
            "customer_count",
            "last_refreshed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["view_name", "customer_count", "last_refreshed_at", "created_at", "updated_at"]


class SegmentPreviewRequestSerializer(serializers.Serializer):
    filters = serializers.JSONField(required=False, default=dict)


class SegmentPreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    sample = CustomerSerializer(many=True, help_text="The first 20 matching customers by id.")


class SegmentCustomersQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(required=False, default=0, min_value=0, help_text="Customer id to start after.")
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=MAX_LIMIT)


class SegmentCustomersSerializer(serializers.Serializer):
    customers = CustomerSerializer(many=True)
    next_after = serializers.IntegerField(
        allow_null=True, help_text="Pass as ?after= for the next page; null on the last page."
    )
