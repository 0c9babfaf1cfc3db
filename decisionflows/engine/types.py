"""The engine's inputs and outputs: catalogue snapshots, the context of a decision, contact
history, and the decisions with their funnel."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

from decisionflows.pipeline import DEFAULT_WEIGHTS

CUSTOMER_PREFIX = "customer."
OFFER_PREFIX = "offer."
PERIOD_DAYS = {"day": 1, "week": 7, "month": 30}
UNLIMITED = np.iinfo(np.int32).max


class Reason(IntEnum):
    """Why a (customer, offer) pair did not become a recommendation; the funnel's stages."""

    KEPT = 0
    QUALIFICATION = 1  # an eligibility condition or a hard rule was false
    CONTACT_POLICY = 2  # suppressed, capped or cooling down
    NO_CHANNEL = 3  # no creative on a channel the customer may be contacted on
    ZERO_SCORE = 4  # a zero factor (or a formula giving 0 / not a number)
    OUTRANKED = 5  # lost to better offers: top-N or one offer per channel


REASON_NAMES = {
    Reason.QUALIFICATION: "qualification",
    Reason.CONTACT_POLICY: "contact_policy",
    Reason.NO_CHANNEL: "no_channel",
    Reason.ZERO_SCORE: "zero_score",
    Reason.OUTRANKED: "outranked",
}

# Why a customer ended with nothing: the stage that removed their last candidate.
NOTHING_REASONS = {
    Reason.QUALIFICATION: "no_eligible_offers",
    Reason.CONTACT_POLICY: "contact_policy",
    Reason.NO_CHANNEL: "no_channel",
    Reason.ZERO_SCORE: "zero_score",
    Reason.OUTRANKED: "capacity",
}


@dataclass(frozen=True)
class OfferInfo:
    id: str
    key: str
    name: str
    category: str = ""
    priority: int = 50
    business_value: float = 0.0
    status: str = "active"
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    tags: tuple[str, ...] = ()
    eligibility: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    def field_value(self, name: str) -> Any:
        value = getattr(self, name)
        if isinstance(value, dt.date):
            return value.isoformat()
        return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class ChannelInfo:
    id: str
    name: str
    channel_type: str = "email"
    delivery_mode: str = "file"


@dataclass(frozen=True)
class CreativeInfo:
    id: str
    offer_id: str
    channel_id: str
    name: str = ""
    subject: str = ""
    content: str = ""


@dataclass(frozen=True)
class PolicyInfo:
    id: str
    name: str
    policy_type: str  # frequency_cap | cooldown | suppression
    max_count: int | None = None
    period: str = ""
    scope: str = ""
    channel_id: str | None = None
    offer_id: str | None = None
    cooldown_hours: int | None = None
    suppress_unsubscribed: bool = False
    suppress_suppressed: bool = False


