"""May these sends go out? Availability of the offer, channel and creative, then the tenant's
active contact policies through the decision engine, for many sends at once.

Sends are grouped by (offer, channel, creative); each group is one ``decide`` over the group's
customers (their suppressed and unsubscribed flags: no policy reads anything else) with a
one-offer, one-channel context (the offer's own eligibility and its score play
no part: the plan chose the offer, only policies and suppression may stop it). Caps see the
contact history as it was when the group was checked, so two sends to one customer in the same
group are checked against the same history.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from decisionflows.engine import (
    REASON_NAMES,
    ChannelInfo,
    CreativeInfo,
    DecisionContext,
    OfferInfo,
    PolicyInfo,
    Reason,
    decide,
)
from decisionflows.loading import active_policies, load_history, offer_info
from decisionflows.models import ActiveStatus, Channel, Creative, Offer, OfferStatus
from kaireon.models import Tenant


@dataclass
class TenantCatalogue:
    """A tenant's offers, channels, active creatives and active policies, loaded once per batch."""

    tenant: Tenant
    now: dt.datetime
    offers: dict[str, Offer]
    channels: dict[str, Channel]
    creatives: dict[str, Creative]
    first_creative: dict[tuple[str, str], Creative]
    policies: list[PolicyInfo]

    @classmethod
    def load(cls, tenant: Tenant, now: dt.datetime) -> TenantCatalogue:
        creatives = {c.pk: c for c in Creative.objects.filter(tenant=tenant, status=ActiveStatus.ACTIVE).order_by("id")}
        first: dict[tuple[str, str], Creative] = {}
        for creative in creatives.values():
            first.setdefault((creative.offer_id, creative.channel_id), creative)
        return cls(
            tenant=tenant,
            now=now,
            offers={o.pk: o for o in Offer.objects.filter(tenant=tenant)},
            channels={c.pk: c for c in Channel.objects.filter(tenant=tenant)},
            creatives=creatives,
            first_creative=first,
            policies=active_policies(tenant=tenant),
        )

    def offer_info(self, offer: Offer) -> OfferInfo:
        """The offer as the engine and personalization tokens see it."""
        return offer_info(offer)


@dataclass(frozen=True)
class SendRequest:
    customer_id: int
    offer_id: str
    channel_id: str
    creative_id: str | None = None


@dataclass
class Verdict:
    allowed: bool
    reason: str = ""  # blocked: a code (contact_policy, offer_unavailable, channel_unavailable, no_creative…)
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    offer: Offer | None = None
    channel: Channel | None = None
    creative: Creative | None = None


def _availability(
    catalogue: TenantCatalogue, offer_id: str, channel_id: str, creative_id: str | None
) -> tuple[Verdict | None, Creative | None]:
    """A blocking verdict when the offer, channel or creative cannot be sent now, else the creative."""
    offer, channel = catalogue.offers.get(offer_id), catalogue.channels.get(channel_id)
    today = catalogue.now.date()
    if (
        offer is None
        or offer.status != OfferStatus.ACTIVE
        or (offer.start_date is not None and offer.start_date > today)
        or (offer.end_date is not None and offer.end_date < today)
    ):
        state = "does not exist" if offer is None else f"is {offer.status} or outside its dates"
        return Verdict(False, "offer_unavailable", f"offer {offer_id} {state}", {"offerId": offer_id}), None
    if channel is None or channel.status != ActiveStatus.ACTIVE:
        return Verdict(
            False, "channel_unavailable", f"channel {channel_id} is not active", {"channelId": channel_id}
        ), None
    creative = (
        catalogue.creatives.get(creative_id) if creative_id else catalogue.first_creative.get((offer_id, channel_id))
    )
    if creative is None or creative.offer_id != offer_id or creative.channel_id != channel_id:
        what = f"creative {creative_id} is not active" if creative_id else "the offer has no active creative"
        return Verdict(False, "no_creative", f"{what} on channel {channel_id}", {"creativeId": creative_id}), None
    return None, creative


