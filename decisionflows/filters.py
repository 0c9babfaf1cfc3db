"""List filters. Query names are camelCase like the JSON; ids are matched as strings, so no
choice list ever shows another tenant's objects."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from decisionflows import selectors
from decisionflows.models import (
    BATCH_DELIVERY_MODES,
    ActiveStatus,
    CapScope,
    Channel,
    ChannelType,
    Contact,
    ContactPolicy,
    ContactSource,
    Creative,
    DecisionFlow,
    DeliveryMode,
    FlowStatus,
    Offer,
    OfferStatus,
    PolicyType,
)
from kaireon.filters import IsoDateTimeFilter
from segments.models import Customer


class ChannelFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ActiveStatus.choices)
    channelType = django_filters.ChoiceFilter(field_name="channel_type", choices=ChannelType.choices)
    deliveryMode = django_filters.ChoiceFilter(field_name="delivery_mode", choices=DeliveryMode.choices)
    batchCompatible = django_filters.BooleanFilter(method="filter_batch_compatible")
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", help_text="Part of the name.")

    class Meta:
        model = Channel
        fields: list[str] = []

    @extend_schema_field(OpenApiTypes.BOOL)
    def filter_batch_compatible(self, queryset: QuerySet[Channel], name: str, value: bool | None) -> QuerySet[Channel]:
        if value is None:
            return queryset
        lookup = Q(delivery_mode__in=BATCH_DELIVERY_MODES)
        return queryset.filter(lookup) if value else queryset.exclude(lookup)


class OfferFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OfferStatus.choices)
    category = django_filters.CharFilter()
    tags = django_filters.CharFilter(method="filter_tags", help_text="Comma-separated: offers with every one of them.")
    q = django_filters.CharFilter(method="filter_q", help_text="Part of the name or key.")

    class Meta:
        model = Offer
        fields: list[str] = []

    def filter_tags(self, queryset: QuerySet[Offer], name: str, value: str) -> QuerySet[Offer]:
        tags = [tag.strip() for tag in value.split(",") if tag.strip()]
        return selectors.offers_with_tags(queryset, tags)

    def filter_q(self, queryset: QuerySet[Offer], name: str, value: str) -> QuerySet[Offer]:
        return queryset.filter(Q(name__icontains=value) | Q(key__icontains=value))


class CreativeFilter(django_filters.FilterSet):
    offerId = django_filters.CharFilter(field_name="offer_id")
    channelId = django_filters.CharFilter(field_name="channel_id")
    status = django_filters.ChoiceFilter(choices=ActiveStatus.choices)
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", help_text="Part of the name.")

    class Meta:
        model = Creative
        fields: list[str] = []


class ContactPolicyFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ActiveStatus.choices)
    policyType = django_filters.ChoiceFilter(field_name="policy_type", choices=PolicyType.choices)
    scope = django_filters.ChoiceFilter(choices=CapScope.choices)
    channelId = django_filters.CharFilter(field_name="channel_id")
    offerId = django_filters.CharFilter(field_name="offer_id")
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", help_text="Part of the name.")

    class Meta:
        model = ContactPolicy
        fields: list[str] = []


class ContactHistoryFilter(django_filters.FilterSet):
    customerId = django_filters.CharFilter(method="filter_customer", help_text="The customer's external id.")
    offerId = django_filters.CharFilter(field_name="offer_id")
    channelId = django_filters.CharFilter(field_name="channel_id")
    source = django_filters.ChoiceFilter(choices=ContactSource.choices)
    sourceId = django_filters.CharFilter(field_name="source_id")
    contactedAfter = IsoDateTimeFilter(field_name="contacted_at", lookup_expr="gte")
    contactedBefore = IsoDateTimeFilter(field_name="contacted_at", lookup_expr="lt")

    class Meta:
        model = Contact
        fields: list[str] = []

    def filter_customer(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        """By the customer's id, looked up first: a constant id reaches the recommendations'
        (run, customer) key inside the view, where a join to customers would read every row."""
        ids = list(Customer.objects.filter(external_id=value).values_list("id", flat=True))  # one per tenant at most
        return queryset.filter(customer_id__in=ids)


class DecisionFlowFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=FlowStatus.choices)
    runnable = django_filters.BooleanFilter(method="filter_runnable", help_text="Active with a published version.")
    q = django_filters.CharFilter(method="filter_q", help_text="Part of the name or key.")

    class Meta:
        model = DecisionFlow
        fields: list[str] = []

    @extend_schema_field(OpenApiTypes.BOOL)
    def filter_runnable(
        self, queryset: QuerySet[DecisionFlow], name: str, value: bool | None
    ) -> QuerySet[DecisionFlow]:
        if value is None:
            return queryset
        lookup = Q(status=FlowStatus.ACTIVE, latest_version__isnull=False)
        return queryset.filter(lookup) if value else queryset.exclude(lookup)

    def filter_q(self, queryset: QuerySet[DecisionFlow], name: str, value: str) -> QuerySet[DecisionFlow]:
        return queryset.filter(Q(name__icontains=value) | Q(key__icontains=value))
