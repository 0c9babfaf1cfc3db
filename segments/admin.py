from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from segments.models import Customer, CustomerAttribute, CustomerImport, Segment


@admin.register(CustomerAttribute)
class CustomerAttributeAdmin(admin.ModelAdmin):
    list_display = ["name", "type", "required", "tenant", "label", "updated_at"]
    list_filter = ["type", "required", "tenant"]
    search_fields = ["name", "label", "id"]
    readonly_fields = ["id", "created_at", "updated_at"]
    list_select_related = ["tenant"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["external_id", "tenant", "email", "first_name", "last_name", "suppressed", "unsubscribed", "id"]
    list_filter = ["suppressed", "unsubscribed", "tenant"]
    search_fields = ["=external_id", "email", "last_name"]
    readonly_fields = ["id", "created_at", "updated_at"]
    list_select_related = ["tenant"]
    # Tenants hold millions of customers: skip the unfiltered count and page by 100.
    show_full_result_count = False
    list_per_page = 100
    raw_id_fields = ["tenant"]


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    """Filters are read-only here: change them through the API, which rebuilds the view."""

    list_display = ["name", "tenant", "customer_count", "view_name", "last_refreshed_at", "updated_at"]
    list_filter = ["tenant"]
    search_fields = ["name", "id", "description"]
    readonly_fields = ["id", "filters", "view_name", "customer_count", "last_refreshed_at", "created_at", "updated_at"]
    list_select_related = ["tenant"]


@admin.register(CustomerImport)
class CustomerImportAdmin(admin.ModelAdmin):
    """Read-only: jobs are created by the API or ``manage.py import_customers``."""

    list_display = [
        "id",
        "tenant",
        "status",
        "format",
        "file_name",
        "processed_rows",
        "created_count",
        "updated_count",
        "error_count",
        "runner",
        "created_at",
    ]
    list_filter = ["status", "format", "runner", "tenant"]
    search_fields = ["id", "file_name"]
    date_hierarchy = "created_at"
    list_select_related = ["tenant"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in CustomerImport._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
