from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from runs.models import Run, RunChunk


class RunChunkInline(admin.TabularInline):
    model = RunChunk
    extra = 0
    can_delete = False
    fields = ("seq", "status", "size", "attempts", "recommendation_count", "worker", "error", "finished_at")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    """Runs are created through the API, the UI or ``manage.py run_flow``; here they are inspected."""

    list_display = ["name", "tenant", "status", "processed_customers", "total_customers", "created_at", "completed_at"]
    list_filter = ["status", "execution_mode", "tenant"]
    search_fields = ["id", "name", "segment_name", "decision_flow__key"]
    date_hierarchy = "created_at"
    list_select_related = ["tenant"]
    inlines = [RunChunkInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Run._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(RunChunk)
class RunChunkAdmin(admin.ModelAdmin):
    list_display = ["run", "seq", "status", "size", "attempts", "lease_expires_at", "worker"]
    list_filter = ["status"]
    search_fields = ["run__id"]
    exclude = ["customer_ids"]  # thousands of ids: not for a form

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in RunChunk._meta.fields if field.name != "customer_ids"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
