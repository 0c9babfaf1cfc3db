from __future__ import annotations

import django_filters

from kaireon.models import ApiKey, AuditLog


class ApiKeyFilter(django_filters.FilterSet):
    role = django_filters.CharFilter()
    revoked = django_filters.BooleanFilter(field_name="revoked_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = ApiKey
        fields = ["role"]


class AuditLogFilter(django_filters.FilterSet):
    action = django_filters.CharFilter()
    objectType = django_filters.CharFilter(field_name="object_type")
    objectId = django_filters.CharFilter(field_name="object_id")
    actorType = django_filters.CharFilter(field_name="actor_type")
    actorId = django_filters.CharFilter(field_name="actor_id")
    createdAfter = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    createdBefore = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditLog
        fields: list[str] = []
