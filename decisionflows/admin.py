"""Admin for the catalogue. Forms check the JSON fields the engine trusts (pipelines,
eligibility, tokens, provider config) with the same validators as the services; each form gets
its model and fields from its ModelAdmin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from decisionflows import selectors
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
from decisionflows.personalization import TokenError, validate_tokens
from decisionflows.pipeline import PipelineError, validate_pipeline
from decisionflows.services import provider_config_clean
from kaireon import rules

TIMESTAMPS = ["created_at", "updated_at"]


def _messages(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{key}: {' '.join(m for e in errors for m in e.messages)}" for key, errors in error.error_dict.items()
        )
    return " ".join(error.messages)


class ChannelForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("delivery_mode"):
            try:
                data["provider_config"] = provider_config_clean(
                    delivery_mode=data["delivery_mode"], config=data.get("provider_config")
                )
            except ValidationError as exc:
                self.add_error("provider_config", _messages(exc))
        return data


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = ["name", "tenant", "channel_type", "delivery_mode", "status", "created_at"]
    list_filter = ["channel_type", "delivery_mode", "status", "tenant"]
    search_fields = ["name", "id", "description"]
    readonly_fields = ["id", *TIMESTAMPS]


class CreativeForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        offer = data.get("offer") or getattr(self.instance, "offer", None)
        if offer is not None:
            known = selectors.rule_field_specs(tenant=offer.tenant)
            for field in ("subject", "content"):
                try:
                    validate_tokens(data.get(field) or "", known)
                except TokenError as exc:
                    self.add_error(field, exc.message)
        return data


class CreativeInline(admin.TabularInline):
    model = Creative
    form = CreativeForm
    extra = 0
    fields = ["name", "channel", "subject", "status"]
    autocomplete_fields = ["channel"]
    show_change_link = True


class OfferForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        tenant = data.get("tenant")
        if tenant is not None and data.get("eligibility"):
            try:
                data["eligibility"] = rules.validate(
                    data["eligibility"], selectors.rule_field_specs(tenant=tenant), "eligibility"
                )
            except rules.RuleError as exc:
                self.add_error("eligibility", str(exc))
        return data


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    form = OfferForm
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


@admin.register(Creative)
class CreativeAdmin(admin.ModelAdmin):
    form = CreativeForm
    list_display = ["name", "offer", "channel", "tenant", "status", "created_at"]
    list_filter = ["status", "channel__channel_type", "tenant"]
    search_fields = ["name", "id", "subject", "offer__name", "offer__key"]
    list_select_related = ["offer", "channel"]
    autocomplete_fields = ["offer", "channel"]
    readonly_fields = ["id", *TIMESTAMPS]


@admin.register(ContactPolicy)
class ContactPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "policy_type", "status", "max_count", "period", "scope", "cooldown_hours"]
    list_filter = ["policy_type", "status", "scope", "tenant"]
    search_fields = ["name", "id", "description"]
    autocomplete_fields = ["channel", "offer"]
    readonly_fields = ["id", *TIMESTAMPS]


@admin.register(ContactHistory)
class ContactHistoryAdmin(admin.ModelAdmin):
    """Written by the engine; kept editable for corrections, searchable by customer."""

    list_display = ["contacted_at", "tenant", "customer", "offer", "channel", "source", "source_id"]
    list_filter = ["source", "tenant"]
    search_fields = ["customer__external_id", "offer__key", "source_id"]
    list_select_related = ["customer", "offer", "channel"]
    raw_id_fields = ["customer", "offer", "channel"]
    date_hierarchy = "contacted_at"


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    """Every contact the engine counts: the table above plus the runs' recommendations (a
    database view, so read-only here)."""

    list_display = ["contacted_at", "tenant", "customer", "offer", "channel", "source", "source_id"]
    list_filter = ["source", "tenant"]
    search_fields = ["customer__external_id", "offer__key", "source_id"]
    list_select_related = ["customer", "offer", "channel"]
    show_full_result_count = False  # a view over every run's rows: no COUNT(*) on each page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Contact | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Contact | None = None) -> bool:
        return False


class DecisionFlowForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        tenant = data.get("tenant")
        if tenant is not None and data.get("pipeline"):
            try:
                data["pipeline"] = validate_pipeline(data["pipeline"], selectors.pipeline_catalogue(tenant=tenant))
            except PipelineError as exc:
                self.add_error("pipeline", str(exc))
        return data


class DecisionFlowVersionInline(admin.TabularInline):
    """Published versions are immutable: shown, never edited here."""

    model = DecisionFlowVersion
    extra = 0
    fields = ["version", "published_at", "published_by", "id"]
    readonly_fields = ["version", "published_at", "published_by", "id"]
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DecisionFlow)
class DecisionFlowAdmin(admin.ModelAdmin):
    form = DecisionFlowForm
    list_display = ["name", "key", "tenant", "status", "latest_version", "created_at", "updated_at"]
    list_filter = ["status", "tenant"]
    search_fields = ["name", "key", "id", "description"]
    readonly_fields = ["id", "latest_version", *TIMESTAMPS]
    inlines = [DecisionFlowVersionInline]


@admin.register(DecisionFlowVersion)
class DecisionFlowVersionAdmin(admin.ModelAdmin):
    """Read-only: publishing (API) is the only way versions are made."""

    list_display = ["flow", "version", "tenant", "published_at", "published_by"]
    list_filter = ["tenant"]
    search_fields = ["flow__name", "flow__key", "id", "published_by"]
    list_select_related = ["flow"]
    readonly_fields = ["id", "tenant", "flow", "version", "pipeline", "published_at", "published_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
