from __future__ import annotations

import django_filters

from kaireon.filters import IsoDateTimeFilter
from runs.models import Run, RunStatus


class RunFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=RunStatus.choices)
    decisionFlowId = django_filters.CharFilter(field_name="decision_flow_id")
    segmentId = django_filters.CharFilter(field_name="segment_id")
    createdAfter = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    createdBefore = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Run
        fields: list[str] = []
