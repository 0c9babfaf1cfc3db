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

from decisionflows.engine.decide import decide
from decisionflows.engine.types import (
    NOTHING_REASONS,
    REASON_NAMES,
    ChannelInfo,
    CreativeInfo,
    DecisionContext,
    Decisions,
    History,
    OfferInfo,
    PolicyInfo,
    Reason,
    merge_funnels,
    offer_fields,
)

__all__ = [
    "NOTHING_REASONS",
    "REASON_NAMES",
    "ChannelInfo",
    "CreativeInfo",
    "DecisionContext",
    "Decisions",
    "History",
    "OfferInfo",
    "PolicyInfo",
    "Reason",
    "decide",
    "merge_funnels",
    "offer_fields",
]
