"""The send step for every run of a wave at once: availability and contact policies checked per
(tenant, offer, channel) group (journeys.sending), then a send and a contact-history row per
send allowed, written before the next wave so its caps count them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import connection

from decisionflows.engine import offer_fields
from decisionflows.models import CONTACT_HISTORY_COLUMNS, ContactHistory, ContactSource, Creative, Offer
from decisionflows.personalization import render, token_refs
from journeys import bulk
from journeys.models import Send
from journeys.sending import SendRequest, Verdict, check_sends
from journeys.stepping.lookups import Lookups
from journeys.stepping.state import RunState, Work

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


@dataclass(frozen=True)
class Sent:
    """A send step that sent its offer: now, or (``duplicate``) on an earlier attempt of this very
    visit, so not again."""

    offer_id: str
    channel_id: str
    creative_id: str | None
    duplicate: bool = False


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


class Sender:
    """The sends of one batch: checks them, renders the creatives and writes their rows."""

    def __init__(self, lookups: Lookups, *, tick: int, now: dt.datetime) -> None:
        self.lookups, self.tick, self.now = lookups, tick, now
        self.sent = 0  # send rows written
        # (creative, offer, values of the customer fields it names) → (subject, content): render is a pure
        # function of them, and a batch sends the same creative to many alike customers.
        self._rendered: dict[tuple[Any, ...], tuple[str, str]] = {}

    def send(self, works: list[Work], visits: list[int]) -> list[Sent | Verdict]:
        """The send steps of these runs (at ``visits`` of their current step), one policy check per
        tenant and offer: per run, what it sent or the verdict that blocked it."""
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
            requests = []
            for i in indexes:
                target = targets[i]
                assert target is not None
                requests.append(SendRequest(works[i].run.customer_id, *target))
            flags = {
                c["id"]: (c["suppressed"], c["unsubscribed"])
                for i in indexes
                if (c := self.lookups.customer(works[i].run)) is not None
            }
            checked_all = check_sends(self.lookups.catalogue(tenant_id), requests, flags)
            for i, checked in zip(indexes, checked_all, strict=True):
                verdicts[i] = checked
        outcomes: list[Sent | Verdict] = []
        rows: list[tuple[Any, ...]] = []
        history: list[tuple[Any, ...]] = []
        for i, work in enumerate(works):
            verdict, target = verdicts[i], targets[i]
            if verdict is None:  # delivered on an earlier attempt of this very visit
                assert target is not None
                outcomes.append(Sent(*target, duplicate=True))
            elif verdict.allowed:
                outcomes.append(self._row(work, verdict, visits[i], rows, history))
            else:
                outcomes.append(verdict)
        # Written now, not at the end of the batch: caps and cooldowns checked by a later send of
        # this batch (the next wave) must count these contacts.
        bulk.insert(Send, SEND_COLUMNS, rows)
        bulk.insert(ContactHistory, CONTACT_HISTORY_COLUMNS, history)
        self.sent += len(rows)
        return outcomes

    def _row(
        self, work: Work, verdict: Verdict, visit: int, rows: list[tuple[Any, ...]], history: list[tuple[Any, ...]]
    ) -> Sent:
        """The send's row and its contact-history row, added to ``rows`` and ``history``."""
        run = work.run
        offer, channel, creative = verdict.offer, verdict.channel, verdict.creative
        assert offer is not None
        assert channel is not None
        assert creative is not None
        subject, content = self._personalize(run, offer, creative)
        step_id = work.plan.steps[run.current_step or ""]["id"]
        rows.append(
            (
                run.tenant_id,
                run.pk,
                step_id,
                visit,
                self.tick,
                run.customer_id,
                offer.pk,
                channel.pk,
                creative.pk,
                subject,
                content,
                self.now,
            )
        )
        history.append((run.tenant_id, run.customer_id, offer.pk, channel.pk, ContactSource.JOURNEY, run.pk, self.now))
        return Sent(offer.pk, channel.pk, creative.pk)

    def _personalize(self, run: RunState, offer: Offer, creative: Creative) -> tuple[str, str]:
        """The creative's subject and content for the run's customer. ``render`` is a pure
        function of the customer fields the texts name, so a batch renders each distinct set of
        their values once (a campaign's creative greets thousands of customers by few names)."""
        names = _customer_tokens(creative.subject) + _customer_tokens(creative.content)
        customer: dict[str, Any] = {}
        if names:
            customer = self.lookups.customer(run) or {}
            attributes = customer.get("attributes") or {}
            # as personalization looks a field up: the column, else the attribute of that name
            values = tuple(
                repr(attributes.get(name) if customer.get(name) is None else customer[name]) for name in names
            )
        else:
            values = ()
        key = (creative.pk, offer.pk, values)
        rendered = self._rendered.get(key)
        if rendered is None:
            tokens = offer_fields(self.lookups.catalogue(run.tenant_id).offer_info(offer))
            rendered = (render(creative.subject, customer, tokens), render(creative.content, customer, tokens))
            self._rendered[key] = rendered
        return rendered


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
