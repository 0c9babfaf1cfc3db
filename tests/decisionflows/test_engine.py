"""The decision engine, pure: contexts, customers and history built by hand.

Expected scores are worked out by hand in the comments (DESIGN.md §6: PRIE =
P^0.4 · R^0.2 · I^0.3 · E^0.1 by default, P = 0.5 without a model). The last tests compare
``decide`` with a plain per-customer implementation of the module docstring over random data.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
import pytest

from decisionflows.engine import (
    ChannelInfo,
    CreativeInfo,
    DecisionContext,
    Decisions,
    History,
    OfferInfo,
    PolicyInfo,
    Reason,
    decide,
    merge_funnels,
    offer_fields,
)

TODAY = dt.date(2025, 3, 10)
NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)

EMAIL = ChannelInfo(id="ch_email", name="Email", channel_type="email")
SMS = ChannelInfo(id="ch_sms", name="SMS", channel_type="sms")
PUSH = ChannelInfo(id="ch_push", name="Push", channel_type="push")

# 0.5^0.4: the propensity factor of every default PRIE score
P_FACTOR = 0.757858283255199


def offer(key: str, **fields: Any) -> OfferInfo:
    fields.setdefault("business_value", 100.0)
    return OfferInfo(id=f"off_{key}", key=key, name=key.replace("-", " ").title(), **fields)


def creatives_for(offers: Sequence[OfferInfo], channels: Sequence[ChannelInfo]) -> list[CreativeInfo]:
    return [
        CreativeInfo(id=f"cr_{o.key}_{c.name.lower()}", offer_id=o.id, channel_id=c.id, name=f"{o.name} {c.name}")
        for o in offers
        for c in channels
    ]


def pipeline(
    *nodes: Mapping[str, Any],
    inventory: Mapping[str, Any] | None = None,
    score: Mapping[str, Any] | None = None,
    rank: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    return [
        {"type": "inventory", "categories": [], "offer_ids": [], "include_all": True, **(inventory or {})},
        *[dict(node) for node in nodes],
        {
            "type": "score",
            "method": "prie",
            "weights": None,
            "propensity_model": None,
            "formula": None,
            **(score or {}),
        },
        {"type": "rank", "max_offers_per_customer": 1, "one_offer_per_channel": False, **(rank or {})},
        {"type": "output", "fields": ["offer_id"]},
    ]


def context(
    offers: Sequence[OfferInfo],
    *nodes: Mapping[str, Any],
    channels: Sequence[ChannelInfo] = (EMAIL,),
    creatives: Sequence[CreativeInfo] | None = None,
    policies: Sequence[PolicyInfo] = (),
    **parts: Any,
) -> DecisionContext:
    return DecisionContext(
        pipeline=pipeline(*nodes, **parts),
        offers=list(offers),
        channels=list(channels),
        creatives=creatives_for(offers, channels) if creatives is None else list(creatives),
        policies=list(policies),
        today=TODAY,
        now=NOW,
    )


CUSTOMER_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "external_id": pl.String(),
    "email": pl.String(),
    "first_name": pl.String(),
    "suppressed": pl.Boolean(),
    "unsubscribed": pl.Boolean(),
    "created_at": pl.Date(),
    "age": pl.Int64(),
    "tier": pl.String(),
    "vip": pl.Boolean(),
    "joined": pl.Date(),
    "balance": pl.Float64(),
}


def customers(*rows: Mapping[str, Any]) -> pl.DataFrame:
    """One row per customer; unspecified fields null, flags false, ids 1, 2, 3…"""
    data = []
    for index, row in enumerate(rows, start=1):
        full = dict.fromkeys(CUSTOMER_SCHEMA)
        full.update(id=index, external_id=f"c{index}", email="", first_name="", suppressed=False, unsubscribed=False)
        full["created_at"] = dt.date(2024, 1, 1)
        full.update(row)
        data.append(full)
    return pl.DataFrame(data, schema=CUSTOMER_SCHEMA)


def history(*contacts: tuple[int, str, str | None, float]) -> History:
    """(row, offer key, channel id or None, hours ago) per contact."""
    return History(
        customer_rows=np.array([c[0] for c in contacts], dtype=np.int64),
        offer_ids=[f"off_{c[1]}" for c in contacts],
        channel_ids=[c[2] for c in contacts],
        contacted_at=[NOW - dt.timedelta(hours=c[3]) for c in contacts],
    )


def picks(decisions: Decisions, ctx: DecisionContext, row: int = 0) -> list[tuple[str, str]]:
    """The customer's recommendations in rank order: (offer key, channel id)."""
    mask = decisions.customer_rows == row
    ranks = decisions.rank[mask]
    assert list(ranks) == list(range(1, len(ranks) + 1))
    return [
        (ctx.candidates[j].key, ctx.channels[c].id)
        for j, c in zip(decisions.offer_idx[mask], decisions.channel_idx[mask], strict=True)
    ]


def keys(decisions: Decisions, ctx: DecisionContext, row: int = 0) -> list[str]:
    return [key for key, _ in picks(decisions, ctx, row)]


def reason_of(decisions: Decisions, ctx: DecisionContext, key: str, row: int = 0) -> Reason:
    return Reason(int(decisions.reason[row, ctx.offer_index[f"off_{key}"]]))


def leaf(field: str, operator: str, value: Any = None) -> dict[str, Any]:
    out = {"field": field, "operator": operator}
    if value is not None:
        out["value"] = value
    return out


def rules_node(*rules: Mapping[str, Any], type_: str = "qualify") -> dict[str, Any]:
    return {"type": type_, "rules": [dict(r) for r in rules]}


