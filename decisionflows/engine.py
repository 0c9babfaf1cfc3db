"""The decision engine: a published pipeline applied to a batch of customers at once.

Everything here is columnar. A batch of ``n`` customers (a polars DataFrame) meets ``m``
candidate offers and ``k`` channels as numpy arrays of shape (n, m) and (n, k); each pipeline
step narrows an ``alive`` mask, and the step that removed a pair is remembered for the funnel.
The only Python loops run over offers, rules, policies or rank positions (tens), never over
customers, so the same code decides for one customer (the Recommend API) or five thousand (a
run chunk).

Pure: no database. ``decisionflows.loading`` builds a ``DecisionContext`` and ``History`` from
the database; tests build them by hand.

Semantics (DESIGN.md §6 for the score):

- inventory: active offers whose date window contains today (both ends inclusive), narrowed
  by the node's categories or offer ids (either matches); a node naming neither takes every
  offer. Candidates are ordered by priority (high first), then key, which is also how equal
  scores are ranked.
- conditions: the rule language of kaireon.rules, with segments' null semantics so that a
  segment and a flow rule with the same condition select the same customers: a missing or
  null value (and, for offers, an empty string or list) makes ``eq``, ``gt``…, ``in``,
  ``contains`` and ``starts_with`` false and ``neq`` and ``not_in`` true; ``is_null`` tests
  it. Dates compare as dates.
- qualify / filter rules: ``hard`` drops the pair when the condition is false; ``soft``
  multiplies relevance R by ``fit_multiplier`` when it is false. An offer's own eligibility
  condition is a hard rule that runs first. A pair dropped twice is credited to the first.
- contact policies (only with a contact_policy node; its ``policy_ids``, or every active
  policy when it names none), in the context's policy order: suppression drops suppressed /
  unsubscribed customers; a frequency cap counts the customer's contacts in the last day
  (24 h), week (7 d) or month (30 d) — globally, on one channel or for one offer — and drops
  what it covers when the count has reached ``max_count``; a cooldown drops an offer sent to
  the customer within its hours (on any channel). Whatever capacity a cap has left also
  limits how many offers (global), or offers on that channel (channel), the customer gets in
  this decision; pairs that lose out that way are credited to the cap.
- channels: a pair needs an active creative on a channel the decision may use (NO_CHANNEL
  otherwise) that is not capped for the customer (the channel cap otherwise); it goes out on
  the first such channel, in the context's channel order, that still has room.
- score: ``prie`` = P^wp · R^wr · I^wi · E^we, with P the scorecard propensity
  (sigmoid(logit(base) + Σ points of matching rules), 0.5 without a model), R the soft-rule fit,
  I = business value / the largest business value among candidates (1 when all are 0) and
  E = priority / 100; ``priority_weighted`` = E · P · R; ``formula`` evaluates the flow's
  expression over p, r, i, e, priority and business_value. A score that is 0 or less, or not
  finite, drops the pair: a zero factor eliminates an offer.
- rank: greedily by score (ties in candidate order), at most ``max_offers_per_customer``
  each (and no more than a global cap leaves), at most one per channel when
  ``one_offer_per_channel`` (an offer whose first channel is taken goes out on its next one).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np
import polars as pl

from decisionflows.formula import compile_formula
from decisionflows.pipeline import DEFAULT_BASE_SCORE, DEFAULT_WEIGHTS

CUSTOMER_PREFIX = "customer."
OFFER_PREFIX = "offer."
PERIOD_DAYS = {"day": 1, "week": 7, "month": 30}
_UNLIMITED = np.iinfo(np.int32).max


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


# --- conditions ----------------------------------------------------------------------------


def _leaf_key(leaf: Mapping[str, Any]) -> str:
    return json.dumps(leaf, sort_keys=True)


def _leaves(condition: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not condition:
        return []
    if "field" in condition:
        return [condition]
    found: list[Mapping[str, Any]] = []
    for key in ("all", "any"):
        for item in condition.get(key, []):
            found.extend(_leaves(item))
    return found


def _customer_field(name: str) -> str:
    return name[len(CUSTOMER_PREFIX) :] if name.startswith(CUSTOMER_PREFIX) else name


def _literal(value: Any, dtype: pl.DataType) -> Any:
    if dtype == pl.Date and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if dtype == pl.Datetime and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


# Operators that hold for a missing value, as in segments/sql.py ("everyone who is not gold"
# includes customers without a tier).
_TRUE_FOR_NULL = frozenset({"is_null", "neq", "not_in"})


def _customer_expression(leaf: Mapping[str, Any], schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """A leaf over a customer field as a polars expression, null-safe as in segments/sql.py."""
    name = _customer_field(leaf["field"])
    operator = leaf["operator"]
    if name not in schema or schema[name] == pl.Null:
        # The attribute is in the schema but no customer of the batch has it: all null.
        return pl.lit(operator in _TRUE_FOR_NULL)
    column = pl.col(name)
    dtype: pl.DataType = schema[name]
    if isinstance(dtype, pl.Datetime):
        column = column.dt.date()
        dtype = pl.Date()
    value: Any = leaf.get("value")
    if operator == "is_null":
        return column.is_null()
    if operator == "is_not_null":
        return column.is_not_null()
    if operator in ("in", "not_in"):
        values = pl.Series([_literal(v, dtype) for v in value]).cast(dtype)
        found = column.is_in(values.implode())
        return found.fill_null(False) if operator == "in" else (~found).fill_null(True)
    literal = _literal(value, dtype)
    if operator == "neq":
        return (column != literal).fill_null(True)
    expressions = {
        "eq": lambda: column == literal,
        "gt": lambda: column > literal,
        "gte": lambda: column >= literal,
        "lt": lambda: column < literal,
        "lte": lambda: column <= literal,
        "contains": lambda: column.str.contains(str(literal), literal=True),
        "starts_with": lambda: column.str.starts_with(str(literal)),
    }
    return expressions[operator]().fill_null(False)


def _offer_matches(leaf: Mapping[str, Any], offer: OfferInfo) -> bool:
    name = leaf["field"][len(OFFER_PREFIX) :]
    actual = offer.field_value(name)
    operator = leaf["operator"]
    if actual in (None, "", []):
        return operator in _TRUE_FOR_NULL
    if operator == "is_null":
        return False
    if operator == "is_not_null":
        return True
    value: Any = leaf.get("value")
    if operator == "contains":
        return value in actual
    if operator == "starts_with":
        return isinstance(actual, str) and actual.startswith(value)
    if operator == "in":
        return actual in value
    if operator == "not_in":
        return actual not in value
    comparisons = {
        "eq": lambda: actual == value,
        "neq": lambda: actual != value,
        "gt": lambda: actual > value,
        "gte": lambda: actual >= value,
        "lt": lambda: actual < value,
        "lte": lambda: actual <= value,
    }
    return bool(comparisons[operator]())


class _Conditions:
    """Evaluates conditions for a batch: customer leaves once each, in a single polars pass."""

    def __init__(self, customers: pl.DataFrame, offers: Sequence[OfferInfo], conditions: list[Any]) -> None:
        self.n = customers.height
        self.offers = offers
        customer_leaves: dict[str, Mapping[str, Any]] = {}
        for condition in conditions:
            for leaf in _leaves(condition):
                if not leaf["field"].startswith(OFFER_PREFIX):
                    customer_leaves.setdefault(_leaf_key(leaf), leaf)
        keys = list(customer_leaves)
        if keys and self.n:
            frame = customers.select(
                [_customer_expression(customer_leaves[k], customers.schema).alias(f"c{i}") for i, k in enumerate(keys)]
            )
            # a select of literals only (fields no customer has) is one row: broadcast it
            self.values = {
                k: np.broadcast_to(frame.get_column(f"c{i}").to_numpy().astype(bool), (self.n,))
                for i, k in enumerate(keys)
            }
        else:
            self.values = {k: np.zeros(self.n, dtype=bool) for k in keys}
        self._offer_cache: dict[str, np.ndarray] = {}

    def _offer_vector(self, leaf: Mapping[str, Any]) -> np.ndarray:
        key = _leaf_key(leaf)
        if key not in self._offer_cache:
            self._offer_cache[key] = np.array([_offer_matches(leaf, o) for o in self.offers], dtype=bool)
        return self._offer_cache[key]

    def evaluate(self, condition: Mapping[str, Any] | None, offer: int | None = None) -> np.ndarray:
        """Broadcastable to (n, m) — or to (n,) for one offer's own condition."""
        if not condition:
            return np.ones((1, 1) if offer is None else 1, dtype=bool)
        if "field" in condition:
            if condition["field"].startswith(OFFER_PREFIX):
                vector = self._offer_vector(condition)
                return vector[None, :] if offer is None else vector[offer : offer + 1]
            values = self.values[_leaf_key(condition)]
            return values[:, None] if offer is None else values
        if "all" in condition:
            items = condition["all"]
            result = np.ones((1, 1) if offer is None else 1, dtype=bool)
            for item in items:
                result = result & self.evaluate(item, offer)
            return result
        items = condition.get("any", [])
        if not items:
            return np.ones((1, 1) if offer is None else 1, dtype=bool)
        result = np.zeros((1, 1) if offer is None else 1, dtype=bool)
        for item in items:
            result = result | self.evaluate(item, offer)
        return result


