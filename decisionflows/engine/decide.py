"""decide(): the pipeline over a batch of customers (see the package docstring)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from decisionflows.engine.conditions import Conditions, customer_leaves
from decisionflows.engine.types import PERIOD_DAYS, UNLIMITED, DecisionContext, Decisions, History, Reason
from decisionflows.formula import compile_formula
from decisionflows.pipeline import DEFAULT_BASE_SCORE, DEFAULT_WEIGHTS

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
    column = customers.get_column(name)
    # fill_null is a polars query of its own (~0.3 ms even for one row, the Recommend API's
    # case); the database's flags are never null, so it seldom has anything to do
    if column.null_count():
        column = column.fill_null(False)
    return column.to_numpy().astype(bool)


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
    # the conditions are the context's: their expressions serve every batch of the same columns
    schema = customers.schema
    memo_key = ("customer_leaves", tuple(schema.items()))
    leaves = context.memo.get(memo_key)
    if leaves is None:
        leaves = context.memo[memo_key] = customer_leaves(conditions, schema)
    evaluator = Conditions(customers, offers, conditions, leaves)

    # 1. qualification: each offer's eligibility, then the flow's hard rules; soft rules → R
    eligibility_label = len(rule_labels)
    rule_labels.append("offer eligibility")
    # one drop for every offer's own condition: each is one column, all have the same label
    ineligible = np.zeros((n, m), dtype=bool)
    for j, offer in enumerate(offers):
        if offer.eligibility:
            ineligible[:, j] = ~np.broadcast_to(evaluator.evaluate(offer.eligibility, offer=j), (n,))
    funnel.drop(ineligible, Reason.QUALIFICATION, eligibility_label)
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
    capacity = np.full(n, UNLIMITED, dtype=np.int64)
    capacity_policy = np.full(n, -1, dtype=np.int32)
    channel_capacity = np.full((n, k), UNLIMITED, dtype=np.int64)
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
    kept = np.zeros((n, m), dtype=bool)
    rows_all = np.arange(n)
    out_rows, out_rank, out_offer, out_channel = [], [], [], []
    for position in range(m):
        open_rows = taken < limit
        if not open_rows.any():
            break  # everyone is full: what is left is settled below, in bulk
        best = ordered[:, position]
        alive = funnel.alive[rows_all, best] & open_rows
        if not alive.any():
            continue
        creative = context.has_creative[best]  # (n, k)
        open_ = creative & (cap_left > 0)
        room = open_ & free if one_per_channel else open_
        has_channel = room.any(axis=1)
        channel = np.argmax(room, axis=1)
        keep = alive & has_channel
        # an open customer loses a pair only for want of a channel: a channel cap's or, with one
        # offer per channel, better offers that took the channel
        lost = alive & ~keep
        if lost.any():
            channel_capped = lost & ~open_.any(axis=1)
            first_channel = np.argmax(creative, axis=1)
            _drop_pairs(funnel, channel_capped, best, Reason.CONTACT_POLICY, channel_policy[rows_all, first_channel])
            _drop_pairs(funnel, lost & ~channel_capped, best, Reason.OUTRANKED, None)
        if keep.any():
            kept_rows = rows_all[keep]
            cap_left[kept_rows, channel[keep]] -= 1
            free[kept_rows, channel[keep]] = False
            kept[kept_rows, best[keep]] = True
            taken[keep] += 1
            out_rows.append(kept_rows)
            out_rank.append(taken[keep].copy())
            out_offer.append(best[keep])
            out_channel.append(channel[keep])
    # Pairs still alive but not kept belong to customers who were full: credited to the global
    # cap whose capacity ran out first, else to the better offers (top-N).
    rest = funnel.alive & ~kept
    if rest.any():
        by_cap = rest & (capacity < max_offers)[:, None]
        funnel.reason[by_cap] = Reason.CONTACT_POLICY
        funnel.detail[by_cap] = np.broadcast_to(capacity_policy[:, None], (n, m))[by_cap]
        outranked = rest & ~by_cap
        funnel.reason[outranked] = Reason.OUTRANKED
        funnel.detail[outranked] = -1
        funnel.alive &= ~rest
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