def hard(name: str, condition: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": name, "name": name, "condition": condition, "mode": "hard"}


def soft(name: str, condition: Mapping[str, Any], fit: float) -> dict[str, Any]:
    return {"id": name, "name": name, "condition": condition, "mode": "soft", "fit_multiplier": fit}


def policy_node(*ids: str) -> dict[str, Any]:
    return {"type": "contact_policy", "policy_ids": list(ids)}


def cap(
    name: str, max_count: int, period: str, scope: str = "global", channel: str | None = None, offer: str | None = None
) -> PolicyInfo:
    return PolicyInfo(
        id=f"cp_{name}",
        name=name,
        policy_type="frequency_cap",
        max_count=max_count,
        period=period,
        scope=scope,
        channel_id=channel,
        offer_id=offer,
    )


# --- inventory -----------------------------------------------------------------------------


def test_inventory_takes_active_offers_whose_date_window_contains_today():
    offers = [
        offer("plain"),
        offer("draft", status="draft"),
        offer("paused", status="paused"),
        offer("archived", status="archived"),
        offer("starts-today", start_date=TODAY),
        offer("ends-today", end_date=TODAY),
        offer("starts-tomorrow", start_date=TODAY + dt.timedelta(days=1)),
        offer("ended-yesterday", end_date=TODAY - dt.timedelta(days=1)),
        offer("window", start_date=TODAY - dt.timedelta(days=5), end_date=TODAY + dt.timedelta(days=5)),
    ]
    ctx = context(offers)
    # all priority 50: ordered by key
    assert [o.key for o in ctx.candidates] == ["ends-today", "plain", "starts-today", "window"]


def test_inventory_narrows_by_categories_or_offer_ids():
    offers = [offer("gold", category="cards"), offer("loan", category="loans"), offer("saver", category="savings")]
    assert [o.key for o in context(offers, inventory={"include_all": False, "categories": ["cards"]}).candidates] == [
        "gold"
    ]
    either = {"include_all": False, "categories": ["cards"], "offer_ids": ["off_saver"]}
    assert [o.key for o in context(offers, inventory=either).candidates] == ["gold", "saver"]
    # include_all takes everything; a node that names nothing does too (the pipeline's default)
    assert len(context(offers, inventory={"include_all": True}).candidates) == 3
    bare = DecisionContext(
        pipeline=[{"type": "inventory"}], offers=offers, channels=[], creatives=[], policies=[], today=TODAY, now=NOW
    )
    assert len(bare.candidates) == 3


def test_candidates_are_ordered_by_priority_then_key():
    ctx = context([offer("b", priority=50), offer("a", priority=50), offer("z", priority=90), offer("m", priority=10)])
    assert [o.key for o in ctx.candidates] == ["z", "a", "b", "m"]


# --- qualification -------------------------------------------------------------------------


def test_offer_eligibility_drops_customers_who_do_not_meet_it():
    adults = offer("adults", eligibility=leaf("customer.age", "gte", 18))
    ctx = context([adults, offer("anyone", priority=10)])
    batch = customers({"age": 30}, {"age": 16}, {})  # the third has no age: it never matches
    decisions = decide(ctx, batch)
    assert keys(decisions, ctx, 0) == ["adults"]
    assert keys(decisions, ctx, 1) == ["anyone"]
    assert keys(decisions, ctx, 2) == ["anyone"]
    assert reason_of(decisions, ctx, "adults", 1) == Reason.QUALIFICATION
    funnel = decisions.funnel(ctx)
    assert funnel["offers"]["off_adults"]["qualification"] == 2
    assert funnel["offers"]["off_adults"]["by_rule"] == {"offer eligibility": 2}


def test_offer_eligibility_may_speak_about_the_offer():
    # one condition for both offers: offers of priority 50 and more are for vip customers only
    condition = {"any": [leaf("offer.priority", "lt", 50), {"all": [leaf("customer.vip", "eq", True)]}]}
    premium = offer("premium", priority=80, eligibility=condition)
    basic = offer("basic", priority=30, eligibility=condition)
    ctx = context([premium, basic], rank={"max_offers_per_customer": 2})
    decisions = decide(ctx, customers({"vip": True}, {"vip": False}))
    assert keys(decisions, ctx, 0) == ["premium", "basic"]
    assert keys(decisions, ctx, 1) == ["basic"]


def test_hard_rules_drop_pairs_and_name_the_rule():
    offers = [offer("gold", category="cards"), offer("loan", category="loans")]
    node = rules_node(
        hard("adults only", leaf("customer.age", "gte", 18)),
        # offer-side rule: gold members get no loans
        hard(
            "no loans for gold", {"any": [leaf("offer.category", "neq", "loans"), leaf("customer.tier", "neq", "gold")]}
        ),
    )
    ctx = context(offers, node, rank={"max_offers_per_customer": 2})
    decisions = decide(ctx, customers({"age": 40, "tier": "gold"}, {"age": 12, "tier": "silver"}, {"age": 40}))
    assert keys(decisions, ctx, 0) == ["gold"]
    assert keys(decisions, ctx, 1) == []
    assert keys(decisions, ctx, 2) == ["gold", "loan"]  # no tier: "neq gold" holds
    funnel = decisions.funnel(ctx)
    assert funnel["offers"]["off_gold"]["by_rule"] == {"adults only": 1}
    # the pair dropped by both rules is credited to the first
    assert funnel["offers"]["off_loan"]["by_rule"] == {"adults only": 1, "no loans for gold": 1}
    assert funnel["customers_without_offers"] == {"no_eligible_offers": 1}


def test_one_context_decides_batches_of_other_columns():
    """A context serves many batches (a run's chunks, the Recommend API's requests) and keeps
    what it derived for their columns: a batch without the rule's column must not reuse it."""
    ctx = context([offer("gold")], rules_node(hard("adults only", leaf("customer.age", "gte", 18))))
    assert keys(decide(ctx, customers({"age": 40})), ctx, 0) == ["gold"]
    assert keys(decide(ctx, customers({"age": 40}).drop("age")), ctx, 0) == []  # no age: not an adult
    assert keys(decide(ctx, customers({"age": 12}, {"age": 41})), ctx, 1) == ["gold"]


def test_filter_nodes_are_rules_too():
    ctx = context([offer("gold")], rules_node(hard("vip", leaf("customer.vip", "eq", True)), type_="filter"))
    decisions = decide(ctx, customers({"vip": True}, {"vip": False}))
    assert keys(decisions, ctx, 0) == ["gold"]
    assert keys(decisions, ctx, 1) == []


def test_soft_rules_multiply_relevance_when_false():
    # one offer, I = 1, E = 0.5: score = 0.5^0.4 · R^0.2 · 1 · 0.5^0.1
    ctx = context(
        [offer("gold")],
        rules_node(soft("likes cards", leaf("customer.tier", "eq", "gold"), 0.5)),
        rules_node(soft("young", leaf("customer.age", "lt", 30), 0.8), type_="filter"),
    )
    decisions = decide(ctx, customers({"tier": "gold", "age": 20}, {"tier": "silver", "age": 20}, {"age": 50}))
    # R: 1; 0.5 (first rule false); 0.5 · 0.8 = 0.4 (both false: no tier never equals gold)
    assert list(decisions.relevance) == pytest.approx([1.0, 0.5, 0.4])
    e_factor = 0.5**0.1  # 0.933033
    assert list(decisions.score) == pytest.approx(
        [
            P_FACTOR * e_factor,  # 0.707107
            P_FACTOR * 0.8705505632961241 * e_factor,  # 0.5^0.2 = 0.870551 → 0.615572
            P_FACTOR * 0.8325532074018731 * e_factor,  # 0.4^0.2 = 0.832553 → 0.588706
        ]
    )


def test_soft_rule_with_fit_zero_eliminates_the_offer():
    ctx = context([offer("gold")], rules_node(soft("never", leaf("customer.vip", "eq", True), 0.0)))
    decisions = decide(ctx, customers({"vip": False}))
    assert decisions.count == 0
    assert reason_of(decisions, ctx, "gold") == Reason.ZERO_SCORE


# --- contact policies ----------------------------------------------------------------------


SUPPRESS_SUPPRESSED = PolicyInfo(id="cp_sup", name="legal hold", policy_type="suppression", suppress_suppressed=True)
SUPPRESS_UNSUBSCRIBED = PolicyInfo(
    id="cp_unsub", name="opt-outs", policy_type="suppression", suppress_unsubscribed=True
)


def test_suppression_drops_suppressed_and_unsubscribed_customers():
    batch = customers({}, {"suppressed": True}, {"unsubscribed": True})
    only_suppressed = context([offer("gold")], policy_node("cp_sup"), policies=[SUPPRESS_SUPPRESSED])
    decisions = decide(only_suppressed, batch)
    assert [keys(decisions, only_suppressed, row) for row in range(3)] == [["gold"], [], ["gold"]]
    both = context([offer("gold")], policy_node(), policies=[SUPPRESS_SUPPRESSED, SUPPRESS_UNSUBSCRIBED])
    decisions = decide(both, batch)
    assert [keys(decisions, both, row) for row in range(3)] == [["gold"], [], []]
    funnel = decisions.funnel(both)
    assert funnel["offers"]["off_gold"]["by_policy"] == {"cp_sup": 1, "cp_unsub": 1}
    assert funnel["customers_without_offers"] == {"contact_policy": 2}


def test_policies_apply_only_with_a_contact_policy_node_and_only_those_it_names():
    batch = customers({"suppressed": True, "unsubscribed": True})
    policies = [SUPPRESS_SUPPRESSED, SUPPRESS_UNSUBSCRIBED]
    no_node = context([offer("gold")], policies=policies)
    assert keys(decide(no_node, batch), no_node) == ["gold"]
    named = context([offer("gold")], policy_node("cp_unsub"), policies=policies)
    decisions = decide(named, batch)
    assert keys(decisions, named) == []
    assert decisions.funnel(named)["offers"]["off_gold"]["by_policy"] == {"cp_unsub": 1}


def test_global_frequency_cap_drops_customers_at_the_cap_and_limits_the_rest():
    policy = cap("three a week", 3, "week")
    offers = [offer("a", priority=90), offer("b", priority=80), offer("c", priority=70)]
    ctx = context(offers, policy_node(), policies=[policy], rank={"max_offers_per_customer": 3})
    contacts = history(
        # row 0: three contacts this week → at the cap
        (0, "a", "ch_email", 1),
        (0, "b", "ch_email", 50),
        (0, "c", None, 160),
        # row 1: one this week, one 8 days ago (outside the window) → 2 left
        (1, "a", "ch_email", 100),
        (1, "b", "ch_email", 8 * 24),
    )
    decisions = decide(ctx, customers({}, {}, {}), contacts)
    assert keys(decisions, ctx, 0) == []
    assert keys(decisions, ctx, 1) == ["a", "b"]
    assert keys(decisions, ctx, 2) == ["a", "b", "c"]
    # the capped customer loses everything to the policy; row 1 loses c to it (capacity)
    assert reason_of(decisions, ctx, "a", 0) == Reason.CONTACT_POLICY
    assert reason_of(decisions, ctx, "c", 1) == Reason.CONTACT_POLICY
    funnel = decisions.funnel(ctx)
    assert funnel["offers"]["off_c"]["by_policy"] == {"cp_three a week": 2}
    assert funnel["offers"]["off_c"]["outranked"] == 0
    assert funnel["customers_without_offers"] == {"contact_policy": 1}


@pytest.mark.parametrize(
    ("period", "hours_ago", "capped"),
    [
        ("day", 23, True),
        ("day", 25, False),
        ("week", 6 * 24 + 23, True),
        ("week", 7 * 24 + 1, False),
        ("month", 29 * 24, True),
        ("month", 31 * 24, False),
    ],
)
def test_frequency_cap_windows_are_a_day_a_week_and_thirty_days(period, hours_ago, capped):
    ctx = context([offer("a")], policy_node(), policies=[cap("once", 1, period)])
    decisions = decide(ctx, customers({}), history((0, "a", "ch_email", hours_ago)))
    assert keys(decisions, ctx) == ([] if capped else ["a"])


def test_channel_cap_moves_offers_to_the_next_channel_or_drops_them():
    policy = cap("one email a week", 1, "week", scope="channel", channel="ch_email")
    both = offer("both", priority=90)
    email_only = offer("email-only", priority=80)
    creatives = creatives_for([both], [EMAIL, SMS]) + creatives_for([email_only], [EMAIL])
    ctx = context(
        [both, email_only],
        policy_node(),
        channels=[EMAIL, SMS],
        creatives=creatives,
        policies=[policy],
        rank={"max_offers_per_customer": 2},
    )
    # row 0 had an email this week (an sms contact does not count); row 1 had none
    contacts = history((0, "both", "ch_email", 10), (0, "both", "ch_sms", 10))
    decisions = decide(ctx, customers({}, {}), contacts)
    assert picks(decisions, ctx, 0) == [("both", "ch_sms")]
    assert reason_of(decisions, ctx, "email-only", 0) == Reason.CONTACT_POLICY
    assert decisions.funnel(ctx)["offers"]["off_email-only"]["by_policy"] == {"cp_one email a week": 2}
    # row 1: the cap leaves one email: "both" takes it, "email-only" has no room left
    assert picks(decisions, ctx, 1) == [("both", "ch_email")]
    assert reason_of(decisions, ctx, "email-only", 1) == Reason.CONTACT_POLICY


def test_channel_cap_capacity_spills_over_to_other_channels():
    policy = cap("two emails a week", 2, "week", scope="channel", channel="ch_email")
    offers = [offer("a", priority=90), offer("b", priority=80), offer("c", priority=70)]
    ctx = context(offers, policy_node(), channels=[EMAIL, SMS], policies=[policy], rank={"max_offers_per_customer": 3})
    decisions = decide(ctx, customers({}), history((0, "a", "ch_email", 30)))
    # one email left: a on email, then b and c on sms
    assert picks(decisions, ctx) == [("a", "ch_email"), ("b", "ch_sms"), ("c", "ch_sms")]


def test_offer_cap_drops_only_that_offer():
    policy = cap("gold once a month", 1, "month", scope="offer", offer="off_gold")
    ctx = context(
        [offer("gold", priority=90), offer("loan")],
        policy_node(),
        policies=[policy],
        rank={"max_offers_per_customer": 2},
    )
    decisions = decide(ctx, customers({}, {}), history((0, "gold", "ch_email", 10 * 24)))
    assert keys(decisions, ctx, 0) == ["loan"]
    assert keys(decisions, ctx, 1) == ["gold", "loan"]
    assert decisions.funnel(ctx)["offers"]["off_gold"]["by_policy"] == {"cp_gold once a month": 1}


def test_cooldown_drops_offers_sent_within_its_hours_on_any_channel():
    policy = PolicyInfo(id="cp_cool", name="48h cooldown", policy_type="cooldown", cooldown_hours=48)
    ctx = context(
        [offer("a", priority=90), offer("b")], policy_node(), policies=[policy], rank={"max_offers_per_customer": 2}
    )
    decisions = decide(ctx, customers({}), history((0, "a", "ch_sms", 24), (0, "b", "ch_email", 72)))
    assert keys(decisions, ctx) == ["b"]
    assert reason_of(decisions, ctx, "a") == Reason.CONTACT_POLICY


def test_lookback_spans_the_longest_window_of_the_applied_policies():
    policies = [
        cap("weekly", 3, "week"),
        PolicyInfo(id="cp_cool", name="cool", policy_type="cooldown", cooldown_hours=72),
    ]
    assert context([offer("a")], policy_node(), policies=policies).lookback() == NOW - dt.timedelta(days=7)
    assert context([offer("a")], policy_node("cp_cool"), policies=policies).lookback() == NOW - dt.timedelta(hours=72)
    assert context([offer("a")], policies=policies).lookback() is None


# --- channels ------------------------------------------------------------------------------


def test_offer_without_a_creative_on_a_usable_channel_is_dropped():
    with_creative, without = offer("shown", priority=10), offer("hidden", priority=90)
    api = ChannelInfo(id="ch_api", name="API", delivery_mode="api")
    # "hidden" has a creative only on a channel this decision may not use
    creatives = creatives_for([with_creative], [EMAIL]) + creatives_for([without], [api])
    ctx = context([with_creative, without], creatives=creatives)
    decisions = decide(ctx, customers({}))
    assert keys(decisions, ctx) == ["shown"]
    assert reason_of(decisions, ctx, "hidden") == Reason.NO_CHANNEL


def test_the_first_channel_in_the_context_order_is_chosen():
    gold = offer("gold")
    assert picks(decide(ctx := context([gold], channels=[SMS, EMAIL]), customers({})), ctx) == [("gold", "ch_sms")]
    assert picks(decide(ctx := context([gold], channels=[EMAIL, SMS]), customers({})), ctx) == [("gold", "ch_email")]
    # two creatives of one offer on one channel: the first by id is the one recommended
    twins = [
        CreativeInfo(id="cr_b", offer_id=gold.id, channel_id=EMAIL.id),
        CreativeInfo(id="cr_a", offer_id=gold.id, channel_id=EMAIL.id),
    ]
    assert context([gold], creatives=twins).creative_at[(0, 0)].id == "cr_a"


# --- scores --------------------------------------------------------------------------------


def test_prie_with_default_weights():
    a = offer("a", priority=80, business_value=200)
    b = offer("b", priority=50, business_value=100)
    ctx = context([a, b], rank={"max_offers_per_customer": 2})
    decisions = decide(ctx, customers({}))
    assert keys(decisions, ctx) == ["a", "b"]
    # a: I = 200/200 = 1, E = 0.8 → 0.5^0.4 · 1 · 1 · 0.8^0.1 = 0.757858 · 0.977933 = 0.741134
    # b: I = 100/200 = 0.5, E = 0.5 → 0.757858 · 0.5^0.3 · 0.5^0.1 = 0.757858² = 0.574349
    assert list(decisions.score) == pytest.approx([0.7411344491069477, 0.5743491774985175])
    assert list(decisions.propensity) == [0.5, 0.5]
    assert list(decisions.relevance) == [1.0, 1.0]


def test_prie_with_custom_weights():
    a = offer("a", priority=80, business_value=200)
    b = offer("b", priority=60, business_value=100)
    weights = {"propensity": 0.5, "relevance": 0.0, "impact": 0.5, "emphasis": 0.0}
    ctx = context([a, b], score={"weights": weights}, rank={"max_offers_per_customer": 2})
    decisions = decide(ctx, customers({}))
    # a: 0.5^0.5 · 1^0.5 = 0.707107; b: 0.5^0.5 · 0.5^0.5 = 0.5 (E has no weight)
    assert list(decisions.score) == pytest.approx([math.sqrt(0.5), 0.5])
    # only emphasis: the score is priority / 100
    only_e = {"propensity": 0.0, "relevance": 0.0, "impact": 0.0, "emphasis": 1.0}
    ctx = context([a, b], score={"weights": only_e}, rank={"max_offers_per_customer": 2})
    assert list(decide(ctx, customers({})).score) == pytest.approx([0.8, 0.6])


def test_priority_weighted_is_e_times_p_times_r():
    ctx = context(
        [offer("a", priority=80), offer("b", priority=40)],
        rules_node(soft("vip", leaf("customer.vip", "eq", True), 0.5)),
        score={"method": "priority_weighted"},
        rank={"max_offers_per_customer": 2},
    )
    decisions = decide(ctx, customers({"vip": True}, {"vip": False}))
    # vip: 0.8 · 0.5 · 1 = 0.4 and 0.4 · 0.5 = 0.2; not vip: halved by R = 0.5
    assert list(decisions.score) == pytest.approx([0.4, 0.2, 0.2, 0.1])


def test_formula_sees_p_r_i_e_priority_and_business_value():
    a = offer("a", priority=30, business_value=50)
    b = offer("b", priority=60, business_value=200)
    formula = "business_value / 100 + priority / 1000 + p * r * i * e"
    ctx = context([a, b], score={"method": "formula", "formula": formula}, rank={"max_offers_per_customer": 2})
    decisions = decide(ctx, customers({}))
    # b: 2 + 0.06 + 0.5 · 1 · 1 · 0.6 = 2.36; a: 0.5 + 0.03 + 0.5 · 1 · 0.25 · 0.3 = 0.5675
    assert keys(decisions, ctx) == ["b", "a"]
    assert list(decisions.score) == pytest.approx([2.36, 0.5675])


@pytest.mark.parametrize("formula", ["p - 0.5", "e - 1", "1 / (e - e)", "(e - e) / (e - e)", "0 * p"])
def test_formula_giving_zero_negative_or_not_finite_drops_the_offer(formula):
    ctx = context([offer("a")], score={"method": "formula", "formula": formula})
    decisions = decide(ctx, customers({}))
    assert decisions.count == 0
    assert reason_of(decisions, ctx, "a") == Reason.ZERO_SCORE
    assert decisions.funnel(ctx)["customers_without_offers"] == {"zero_score": 1}


def test_scorecard_propensity_is_the_sigmoid_of_base_logit_plus_points():
    model = {
        "base_score": 0.2,
        "rules": [
            {"condition": leaf("customer.age", "gte", 30), "points": 0.5},
            {"condition": leaf("customer.tier", "eq", "basic"), "points": -0.3},
        ],
    }
    ctx = context([offer("a")], score={"method": "priority_weighted", "propensity_model": model})
    decisions = decide(ctx, customers({"age": 40}, {"age": 40, "tier": "basic"}, {"age": 20}))
    # logit(0.2) = ln(0.25) = -1.386294
    # row 0: -1.386294 + 0.5 = -0.886294 → 1 / (1 + e^0.886294) = 0.291875
    # row 1: -0.886294 - 0.3 = -1.186294 → 0.233922
    # row 2: no points → 0.2
    assert list(decisions.propensity) == pytest.approx([0.2918751327405783, 0.233922341319356, 0.2])
    # priority_weighted with E = 0.5, R = 1
    assert list(decisions.score) == pytest.approx([0.14593756637, 0.11696117066, 0.1])


def test_scorecard_base_zero_is_a_zero_factor():
    model = {"base_score": 0.0, "rules": [{"condition": leaf("customer.age", "gte", 0), "points": 1.0}]}
    ctx = context([offer("a")], score={"propensity_model": model})
    decisions = decide(ctx, customers({"age": 5}))
    assert reason_of(decisions, ctx, "a") == Reason.ZERO_SCORE


def test_equal_scores_rank_by_priority_then_key():
    # only P counts: every offer scores 0.5
    weights = {"propensity": 1.0, "relevance": 0.0, "impact": 0.0, "emphasis": 0.0}
    offers = [offer("b", priority=50), offer("c", priority=70), offer("a", priority=50)]
    ctx = context(offers, score={"weights": weights}, rank={"max_offers_per_customer": 3})
    decisions = decide(ctx, customers({}))
    assert list(decisions.score) == [0.5, 0.5, 0.5]
    assert keys(decisions, ctx) == ["c", "a", "b"]


def test_business_value_zero_is_a_zero_factor():
    ctx = context([offer("free", business_value=0.0, priority=90), offer("paid", business_value=10.0)])
    decisions = decide(ctx, customers({}))
    # free: I = 0/10 = 0 → 0^0.3 = 0 → dropped though its priority is higher
    assert keys(decisions, ctx) == ["paid"]
    assert reason_of(decisions, ctx, "free") == Reason.ZERO_SCORE
    assert decisions.funnel(ctx)["offers"]["off_free"]["zero_score"] == 1


def test_when_every_business_value_is_zero_impact_is_one():
    ctx = context([offer("a", business_value=0.0, priority=40)])
    decisions = decide(ctx, customers({}))
    # I = 1: 0.5^0.4 · 0.4^0.1 = 0.757858 · 0.912444 = 0.691503
    assert list(decisions.score) == pytest.approx([P_FACTOR * 0.4**0.1])


def test_priority_zero_is_a_zero_factor():
    ctx = context([offer("a", priority=0)])
    assert reason_of(decide(ctx, customers({})), ctx, "a") == Reason.ZERO_SCORE


# --- rank ----------------------------------------------------------------------------------


def test_rank_keeps_the_top_n_by_score():
    offers = [offer("a", priority=90), offer("b", priority=60), offer("c", priority=30)]
    ctx = context(offers, rank={"max_offers_per_customer": 2})
    decisions = decide(ctx, customers({}, {}))
    assert keys(decisions, ctx, 0) == ["a", "b"]
    assert list(decisions.rank) == [1, 2, 1, 2]
    assert list(decisions.customer_rows) == [0, 0, 1, 1]
    assert reason_of(decisions, ctx, "c") == Reason.OUTRANKED
    assert decisions.funnel(ctx)["offers"]["off_c"]["outranked"] == 2


def test_one_offer_per_channel_moves_offers_to_their_next_channel():
    a, b, c = offer("a", priority=90), offer("b", priority=60), offer("c", priority=30)
    creatives = creatives_for([a, b], [EMAIL, SMS]) + creatives_for([c], [EMAIL])
    ctx = context(
        [a, b, c],
        channels=[EMAIL, SMS],
        creatives=creatives,
        rank={"max_offers_per_customer": 3, "one_offer_per_channel": True},
    )
    decisions = decide(ctx, customers({}))
    # a takes email, b goes to sms, c (email only) finds no free channel
    assert picks(decisions, ctx) == [("a", "ch_email"), ("b", "ch_sms")]
    assert reason_of(decisions, ctx, "c") == Reason.OUTRANKED


def test_one_offer_per_channel_with_a_channel_cap_credits_the_cap():
    # one email left this week; a takes it. b (email only) is blocked by the cap and by the
    # one-per-channel rule alike: the cap is the reason, since more room would not help it.
    policy = cap("two emails a week", 2, "week", scope="channel", channel="ch_email")
    a, b, c = offer("a", priority=90), offer("b", priority=60), offer("c", priority=30)
    creatives = creatives_for([a, c], [EMAIL, SMS]) + creatives_for([b], [EMAIL])
    ctx = context(
        [a, b, c],
        policy_node(),
        channels=[EMAIL, SMS],
        creatives=creatives,
        policies=[policy],
        rank={"max_offers_per_customer": 3, "one_offer_per_channel": True},
    )
    decisions = decide(ctx, customers({}), history((0, "a", "ch_email", 5)))
    assert picks(decisions, ctx) == [("a", "ch_email"), ("c", "ch_sms")]
    assert decisions.funnel(ctx)["offers"]["off_b"]["by_policy"] == {"cp_two emails a week": 1}
    # without the cap, b loses to the one-per-channel rule: outranked
    ctx = context(
        [a, b, c],
        channels=[EMAIL, SMS],
        creatives=creatives,
        rank={"max_offers_per_customer": 3, "one_offer_per_channel": True},
    )
    decisions = decide(ctx, customers({}))
    assert picks(decisions, ctx) == [("a", "ch_email"), ("c", "ch_sms")]
    assert reason_of(decisions, ctx, "b") == Reason.OUTRANKED


# --- funnel --------------------------------------------------------------------------------


def _funnel_case() -> tuple[DecisionContext, pl.DataFrame, History]:
    offers = [offer("a", priority=90), offer("b", priority=60), offer("c", priority=30), offer("d", business_value=0.0)]
    ctx = context(
        offers,
        rules_node(hard("adults", leaf("customer.age", "gte", 18))),
        policy_node(),
        policies=[SUPPRESS_SUPPRESSED, cap("weekly", 2, "week")],
        rank={"max_offers_per_customer": 2},
    )
    batch = customers({"age": 30}, {"age": 10}, {"age": 30, "suppressed": True}, {"age": 30}, {"age": 50})
    return ctx, batch, history((3, "a", "ch_email", 2), (3, "b", None, 100))


def test_funnel_counts_every_stage_rule_and_policy():
    ctx, batch, contacts = _funnel_case()
    decisions = decide(ctx, batch, contacts)
    funnel = decisions.funnel(ctx)
    assert funnel["customers"] == 5
    assert funnel["offers"]["off_a"] == {
        "considered": 5,
        "recommended": 2,  # rows 0 and 4
        "qualification": 1,  # row 1
        "contact_policy": 2,  # row 2 suppressed, row 3 at the weekly cap
        "no_channel": 0,
        "zero_score": 0,
        "outranked": 0,
        "by_rule": {"adults": 1},
        "by_policy": {"cp_sup": 1, "cp_weekly": 1},
    }
    assert funnel["offers"]["off_c"]["outranked"] == 2
    assert funnel["offers"]["off_d"]["zero_score"] == 2
    assert funnel["customers_without_offers"] == {"no_eligible_offers": 1, "contact_policy": 2}
    for entry in funnel["offers"].values():
        stages = ("recommended", "qualification", "contact_policy", "no_channel", "zero_score", "outranked")
        assert sum(entry[s] for s in stages) == entry["considered"]


def test_merge_funnels_adds_batches_up():
    ctx, batch, contacts = _funnel_case()
    whole = decide(ctx, batch, contacts).funnel(ctx)
    first = decide(ctx, batch[:2]).funnel(ctx)
    second = decide(ctx, batch[2:], history((1, "a", "ch_email", 2), (1, "b", None, 100))).funnel(ctx)
    total = merge_funnels(merge_funnels(None, first), second)
    assert total == whole
    assert merge_funnels(None, first) == first
    assert first["customers"] == 2  # merging copies: the parts are left alone


def test_an_empty_inventory_leaves_every_customer_without_offers():
    ctx = context([offer("draft", status="draft")])
    decisions = decide(ctx, customers({}, {}))
    assert decisions.count == 0
    assert decisions.funnel(ctx) == {
        "customers": 2,
        "offers": {},
        "customers_without_offers": {"no_eligible_offers": 2},
    }


def test_an_empty_batch_decides_nothing():
    ctx, batch, _ = _funnel_case()
    decisions = decide(ctx, batch.clear())
    assert decisions.count == 0
    assert decisions.funnel(ctx)["customers"] == 0


def test_explain_names_the_rule_the_policy_or_the_stage():
    base, batch, contacts = _funnel_case()
    kids = offer("kids", priority=95, eligibility=leaf("customer.age", "lt", 18))
    ctx = context(
        [*base.offers, kids],
        rules_node(hard("adults", leaf("customer.age", "gte", 18))),
        policy_node(),
        policies=[SUPPRESS_SUPPRESSED, cap("weekly", 2, "week")],
        rank={"max_offers_per_customer": 2},
    )
    decisions = decide(ctx, batch, contacts)

    def why(row: int) -> dict[str, tuple[str, str]]:
        return {ctx.candidates[j].key: (reason.name, text) for j, reason, text in decisions.explain(row, ctx)}

    assert why(0) == {
        "kids": ("QUALIFICATION", "The customer does not meet the offer's eligibility condition."),
        "c": ("OUTRANKED", "Better-scored offers took the available places."),
        "d": ("ZERO_SCORE", "The offer scored 0 or less: a zero factor, or the flow's formula."),
    }
    assert why(1)["a"] == ("QUALIFICATION", "adults")
    assert why(2)["a"] == ("CONTACT_POLICY", "legal hold")
    assert why(3)["b"] == ("CONTACT_POLICY", "weekly")


# --- conditions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        # rows: tier gold, tier silver, no tier
        (leaf("customer.tier", "eq", "gold"), [True, False, False]),
        (leaf("customer.tier", "neq", "gold"), [False, True, True]),
        (leaf("customer.tier", "in", ["gold", "bronze"]), [True, False, False]),
        (leaf("customer.tier", "not_in", ["gold", "bronze"]), [False, True, True]),
        (leaf("customer.tier", "contains", "ol"), [True, False, False]),
        (leaf("customer.tier", "starts_with", "si"), [False, True, False]),
        (leaf("customer.tier", "is_null"), [False, False, True]),
        (leaf("customer.tier", "is_not_null"), [True, True, False]),
        # the number, date and boolean columns are null in every row but the first
        (leaf("customer.age", "gt", 1), [True, False, False]),
        (leaf("customer.age", "lte", 99), [True, False, False]),
        (leaf("customer.age", "neq", 5), [True, True, True]),
        (leaf("customer.age", "in", [42]), [True, False, False]),
        (leaf("customer.balance", "lt", 10.5), [True, False, False]),
        (leaf("customer.vip", "eq", False), [True, False, False]),
        (leaf("customer.vip", "neq", True), [True, True, True]),
        (leaf("customer.joined", "gte", "2024-01-01"), [True, False, False]),
        (leaf("customer.joined", "is_null"), [False, True, True]),
        # no customer has "shoe_size": all null
        (leaf("customer.shoe_size", "eq", 42), [False, False, False]),
        (leaf("customer.shoe_size", "neq", 42), [True, True, True]),
        (leaf("customer.shoe_size", "is_null"), [True, True, True]),
        ({"all": []}, [True, True, True]),
        ({"any": []}, [True, True, True]),
    ],
)
def test_null_values_match_only_is_null_neq_and_not_in(condition, expected):
    ctx = context([offer("a")], rules_node(hard("rule", condition)))
    batch = customers(
        {"tier": "gold", "age": 42, "balance": 3.5, "vip": False, "joined": dt.date(2024, 6, 1)},
        {"tier": "silver"},
        {},
    )
    decisions = decide(ctx, batch)
    assert [bool(keys(decisions, ctx, row)) for row in range(3)] == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (leaf("customer.joined", "lt", "2024-03-01"), [True, False, False]),
        (leaf("customer.joined", "gte", "2024-03-01"), [False, True, True]),
        (leaf("customer.joined", "eq", "2024-03-01"), [False, True, False]),
        (leaf("customer.joined", "in", ["2023-12-31", "2025-01-01"]), [True, False, True]),
        (leaf("customer.joined", "not_in", ["2023-12-31"]), [False, True, True]),
        (leaf("customer.created_at", "gt", "2024-05-01"), [False, False, True]),
    ],
)
def test_dates_compare_as_dates(condition, expected):
    ctx = context([offer("a")], rules_node(hard("rule", condition)))
    batch = customers(
        {"joined": dt.date(2023, 12, 31)},
        {"joined": dt.date(2024, 3, 1)},
        {"joined": dt.date(2025, 1, 1), "created_at": dt.date(2024, 5, 2)},
    )
    decisions = decide(ctx, batch)
    assert [bool(keys(decisions, ctx, row)) for row in range(3)] == expected