# --- the decision --------------------------------------------------------------------------


def _sigmoid(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def _logit(p: float) -> float:
    # exact at the ends: a base of 0 (or 1) keeps P at 0 (or 1) whatever the points
    if p <= 0:
        return -math.inf
    if p >= 1:
        return math.inf
    return math.log(p / (1 - p))


def _flag(customers: pl.DataFrame, name: str) -> np.ndarray:
    if name not in customers.columns:
        return np.zeros(customers.height, dtype=bool)
    return customers.get_column(name).fill_null(False).to_numpy().astype(bool)


class _Funnel:
    """The alive mask and, for each pair that died, the stage and detail that killed it."""

    def __init__(self, n: int, m: int) -> None:
        self.alive = np.ones((n, m), dtype=bool)
        self.reason = np.zeros((n, m), dtype=np.int8)
        self.detail = np.full((n, m), -1, dtype=np.int32)
        # per customer: the stage at which their last candidate went (KEPT while any is left)
        self.nothing = np.zeros(n, dtype=np.int8)
        if m == 0:
            # an empty inventory: nobody had an eligible offer to begin with
            self.nothing[:] = Reason.QUALIFICATION
        self._had_any = np.full(n, m > 0)

    def drop(self, mask: np.ndarray, reason: Reason, detail: int | np.ndarray = -1) -> None:
        """Kill the alive pairs in ``mask``; ``detail`` (scalar or per pair) names the rule or policy."""
        mask = np.broadcast_to(mask, self.alive.shape) & self.alive
        if not mask.any():
            return
        self.reason[mask] = reason
        self.detail[mask] = np.broadcast_to(detail, self.alive.shape)[mask]
        self.alive &= ~mask
        self._settle(reason)

    def _settle(self, reason: Reason) -> None:
        has_any = np.asarray(self.alive.any(axis=1))
        emptied = self._had_any & ~has_any
        self.nothing[emptied] = reason
        self._had_any = has_any


def _history_arrays(
    context: DecisionContext, history: History, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """History as arrays: row, offer index (-1 when not a candidate), channel index (-1), age in hours."""
    rows = np.asarray(history.customer_rows, dtype=np.int64)
    offers = np.array([context.offer_index.get(o, -1) for o in history.offer_ids], dtype=np.int64)
    channels = np.array([context.channel_index.get(c, -1) if c else -1 for c in history.channel_ids], dtype=np.int64)
    ages = np.array([(context.now - t).total_seconds() / 3600 for t in history.contacted_at], dtype=np.float64)
    return rows, offers, channels, ages


def decide(context: DecisionContext, customers: pl.DataFrame, history: History | None = None) -> Decisions:
    """Decide for every customer of the batch. ``customers`` has one row per customer with
    columns named like the rule fields without ``customer.`` (``id``, ``email``, attributes)."""
    history = history or History.empty()
    n, m, k = customers.height, len(context.candidates), len(context.channels)
    offers = context.candidates
    funnel = _Funnel(n, m)

    conditions: list[Any] = [o.eligibility for o in offers]
    rule_labels: list[str] = []
    rules: list[Mapping[str, Any]] = []
    for node in context.rule_nodes:
        for rule in node.get("rules", []):
            rules.append(rule)
            rule_labels.append(rule.get("name") or rule.get("id") or f"rule {len(rules)}")
            conditions.append(rule.get("condition"))
    score_node = context.score_node
    model = score_node.get("propensity_model") or None
    if model:
        conditions.extend(item["condition"] for item in model.get("rules", []))
    evaluator = _Conditions(customers, offers, conditions)

    # 1. qualification: each offer's eligibility, then the flow's hard rules; soft rules → R
    eligibility_label = len(rule_labels)
    rule_labels.append("offer eligibility")
    for j, offer in enumerate(offers):
        if offer.eligibility:
            column = np.zeros((n, m), dtype=bool)
            column[:, j] = ~np.broadcast_to(evaluator.evaluate(offer.eligibility, offer=j), (n,))
            funnel.drop(column, Reason.QUALIFICATION, eligibility_label)
    relevance = np.ones((n, m), dtype=np.float64)
    for index, rule in enumerate(rules):
        matched = np.broadcast_to(evaluator.evaluate(rule.get("condition")), (n, m))
        if rule.get("mode", "hard") == "hard":
            funnel.drop(~matched, Reason.QUALIFICATION, index)
        else:
            relevance = np.where(matched, relevance, relevance * float(rule.get("fit_multiplier", 1.0)))

    # 2. contact policies
    policy_labels = [p.id for p in context.applied_policies]
    rows, h_offer, h_channel, h_age = _history_arrays(context, history, n)
    capacity = np.full(n, _UNLIMITED, dtype=np.int64)
    capacity_policy = np.full(n, -1, dtype=np.int32)
    channel_capacity = np.full((n, k), _UNLIMITED, dtype=np.int64)
    channel_policy = np.full((n, k), -1, dtype=np.int32)
    suppressed, unsubscribed = _flag(customers, "suppressed"), _flag(customers, "unsubscribed")
    for index, policy in enumerate(context.applied_policies):
        if policy.policy_type == "suppression":
            hit = np.zeros(n, dtype=bool)
            if policy.suppress_suppressed:
                hit |= suppressed
            if policy.suppress_unsubscribed:
                hit |= unsubscribed
            funnel.drop(hit[:, None], Reason.CONTACT_POLICY, index)
        elif policy.policy_type == "cooldown" and policy.cooldown_hours:
            recent = (h_age <= policy.cooldown_hours) & (h_offer >= 0)
            cooling = np.zeros((n, m), dtype=bool)
            cooling[rows[recent], h_offer[recent]] = True
            funnel.drop(cooling, Reason.CONTACT_POLICY, index)
        elif policy.policy_type == "frequency_cap" and policy.max_count:
            in_period = h_age <= PERIOD_DAYS[policy.period] * 24
            if policy.scope == "offer":
                target = context.offer_index.get(policy.offer_id or "")
                if target is None:
                    continue
                counts = np.bincount(rows[in_period & (h_offer == target)], minlength=n)
                column = np.zeros((n, m), dtype=bool)
                column[:, target] = counts >= policy.max_count
                funnel.drop(column, Reason.CONTACT_POLICY, index)
            elif policy.scope == "channel":
                target = context.channel_index.get(policy.channel_id or "")
                if target is None:
                    continue
                counts = np.bincount(rows[in_period & (h_channel == target)], minlength=n)
                left = policy.max_count - counts
                tighter = left < channel_capacity[:, target]
                channel_capacity[tighter, target] = left[tighter]
                channel_policy[tighter, target] = index
            else:
                counts = np.bincount(rows[in_period], minlength=n)
                left = policy.max_count - counts
                tighter = left < capacity
                capacity[tighter] = left[tighter]
                capacity_policy[tighter] = index
                funnel.drop((left <= 0)[:, None], Reason.CONTACT_POLICY, index)

    # 3. channels: creative on a usable channel (channel caps with nothing left count as the policy)
    usable = channel_capacity > 0  # (n, k)
    reachable = (context.has_creative[None, :, :] & usable[:, None, :]).any(axis=2) if k else np.zeros((n, m), bool)
    offerable = np.asarray(context.has_creative.any(axis=1))[None, :] if k else np.zeros((1, m), bool)
    if k:
        # credited to the cap of the offer's first channel: the one it would have gone out on
        first_channel = np.argmax(context.has_creative, axis=1)
        funnel.drop(offerable & ~reachable, Reason.CONTACT_POLICY, channel_policy[:, first_channel])
    funnel.drop(~offerable, Reason.NO_CHANNEL)

    # 4. score
    business_values = np.array([o.business_value for o in offers], dtype=np.float64)
    priorities = np.array([o.priority for o in offers], dtype=np.float64)
    top_value = business_values.max() if m else 0.0
    impact = business_values / top_value if top_value > 0 else np.ones(m)
    emphasis = priorities / 100.0
    if model:
        z = np.full((n, m), _logit(float(model.get("base_score", DEFAULT_BASE_SCORE))))
        for item in model.get("rules", []):
            matched = np.broadcast_to(evaluator.evaluate(item["condition"]), (n, m))
            z = z + np.where(matched, float(item["points"]), 0.0)
        propensity = _sigmoid(z)
    else:
        propensity = np.full((n, m), DEFAULT_BASE_SCORE)
    method = score_node.get("method", "prie")
    with np.errstate(all="ignore"):
        if method == "formula":
            evaluate = compile_formula(score_node["formula"])
            env = {
                "p": propensity,
                "r": relevance,
                "i": impact[None, :],
                "e": emphasis[None, :],
                "priority": priorities[None, :],
                "business_value": business_values[None, :],
            }
            score = np.broadcast_to(np.asarray(evaluate(env), dtype=np.float64), (n, m)).copy()
        elif method == "priority_weighted":
            score = emphasis[None, :] * propensity * relevance
        else:
            weights = score_node.get("weights") or DEFAULT_WEIGHTS
            score = (
                np.power(propensity, weights["propensity"])
                * np.power(relevance, weights["relevance"])
                * np.power(impact[None, :], weights["impact"])
                * np.power(emphasis[None, :], weights["emphasis"])
            )
    funnel.drop(~(np.isfinite(score) & (score > 0)), Reason.ZERO_SCORE)

    # 5. rank: best score first (ties: the candidate order, priority then key)
    rank_node = context.rank_node
    max_offers = int(rank_node.get("max_offers_per_customer", 1))
    one_per_channel = bool(rank_node.get("one_offer_per_channel"))
    ordered = np.argsort(np.where(funnel.alive, -score, np.inf), axis=1, kind="stable")
    limit = np.minimum(capacity, max_offers)
    cap_left = channel_capacity.copy()  # (n, k) what the channel caps still allow
    free = np.ones((n, k), dtype=bool)  # (n, k) no offer on it yet (one_offer_per_channel)
    taken = np.zeros(n, dtype=np.int64)
    rows_all = np.arange(n)
    out_rows, out_rank, out_offer, out_channel = [], [], [], []
    for position in range(m):
        best = ordered[:, position]
        alive = funnel.alive[rows_all, best]
        if not alive.any():
            continue
        creative = context.has_creative[best]  # (n, k)
        open_ = creative & (cap_left > 0)
        room = open_ & free if one_per_channel else open_
        has_channel = room.any(axis=1)
        channel = np.argmax(room, axis=1)
        keep = alive & has_channel & (taken < limit)
        # why the others lost: a global cap's capacity, a channel cap's, or better offers
        lost = alive & ~keep
        if lost.any():
            full = lost & (taken >= limit)
            capped = full & (capacity < max_offers)
            channel_capped = lost & ~full & ~open_.any(axis=1)
            first_channel = np.argmax(creative, axis=1)
            _drop_pairs(funnel, capped, best, Reason.CONTACT_POLICY, capacity_policy)
            _drop_pairs(funnel, channel_capped, best, Reason.CONTACT_POLICY, channel_policy[rows_all, first_channel])
            _drop_pairs(funnel, lost & ~capped & ~channel_capped, best, Reason.OUTRANKED, None)
        if keep.any():
            kept_rows = rows_all[keep]
            cap_left[kept_rows, channel[keep]] -= 1
            free[kept_rows, channel[keep]] = False
            taken[keep] += 1
            out_rows.append(kept_rows)
            out_rank.append(taken[keep].copy())
            out_offer.append(best[keep])
            out_channel.append(channel[keep])
    funnel._settle(Reason.OUTRANKED)

    def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    rec_rows = cat(out_rows, np.int64)
    rec_offer = cat(out_offer, np.int64)
    order = np.lexsort((cat(out_rank, np.int64), rec_rows))
    rec_rows, rec_offer = rec_rows[order], rec_offer[order]
    return Decisions(
        customer_rows=rec_rows,
        rank=cat(out_rank, np.int16)[order],
        offer_idx=rec_offer,
        channel_idx=cat(out_channel, np.int64)[order],
        score=score[rec_rows, rec_offer],
        propensity=propensity[rec_rows, rec_offer],
        relevance=relevance[rec_rows, rec_offer],
        reason=funnel.reason,
        detail=funnel.detail,
        rule_labels=rule_labels,
        policy_labels=policy_labels,
        nothing=funnel.nothing,
        eligibility_label=eligibility_label,
    )


def _drop_pairs(funnel: _Funnel, rows: np.ndarray, offers: np.ndarray, reason: Reason, detail: Any) -> None:
    """Drop pair (row, offers[row]) for every row where ``rows`` is true; ``detail`` per row."""
    if not rows.any():
        return
    index = np.flatnonzero(rows)
    funnel.reason[index, offers[index]] = reason
    funnel.detail[index, offers[index]] = -1 if detail is None else detail[index]
    funnel.alive[index, offers[index]] = False
