"""The Recommend API's read: one customer through a flow's published version, in real time.

The same engine as a run (``decide`` on a one-row frame from ``customer_frame``, with
``load_history``), but over every active channel of the tenant, ``api`` ones included, and
nothing is written: a recommendation here is not a contact.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db.models import Q

from decisionflows.engine import DecisionContext, Decisions, Reason, decide, offer_fields
from decisionflows.loading import attribute_types, build_context, customer_frame, load_history
from decisionflows.models import Channel, ChannelType, DecisionFlow
from decisionflows.personalization import render
from decisionflows.selectors import flow_runnable_version
from kaireon.errors import Conflict, ValidationError
from kaireon.models import Tenant
from segments.models import Customer

STAGES = {
    Reason.QUALIFICATION: "qualification",
    Reason.CONTACT_POLICY: "contact_policy",
    Reason.NO_CHANNEL: "no_channel",
    Reason.ZERO_SCORE: "zero_score",
    Reason.OUTRANKED: "outranked",
}
CUSTOMER_FIELDS = ("external_id", "email", "first_name", "last_name", "phone", "suppressed", "unsubscribed")


def recommend_flow(*, tenant: Tenant, flow_id: str | None = None, flow_key: str | None = None) -> DecisionFlow | None:
    """The tenant's flow with this id and/or key (both must match when both are given)."""
    query = Q(tenant=tenant)
    if flow_id:
        query &= Q(pk=flow_id)
    if flow_key:
        query &= Q(key=flow_key)
    return DecisionFlow.objects.filter(query).first()


def recommend_customer(*, tenant: Tenant, external_id: str) -> Customer | None:
    return Customer.objects.filter(tenant=tenant, external_id=external_id).first()


def _channel_ids(tenant: Tenant, channel: str | None) -> list[str] | None:
    """The channels a request may use: all active ones, or those ``channel`` names by id or type."""
    if channel is None:
        return None
    active = Channel.objects.filter(tenant=tenant).active().order_by("created_at", "id")
    if active.filter(pk=channel).exists():
        return [channel]
    if channel in ChannelType.values:
        ids = list(active.filter(channel_type=channel).values_list("id", flat=True))
        if not ids:
            raise ValidationError({"channel": f"The tenant has no active {channel} channel."})
        return ids
    types = ", ".join(ChannelType.values)
    raise ValidationError({"channel": f"Unknown channel {channel!r}: give an active channel's id or a type ({types})."})


def _with_limit(pipeline: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    if limit is None:
        return pipeline
    return [{**node, "max_offers_per_customer": limit} if node.get("type") == "rank" else node for node in pipeline]


def _funnel(decisions: Decisions, context: DecisionContext) -> dict[str, Any]:
    """The one customer's way through the pipeline: how many candidates were left after each
    stage, and why each one that was not returned fell out."""
    dropped = decisions.explain(0, context)
    counts = {stage: sum(1 for _, reason, _ in dropped if reason == stage) for stage in STAGES}
    candidates = len(context.candidates)
    after_qualification = candidates - counts[Reason.QUALIFICATION]
    after_contact_policy = after_qualification - counts[Reason.CONTACT_POLICY]
    scored = after_contact_policy - counts[Reason.NO_CHANNEL] - counts[Reason.ZERO_SCORE]
    return {
        "candidates": candidates,
        "after_qualification": after_qualification,
        "after_contact_policy": after_contact_policy,
        "scored": scored,
        "returned": scored - counts[Reason.OUTRANKED],
        "dropped": [
            {
                "offer_id": context.candidates[j].id,
                "offer_key": context.candidates[j].key,
                "stage": STAGES[reason],
                "reason": why,
            }
            for j, reason, why in dropped
        ],
    }


def recommend_for_customer(
    *,
    tenant: Tenant,
    flow: DecisionFlow,
    customer: Customer,
    channel: str | None = None,
    limit: int | None = None,
    debug: bool = False,
) -> dict[str, Any]:
    """Ranked offers for one customer from the flow's published version, personalized for
    them; ``channel`` (an id or a channel type) narrows the channels, ``limit`` overrides the
    rank node's maximum. Raises ``Conflict`` when the flow is not runnable."""
    version = flow_runnable_version(flow)
    if version is None:
        state = "it has no published version" if flow.latest_version is None else f"its status is {flow.status}"
        raise Conflict(
            f"Decision flow {flow.key!r} cannot recommend: {state}; it must be active and published.",
            flowStatus=flow.status,
        )
    context = build_context(
        tenant=tenant, pipeline=_with_limit(list(version.pipeline), limit), channel_ids=_channel_ids(tenant, channel)
    )
    ids = np.array([customer.pk], dtype=np.int64)
    frame = customer_frame(
        tenant=tenant, first_id=customer.pk, last_id=customer.pk, ids=ids, attributes=attribute_types(tenant=tenant)
    )
    decisions = decide(context, frame, load_history(tenant=tenant, context=context, customer_ids=ids))

    fields: dict[str, Any] = {name: getattr(customer, name) for name in CUSTOMER_FIELDS}
    fields["attributes"] = customer.attributes or {}
    recommendations = []
    for rank, j, c, score in zip(
        decisions.rank, decisions.offer_idx, decisions.channel_idx, decisions.score, strict=True
    ):
        offer, channel_info = context.candidates[int(j)], context.channels[int(c)]
        creative = context.creative_at[(int(j), int(c))]
        tokens = offer_fields(offer)
        recommendations.append(
            {
                "rank": int(rank),
                "offer_id": offer.id,
                "offer_key": offer.key,
                "offer_name": offer.name,
                "score": float(score),
                "channel_id": channel_info.id,
                "channel_name": channel_info.name,
                "channel_type": channel_info.channel_type,
                "creative_id": creative.id,
                "creative_name": creative.name,
                "personalization": {
                    "subject": render(creative.subject, fields, tokens),
                    "content": render(creative.content, fields, tokens),
                },
            }
        )
    result: dict[str, Any] = {
        "customer_id": customer.external_id,
        "decision_flow_id": flow.pk,
        "decision_flow_key": flow.key,
        "version": version.version,
        "recommendations": recommendations,
    }
    if debug:
        result["funnel"] = _funnel(decisions, context)
    return result