def test_datetime_columns_compare_by_their_date():
    batch = customers({}, {}).with_columns(
        pl.Series("created_at", [dt.datetime(2024, 5, 1, 23, 59), dt.datetime(2024, 5, 2, 0, 1)])
    )
    ctx = context([offer("a")], rules_node(hard("rule", leaf("customer.created_at", "eq", "2024-05-02"))))
    decisions = decide(ctx, batch)
    assert [bool(keys(decisions, ctx, row)) for row in range(2)] == [False, True]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (leaf("offer.tags", "contains", "premium"), ["gold"]),
        (leaf("offer.tags", "is_null"), ["plain"]),
        (leaf("offer.category", "in", ["cards", "loans"]), ["gold", "loan"]),
        (leaf("offer.category", "not_in", ["cards"]), ["loan", "plain"]),  # plain has no category
        (leaf("offer.category", "neq", "loans"), ["gold", "plain"]),
        (leaf("offer.category", "eq", "loans"), ["loan"]),
        (leaf("offer.name", "starts_with", "Go"), ["gold"]),
        (leaf("offer.name", "contains", "oa"), ["loan"]),
        (leaf("offer.priority", "gte", 60), ["gold", "loan"]),
        (leaf("offer.business_value", "lt", 100), ["plain"]),
        (leaf("offer.end_date", "lt", "2025-12-31"), ["gold"]),
        (leaf("offer.end_date", "is_null"), ["loan", "plain"]),
        (leaf("offer.end_date", "neq", "2025-06-30"), ["loan", "plain"]),
    ],
)
def test_conditions_on_offer_fields(condition, expected):
    offers = [
        offer("gold", category="cards", tags=("premium", "travel"), priority=80, end_date=dt.date(2025, 6, 30)),
        offer("loan", category="loans", tags=("credit",), priority=60, business_value=500.0),
        offer("plain", priority=40, business_value=10.0),
    ]
    ctx = context(offers, rules_node(hard("rule", condition)), rank={"max_offers_per_customer": 3})
    assert sorted(keys(decide(ctx, customers({})), ctx)) == expected


