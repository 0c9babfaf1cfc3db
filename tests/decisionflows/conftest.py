from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from decisionflows import services
from decisionflows.models import ActiveStatus, CapPeriod, CapScope, ChannelType, DeliveryMode, FlowStatus
from kaireon.models import Tenant
from kaireon.principal import Principal
from segments.models import CustomerAttribute
from tests.decisionflows.factories import (
    ChannelFactory,
    ContactPolicyFactory,
    CreativeFactory,
    CustomerFactory,
    DecisionFlowFactory,
    OfferFactory,
)


@pytest.fixture
def warm(editor: APIClient, viewer: APIClient, admin: APIClient, outsider: APIClient) -> None:
    """Use every key once, so later requests skip the last-used write and query counts are stable."""
    for client in (editor, viewer, admin, outsider):
        client.get("/api/v1/channels")


@pytest.fixture
def tier_attribute(tenant: Tenant) -> CustomerAttribute:
    """A schema attribute, so rules and tokens may name ``customer.tier``."""
    return CustomerAttribute.objects.create(tenant=tenant, name="tier", type="string", label="Tier")


@pytest.fixture
def flow_payload() -> dict[str, object]:
    return {
        "key": "cards-nba",
        "name": "Cards NBA",
        "pipeline": [{"type": "inventory"}, {"type": "score"}, {"type": "rank"}, {"type": "output"}],
    }


CONTENT = "{{offer.name}} for {{customer.tier}} members, worth {{offer.business_value}}."


def recommend_catalogue(tenant: Tenant, actor: Principal) -> dict[str, Any]:
    """Email (file) and Push (api) channels, four offers, a published flow:

    - gold (priority 80, value 200): creatives on email and push
    - loan (priority 50, value 100): email only
    - kids (priority 90, value 100): only for customers under 18
    - app (priority 40, value 100): push only (an api channel: Recommend may use it, runs not)
    """
    for name, type_ in (("tier", "string"), ("age", "integer")):
        CustomerAttribute.objects.create(tenant=tenant, name=name, type=type_)
    email = ChannelFactory.create(tenant=tenant, name="Email", channel_type=ChannelType.EMAIL)
    push = ChannelFactory.create(
        tenant=tenant, name="Push", channel_type=ChannelType.PUSH, delivery_mode=DeliveryMode.API
    )
    ChannelFactory.create(tenant=tenant, name="Old SMS", channel_type=ChannelType.SMS, status=ActiveStatus.INACTIVE)
    gold = OfferFactory.create(tenant=tenant, key="gold", name="Gold Card", priority=80, business_value=200)
    loan = OfferFactory.create(tenant=tenant, key="loan", name="Personal Loan", priority=50, business_value=100)
    kids = OfferFactory.create(
        tenant=tenant,
        key="kids",
        name="Junior Saver",
        priority=90,
        eligibility={"field": "customer.age", "operator": "lt", "value": 18},
    )
    app = OfferFactory.create(tenant=tenant, key="app", name="App Bonus", priority=40)
    creatives = {
        "gold_email": CreativeFactory.create(
            tenant=tenant, offer=gold, channel=email, name="Gold email", content=CONTENT
        ),
        "gold_push": CreativeFactory.create(tenant=tenant, offer=gold, channel=push, name="Gold push", subject="Psst"),
        "loan_email": CreativeFactory.create(
            tenant=tenant, offer=loan, channel=email, name="Loan email", content=CONTENT
        ),
        "kids_email": CreativeFactory.create(tenant=tenant, offer=kids, channel=email, name="Kids email"),
        "app_push": CreativeFactory.create(tenant=tenant, offer=app, channel=push, name="App push"),
    }
    monthly = ContactPolicyFactory.create(
        tenant=tenant, name="gold once a month", max_count=1, period=CapPeriod.MONTH, scope=CapScope.OFFER, offer=gold
    )
    pipeline = [
        {"type": "inventory"},
        {
            "type": "qualify",
            "rules": [
                {
                    "name": "adults only",
                    "mode": "hard",
                    "condition": {
                        "any": [
                            {"field": "customer.age", "operator": "gte", "value": 18},
                            {"field": "offer.key", "operator": "eq", "value": "kids"},
                        ]
                    },
                }
            ],
        },
        {"type": "contact_policy"},
        {"type": "score"},
        {"type": "rank", "max_offers_per_customer": 3},
        {"type": "output"},
    ]
    flow = DecisionFlowFactory.create(tenant=tenant, key="nba", status=FlowStatus.ACTIVE, pipeline=pipeline)
    version = services.decision_flow_publish(tenant=tenant, actor=actor, flow=flow)
    ada = CustomerFactory.create(
        tenant=tenant, external_id="c-ada", first_name="Ada", attributes={"tier": "gold", "age": 40}
    )
    return {
        "email": email,
        "push": push,
        "gold": gold,
        "loan": loan,
        "kids": kids,
        "app": app,
        "creatives": creatives,
        "policy": monthly,
        "flow": flow,
        "version": version,
        "ada": ada,
    }


@pytest.fixture
def catalogue(tenant: Tenant, system_actor: Principal) -> dict[str, Any]:
    """``recommend_catalogue`` of the tenant: what the Recommend API's tests decide with."""
    return recommend_catalogue(tenant, system_actor)
