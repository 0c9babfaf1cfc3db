from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from segments.models import Customer


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", help_text="Part of the externalId, email, first or last name.")
    externalId = django_filters.CharFilter(field_name="external_id")
    email = django_filters.CharFilter()
    suppressed = django_filters.BooleanFilter()
    unsubscribed = django_filters.BooleanFilter()

    class Meta:
        model = Customer
        fields: list[str] = []

    def search(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(external_id__icontains=value)
            | Q(email__icontains=value)
            | Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
        )
