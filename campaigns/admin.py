"""Admin for campaigns and their runs. A campaign is saved and deleted through the services (the
schedule and JSON checks, ``next_run_at``, the audit entry); campaign runs are created by
triggers and beat: here they are inspected."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from campaigns import services
from campaigns.models import Campaign, CampaignRun
from kaireon.admin import ReadOnlyAdmin, ReadOnlyInline, ServiceAdmin

TIMESTAMPS = ["created_at", "updated_at"]


class CampaignRunInline(ReadOnlyInline):
    model = CampaignRun
    fields = ("run_number", "triggered_by", "scheduled_for", "status", "run", "error", "created_at")
    readonly_fields = fields
    ordering = ("-run_number",)


@admin.register(Campaign)
class CampaignAdmin(ServiceAdmin):
    list_display = ["name", "tenant", "status", "schedule_type", "next_run_at", "created_at"]
    list_filter = ["status", "schedule_type", "tenant"]
    search_fields = ["name", "id", "description"]
    list_select_related = ["tenant"]
    raw_id_fields = ["decision_flow", "segment"]
    readonly_fields = ["id", "next_run_at", "created_by", *TIMESTAMPS]
    inlines = [CampaignRunInline]
    create_service = staticmethod(services.campaign_create)
    update_service = staticmethod(services.campaign_update)
    delete_service = staticmethod(services.campaign_delete)

    def service_data(self, form: forms.ModelForm, change: bool) -> dict[str, Any]:
        # The services take the flow and the segment by id, as the API sends them.
        data = super().service_data(form, change)
        for name in ("decision_flow", "segment"):
            if name in data:
                data[f"{name}_id"] = getattr(data.pop(name), "pk", None)
        return data


@admin.register(CampaignRun)
class CampaignRunAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "run_number", "triggered_by", "scheduled_for", "status", "run", "created_at"]
    list_filter = ["status", "triggered_by", "tenant"]
    search_fields = ["id", "campaign__id", "campaign__name", "run__id"]
    list_select_related = ["campaign", "run"]
    date_hierarchy = "created_at"