@dataclass
class DecisionContext:
    """Everything a decision needs except the customers: loaded once per run."""

    pipeline: Sequence[Mapping[str, Any]]
    offers: Sequence[OfferInfo]  # every offer the inventory may take (filtered here)
    channels: Sequence[ChannelInfo]  # the channels this decision may use, in preference order
    creatives: Sequence[CreativeInfo]
    policies: Sequence[PolicyInfo]  # the active policies the contact_policy node may apply
    today: dt.date
    now: dt.datetime

    def __post_init__(self) -> None:
        # What decide derives from the context alone, kept for its next batch (a run's chunks,
        # the Recommend API's requests, whose shallow copies of a cached context share it).
        self.memo: dict[Any, Any] = {}
        self.nodes = {node["type"]: node for node in self.pipeline if node["type"] in ("inventory", "score", "rank")}
        inventory = self.nodes.get("inventory", {"include_all": True})
        candidates = [o for o in self.offers if self._in_inventory(o, inventory)]
        candidates.sort(key=lambda o: (-o.priority, o.key))
        self.candidates: list[OfferInfo] = candidates
        self.offer_index = {o.id: j for j, o in enumerate(candidates)}
        self.channel_index = {c.id: c_ for c_, c in enumerate(self.channels)}
        # has_creative[j, c]: offer j has a creative on channel c (the first one by id wins)
        self.has_creative = np.zeros((len(candidates), len(self.channels)), dtype=bool)
        self.creative_at: dict[tuple[int, int], CreativeInfo] = {}
        for creative in sorted(self.creatives, key=lambda c: c.id):
            j = self.offer_index.get(creative.offer_id)
            c = self.channel_index.get(creative.channel_id)
            if j is not None and c is not None and (j, c) not in self.creative_at:
                self.creative_at[(j, c)] = creative
                self.has_creative[j, c] = True
        self.rule_nodes = [node for node in self.pipeline if node["type"] in ("qualify", "filter")]
        policy_nodes = [node for node in self.pipeline if node["type"] == "contact_policy"]
        wanted: set[str] | None = set()
        for node in policy_nodes:
            ids = node.get("policy_ids") or []
            if not ids:
                wanted = None
                break
            assert wanted is not None
            wanted.update(ids)
        if not policy_nodes:
            self.applied_policies: list[PolicyInfo] = []
        else:
            self.applied_policies = [p for p in self.policies if wanted is None or p.id in wanted]

    def _in_inventory(self, offer: OfferInfo, node: Mapping[str, Any]) -> bool:
        if offer.status != "active":
            return False
        if offer.start_date is not None and offer.start_date > self.today:
            return False
        if offer.end_date is not None and offer.end_date < self.today:
            return False
        offer_ids, categories = node.get("offer_ids") or [], node.get("categories") or []
        # as decisionflows.pipeline normalises it: naming neither means every offer
        if node.get("include_all", not offer_ids and not categories):
            return True
        return offer.id in offer_ids or offer.category in categories

    @property
    def score_node(self) -> Mapping[str, Any]:
        return self.nodes.get("score", {"method": "prie", "weights": DEFAULT_WEIGHTS})

    @property
    def rank_node(self) -> Mapping[str, Any]:
        return self.nodes.get("rank", {"max_offers_per_customer": 1, "one_offer_per_channel": False})

    def lookback(self) -> dt.datetime | None:
        """How far back contact history matters for the applied policies (None: not at all)."""
        spans = []
        for policy in self.applied_policies:
            if policy.policy_type == "frequency_cap" and policy.period:
                spans.append(dt.timedelta(days=PERIOD_DAYS[policy.period]))
            elif policy.policy_type == "cooldown" and policy.cooldown_hours:
                spans.append(dt.timedelta(hours=policy.cooldown_hours))
        return self.now - max(spans) if spans else None


@dataclass
class History:
    """A batch's contact history since ``context.lookback()``: one entry per contact, with the
    customer's row in the batch, the offer id, the channel id (or None) and when."""

    customer_rows: np.ndarray  # int, index into the batch
    offer_ids: Sequence[str]
    channel_ids: Sequence[str | None]
    contacted_at: Sequence[dt.datetime]

    @classmethod
    def empty(cls) -> History:
        return cls(np.zeros(0, dtype=np.int64), [], [], [])


