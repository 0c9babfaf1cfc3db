"""Volume constraints: the vectorised/sequential allocation against a brute-force greedy on
random data (ties included), and their application to a campaign run's rows in finalise."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import numpy as np
import pytest
from django.db import transaction

from campaigns import constraints
from campaigns.constraints import BY_CHANNEL, BY_OFFER, BY_TOTAL, KEPT, allocate
from decisionflows.models import Contact
from runs import services as run_services
from runs.models import Recommendation, RunStatus

Row = tuple[float, int, int, int, int]  # score, customer, rank, offer, channel


def brute_force(rows: list[Row], limits: dict[str, int]) -> list[tuple[Row, int]]:
    """The definition, row by row over Python tuples: (score desc, customer asc, rank asc); a
    row is kept while the total, its offer and its channel are under their caps."""
    ordered = sorted(rows, key=lambda r: (-r[0], r[1], r[2]))
    total, per_offer, per_channel = 0, Counter[int](), Counter[int]()
    out = []
    for row in ordered:
        _, _, _, offer, channel = row
        if total >= limits.get("max_total_per_run", 10**9):
            reason = BY_TOTAL
        elif per_offer[offer] >= limits.get("max_per_offer", 10**9):
            reason = BY_OFFER
        elif per_channel[channel] >= limits.get("max_per_channel", 10**9):
            reason = BY_CHANNEL
        else:
            reason = KEPT
            total += 1
            per_offer[offer] += 1
            per_channel[channel] += 1
        out.append((row, reason))
    return out


def random_rows(rng: random.Random, customers: int) -> list[Row]:
    rows = []
    for customer in range(1, customers + 1):
        offers = rng.sample(range(6), rng.randint(1, 3))
        for rank, offer in enumerate(offers, start=1):
            # few distinct scores, so ties between customers and offers are common
            rows.append((rng.choice([0.1, 0.25, 0.5, 0.75, 0.9]), customer, rank, offer, rng.randrange(3)))
    return rows


LIMIT_SETS = [
    {"max_total_per_run": 40},
    {"max_per_offer": 7},
    {"max_per_channel": 11},
    {"max_per_offer": 9, "max_total_per_run": 30},
    {"max_per_channel": 12, "max_total_per_run": 25},
    {"max_per_offer": 6, "max_per_channel": 15},
    {"max_total_per_run": 35, "max_per_offer": 8, "max_per_channel": 14},
    {"max_total_per_run": 1, "max_per_offer": 1, "max_per_channel": 1},
    {"max_total_per_run": 10_000, "max_per_offer": 10_000, "max_per_channel": 10_000},
]


@pytest.mark.parametrize("limits", LIMIT_SETS, ids=lambda limits: "+".join(sorted(limits)))
@pytest.mark.parametrize("seed", range(8))
def test_allocation_matches_brute_force_on_random_data(limits: dict[str, int], seed: int) -> None:
    rng = random.Random(seed)
    rows = random_rows(rng, customers=rng.randint(10, 60))
    expected = brute_force(rows, limits)
    ordered = [row for row, _ in expected]
    allocation = allocate(
        np.array([r[3] for r in ordered], dtype=np.int64),
        np.array([r[4] for r in ordered], dtype=np.int64),
        max_total=limits.get("max_total_per_run"),
        max_per_offer=limits.get("max_per_offer"),
        max_per_channel=limits.get("max_per_channel"),
    )
    assert allocation.reason.tolist() == [reason for _, reason in expected]


def test_caps_are_never_exceeded_and_the_best_rows_are_kept() -> None:
    rng = np.random.default_rng(3)
    offers, channels = rng.integers(0, 5, 5_000), rng.integers(0, 3, 5_000)
    keep = allocate(offers, channels, max_total=900, max_per_offer=300, max_per_channel=400).keep
    assert keep.sum() == 900
    assert np.bincount(offers[keep]).max() <= 300
    assert np.bincount(channels[keep]).max() <= 400
    assert keep[0]  # the best-placed row always fits


def test_empty_input() -> None:
    empty = np.zeros(0, dtype=np.int64)
    assert allocate(empty, empty, max_total=1, max_per_offer=1, max_per_channel=1).reason.size == 0


# --- applied to a run ----------------------------------------------------------------------


def _rows(run_id: str) -> list[dict[str, Any]]:
    rows = (
        Recommendation.objects.filter(run_id=run_id)
        .order_by("customer_id", "rank")
        .values("customer_id", "rank", "offer_id", "channel_id", "score")
    )
    return [dict(row) for row in rows]


def _history(run_id: str) -> Counter[tuple[int, str, str]]:
    return Counter(
        Contact.objects.filter(source="run", source_id=run_id).values_list("customer_id", "offer_id", "channel_id")
    )


def _executed(make_campaign: Any, system_actor: Any, **data: Any) -> Any:
    from campaigns import services

    campaign = make_campaign(**data)
    campaign_run = services.campaign_trigger(tenant=campaign.tenant, actor=system_actor, campaign=campaign)
    return run_services.run_execute_inline(run_id=campaign_run.run_id or "")


@pytest.mark.parametrize(
    "limits",
    [
        {"max_total_per_run": 17},
        {"max_per_offer": 6},
        {"max_per_channel": 9},
        {"max_total_per_run": 20, "max_per_offer": 8, "max_per_channel": 9},
    ],
    ids=lambda limits: "+".join(sorted(limits)),
)
def test_applying_to_a_run_keeps_the_brute_force_rows_renumbers_and_cleans_history(
    make_campaign: Any, system_actor: Any, limits: dict[str, int]
) -> None:
    run = _executed(make_campaign, system_actor)
    before = _rows(run.pk)
    assert len(before) > 30
    assert _history(run.pk) == Counter((r["customer_id"], r["offer_id"], r["channel_id"]) for r in before)
    offer_code = {o: i for i, o in enumerate(sorted({r["offer_id"] for r in before}))}
    channel_code = {c: i for i, c in enumerate(sorted({r["channel_id"] for r in before}))}
    # scores as stored (COPY rounds them), so the brute force sees the same ties
    expected = brute_force(
        [
            (r["score"], r["customer_id"], r["rank"], offer_code[r["offer_id"]], channel_code[r["channel_id"]])
            for r in before
        ],
        limits,
    )
    kept = {(row[1], row[3], row[4]) for row, reason in expected if reason == KEPT}

    with transaction.atomic():
        entry = constraints.constraints_apply(run=run, limits=limits)

    after = _rows(run.pk)
    assert {(r["customer_id"], offer_code[r["offer_id"]], channel_code[r["channel_id"]]) for r in after} == kept
    assert len(after) == len(kept)
    by_customer: dict[int, list[int]] = {}
    for r in after:
        by_customer.setdefault(r["customer_id"], []).append(r["rank"])
    assert all(ranks == list(range(1, len(ranks) + 1)) for ranks in by_customer.values())
    # kept ranks keep their order: a customer's rank-1 row is their best original rank kept
    original_rank = {(r["customer_id"], r["offer_id"]): r["rank"] for r in before}
    for customer in by_customer:
        olds = [original_rank[(customer, r["offer_id"])] for r in after if r["customer_id"] == customer]
        assert olds == sorted(olds)
    assert _history(run.pk) == Counter((r["customer_id"], r["offer_id"], r["channel_id"]) for r in after)

    dropped = Counter(reason for _, reason in expected if reason != KEPT)
    customers_before = {r["customer_id"] for r in before}
    emptied = customers_before - set(by_customer)
    assert set(entry["constraints"]) == set(limits)
    for code, name in constraints.REASONS.items():
        if name in limits:
            assert entry["constraints"][name]["limit"] == limits[name]
            assert entry["constraints"][name]["recommendations_dropped"] == dropped[code]
    assert sum(e["recommendations_dropped"] for e in entry["constraints"].values()) == len(before) - len(after)
    assert sum(e["customers_dropped"] for e in entry["constraints"].values()) == len(emptied)


def test_a_campaign_run_is_constrained_in_finalise_and_its_summary_says_so(make_campaign, system_actor) -> None:
    run = _executed(make_campaign, system_actor, volume_constraints={"max_total_per_run": 10, "max_per_offer": 4})
    assert run.status == RunStatus.COMPLETED
    rows = _rows(run.pk)
    assert 0 < len(rows) <= 10
    assert max(Counter(r["offer_id"] for r in rows).values()) <= 4
    assert run.recommendation_count == len(rows) == run.summary["total_recommendations"]
    assert sum(run.summary["offer_counts"].values()) == len(rows)
    assert _history(run.pk) == Counter((r["customer_id"], r["offer_id"], r["channel_id"]) for r in rows)
    summary = run.summary["constraints"]
    assert set(summary) == {"max_total_per_run", "max_per_offer"}
    assert summary["max_total_per_run"]["limit"] == 10
    dropped_rows = sum(e["recommendations_dropped"] for e in summary.values())
    assert dropped_rows > 0
    # every customer the constraints emptied is now among those without recommendations
    assert sum(e["customers_dropped"] for e in summary.values()) <= run.summary["customers_without_recommendations"]
    assert run.summary["customers_with_recommendations"] == len({r["customer_id"] for r in rows})


def test_a_run_without_a_campaign_is_untouched(make_campaign, system_actor) -> None:
    run = _executed(make_campaign, system_actor)
    assert "constraints" not in run.summary
    assert run.summary["total_recommendations"] == len(_rows(run.pk))


def test_lifting_a_campaigns_caps_while_its_run_goes_does_not_lift_that_runs(make_campaign, system_actor) -> None:
    from campaigns import services

    campaign = make_campaign(volume_constraints={"max_total_per_run": 5})
    campaign_run = services.campaign_trigger(tenant=campaign.tenant, actor=system_actor, campaign=campaign)
    services.campaign_update(
        tenant=campaign.tenant, actor=system_actor, instance=campaign, data={"volume_constraints": None}
    )
    run = run_services.run_execute_inline(run_id=campaign_run.run_id or "")
    assert len(_rows(run.pk)) == 5
    assert run.summary is not None
    assert run.summary["constraints"]["max_total_per_run"]["limit"] == 5
