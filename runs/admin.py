"""Runs are created through the API, the UI or ``manage.py run_flow``; here they are inspected,
and a finished one deleted through the service (its results and chunks with it, audited)."""

from __future__ import annotations

from django.contrib import admin

from kaireon.admin import ReadOnlyAdmin, ReadOnlyInline, ServiceAdmin
from runs import services
from runs.models import Run, RunChunk


class RunChunkInline(ReadOnlyInline):
    model = RunChunk
    fields = ("seq", "status", "size", "attempts", "recommendation_count", "worker", "error", "finished_at")
    readonly_fields = fields


@admin.register(Run)
class RunAdmin(ServiceAdmin):
    list_display = ["name", "tenant", "status", "processed_customers", "total_customers", "created_at", "completed_at"]
    list_filter = ["status", "execution_mode", "tenant"]
    search_fields = ["id", "name", "segment_name", "decision_flow__key"]
    date_hierarchy = "created_at"
    list_select_related = ["tenant"]
    inlines = [RunChunkInline]
    delete_service = staticmethod(services.run_delete)


@admin.register(RunChunk)
class RunChunkAdmin(ReadOnlyAdmin):
    list_display = ["run", "seq", "status", "size", "attempts", "lease_expires_at", "worker"]
    list_filter = ["status"]
    search_fields = ["run__id"]
    exclude = ["customer_ids"]  # thousands of ids: not for a form
