from __future__ import annotations

import django_filters

from kaireon.filters import IsoDateTimeFilter
from runs.models import Run, RunStatus


# distinct=False: each filter is a column of the listed row itself, so no row can repeat, and a
# DISTINCT over every column (summary JSON included) made the list and its count slow.
class RunFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=RunStatus.choices, distinct=False)
    decisionFlowId = django_filters.CharFilter(field_name="decision_flow_id")
    segmentId = django_filters.CharFilter(field_name="segment_id")
    createdAfter = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    createdBefore = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Run
        fields: list[str] = []