def _policy_verdicts(
    catalogue: TenantCatalogue,
    offer: Offer,
    channel: Channel,
    creative: Creative,
    customer_ids: Sequence[int],
    flags: Mapping[int, tuple[bool, bool]],
) -> dict[int, Verdict]:
    """Customer id → a blocking verdict, for the customers the active policies stop."""
    context = DecisionContext(
        pipeline=[
            {"type": "inventory", "offer_ids": [offer.pk], "include_all": False},
            {"type": "contact_policy", "policy_ids": []},
            {"type": "rank", "max_offers_per_customer": 1, "one_offer_per_channel": False},
        ],
        # priority 100 and a business value: the score never stops a send, only policies do
        offers=[OfferInfo(id=offer.pk, key=offer.key, name=offer.name, priority=100, business_value=1.0)],
        channels=[ChannelInfo(id=channel.pk, name=channel.name, channel_type=channel.channel_type)],
        creatives=[CreativeInfo(id=creative.pk, offer_id=offer.pk, channel_id=channel.pk)],
        policies=catalogue.policies,
        today=catalogue.now.date(),
        now=catalogue.now,
    )
    ids = np.unique(np.asarray(customer_ids, dtype=np.int64))
    known = [int(i) for i in ids.tolist() if int(i) in flags]
    # Policies read no attribute, only the two flags: a frame of them (decide's customer
    # columns), built from what the batch has already loaded rather than read again.
    frame = pl.DataFrame(
        {
            "id": pl.Series(known, dtype=pl.Int64),
            "suppressed": pl.Series([flags[i][0] for i in known], dtype=pl.Boolean),
            "unsubscribed": pl.Series([flags[i][1] for i in known], dtype=pl.Boolean),
        }
    )
    tenant = catalogue.tenant
    frame_ids = frame.get_column("id").to_numpy()
    decisions = decide(context, frame, load_history(tenant=tenant, context=context, customer_ids=frame_ids))
    kept = set(decisions.customer_rows.tolist())
    policies = context.applied_policies
    blocked: dict[int, Verdict] = {}
    for row, customer_id in enumerate(frame_ids.tolist()):
        if row in kept:
            continue
        reason, detail = Reason(int(decisions.reason[row, 0])), int(decisions.detail[row, 0])
        if reason == Reason.CONTACT_POLICY and 0 <= detail < len(policies):
            policy = policies[detail]
            blocked[customer_id] = Verdict(
                False,
                "contact_policy",
                f"contact policy {policy.name!r} ({policy.policy_type})",
                {"policyId": policy.id, "policy": policy.name, "policyType": policy.policy_type},
            )
        else:
            name = REASON_NAMES.get(reason, "blocked")
            blocked[customer_id] = Verdict(False, name, f"the engine dropped the send ({name})")
    for customer_id in set(ids.tolist()) - set(frame_ids.tolist()):
        blocked[customer_id] = Verdict(False, "unknown_contact", "the customer no longer exists")
    return blocked


def check_sends(
    catalogue: TenantCatalogue, sends: Sequence[SendRequest], flags: Mapping[int, tuple[bool, bool]]
) -> list[Verdict]:
    """A verdict per send, in order: allowed (with offer, channel and creative) or blocked.
    ``flags``: customer id → (suppressed, unsubscribed) for every customer of the sends."""
    groups: dict[tuple[str, str, str | None], list[int]] = defaultdict(list)
    for index, send in enumerate(sends):
        groups[(send.offer_id, send.channel_id, send.creative_id)].append(index)
    verdicts: list[Verdict | None] = [None] * len(sends)
    for (offer_id, channel_id, creative_id), indexes in groups.items():
        unavailable, creative = _availability(catalogue, offer_id, channel_id, creative_id)
        if unavailable is not None:
            for index in indexes:
                verdicts[index] = unavailable
            continue
        assert creative is not None
        offer, channel = catalogue.offers[offer_id], catalogue.channels[channel_id]
        blocked: dict[int, Verdict] = {}
        if catalogue.policies:
            blocked = _policy_verdicts(
                catalogue, offer, channel, creative, [sends[i].customer_id for i in indexes], flags
            )
        allowed = Verdict(True, offer=offer, channel=channel, creative=creative)
        for index in indexes:
            verdicts[index] = blocked.get(sends[index].customer_id, allowed)
    return [v for v in verdicts if v is not None]
