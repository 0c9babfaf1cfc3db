from __future__ import annotations

from typing import Any

import django_filters

from kaireon.models import ApiKey, AuditLog
from kaireon.validators import validate_datetime


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """django-filter's ISO 8601 filter, refusing what the database cannot compare with (an
    offset beyond ±15:59, a date outside Python's range in UTC) as a 400 naming the parameter.
    Every date filter of the API is one of these."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["validators"] = [*kwargs.get("validators", ()), validate_datetime]
        super().__init__(*args, **kwargs)


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
    createdAfter = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    createdBefore = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditLog
        fields: list[str] = []