def test_offer_fields_for_personalization():
    fields = offer_fields(offer("gold", business_value=120.0, tags=("a",), start_date=TODAY))
    assert fields["business_value"] == 120
    assert fields["tags"] == ["a"]
    assert fields["start_date"] == TODAY
    assert offer_fields(offer("x", business_value=99.5))["business_value"] == 99.5


# --- the same semantics, written per customer ----------------------------------------------

TIERS = ["gold", "silver", "basic", None]
LEAVES: list[dict[str, Any]] = [
    leaf("customer.age", "gte", 30),
    leaf("customer.age", "lt", 50),
    leaf("customer.age", "is_null"),
    leaf("customer.tier", "eq", "gold"),
    leaf("customer.tier", "neq", "basic"),
    leaf("customer.tier", "in", ["gold", "silver"]),
    leaf("customer.tier", "not_in", ["gold"]),
    leaf("customer.tier", "starts_with", "si"),
    leaf("customer.vip", "eq", True),
    leaf("customer.vip", "neq", True),
    leaf("customer.joined", "lt", "2024-06-01"),
    leaf("customer.joined", "is_not_null"),
    leaf("customer.balance", "gt", 250.0),
    leaf("customer.email", "contains", "@example"),
    leaf("offer.tags", "contains", "premium"),
    leaf("offer.category", "eq", "cards"),
    leaf("offer.priority", "gt", 50),
    leaf("offer.end_date", "is_null"),
]
FORMULAS: dict[str, Callable[[dict[str, float]], float]] = {
    "p * e + i": lambda v: v["p"] * v["e"] + v["i"],
    "p * r - 0.3": lambda v: v["p"] * v["r"] - 0.3,
    "business_value / priority": lambda v: v["business_value"] / v["priority"] if v["priority"] else math.inf,
    "min(p, i) * max(r, e)": lambda v: min(v["p"], v["i"]) * max(v["r"], v["e"]),
}


