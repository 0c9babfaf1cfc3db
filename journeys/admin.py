"""Admin for journeys. Plans are saved and deleted through the services, a draft's steps too (the
plan's service puts them in its draft; published versions never change); runs, events, sends,
idempotency keys and the clock are written by the services and workers and shown read-only (an
edited event would break its run's hash chain)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from journeys import services
from journeys.models import ExecutionRun, IdempotencyKey, JourneyClock, Plan, PlanVersion, RunEvent, Send
from kaireon.admin import ReadOnlyAdmin, ReadOnlyInline, ServiceAdmin
from kaireon.models import Tenant
from kaireon.services import Actor

TIMESTAMPS = ["created_at", "updated_at"]


class PlanVersionInline(ReadOnlyInline):
    model = PlanVersion
    fields = readonly_fields = ("number", "published_at", "published_by", "id")


@admin.register(Plan)
class PlanAdmin(ServiceAdmin):
    list_display = ["name", "key", "tenant", "status", "latest_version", "published_version", "created_at"]
    list_filter = ["status", "tenant"]
    search_fields = ["name", "key", "id", "public_uuid", "description"]
    readonly_fields = ["id", "public_uuid", "latest_version", "published_version", *TIMESTAMPS]
    inlines = [PlanVersionInline]
    create_service = staticmethod(services.plan_create)
    update_service = staticmethod(services.plan_update)
    delete_service = staticmethod(services.plan_delete)


def _draft_steps_update(*, tenant: Tenant, actor: Actor, instance: PlanVersion, data: Mapping[str, Any]) -> PlanVersion:
    """New steps for a plan's draft, through the plan's service (which checks their shape)."""
    steps = {"steps": data["steps"]} if "steps" in data else {}
    services.plan_update(tenant=tenant, actor=actor, instance=instance.plan, data=steps)
    return PlanVersion.objects.get(pk=instance.pk)


@admin.register(PlanVersion)
class PlanVersionAdmin(ServiceAdmin):
    """A draft's steps may be edited here; publish through the API (it checks the graph)."""

    list_display = ["plan", "number", "tenant", "published_at", "published_by"]
    list_filter = ["tenant", ("published_at", admin.EmptyFieldListFilter)]
    search_fields = ["plan__name", "plan__key", "id"]
    list_select_related = ["plan"]
    readonly_fields = ["id", "tenant", "plan", "number", "remaining", "published_at", "published_by", *TIMESTAMPS]
    update_service = staticmethod(_draft_steps_update)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (obj is None or not obj.is_published) and super().has_change_permission(request, obj)


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
class JourneyClockAdmin(ReadOnlyAdmin):
    """The global tick, advanced by beat (journeys.services.journeys_tick)."""

    list_display = ["id", "tick", "ticked_at"]
