"""Request and response shapes. Field types only: the business rules live in services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from decisionflows.models import (
    Channel,
    Contact,
    ContactPolicy,
    Creative,
    DecisionFlow,
    DecisionFlowVersion,
    Offer,
)
from decisionflows.personalization import token_refs
from kaireon.serializers import ModelSerializer, TenantRelatedField


class ChannelSerializer(ModelSerializer):
    batch_compatible = serializers.BooleanField(
        read_only=True, help_text="Batch runs can deliver through it (delivery mode file, integration or manual)."
    )
    provider_config = serializers.JSONField(
        required=False,
        help_text="Provider settings, stored as sent. Integration channels need webhookUrl (http or https).",
    )

    class Meta:
        model = Channel
        fields = [
            "id",
            "name",
            "channel_type",
            "delivery_mode",
            "batch_compatible",
            "status",
            "provider_config",
            "description",
            "created_at",
            "updated_at",
        ]


class CreativeSerializer(ModelSerializer):
    offer_id = TenantRelatedField(source="offer", queryset=Offer.objects.all())
    channel_id = TenantRelatedField(source="channel", queryset=Channel.objects.all())
    tokens = serializers.SerializerMethodField(help_text="The fields the subject and content personalize with.")

    class Meta:
        model = Creative
        fields = [
            "id",
            "offer_id",
            "channel_id",
            "name",
            "subject",
            "content",
            "status",
            "tokens",
            "created_at",
            "updated_at",
        ]
        # (offer, channel, name) is checked by the service, with an error naming the field.
        validators: list[object] = []

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tokens(self, creative: Creative) -> list[str]:
        return token_refs(creative.subject, creative.content)


class OfferSerializer(ModelSerializer):
    business_value = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, coerce_to_string=False, required=False
    )
    eligibility = serializers.JSONField(
        required=False, help_text="A condition in the rule language over customer.* and offer.* fields; {} matches all."
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), max_length=50, required=False, help_text="Free labels."
    )

    class Meta:
        model = Offer
        fields = [
            "id",
            "key",
            "name",
            "description",
            "category",
            "status",
            "priority",
            "business_value",
            "start_date",
            "end_date",
            "eligibility",
            "tags",
            "created_at",
            "updated_at",
        ]


class OfferDetailSerializer(OfferSerializer):
    creatives = CreativeSerializer(many=True, read_only=True)

    class Meta(OfferSerializer.Meta):
        fields = [*OfferSerializer.Meta.fields, "creatives"]


class ContactPolicySerializer(ModelSerializer):
    channel_id = TenantRelatedField(
        source="channel",
        queryset=Channel.objects.all(),
        allow_null=True,
        required=False,
        help_text="Frequency caps with scope channel: the channel counted.",
    )
    offer_id = TenantRelatedField(
        source="offer",
        queryset=Offer.objects.all(),
        allow_null=True,
        required=False,
        help_text="Frequency caps with scope offer: the offer counted.",
    )

    class Meta:
        model = ContactPolicy
        fields = [
            "id",
            "name",
            "description",
            "status",
            "policy_type",
            "max_count",
            "period",
            "scope",
            "channel_id",
            "offer_id",
            "cooldown_hours",
            "suppress_unsubscribed",
            "suppress_suppressed",
            "created_at",
            "updated_at",
        ]


class ContactHistorySerializer(ModelSerializer):
    customer_id = serializers.CharField(source="customer.external_id", read_only=True, help_text="External id.")
    offer_id = serializers.CharField(read_only=True)
    channel_id = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Contact
        fields = ["id", "customer_id", "offer_id", "channel_id", "source", "source_id", "contacted_at"]
        read_only_fields = fields


class DecisionFlowSerializer(ModelSerializer):
    pipeline = serializers.JSONField(
        required=False,
        help_text=(
            "Ordered nodes: inventory first, then qualify / filter / contact_policy, score, rank, "
            "output last. Stored normalised, with defaults filled."
        ),
    )
    latest_version = serializers.IntegerField(read_only=True, allow_null=True)
    published_version = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The version runs use now: the latest, while the flow is active."
    )
    runnable = serializers.BooleanField(read_only=True, help_text="Active, with at least one published version.")

    class Meta:
        model = DecisionFlow
        fields = [
            "id",
            "key",
            "name",
            "description",
            "status",
            "pipeline",
            "latest_version",
            "published_version",
            "runnable",
            "created_at",
            "updated_at",
        ]


class DecisionFlowVersionSerializer(ModelSerializer):
    decision_flow_id = serializers.CharField(source="flow_id", read_only=True)

    class Meta:
        model = DecisionFlowVersion
        fields = ["id", "decision_flow_id", "version", "pipeline", "published_at", "published_by"]
        read_only_fields = fields


class DecisionFlowVersionListSerializer(serializers.Serializer):
    versions = DecisionFlowVersionSerializer(many=True)
    total = serializers.IntegerField()


# --- the Recommend API ---------------------------------------------------------------------


class RecommendSerializer(serializers.Serializer):
    """The Recommend request body."""

    decision_flow_id = serializers.CharField(
        required=False, max_length=40, help_text="The flow's id (or give its key)."
    )
    decision_flow_key = serializers.CharField(required=False, max_length=100, help_text="The flow's key (or its id).")
    customer_id = serializers.CharField(max_length=128, help_text="The customer's externalId.")
    channel = serializers.CharField(
        required=False, max_length=40, help_text="Only this channel: an active channel's id, or a channel type."
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=50, help_text="At most this many offers (default: the flow's rank node)."
    )
    debug = serializers.BooleanField(required=False, default=False, help_text="Include the decision funnel.")

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        if not attrs.get("decision_flow_id") and not attrs.get("decision_flow_key"):
            raise serializers.ValidationError({"decision_flow_id": "Required: give decisionFlowId or decisionFlowKey."})
        return attrs


class PersonalizationSerializer(serializers.Serializer):
    subject = serializers.CharField()
    content = serializers.CharField()


class RecommendedOfferSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    offer_id = serializers.CharField()
    offer_key = serializers.CharField()
    offer_name = serializers.CharField()
    score = serializers.FloatField()
    channel_id = serializers.CharField()
    channel_name = serializers.CharField()
    channel_type = serializers.CharField()
    creative_id = serializers.CharField(allow_null=True)
    creative_name = serializers.CharField()
    personalization = PersonalizationSerializer(help_text="The creative's subject and content, personalized.")


class DroppedOfferSerializer(serializers.Serializer):
    offer_id = serializers.CharField()
    offer_key = serializers.CharField()
    stage = serializers.CharField(
        help_text="Where it fell out: qualification, contact_policy, no_channel, zero_score or outranked."
    )
    reason = serializers.CharField(help_text="The rule's name, the contact policy's name, or a sentence.")


class RecommendFunnelSerializer(serializers.Serializer):
    candidates = serializers.IntegerField(help_text="Offers the inventory node took.")
    after_qualification = serializers.IntegerField()
    after_contact_policy = serializers.IntegerField()
    scored = serializers.IntegerField(help_text="Left with a channel and a positive score.")
    returned = serializers.IntegerField()
    dropped = DroppedOfferSerializer(many=True)


class RecommendResponseSerializer(serializers.Serializer):
    customer_id = serializers.CharField(help_text="The customer's externalId.")
    decision_flow_id = serializers.CharField()
    decision_flow_key = serializers.CharField()
    version = serializers.IntegerField(help_text="The published version that decided.")
    recommendations = RecommendedOfferSerializer(many=True)
    funnel = RecommendFunnelSerializer(required=False, help_text="With debug only.")