def _matches(condition: Mapping[str, Any] | None, customer: Mapping[str, Any], o: OfferInfo) -> bool:
    if not condition:
        return True
    if "all" in condition:
        return all(_matches(c, customer, o) for c in condition["all"])
    if "any" in condition:
        items = condition["any"]
        return not items or any(_matches(c, customer, o) for c in items)
    field: str = condition["field"]
    operator: str = condition["operator"]
    value: Any = condition.get("value")
    if field.startswith("offer."):
        actual = getattr(o, field[6:])
        if isinstance(actual, tuple):
            actual = list(actual)
        if isinstance(actual, dt.date):
            actual = actual.isoformat()
        if actual in (None, "", []):
            actual = None
    else:
        actual = customer.get(field.removeprefix("customer."))
        if isinstance(actual, dt.date) and value is not None:
            value = (
                [dt.date.fromisoformat(v) for v in value] if isinstance(value, list) else dt.date.fromisoformat(value)
            )
    if operator == "is_null":
        return actual is None
    if operator == "is_not_null":
        return actual is not None
    if actual is None:
        return operator in ("neq", "not_in")
    return {
        "eq": lambda: actual == value,
        "neq": lambda: actual != value,
        "gt": lambda: actual > value,
        "gte": lambda: actual >= value,
        "lt": lambda: actual < value,
        "lte": lambda: actual <= value,
        "in": lambda: actual in value,
        "not_in": lambda: actual not in value,
        "contains": lambda: value in actual,
        "starts_with": lambda: actual.startswith(value),
    }[operator]()


