"""Helpers of the catalogue page tests (imported explicitly by tests/pages/test_catalogue_*.py)."""

from __future__ import annotations

import html
import re
from typing import Any

from decisionflows import services as df
from decisionflows.models import ContactPolicy, DecisionFlow
from kaireon.models import Role
from kaireon.principal import Principal
from tests.runs.conftest import Catalogue


def field_errors(page: str, field: str) -> list[str]:
    """The error messages shown beside ``field`` (``<div class="df-field-errors" id="<field>-error">``)."""
    block = re.search(rf'<div class="df-field-errors" id="{re.escape(field)}-error">(.*?)</div>', page, flags=re.S)
    if block is None:
        return []
    return [html.unescape(m) for m in re.findall(r'<p class="field-error">(.*?)</p>', block.group(1), flags=re.S)]


def text_of(page: str) -> str:
    """The page's text without tags, whitespace collapsed: what a reader sees."""
    without_tags = re.sub(r"<[^>]+>", " ", page)
    text = re.sub(r"\s+", " ", html.unescape(without_tags)).strip()
    return re.sub(r" ([,.:;!?])(?=\s|$)", r"\1", text)  # "“gold” , “silver”" → "“gold”, “silver”"


def admin_of(catalogue: Catalogue) -> Principal:
    return Principal(tenant=catalogue.tenant, role=Role.ADMIN)


def cap_policy(catalogue: Catalogue, **data: Any) -> ContactPolicy:
    values = {
        "name": "Two emails a week",
        "policy_type": "frequency_cap",
        "max_count": 2,
        "period": "week",
        "scope": "channel",
        "channel": catalogue.email,
        **data,
    }
    return df.contact_policy_create(tenant=catalogue.tenant, actor=admin_of(catalogue), data=values)


def rich_flow(catalogue: Catalogue, *, publish: bool = True) -> DecisionFlow:
    """A flow with one node of every kind, each configured, to draw on the detail page."""
    policy = cap_policy(catalogue)
    pipeline = [
        {"type": "inventory", "categories": ["retail"], "offer_ids": [catalogue.offers["loan"].pk]},
        {
            "type": "qualify",
            "rules": [
                {
                    "name": "Adults only",
                    "mode": "hard",
                    "condition": {"field": "customer.age", "operator": "gte", "value": 18},
                },
                {
                    "name": "Gold or silver",
                    "mode": "soft",
                    "fit_multiplier": 0.5,
                    "condition": {
                        "any": [
                            {"field": "customer.tier", "operator": "eq", "value": "gold"},
                            {"field": "customer.tier", "operator": "eq", "value": "silver"},
                        ]
                    },
                },
            ],
        },
        {"type": "contact_policy", "policy_ids": [policy.pk]},
        {
            "type": "score",
            "method": "prie",
            "weights": {"propensity": 0.5, "relevance": 0.1, "impact": 0.3, "emphasis": 0.1},
            "propensity_model": {
                "base_score": 0.4,
                "rules": [{"condition": {"field": "customer.tier", "operator": "eq", "value": "gold"}, "points": 0.3}],
            },
        },
        {"type": "rank", "max_offers_per_customer": 2, "one_offer_per_channel": True},
        {"type": "output", "fields": ["customer_id", "offer_key", "score"]},
    ]
    actor = admin_of(catalogue)
    flow = df.decision_flow_create(
        tenant=catalogue.tenant,
        actor=actor,
        data={"key": "rich", "name": "Rich flow", "status": "active", "pipeline": pipeline},
    )
    if publish:
        df.decision_flow_publish(tenant=catalogue.tenant, actor=actor, flow=flow)
        flow.refresh_from_db()
    return flow