@dataclass
class Decisions:
    """The outcome for a batch: recommendations as parallel arrays, plus the funnel."""

    customer_rows: np.ndarray  # row in the batch
    rank: np.ndarray  # 1-based
    offer_idx: np.ndarray  # into context.candidates
    channel_idx: np.ndarray  # into context.channels
    score: np.ndarray
    propensity: np.ndarray
    relevance: np.ndarray
    reason: np.ndarray  # (n, m) Reason codes
    detail: np.ndarray  # (n, m) the rule or policy index behind the reason (-1: none)
    rule_labels: list[str]  # detail index → "rule name" for QUALIFICATION
    policy_labels: list[str]  # detail index → policy id for CONTACT_POLICY
    nothing: np.ndarray  # (n,) Reason of customers that got nothing (KEPT: got something)
    eligibility_label: int = -1  # the rule_labels index standing for the offers' own eligibility

    @property
    def count(self) -> int:
        return int(self.customer_rows.shape[0])

    def funnel(self, context: DecisionContext) -> dict[str, Any]:
        """Per offer: considered, dropped per stage (and per rule / policy), recommended; and
        how many customers got nothing, by reason. Counts add up across batches."""
        n = self.reason.shape[0]
        offers: dict[str, Any] = {}
        for j, offer in enumerate(context.candidates):
            column = self.reason[:, j]
            counts = np.bincount(column, minlength=len(Reason))
            entry: dict[str, Any] = {
                "considered": n,
                "recommended": int(counts[Reason.KEPT]),
                **{REASON_NAMES[r]: int(counts[r]) for r in REASON_NAMES},
            }
            for reason, labels, key in (
                (Reason.QUALIFICATION, self.rule_labels, "by_rule"),
                (Reason.CONTACT_POLICY, self.policy_labels, "by_policy"),
            ):
                details = self.detail[column == reason, j]
                details = details[details >= 0]
                if details.size:
                    per = np.bincount(details, minlength=len(labels))
                    entry[key] = {labels[i]: int(c) for i, c in enumerate(per) if c}
            offers[offer.id] = entry
        nothing = np.bincount(self.nothing, minlength=len(Reason))
        return {
            "customers": n,
            "offers": offers,
            "customers_without_offers": {NOTHING_REASONS[r]: int(nothing[r]) for r in NOTHING_REASONS if nothing[r]},
        }

    def explain(self, row: int, context: DecisionContext) -> list[tuple[int, Reason, str]]:
        """For the customer of ``row``: every candidate they did not get, as (offer index, stage,
        why), in candidate order. ``why`` names the rule or the policy, or says it in a sentence."""
        policies = context.applied_policies
        out: list[tuple[int, Reason, str]] = []
        for j in range(self.reason.shape[1]):
            reason = Reason(int(self.reason[row, j]))
            if reason == Reason.KEPT:
                continue
            detail = int(self.detail[row, j])
            if reason == Reason.QUALIFICATION:
                if detail == self.eligibility_label or detail < 0:
                    why = "The customer does not meet the offer's eligibility condition."
                else:
                    why = self.rule_labels[detail]
            elif reason == Reason.CONTACT_POLICY:
                why = policies[detail].name if 0 <= detail < len(policies) else "A contact policy applies."
            else:
                why = _SENTENCES[reason]
            out.append((j, reason, why))
        return out


_SENTENCES = {
    Reason.NO_CHANNEL: "The offer has no active creative on a channel this decision may use.",
    Reason.ZERO_SCORE: "The offer scored 0 or less: a zero factor, or the flow's formula.",
    Reason.OUTRANKED: "Better-scored offers took the available places.",
}


def offer_fields(offer: OfferInfo) -> dict[str, Any]:
    """The offer as personalization tokens (``{{offer.name}}``…) see it."""
    value = offer.business_value
    return {
        "id": offer.id,
        "key": offer.key,
        "name": offer.name,
        "description": offer.description,
        "category": offer.category,
        "priority": offer.priority,
        # 120.0 → "120", as the catalogue shows it; 99.5 stays 99.5
        "business_value": int(value) if float(value).is_integer() else value,
        "start_date": offer.start_date,
        "end_date": offer.end_date,
        "tags": list(offer.tags),
    }


def merge_funnels(total: dict[str, Any] | None, part: Mapping[str, Any]) -> dict[str, Any]:
    """Add one batch's funnel into a running total (both as returned by ``Decisions.funnel``)."""

    def add(into: dict[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
        for key, value in other.items():
            if isinstance(value, Mapping):
                into[key] = add(dict(into.get(key, {})), value)
            else:
                into[key] = into.get(key, 0) + value
        return into

    return add(json.loads(json.dumps(total)) if total else {}, part)