def reference(
    ctx_parts: Mapping[str, Any], customer: Mapping[str, Any], contacts: list[tuple[str, str | None, float]]
) -> tuple[list[tuple[str, str, float]], dict[str, str]]:
    """One customer through the documented semantics, plainly: (offer id, channel id, score) in
    rank order, and the stage that dropped each other candidate."""
    offers: list[OfferInfo] = ctx_parts["offers"]
    channels: list[str] = [c.id for c in ctx_parts["channels"]]
    creative = {(c.offer_id, c.channel_id) for c in ctx_parts["creatives"]}
    nodes = ctx_parts["pipeline"]
    inventory = nodes[0]
    score_node = next(n for n in nodes if n["type"] == "score")
    rank_node = next(n for n in nodes if n["type"] == "rank")

    def in_inventory(o: OfferInfo) -> bool:
        if o.status != "active" or (o.start_date and o.start_date > TODAY) or (o.end_date and o.end_date < TODAY):
            return False
        return inventory["include_all"] or o.id in inventory["offer_ids"] or o.category in inventory["categories"]

    candidates = sorted((o for o in offers if in_inventory(o)), key=lambda o: (-o.priority, o.key))
    dropped: dict[str, str] = {}
    relevance = {o.id: 1.0 for o in candidates}

    def drop(o: OfferInfo, stage: str) -> None:
        dropped.setdefault(o.id, stage)

    for o in candidates:
        if o.eligibility and not _matches(o.eligibility, customer, o):
            drop(o, "qualification")
    for node in nodes:
        for rule in node.get("rules", []) if node["type"] in ("qualify", "filter") else []:
            for o in candidates:
                if not _matches(rule["condition"], customer, o):
                    if rule["mode"] == "hard":
                        drop(o, "qualification")
                    else:
                        relevance[o.id] *= rule["fit_multiplier"]

    policy_nodes = [n for n in nodes if n["type"] == "contact_policy"]
    named = {i for n in policy_nodes for i in n["policy_ids"]}
    every = any(not n["policy_ids"] for n in policy_nodes)
    policies = [p for p in ctx_parts["policies"] if policy_nodes and (every or p.id in named)]
    capacity, channel_capacity = math.inf, dict.fromkeys(channels, math.inf)
    ids = {o.id for o in candidates}
    alive = lambda: [o for o in candidates if o.id not in dropped]  # noqa: E731
    for p in policies:
        if p.policy_type == "suppression":
            if (p.suppress_suppressed and customer["suppressed"]) or (
                p.suppress_unsubscribed and customer["unsubscribed"]
            ):
                for o in alive():
                    drop(o, "contact_policy")
        elif p.policy_type == "cooldown":
            for o in alive():
                if any(offer_id == o.id and hours <= p.cooldown_hours for offer_id, _, hours in contacts):
                    drop(o, "contact_policy")
        else:
            window = {"day": 24, "week": 7 * 24, "month": 30 * 24}[p.period]
            recent = [(offer_id, channel) for offer_id, channel, hours in contacts if hours <= window]
            if p.scope == "offer":
                if p.offer_id in ids and sum(1 for offer_id, _ in recent if offer_id == p.offer_id) >= p.max_count:
                    for o in alive():
                        if o.id == p.offer_id:
                            drop(o, "contact_policy")
            elif p.scope == "channel":
                if p.channel_id in channel_capacity:
                    left = p.max_count - sum(1 for _, channel in recent if channel == p.channel_id)
                    channel_capacity[p.channel_id] = min(channel_capacity[p.channel_id], left)
            else:
                left = p.max_count - len(recent)
                capacity = min(capacity, left)
                if left <= 0:
                    for o in alive():
                        drop(o, "contact_policy")

    for o in alive():
        mine = [c for c in channels if (o.id, c) in creative]
        if not mine:
            drop(o, "no_channel")
        elif all(channel_capacity[c] <= 0 for c in mine):
            drop(o, "contact_policy")

    top = max((o.business_value for o in candidates), default=0.0)
    model = score_node.get("propensity_model")
    scores: dict[str, float] = {}
    for o in alive():
        if model:
            base = model["base_score"]
            z = math.log(base / (1 - base)) + sum(
                r["points"] for r in model["rules"] if _matches(r["condition"], customer, o)
            )
            p = 1 / (1 + math.exp(-z))
        else:
            p = 0.5
        v = {
            "p": p,
            "r": relevance[o.id],
            "i": o.business_value / top if top > 0 else 1.0,
            "e": o.priority / 100,
            "priority": float(o.priority),
            "business_value": o.business_value,
        }
        if score_node["method"] == "formula":
            s = FORMULAS[score_node["formula"]](v)
        elif score_node["method"] == "priority_weighted":
            s = v["e"] * v["p"] * v["r"]
        else:
            w = score_node["weights"] or {"propensity": 0.4, "relevance": 0.2, "impact": 0.3, "emphasis": 0.1}
            s = v["p"] ** w["propensity"] * v["r"] ** w["relevance"] * v["i"] ** w["impact"] * v["e"] ** w["emphasis"]
        if not (math.isfinite(s) and s > 0):
            drop(o, "zero_score")
        else:
            scores[o.id] = s

    max_offers = rank_node["max_offers_per_customer"]
    limit = min(capacity, max_offers)
    order = sorted(alive(), key=lambda o: (-scores[o.id], candidates.index(o)))
    cap_left = dict(channel_capacity)
    used: set[str] = set()
    out: list[tuple[str, str, float]] = []
    for o in order:
        mine = [c for c in channels if (o.id, c) in creative]
        open_ = [c for c in mine if cap_left[c] > 0]
        room = [c for c in open_ if c not in used] if rank_node["one_offer_per_channel"] else open_
        if len(out) < limit and room:
            out.append((o.id, room[0], scores[o.id]))
            cap_left[room[0]] -= 1
            used.add(room[0])
        elif len(out) >= limit:
            drop(o, "contact_policy" if capacity < max_offers else "outranked")
        elif not open_:
            drop(o, "contact_policy")
        else:
            drop(o, "outranked")
    return out, dropped


