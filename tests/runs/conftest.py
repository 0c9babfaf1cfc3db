"""A small bank catalogue built through the services, so everything in it is valid:

channels email (file), sms (integration), call centre (manual) and web (api, real-time only);
offers gold-card (priority 90, value 500, adults only), loan (60, 300), savings (40, 100) and
insurance (20, 0 — its zero business value eliminates it under PRIE); a published flow "nba"
giving two offers per customer, one per channel; segments "all" and "gold tier".
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from decisionflows import services as df
from decisionflows.models import Channel, DecisionFlow, Offer
from kaireon.models import Tenant
from kaireon.principal import Principal
from runs import services as runs
from runs.models import Run
from segments import services as seg
from segments.models import Customer, Segment

PIPELINE = [
    {"type": "inventory", "include_all": True},
    {"type": "contact_policy", "policy_ids": []},
    {"type": "score", "method": "prie"},
    {"type": "rank", "max_offers_per_customer": 2, "one_offer_per_channel": True},
    {"type": "output"},
]


@dataclass
class Catalogue:
    tenant: Tenant
    email: Channel
    sms: Channel
    call_centre: Channel
    web: Channel
    offers: dict[str, Offer]
    flow: DecisionFlow
    everyone: Segment
    gold: Segment


def make_customers(tenant: Tenant, count: int, seed: int = 7) -> list[Customer]:
    rng = random.Random(seed)
    customers = [
        Customer(
            tenant=tenant,
            external_id=f"c{i:05d}",
            email=f"c{i}@example.com",
            first_name=rng.choice(["Ana", "Ben", "Chloé", ""]),
            attributes={"age": rng.randint(15, 80), "tier": rng.choice(["gold", "silver", "bronze"])},
            suppressed=rng.random() < 0.05,
        )
        for i in range(count)
    ]
    return Customer.objects.bulk_create(customers, batch_size=1000)


def build_catalogue(tenant: Tenant, customers: int = 60) -> Catalogue:
    actor = Principal(tenant=tenant, role="admin")
    seg.customer_attribute_create(tenant=tenant, actor=actor, data={"name": "age", "type": "integer"})
    seg.customer_attribute_create(tenant=tenant, actor=actor, data={"name": "tier", "type": "string"})
    make_customers(tenant, customers)

    def channel(name: str, kind: str, mode: str, config: dict | None = None) -> Channel:
        return df.channel_create(
            tenant=tenant,
            actor=actor,
            data={"name": name, "channel_type": kind, "delivery_mode": mode, "provider_config": config or {}},
        )

    email = channel("Email", "email", "file")
    sms = channel("SMS", "sms", "integration", {"webhookUrl": "http://127.0.0.1:9/hook"})
    call_centre = channel("Call centre", "call_center", "manual")
    web = channel("Web", "web", "api")
    offers = {}
    specs = [
        ("gold-card", "Gold Card", 90, 500, {"field": "customer.age", "operator": "gte", "value": 18}),
        ("loan", "Personal Loan", 60, 300, {}),
        ("savings", "Savings Account", 40, 100, {}),
        ("insurance", "Home Insurance", 20, 0, {}),
    ]
    for key, name, priority, value, eligibility in specs:
        offers[key] = df.offer_create(
            tenant=tenant,
            actor=actor,
            data={
                "key": key,
                "name": name,
                "category": "retail",
                "status": "active",
                "priority": priority,
                "business_value": value,
                "eligibility": eligibility,
            },
        )
    for key, channels in {
        "gold-card": [email, web],
        "loan": [email, sms],
        "savings": [sms, call_centre],
        "insurance": [email],
    }.items():
        for ch in channels:
            df.creative_create(
                tenant=tenant,
                actor=actor,
                data={
                    "offer": offers[key],
                    "channel": ch,
                    "name": f"{key} on {ch.name}",
                    "subject": 'Hi {{customer.first_name | "there"}}',
                    "content": "{{offer.name}} for you",
                },
            )
    df.contact_policy_create(
        tenant=tenant,
        actor=actor,
        data={"name": "No suppressed", "policy_type": "suppression", "suppress_suppressed": True},
    )
    flow = df.decision_flow_create(
        tenant=tenant,
        actor=actor,
        data={"key": "nba", "name": "Next Best Action", "status": "active", "pipeline": PIPELINE},
    )
    df.decision_flow_publish(tenant=tenant, actor=actor, flow=flow)
    flow.refresh_from_db()
    everyone = seg.segment_create(tenant=tenant, actor=actor, data={"name": "All customers", "filters": {}})
    gold = seg.segment_create(
        tenant=tenant,
        actor=actor,
        data={"name": "Gold tier", "filters": {"field": "tier", "operator": "eq", "value": "gold"}},
    )
    return Catalogue(tenant, email, sms, call_centre, web, offers, flow, everyone, gold)


@pytest.fixture
def catalogue(tenant: Tenant) -> Catalogue:
    return build_catalogue(tenant)


def pending_run(catalogue: Catalogue) -> Run:
    """A run of the catalogue's flow over everyone, created and not dispatched."""
    return runs.run_create(
        tenant=catalogue.tenant,
        actor=Principal(tenant=catalogue.tenant, role="admin"),
        decision_flow_id=catalogue.flow.pk,
        segment_id=catalogue.everyone.pk,
        dispatch=False,
    )
