"""The Recommend API's read: one customer through a flow's published version, in real time.

The same engine as a run (``decide`` on a one-row frame typed as ``customer_frame`` types a
chunk, with the customer's contact history), but over every active channel of the tenant,
``api`` ones included, and nothing is written: a recommendation here is not a contact. The
decision context comes from the per-process cache of ``decisionflows.realtime``, checked
against the tenant's catalogue version by the request's one query.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from decisionflows import realtime
from decisionflows.engine import DecisionContext, Decisions, Reason, decide, offer_fields
from decisionflows.models import DecisionFlow
from decisionflows.personalization import render
from kaireon.errors import Conflict, NotFound
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


def recommend(
    *,
    tenant: Tenant,
    customer_id: str,
    flow_id: str | None = None,
    flow_key: str | None = None,
    channel: str | None = None,
    limit: int | None = None,
    debug: bool = False,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Ranked offers for the customer with external id ``customer_id`` from the published
    version of the flow with this id and/or key, personalized for them, as of ``now``; ``channel``
    (an id or a channel type) narrows the channels, ``limit`` overrides the rank node's maximum.
    Raises ``NotFound`` (flow, then customer), ``Conflict`` (flow not runnable),
    ``ValidationError`` (channel). One query once the tenant's catalogue is cached."""
    read = realtime.decision_read(
        tenant=tenant,
        customer_id=customer_id,
        flow_id=flow_id,
        flow_key=flow_key,
        channel=channel,
        limit=limit,
        now=now or timezone.now(),
    )
    flow, customer, context = read.flow, read.customer, read.context
    if flow is None:
        raise NotFound("No such decision flow.", field="decision_flow_id")
    if customer is None:
        raise NotFound("No customer with this customerId.", field="customer_id")
    if flow.version is None:
        state = "it has no published version" if flow.latest_version is None else f"its status is {flow.status}"
        raise Conflict(
            f"Decision flow {flow.key!r} cannot recommend: {state}; it must be active and published.",
            flowStatus=flow.status,
        )
    if read.refusal is not None:
        raise read.refusal
    assert context is not None
    decisions = decide(context, realtime.customer_frame(read.snapshot, customer), customer.history)
    fields = customer.fields()
    result: dict[str, Any] = {
        "customer_id": customer.external_id,
        "decision_flow_id": flow.id,
        "decision_flow_key": flow.key,
        "version": flow.version,
        "recommendations": _recommendations(decisions, context, fields),
    }
    if debug:
        result["funnel"] = _funnel(decisions, context)
    return result


def recommend_for_customer(
    *,
    tenant: Tenant,
    flow: DecisionFlow,
    customer: Customer,
    channel: str | None = None,
    limit: int | None = None,
    debug: bool = False,
) -> dict[str, Any]:
    """``recommend`` for a flow and a customer already read (journeys' decide steps, the
    customer page): raises ``Conflict`` when the flow is not runnable."""
    return recommend(
        tenant=tenant,
        customer_id=customer.external_id,
        flow_id=flow.pk,
        channel=channel,
        limit=limit,
        debug=debug,
    )


def _recommendations(decisions: Decisions, context: DecisionContext, fields: dict[str, Any]) -> list[dict[str, Any]]:
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
    return recommendations