def _random_case(
    rng: random.Random,
) -> tuple[dict[str, Any], pl.DataFrame, History, list[list[tuple[str, str | None, float]]]]:
    channels = [EMAIL, SMS, PUSH][: rng.randint(1, 3)]
    offers = []
    for index in range(rng.randint(1, 7)):
        fields: dict[str, Any] = {
            "category": rng.choice(["cards", "loans", ""]),
            "priority": rng.choice([0, 20, 50, 50, 70, 90, 100]),
            "business_value": rng.choice([0.0, 10.0, 100.0, 100.0, 250.0]),
            "tags": tuple(rng.sample(["premium", "travel", "new"], rng.randint(0, 2))),
            "status": rng.choice(["active"] * 6 + ["paused"]),
        }
        if rng.random() < 0.2:
            fields["end_date"] = TODAY + dt.timedelta(days=rng.randint(-3, 30))
        if rng.random() < 0.1:
            fields["start_date"] = TODAY + dt.timedelta(days=rng.randint(-3, 3))
        if rng.random() < 0.3:
            fields["eligibility"] = rng.choice(LEAVES)
        offers.append(offer(f"o{index}", **fields))
    creatives = [
        CreativeInfo(id=f"cr_{o.key}_{c.id}", offer_id=o.id, channel_id=c.id)
        for o in offers
        for c in channels
        if rng.random() < 0.7
    ]

    def condition() -> dict[str, Any]:
        if rng.random() < 0.3:
            return {rng.choice(["all", "any"]): rng.sample(LEAVES, 2)}
        return dict(rng.choice(LEAVES))

    nodes: list[dict[str, Any]] = []
    for number in range(rng.randint(0, 2)):
        rules = []
        for index in range(rng.randint(1, 3)):
            if rng.random() < 0.5:
                rules.append(hard(f"hard {number}.{index}", condition()))
            else:
                rules.append(soft(f"soft {number}.{index}", condition(), rng.choice([0.0, 0.3, 0.5, 0.9])))
        nodes.append(rules_node(*rules, type_=rng.choice(["qualify", "filter"])))
    policies: list[PolicyInfo] = []
    for index in range(rng.randint(0, 4)):
        kind = rng.choice(["suppression", "cooldown", "global", "channel", "offer"])
        if kind == "suppression":
            policies.append(
                PolicyInfo(
                    id=f"cp_{index}",
                    name=f"p{index}",
                    policy_type="suppression",
                    suppress_suppressed=rng.random() < 0.7,
                    suppress_unsubscribed=rng.random() < 0.7,
                )
            )
        elif kind == "cooldown":
            policies.append(
                PolicyInfo(
                    id=f"cp_{index}", name=f"p{index}", policy_type="cooldown", cooldown_hours=rng.choice([12, 48, 200])
                )
            )
        else:
            policy = cap(f"{index}", rng.randint(1, 3), rng.choice(["day", "week", "month"]), scope=kind)
            if kind == "channel":
                policy = cap(
                    f"{index}", policy.max_count or 1, policy.period, "channel", channel=rng.choice(channels).id
                )
            if kind == "offer":
                policy = cap(f"{index}", policy.max_count or 1, policy.period, "offer", offer=rng.choice(offers).id)
            policies.append(policy)
    if policies and rng.random() < 0.8:
        chosen = [] if rng.random() < 0.5 else [p.id for p in rng.sample(policies, rng.randint(1, len(policies)))]
        nodes.append(policy_node(*chosen))
    method = rng.choice(["prie", "prie", "prie_custom", "priority_weighted", "formula"])
    score: dict[str, Any] = {"method": "prie" if method.startswith("prie") else method}
    if method == "prie_custom":
        score["weights"] = rng.choice(
            [
                {"propensity": 0.25, "relevance": 0.25, "impact": 0.25, "emphasis": 0.25},
                {"propensity": 1.0, "relevance": 0.0, "impact": 0.0, "emphasis": 0.0},
                {"propensity": 0.0, "relevance": 0.5, "impact": 0.0, "emphasis": 0.5},
            ]
        )
    if method == "formula":
        score["formula"] = rng.choice(list(FORMULAS))
    if rng.random() < 0.4:
        score["propensity_model"] = {
            "base_score": rng.choice([0.1, 0.5, 0.8]),
            "rules": [{"condition": condition(), "points": rng.choice([-1.0, -0.4, 0.3, 1.0])} for _ in range(2)],
        }
    inventory = {"include_all": True, "categories": [], "offer_ids": []}
    if rng.random() < 0.3:
        inventory = {"include_all": False, "categories": ["cards"], "offer_ids": [offers[0].id]}
    rank = {"max_offers_per_customer": rng.randint(1, 4), "one_offer_per_channel": rng.random() < 0.4}
    parts = {
        "pipeline": pipeline(*nodes, inventory=inventory, score=score, rank=rank),
        "offers": offers,
        "channels": channels,
        "creatives": creatives,
        "policies": policies,
    }

    rows = []
    contacts: list[list[tuple[str, str | None, float]]] = []
    for _ in range(rng.randint(1, 25)):
        rows.append(
            {
                "age": rng.choice([None, 17, 30, 45, 70]),
                "tier": rng.choice(TIERS),
                "vip": rng.choice([None, True, False]),
                "joined": rng.choice([None, dt.date(2023, 1, 5), dt.date(2024, 6, 1), dt.date(2025, 2, 1)]),
                "balance": rng.choice([None, 0.0, 250.0, 1000.5]),
                "email": rng.choice(["", "a@example.com", "b@other.org"]),
                "suppressed": rng.random() < 0.15,
                "unsubscribed": rng.random() < 0.15,
            }
        )
        contacts.append(
            [
                (
                    rng.choice(offers).id,
                    rng.choice([*[c.id for c in channels], None, "ch_gone"]),
                    rng.uniform(0, 40 * 24),
                )
                for _ in range(rng.choice([0, 0, 1, 2, 4]))
            ]
        )
    flat = [(row, offer_id, channel, hours) for row, mine in enumerate(contacts) for offer_id, channel, hours in mine]
    contact_history = History(
        customer_rows=np.array([c[0] for c in flat], dtype=np.int64),
        offer_ids=[c[1] for c in flat],
        channel_ids=[c[2] for c in flat],
        contacted_at=[NOW - dt.timedelta(hours=c[3]) for c in flat],
    )
    return parts, customers(*rows), contact_history, contacts


@pytest.mark.parametrize("seed", range(200))
def test_decide_agrees_with_a_per_customer_reference(seed):
    rng = random.Random(seed)
    parts, batch, contact_history, contacts = _random_case(rng)
    ctx = DecisionContext(today=TODAY, now=NOW, **parts)
    decisions = decide(ctx, batch, contact_history)
    names = {r: r.name.lower() for r in Reason}
    for row, customer in enumerate(batch.iter_rows(named=True)):
        expected, dropped = reference(parts, customer, contacts[row])
        mask = decisions.customer_rows == row
        got = [
            (ctx.candidates[j].id, ctx.channels[c].id, s)
            for j, c, s in zip(
                decisions.offer_idx[mask], decisions.channel_idx[mask], decisions.score[mask], strict=True
            )
        ]
        assert [g[:2] for g in got] == [e[:2] for e in expected], (seed, row)
        assert [g[2] for g in got] == pytest.approx([e[2] for e in expected], rel=1e-9), (seed, row)
        stages = {
            ctx.candidates[j].id: names[Reason(int(decisions.reason[row, j]))]
            for j in range(len(ctx.candidates))
            if decisions.reason[row, j] != Reason.KEPT
        }
        assert stages == dropped, (seed, row)
