"""The shapes of the demo content (``console.demo.bank``, ``console.demo.retail``): a tenant's
channels, offers and their creatives, contact policies, decision flows, segments, campaigns and
journeys, as plain data that ``console.demo.seed`` writes through the services.

Conditions name customer fields with the ``customer.`` prefix in offers and flows (the rule
language's names there) and without it in segments, as the API's users write them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

WEBHOOK_URL = "http://127.0.0.1:8000/demo/webhook"


def when(name: str, operator: str, value: Any = None) -> dict[str, Any]:
    condition: dict[str, Any] = {"field": name, "operator": operator}
    if operator not in ("is_null", "is_not_null"):
        condition["value"] = value
    return condition


def all_of(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"all": list(conditions)}


def any_of(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"any": list(conditions)}


@dataclass(frozen=True)
class OfferSpec:
    key: str
    name: str
    category: str
    priority: int
    business_value: int
    description: str
    channels: tuple[str, ...]  # channel names, one creative on each
    headline: str  # email subject, push title
    pitch: str  # one or two sentences of body text
    eligibility: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    window: tuple[int, int] | None = None  # start and end, in days from the day of seeding

    def data(self, today: dt.date) -> dict[str, Any]:
        values: dict[str, Any] = {
            "key": self.key,
            "name": self.name,
            "category": self.category,
            "description": self.description,
            "status": "active",
            "priority": self.priority,
            "business_value": self.business_value,
            "eligibility": self.eligibility,
            "tags": list(self.tags),
        }
        if self.window is not None:
            values["start_date"] = today + dt.timedelta(days=self.window[0])
            values["end_date"] = today + dt.timedelta(days=self.window[1])
        return values


@dataclass(frozen=True)
class TenantSpec:
    slug: str
    name: str
    schema: tuple[tuple[str, str, str], ...]
    channels: tuple[dict[str, Any], ...]
    offers: tuple[OfferSpec, ...]
    policies: tuple[dict[str, Any], ...]  # a frequency cap's "channel" is a channel name here
    flows: tuple[dict[str, Any], ...]  # "policy_names" stand for the contact_policy node's ids
    segments: tuple[dict[str, Any], ...]
    customer_prefix: str
    retail: bool = False
    customers: int | None = None  # a fixed count; None: the command's --customers
    # campaign_create's data, with "flow" (a flow key) and "segment" (a segment name) for the ids
    campaigns: tuple[dict[str, Any], ...] = ()
    # plan_create's data (key, name, description, steps) plus "enrol": how many customers, the
    # first by id, are enrolled when the plan is created. A send step names its "channel" (by
    # name) and "offer" (by key) instead of channelId and offerId.
    journeys: tuple[dict[str, Any], ...] = ()


# --- creatives -----------------------------------------------------------------------------

HELLO = '{{customer.first_name | "there"}}'


def creative_texts(offer: OfferSpec, channel_type: str) -> dict[str, str]:
    """Subject and content of ``offer`` on a channel of ``channel_type``, with tokens."""
    if channel_type == "email":
        return {
            "subject": f"{HELLO}, {offer.headline[0].lower()}{offer.headline[1:]}",
            "content": f"Hi {HELLO},\n\n{offer.pitch}\n\nSee {{{{offer.name}}}} in your app or reply to this email.",
        }
    if channel_type == "sms":
        return {"subject": "", "content": f"Hi {HELLO}! {{{{offer.name}}}}: {offer.pitch} Reply STOP to opt out."}
    if channel_type == "push":
        return {"subject": offer.headline, "content": f"{HELLO}, tap to see {{{{offer.name}}}}."}
    if channel_type == "call_center":
        return {
            "subject": f"Call script: {offer.name}",
            "content": (
                f'Greet {{{{customer.first_name | "the customer"}}}} {{{{customer.last_name}}}}. '
                f"Talking points: {offer.pitch} Offer {{{{offer.name}}}} and log the answer."
            ),
        }
    if channel_type == "direct_mail":
        return {
            "subject": offer.headline,
            "content": (
                f'Dear {{{{customer.first_name | "customer"}}}} {{{{customer.last_name}}}},\n\n'
                f'{offer.pitch}\n\nVisit your branch in {{{{customer.city | "your area"}}}} to apply.'
            ),
        }
    return {"subject": offer.headline, "content": f"{offer.pitch} Find out more about {{{{offer.name}}}}."}
