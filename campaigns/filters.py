from __future__ import annotations

import django_filters

from campaigns.models import Campaign, CampaignStatus, ScheduleType


class CampaignFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=CampaignStatus.choices, distinct=False)
    scheduleType = django_filters.MultipleChoiceFilter(
        field_name="schedule_type", choices=ScheduleType.choices, distinct=False
    )
    decisionFlowId = django_filters.CharFilter(field_name="decision_flow_id")
    segmentId = django_filters.CharFilter(field_name="segment_id")
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Campaign
        fields: list[str] = []
