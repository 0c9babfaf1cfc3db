"""Factories of the decisioning catalogue. They write rows directly (no services, no audit)."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from decisionflows.models import (
    CapPeriod,
    CapScope,
    Channel,
    ChannelType,
    ContactHistory,
    ContactPolicy,
    ContactSource,
    Creative,
    DecisionFlow,
    DecisionFlowVersion,
    DeliveryMode,
    FlowStatus,
    Offer,
    OfferStatus,
    PolicyType,
)
from segments.models import Customer
from tests.factories import TenantFactory

# The smallest valid pipeline, as a client would send it (snake_case keys, as parsed).
MINIMAL_PIPELINE: list[dict[str, object]] = [
    {"type": "inventory"},
    {"type": "score"},
    {"type": "rank"},
    {"type": "output"},
]


class ChannelFactory(factory.django.DjangoModelFactory[Channel]):
    class Meta:
        model = Channel

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Channel {n}")
    channel_type = ChannelType.EMAIL
    delivery_mode = DeliveryMode.FILE
    provider_config = factory.LazyFunction(dict)


class OfferFactory(factory.django.DjangoModelFactory[Offer]):
    class Meta:
        model = Offer

    tenant = factory.SubFactory(TenantFactory)
    key = factory.Sequence(lambda n: f"offer-{n}")
    name = factory.Sequence(lambda n: f"Offer {n}")
    category = "cards"
    status = OfferStatus.ACTIVE
    priority = 50
    business_value = Decimal("100.00")
    tags = factory.LazyFunction(list)


class CreativeFactory(factory.django.DjangoModelFactory[Creative]):
    class Meta:
        model = Creative

    tenant = factory.SubFactory(TenantFactory)
    offer = factory.SubFactory(OfferFactory, tenant=factory.SelfAttribute("..tenant"))
    channel = factory.SubFactory(ChannelFactory, tenant=factory.SelfAttribute("..tenant"))
    name = factory.Sequence(lambda n: f"Creative {n}")
    subject = 'Hello {{customer.first_name | "there"}}'
    content = "Discover {{offer.name}}."


class ContactPolicyFactory(factory.django.DjangoModelFactory[ContactPolicy]):
    class Meta:
        model = ContactPolicy

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Policy {n}")
    policy_type = PolicyType.FREQUENCY_CAP
    max_count = 3
    period = CapPeriod.WEEK
    scope = CapScope.GLOBAL


class CustomerFactory(factory.django.DjangoModelFactory[Customer]):
    class Meta:
        model = Customer

    tenant = factory.SubFactory(TenantFactory)
    external_id = factory.Sequence(lambda n: f"cust-{n}")
    first_name = "Ada"


class ContactHistoryFactory(factory.django.DjangoModelFactory[ContactHistory]):
    class Meta:
        model = ContactHistory

    tenant = factory.SubFactory(TenantFactory)
    customer = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    offer = factory.SubFactory(OfferFactory, tenant=factory.SelfAttribute("..tenant"))
    channel = factory.SubFactory(ChannelFactory, tenant=factory.SelfAttribute("..tenant"))
    source = ContactSource.RUN
    source_id = "run_test"
    contacted_at = factory.LazyFunction(timezone.now)


class DecisionFlowFactory(factory.django.DjangoModelFactory[DecisionFlow]):
    class Meta:
        model = DecisionFlow

    tenant = factory.SubFactory(TenantFactory)
    key = factory.Sequence(lambda n: f"flow-{n}")
    name = factory.Sequence(lambda n: f"Flow {n}")
    status = FlowStatus.DRAFT
    pipeline = factory.LazyFunction(lambda: [dict(node) for node in MINIMAL_PIPELINE])


class DecisionFlowVersionFactory(factory.django.DjangoModelFactory[DecisionFlowVersion]):
    class Meta:
        model = DecisionFlowVersion

    flow = factory.SubFactory(DecisionFlowFactory)
    tenant = factory.SelfAttribute("flow.tenant")
    version = factory.Sequence(lambda n: n + 1)
    pipeline = factory.SelfAttribute("flow.pipeline")
    published_by = "factory"
