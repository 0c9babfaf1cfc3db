"""Admin for campaigns and their runs. The campaign form checks the schedule and the JSON
columns with the rules the API uses; a saved schedule change recomputes ``next_run_at``
through the service. Campaign runs are created by triggers and beat: here they are inspected."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from campaigns import config, services
from campaigns.models import Campaign, CampaignRun, CampaignStatus
from kaireon.models import Role
from kaireon.principal import Principal

TIMESTAMPS = ["created_at", "updated_at"]
# A change to any of these moves the next slot.
SYNCED_FIELDS = {"status", "schedule_type", "schedule_time", "schedule_timezone", *config.SCHEDULE_FIELDS}


class CampaignForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "schedule_type" not in data:
            return data  # the field's own error is shown already
        # "Given" is what this form changed, as for an API request: the admin posts every field,
        # and a cron left in its box must not take over when only the type was changed.
        given = {f: data.get(f) for f in config.SCHEDULE_FIELDS if f in self.changed_data}
        checks = {
            "schedule": lambda: data.update(config.schedule_clean(data, given=given)),
            "volume_constraints": lambda: data.update(
                volume_constraints=config.volume_constraints_clean(data.get("volume_constraints"))
            ),
            "file_config": lambda: data.update(file_config=config.file_config_clean(data.get("file_config"))),
        }
        for check in checks.values():
            try:
                check()
            except ValidationError as exc:
                for key, messages in exc.message_dict.items():
                    field = key.split(".")[0]
                    self.add_error(field if field in self.fields else None, f"{key}: {' '.join(messages)}")
        return data


class CampaignRunInline(admin.TabularInline):
    model = CampaignRun
    extra = 0
    can_delete = False
    fields = ("run_number", "triggered_by", "scheduled_for", "status", "run", "error", "created_at")
    readonly_fields = fields
    ordering = ("-run_number",)
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = ["name", "tenant", "status", "schedule_type", "next_run_at", "created_at"]
    list_filter = ["status", "schedule_type", "tenant"]
    search_fields = ["name", "id", "description"]
    list_select_related = ["tenant"]
    raw_id_fields = ["decision_flow", "segment"]
    readonly_fields = ["id", "next_run_at", "created_by", *TIMESTAMPS]
    inlines = [CampaignRunInline]

    def save_model(self, request: HttpRequest, obj: Campaign, form: forms.ModelForm, change: bool) -> None:
        if obj.status != CampaignStatus.ACTIVE:
            obj.next_run_at = None  # the row's check constraint; the sync below sets it for active ones
        super().save_model(request, obj, form, change)
        if not change or SYNCED_FIELDS & set(form.changed_data):
            actor = Principal(tenant=obj.tenant, role=Role.ADMIN, user=request.user)
            services.campaign_schedule_sync(tenant=obj.tenant, actor=actor, campaign=obj)


@admin.register(CampaignRun)
class CampaignRunAdmin(admin.ModelAdmin):
    list_display = ["campaign", "run_number", "triggered_by", "scheduled_for", "status", "run", "created_at"]
    list_filter = ["status", "triggered_by", "tenant"]
    search_fields = ["id", "campaign__id", "campaign__name", "run__id"]
    list_select_related = ["campaign", "run"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in CampaignRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
