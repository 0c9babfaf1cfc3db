"""Admin for the catalogue and decision flows. Every save and delete goes through the services
(the checks of pipelines, eligibility, tokens and provider config, the audit entry, the refusal
to delete what a flow uses); contact history and published versions are shown, not edited."""

from __future__ import annotations

from django.contrib import admin

from decisionflows import services
from decisionflows.models import (
    Channel,
    Contact,
    ContactHistory,
    ContactPolicy,
    Creative,
    DecisionFlow,
    DecisionFlowVersion,
    Offer,
)
from kaireon.admin import ReadOnlyAdmin, ReadOnlyInline, ServiceAdmin

TIMESTAMPS = ["created_at", "updated_at"]


@admin.register(Channel)
class ChannelAdmin(ServiceAdmin):
    list_display = ["name", "tenant", "channel_type", "delivery_mode", "status", "created_at"]
    list_filter = ["channel_type", "delivery_mode", "status", "tenant"]
    search_fields = ["name", "id", "description"]
    readonly_fields = ["id", *TIMESTAMPS]
    create_service = staticmethod(services.channel_create)
    update_service = staticmethod(services.channel_update)
    delete_service = staticmethod(services.channel_delete)


class CreativeInline(ReadOnlyInline):
    model = Creative
    fields = ["name", "channel", "subject", "status"]


@admin.register(Offer)
class OfferAdmin(ServiceAdmin):
    list_display = [
        "name",
        "key",
        "tenant",
        "category",
        "status",
        "priority",
        "business_value",
        "start_date",
        "end_date",
    ]
    list_filter = ["status", "category", "tenant"]
    search_fields = ["name", "key", "id", "category"]
    readonly_fields = ["id", *TIMESTAMPS]
    inlines = [CreativeInline]
    create_service = staticmethod(services.offer_create)
    update_service = staticmethod(services.offer_update)
    delete_service = staticmethod(services.offer_delete)


@admin.register(Creative)
class CreativeAdmin(ServiceAdmin):
    list_display = ["name", "offer", "channel", "tenant", "status", "created_at"]
    list_filter = ["status", "channel__channel_type", "tenant"]
    search_fields = ["name", "id", "subject", "offer__name", "offer__key"]
    list_select_related = ["offer", "channel"]
    autocomplete_fields = ["offer", "channel"]
    readonly_fields = ["id", *TIMESTAMPS]
    create_service = staticmethod(services.creative_create)
    update_service = staticmethod(services.creative_update)
    delete_service = staticmethod(services.creative_delete)


@admin.register(ContactPolicy)
class ContactPolicyAdmin(ServiceAdmin):
    list_display = ["name", "tenant", "policy_type", "status", "max_count", "period", "scope", "cooldown_hours"]
    list_filter = ["policy_type", "status", "scope", "tenant"]
    search_fields = ["name", "id", "description"]
    autocomplete_fields = ["channel", "offer"]
    readonly_fields = ["id", *TIMESTAMPS]
    create_service = staticmethod(services.contact_policy_create)
    update_service = staticmethod(services.contact_policy_update)
    delete_service = staticmethod(services.contact_policy_delete)


@admin.register(ContactHistory)
class ContactHistoryAdmin(ReadOnlyAdmin):
    """Written by the engine and the journeys; searchable by customer."""

    list_display = ["contacted_at", "tenant", "customer", "offer", "channel", "source", "source_id"]
    list_filter = ["source", "tenant"]
    search_fields = ["customer__external_id", "offer__key", "source_id"]
    list_select_related = ["customer", "offer", "channel"]
    date_hierarchy = "contacted_at"


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    """Every contact the engine counts: the table above plus the runs' recommendations (a
    database view)."""

    list_display = ["contacted_at", "tenant", "customer", "offer", "channel", "source", "source_id"]
    list_filter = ["source", "tenant"]
    search_fields = ["customer__external_id", "offer__key", "source_id"]
    list_select_related = ["customer", "offer", "channel"]
    show_full_result_count = False  # a view over every run's rows: no COUNT(*) on each page


class DecisionFlowVersionInline(ReadOnlyInline):
    """Published versions are immutable: shown, never edited here."""

    model = DecisionFlowVersion
    fields = readonly_fields = ("version", "published_at", "published_by", "id")


@admin.register(DecisionFlow)
class DecisionFlowAdmin(ServiceAdmin):
    list_display = ["name", "key", "tenant", "status", "latest_version", "created_at", "updated_at"]
    list_filter = ["status", "tenant"]
    search_fields = ["name", "key", "id", "description"]
    readonly_fields = ["id", "latest_version", *TIMESTAMPS]
    inlines = [DecisionFlowVersionInline]
    create_service = staticmethod(services.decision_flow_create)
    update_service = staticmethod(services.decision_flow_update)
    delete_service = staticmethod(services.decision_flow_delete)


@admin.register(DecisionFlowVersion)
class DecisionFlowVersionAdmin(ReadOnlyAdmin):
    """Publishing (API) is the only way versions are made; deleting the flow removes them."""

    list_display = ["flow", "version", "tenant", "published_at", "published_by"]
    list_filter = ["tenant"]
    search_fields = ["flow__name", "flow__key", "id", "published_by"]
    list_select_related = ["flow"]
