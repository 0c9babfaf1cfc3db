"""The send step for every run of a wave at once: availability and contact policies checked per
(tenant, offer, channel) group (journeys.sending), then a delivery and a contact-history row per
send allowed, written before the next wave so its caps count them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.db import connection

from decisionflows.engine import offer_fields
from decisionflows.models import CONTACT_HISTORY_COLUMNS, ContactHistory, ContactSource, Creative, Offer
from decisionflows.personalization import render, token_refs
from journeys import bulk
from journeys.models import ExecutionRunStatus, Send
from journeys.sending import SendRequest, Verdict, check_sends
from journeys.stepping.state import RunState, Work

if TYPE_CHECKING:
    from journeys.stepping.batch import Batch

SEND_COLUMNS = (
    "tenant_id",
    "run_id",
    "step",
    "visit",
    "tick",
    "customer_id",
    "offer_id",
    "channel_id",
    "creative_id",
    "subject",
    "content",
    "sent_at",
)


@lru_cache(maxsize=256)
def _customer_tokens(text: str) -> tuple[str, ...]:
    """The customer fields a creative text's tokens name."""
    return tuple(ref.split(".", 1)[1] for ref in token_refs(text) if ref.startswith("customer."))


def _target(work: Work, step: Mapping[str, Any]) -> tuple[str, str, str | None] | None:
    if "offerFrom" not in step:
        return step["offerId"], step["channelId"], step.get("creativeId")
    chosen = work.run.variables.get(step["offerFrom"])
    if not isinstance(chosen, Mapping) or not chosen.get("offerId") or not chosen.get("channelId"):
        return None
    return str(chosen["offerId"]), str(chosen["channelId"]), chosen.get("creativeId")


def step_sends(batch: Batch, works: list[Work]) -> None:
    """Every run of this wave at a send step: one policy check per tenant and offer."""
    visits = [batch.visit(w) for w in works]
    done = _delivered(works)
    by_tenant: dict[str, list[int]] = defaultdict(list)
    verdicts: list[Verdict | None] = [None] * len(works)
    targets = [_target(w, w.plan.steps[w.run.current_step or ""]) for w in works]
    for i, (work, target) in enumerate(zip(works, targets, strict=True)):
        if target is None:
            verdicts[i] = Verdict(False, "no_offer", "the decided offer variable holds no offer")
        elif (work.run.pk, work.run.current_step, visits[i]) not in done:
            by_tenant[work.run.tenant_id].append(i)
    for tenant_id, indexes in by_tenant.items():
        sends = []
        for i in indexes:
            target = targets[i]
            assert target is not None
            sends.append(SendRequest(works[i].run.customer_id, *target))
        flags = {
            c["id"]: (c["suppressed"], c["unsubscribed"])
            for i in indexes
            if (c := batch.customer(works[i].run)) is not None
        }
        checked_all = check_sends(batch.catalogue(tenant_id), sends, flags)
        for i, checked in zip(indexes, checked_all, strict=True):
            verdicts[i] = checked
    for i, work in enumerate(works):
        step = work.plan.steps[work.run.current_step or ""]
        verdict, target = verdicts[i], targets[i]
        if verdict is None:  # delivered on an earlier attempt of this very visit
            assert target is not None
            _sent(batch, work, step, *target, visits[i], duplicate=True)
        elif verdict.allowed:
            _deliver(batch, work, step, verdict, visits[i])
        else:
            _blocked(batch, work, step, verdict)
    # Written now, not at the end of the batch: caps and cooldowns checked by a later send of
    # this batch (the next wave) must count these contacts.
    bulk.insert(Send, SEND_COLUMNS, batch.deliveries[batch.written :])
    bulk.insert(ContactHistory, CONTACT_HISTORY_COLUMNS, batch.history[batch.written :])
    batch.written = len(batch.deliveries)


