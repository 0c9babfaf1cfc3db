"""Admin for journeys. Plans are edited here like in the API (a draft's steps may change,
published versions never); runs, events, sends and idempotency keys are written by the
services and shown read-only (an edited event would break its run's hash chain)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from journeys.models import ExecutionRun, IdempotencyKey, JourneyClock, Plan, PlanVersion, RunEvent, Send
from journeys.plans import MAX_STEPS

TIMESTAMPS = ["created_at", "updated_at"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class PlanVersionInline(admin.TabularInline):
    model = PlanVersion
    extra = 0
    fields = ["number", "published_at", "published_by", "id"]
    readonly_fields = ["number", "published_at", "published_by", "id"]
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "tenant", "status", "latest_version", "published_version", "created_at"]
    list_filter = ["status", "tenant"]
    search_fields = ["name", "key", "id", "public_uuid", "description"]
    readonly_fields = ["id", "public_uuid", "latest_version", "published_version", *TIMESTAMPS]
    inlines = [PlanVersionInline]


class PlanVersionForm(forms.ModelForm):
    def clean_steps(self) -> Any:
        steps = self.cleaned_data.get("steps")
        if not isinstance(steps, list) or not all(isinstance(step, dict) for step in steps):
            raise forms.ValidationError("A list of step objects.")
        if len(steps) > MAX_STEPS:
            raise forms.ValidationError(f"At most {MAX_STEPS} steps.")
        return steps


@admin.register(PlanVersion)
class PlanVersionAdmin(admin.ModelAdmin):
    """A draft's steps may be edited here; publish through the API (it checks the graph)."""

    form = PlanVersionForm
    list_display = ["plan", "number", "tenant", "published_at", "published_by"]
    list_filter = ["tenant", ("published_at", admin.EmptyFieldListFilter)]
    search_fields = ["plan__name", "plan__key", "id"]
    list_select_related = ["plan"]
    readonly_fields = ["id", "tenant", "plan", "number", "remaining", "published_at", "published_by", *TIMESTAMPS]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or not obj.is_published


@admin.register(ExecutionRun)
class ExecutionRunAdmin(ReadOnlyAdmin):
    """Change runs through the API (pause, resume, cancel): each change is an event and an audit entry."""

    list_display = ["id", "plan", "plan_version", "contact_id", "status", "current_step", "wake_tick", "started_at"]
    list_filter = ["status", "tenant", "plan"]
    search_fields = ["id", "contact_id", "plan__key", "profile_id"]
    list_select_related = ["plan"]
    date_hierarchy = "started_at"


@admin.register(RunEvent)
class RunEventAdmin(ReadOnlyAdmin):
    list_display = ["run", "seq", "tick", "step", "action", "reason", "created_at"]
    list_filter = ["action"]
    search_fields = ["run__id", "step", "reason"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Send)
class SendAdmin(ReadOnlyAdmin):
    list_display = ["run", "step", "visit", "tick", "offer", "channel", "sent_at"]
    list_filter = ["tenant"]
    search_fields = ["run__id", "step", "subject"]
    date_hierarchy = "sent_at"


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    list_display = ["key", "tenant", "run", "created_at"]
    list_filter = ["tenant"]
    search_fields = ["key", "run__id"]


@admin.register(JourneyClock)
class JourneyClockAdmin(admin.ModelAdmin):
    """The global tick; changing it by hand moves every waiting run's wake-up closer or further."""

    list_display = ["id", "tick", "ticked_at"]
    readonly_fields = ["id", "ticked_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not JourneyClock.objects.exists()
