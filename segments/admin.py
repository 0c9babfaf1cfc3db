"""Admin for customers, their schema and segments: saved and deleted through the services (the
schema's checks, the segment's view, the audit entry); import jobs are shown, not edited."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from kaireon.admin import ReadOnlyAdmin, ServiceAdmin
from segments import services
from segments.models import Customer, CustomerAttribute, CustomerImport, Segment


@admin.register(CustomerAttribute)
class CustomerAttributeAdmin(ServiceAdmin):
    list_display = ["name", "type", "required", "tenant", "label", "updated_at"]
    list_filter = ["type", "required", "tenant"]
    search_fields = ["name", "label", "id"]
    readonly_fields = ["id", "created_at", "updated_at"]
    list_select_related = ["tenant"]
    create_service = staticmethod(services.customer_attribute_create)
    update_service = staticmethod(services.customer_attribute_update)
    delete_service = staticmethod(services.customer_attribute_delete)


@admin.register(Customer)
class CustomerAdmin(ServiceAdmin):
    list_display = ["external_id", "tenant", "email", "first_name", "last_name", "suppressed", "unsubscribed", "id"]
    list_filter = ["suppressed", "unsubscribed", "tenant"]
    search_fields = ["=external_id", "email", "last_name"]
    readonly_fields = ["id", "created_at", "updated_at"]
    list_select_related = ["tenant"]
    # Tenants hold millions of customers: skip the unfiltered count and page by 100.
    show_full_result_count = False
    list_per_page = 100
    raw_id_fields = ["tenant"]
    create_service = staticmethod(services.customer_create)
    update_service = staticmethod(services.customer_update)
    delete_service = staticmethod(services.customer_delete)
    service_fields = {"externalId": "external_id"}

    def service_data(self, form: forms.ModelForm, change: bool) -> dict[str, Any]:
        # The attributes box holds them all: what it shows is what is stored (a PUT's attributes).
        data = super().service_data(form, change)
        if "attributes" in form.cleaned_data:
            data["attributes"] = form.cleaned_data["attributes"]
        return data


@admin.register(Segment)
class SegmentAdmin(ServiceAdmin):
    """Filters are read-only here: change them through the API, which rebuilds the view."""

    list_display = ["name", "tenant", "customer_count", "view_name", "last_refreshed_at", "updated_at"]
    list_filter = ["tenant"]
    search_fields = ["name", "id", "description"]
    readonly_fields = ["id", "filters", "view_name", "customer_count", "last_refreshed_at", "created_at", "updated_at"]
    list_select_related = ["tenant"]
    create_service = staticmethod(services.segment_create)
    update_service = staticmethod(services.segment_update)
    delete_service = staticmethod(services.segment_delete)


@admin.register(CustomerImport)
class CustomerImportAdmin(ReadOnlyAdmin):
    """Jobs are created by the API or ``manage.py import_customers``."""

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