def _delivered(works: list[Work]) -> set[tuple[str, str | None, int]]:
    """(run, step, visit) of these sends already delivered: the unique key's graceful side."""
    run_ids, steps = [w.run.pk for w in works], sorted({w.run.current_step or "" for w in works})
    if connection.vendor == "postgresql":
        # bound server side: 1,000 ids as one array, not 1,000 literals spelled out by Django
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT run_id::text, step, visit FROM {Send._meta.db_table} "  # noqa: S608  (our table)
                "WHERE run_id = ANY(%s::uuid[]) AND step = ANY(%s::text[])",
                [[str(pk) for pk in run_ids], steps],
            )
            rows = cursor.fetchall()
    else:
        rows = list(
            Send.objects.filter(run_id__in=[uuid.UUID(pk) for pk in run_ids], step__in=steps).values_list(
                "run_id", "step", "visit"
            )
        )
    return {(str(run_id), step, visit) for run_id, step, visit in rows}


def _sent(
    batch: Batch,
    work: Work,
    step: Mapping[str, Any],
    offer_id: str,
    channel_id: str,
    creative_id: str | None,
    visit: int,
    *,
    duplicate: bool = False,
) -> None:
    work.run.last_result = {
        "status": "sent",
        "step": step["id"],
        "offer_id": offer_id,
        "channel_id": channel_id,
        "creative_id": creative_id,
    }
    extra = {"duplicate": True} if duplicate else {}
    reason = "already delivered on an earlier attempt of this visit: not sent again" if duplicate else ""
    batch.event(
        work,
        "send",
        step=step["id"],
        reason=reason,
        offerId=offer_id,
        channelId=channel_id,
        creativeId=creative_id,
        visit=visit,
        **extra,
    )
    batch.advance(work, step["next"])


def _deliver(batch: Batch, work: Work, step: Mapping[str, Any], verdict: Verdict, visit: int) -> None:
    run = work.run
    offer, channel, creative = verdict.offer, verdict.channel, verdict.creative
    assert offer is not None
    assert channel is not None
    assert creative is not None
    subject, content = _personalize(batch, run, offer, creative)
    batch.deliveries.append(
        (
            run.tenant_id,
            run.pk,
            step["id"],
            visit,
            batch.tick,
            run.customer_id,
            offer.pk,
            channel.pk,
            creative.pk,
            subject,
            content,
            batch.now,
        )
    )
    batch.history.append(
        (run.tenant_id, run.customer_id, offer.pk, channel.pk, ContactSource.JOURNEY, run.pk, batch.now)
    )
    _sent(batch, work, step, offer.pk, channel.pk, creative.pk, visit)


def _personalize(batch: Batch, run: RunState, offer: Offer, creative: Creative) -> tuple[str, str]:
    """The creative's subject and content for the run's customer. ``render`` is a pure
    function of the customer fields the texts name, so a batch renders each distinct set of
    their values once (a campaign's creative greets thousands of customers by few names)."""
    names = _customer_tokens(creative.subject) + _customer_tokens(creative.content)
    customer: dict[str, Any] = {}
    if names:
        customer = batch.customer(run) or {}
        attributes = customer.get("attributes") or {}
        # as personalization looks a field up: the column, else the attribute of that name
        values = tuple(repr(attributes.get(name) if customer.get(name) is None else customer[name]) for name in names)
    else:
        values = ()
    key = (creative.pk, offer.pk, values)
    rendered = batch.rendered.get(key)
    if rendered is None:
        tokens = offer_fields(batch.catalogue(run.tenant_id).offer_info(offer))
        rendered = (render(creative.subject, customer, tokens), render(creative.content, customer, tokens))
        batch.rendered[key] = rendered
    return rendered


def _blocked(batch: Batch, work: Work, step: Mapping[str, Any], verdict: Verdict) -> None:
    run = work.run
    run.last_result = {"status": "blocked", "step": step["id"], "reason": verdict.reason}
    batch.event(work, "send_blocked", step=step["id"], reason=verdict.message, code=verdict.reason, **verdict.data)
    if step.get("onBlocked"):
        batch.advance(work, step["onBlocked"])
    else:
        run.steps_completed += 1
        batch.finish(work, ExecutionRunStatus.COMPLETED, outcome="blocked")
