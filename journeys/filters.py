from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet

from journeys.models import ExecutionRun, Plan, PlanStatus
from journeys.selectors import parse_statuses
from kaireon.filters import IsoDateTimeFilter


class PlanFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=PlanStatus.choices, distinct=False)
    key = django_filters.CharFilter()
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Plan
        fields: list[str] = []


class RunFilter(django_filters.FilterSet):
    """The execution-run list filters (docs/api-contract.md §3.4) as query parameters."""

    status = django_filters.CharFilter(
        method="filter_status", help_text="One status, several (repeat the parameter) or a comma-separated list."
    )
    planId = django_filters.CharFilter(field_name="plan_id")
    contactId = django_filters.CharFilter(field_name="contact_id", help_text="The customer's externalId.")
    startedAfter = IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    startedBefore = IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = ExecutionRun
        fields: list[str] = []

    def filter_status(self, queryset: QuerySet[ExecutionRun], name: str, value: Any) -> QuerySet[ExecutionRun]:
        values = self.data.getlist("status") if hasattr(self.data, "getlist") else [value]
        return queryset.filter(status__in=parse_statuses(values))
