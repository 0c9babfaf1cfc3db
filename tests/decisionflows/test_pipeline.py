"""The pipeline validator: pure, so these tests need no database."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from decisionflows.pipeline import (
    DEFAULT_WEIGHTS,
    OUTPUT_FIELDS,
    Catalogue,
    PipelineError,
    referenced_ids,
    validate_pipeline,
)
from kaireon.rules import FieldSpec

FIELDS = {
    spec.name: spec
    for spec in (
        FieldSpec("customer.age", "integer"),
        FieldSpec("customer.tier", "string"),
        FieldSpec("customer.unsubscribed", "boolean"),
        FieldSpec("offer.category", "string"),
        FieldSpec("offer.priority", "integer"),
        FieldSpec("offer.tags", "list"),
    )
}
CATALOGUE = Catalogue(fields=FIELDS, offer_ids=frozenset({"off_a", "off_b"}), policy_ids=frozenset({"cp_a"}))


def nodes(
    *middle: dict[str, Any], score: dict[str, Any] | None = None, rank: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    return [
        {"type": "inventory"},
        *middle,
        {"type": "score", **(score or {})},
        {"type": "rank", **(rank or {})},
        {"type": "output"},
    ]


def error_of(pipeline: Any, catalogue: Catalogue = CATALOGUE) -> str:
    with pytest.raises(PipelineError) as info:
        validate_pipeline(pipeline, catalogue)
    return str(info.value)


def test_minimal_pipeline_gets_every_default():
    assert validate_pipeline(nodes(), CATALOGUE) == [
        {"type": "inventory", "categories": [], "offer_ids": [], "include_all": True},
        {"type": "score", "method": "prie", "weights": DEFAULT_WEIGHTS, "propensity_model": None, "formula": None},
        {"type": "rank", "max_offers_per_customer": 1, "one_offer_per_channel": False},
        {"type": "output", "fields": list(OUTPUT_FIELDS)},
    ]


def test_full_pipeline_normalises_and_is_idempotent():
    pipeline = [
        {"type": "inventory", "categories": ["cards", "cards", "loans"], "offer_ids": ["off_a"], "include_all": False},
        {
            "type": "qualify",
            "rules": [
                {"name": "Adults", "condition": {"field": "customer.age", "operator": "gte", "value": 18}},
                {
                    "id": "gold",
                    "name": "Gold fit",
                    "condition": {"all": [{"field": "customer.tier", "operator": "eq", "value": "gold"}]},
                    "mode": "soft",
                    "fit_multiplier": 0.5,
                },
            ],
        },
        {
            "type": "filter",
            "rules": [{"name": "Cards", "condition": {"field": "offer.category", "operator": "eq", "value": "cards"}}],
        },
        {"type": "contact_policy", "policy_ids": ["cp_a"]},
        {
            "type": "score",
            "method": "formula",
            "formula": " p * e + max(r, i) ",
            "propensity_model": {
                "rules": [{"condition": {"field": "customer.age", "operator": "lt", "value": 30}, "points": 0.2}]
            },
        },
        {"type": "rank", "max_offers_per_customer": 3, "one_offer_per_channel": True},
        {"type": "output", "fields": ["offerId", "score", "offer_id"]},
    ]
    normalised = validate_pipeline(copy.deepcopy(pipeline), CATALOGUE)
    assert normalised[0]["categories"] == ["cards", "loans"]
    assert normalised[1]["rules"][0] == {
        "id": "rule-1",
        "name": "Adults",
        "condition": {"field": "customer.age", "operator": "gte", "value": 18},
        "mode": "hard",
    }
    assert normalised[1]["rules"][1]["fit_multiplier"] == 0.5
    assert normalised[4]["formula"] == "p * e + max(r, i)"
    assert normalised[4]["propensity_model"]["base_score"] == 0.5
    assert normalised[6]["fields"] == ["offer_id", "score"]
    assert validate_pipeline(copy.deepcopy(normalised), CATALOGUE) == normalised


@pytest.mark.parametrize(
    ("pipeline", "expected"),
    [
        ("inventory", "pipeline: must be a list of nodes"),
        ([], "pipeline: an inventory node is required"),
        ([{"type": "score"}, {"type": "inventory"}], "pipeline[0].score: the first node must be an inventory node"),
        ([{"type": "inventory"}, {"type": "inventory"}], "pipeline[1].inventory: only one inventory node is allowed"),
        ([{"type": "inventory"}, {"type": "rank"}], "pipeline[1].rank: rank must come after the score node"),
        (
            [{"type": "inventory"}, {"type": "score"}, {"type": "score"}],
            "pipeline[2].score: only one score node is allowed",
        ),
        (
            [{"type": "inventory"}, {"type": "score"}, {"type": "output"}],
            "pipeline[2].output: output must come after the rank node",
        ),
        (
            [*nodes(), {"type": "rank"}],
            "pipeline[4].rank: nothing may follow the output node",
        ),
        (
            [{"type": "inventory"}, {"type": "score"}, {"type": "filter", "rules": []}],
            "pipeline[2].filter: filter nodes come before the score node",
        ),
        ([{"type": "inventory"}, {"type": "score"}, {"type": "rank"}], "pipeline: an output node is required"),
        ([{"type": "inventory"}, {"type": "score"}], "pipeline: a rank node is required"),
        ([{"type": "inventory"}], "pipeline: a score node is required"),
        ([{"type": "inventory"}, {"type": "magic"}], "pipeline[1].type: unknown node type 'magic'"),
        ([{"type": "inventory"}, "score"], "pipeline[1]: each node is an object with a type"),
    ],
)
def test_order_errors_name_the_node(pipeline, expected):
    assert error_of(pipeline).startswith(expected)


@pytest.mark.parametrize(
    ("pipeline", "expected"),
    [
        # unknown fields
        ([{"type": "inventory", "offers": []}], "pipeline[0].inventory.offers: unknown field"),
        (nodes(score={"weight": 1}), "pipeline[1].score.weight: unknown field"),
        (nodes(rank={"max": 2}), "pipeline[2].rank.max: unknown field"),
        # inventory
        ([{"type": "inventory", "include_all": False}], "pipeline[0].inventory: selects no offers"),
        (
            [{"type": "inventory", "categories": ["x"], "include_all": True}],
            "pipeline[0].inventory.include_all: includeAll takes every offer",
        ),
        (
            [{"type": "inventory", "offer_ids": ["off_a", "off_zz"]}],
            "pipeline[0].inventory.offer_ids[1]: no offer with id 'off_zz' in this tenant",
        ),
        ([{"type": "inventory", "categories": [""]}], "pipeline[0].inventory.categories[0]: required"),
        ([{"type": "inventory", "categories": "cards"}], "pipeline[0].inventory.categories: expected a list"),
        # rules
        (nodes({"type": "qualify"}), "pipeline[1].qualify.rules: required: a non-empty list of rules"),
        (
            nodes(
                {"type": "qualify", "rules": [{"condition": {"field": "customer.age", "operator": "gt", "value": 1}}]}
            ),
            "pipeline[1].qualify.rules[0].name: required",
        ),
        (nodes({"type": "qualify", "rules": [{"name": "x"}]}), "pipeline[1].qualify.rules[0].condition: required"),
        (
            nodes(
                {
                    "type": "filter",
                    "rules": [
                        {
                            "name": "x",
                            "condition": {"field": "customer.age", "operator": "gt", "value": 1},
                            "mode": "maybe",
                        }
                    ],
                }
            ),
            "pipeline[1].filter.rules[0].mode: unknown mode 'maybe'",
        ),
        (
            nodes(
                {
                    "type": "filter",
                    "rules": [
                        {
                            "name": "x",
                            "condition": {"field": "customer.age", "operator": "gt", "value": 1},
                            "mode": "soft",
                        }
                    ],
                }
            ),
            "pipeline[1].filter.rules[0].fit_multiplier: required for soft rules",
        ),
        (
            nodes(
                {
                    "type": "filter",
                    "rules": [
                        {
                            "name": "x",
                            "condition": {"field": "customer.age", "operator": "gt", "value": 1},
                            "mode": "soft",
                            "fit_multiplier": 1.5,
                        }
                    ],
                }
            ),
            "pipeline[1].filter.rules[0].fit_multiplier: must be between 0 and 1 (got 1.5)",
        ),
        (
            nodes(
                {
                    "type": "filter",
                    "rules": [
                        {
                            "name": "x",
                            "condition": {"field": "customer.age", "operator": "gt", "value": 1},
                            "fit_multiplier": 0.5,
                        }
                    ],
                }
            ),
            "pipeline[1].filter.rules[0].fit_multiplier: only soft rules have a fitMultiplier",
        ),
        (
            nodes(
                {
                    "type": "filter",
                    "rules": [
                        {"id": "a", "name": "x", "condition": {"field": "customer.age", "operator": "gt", "value": 1}},
                        {"id": "a", "name": "y", "condition": {"field": "customer.age", "operator": "gt", "value": 2}},
                    ],
                }
            ),
            "pipeline[1].filter.rules[1].id: duplicate rule id 'a'",
        ),
        # rule language
        (
            nodes(
                {
                    "type": "qualify",
                    "rules": [
                        {"name": "x", "condition": {"field": "customer.shoe_size", "operator": "eq", "value": 1}}
                    ],
                }
            ),
            "pipeline[1].qualify.rules[0].condition.field: unknown field 'customer.shoe_size'",
        ),
        (
            nodes(
                {
                    "type": "qualify",
                    "rules": [{"name": "x", "condition": {"field": "customer.age", "operator": "approx", "value": 1}}],
                }
            ),
            "pipeline[1].qualify.rules[0].condition.operator: unknown operator 'approx'",
        ),
        (
            nodes(
                {
                    "type": "qualify",
                    "rules": [
                        {
                            "name": "x",
                            "condition": {"any": [{"field": "customer.tier", "operator": "gt", "value": "a"}]},
                        }
                    ],
                }
            ),
            "pipeline[1].qualify.rules[0].condition.any[0].operator: gt does not apply to string field 'customer.tier'",
        ),
        (
            nodes(
                {
                    "type": "qualify",
                    "rules": [{"name": "x", "condition": {"field": "customer.age", "operator": "eq", "value": "old"}}],
                }
            ),
            "pipeline[1].qualify.rules[0].condition.value: expected an integer",
        ),
        # contact policies
        (
            nodes({"type": "contact_policy", "policy_ids": ["cp_other"]}),
            "pipeline[1].contact_policy.policy_ids[0]: no contact policy with id 'cp_other'",
        ),
        # score
        (nodes(score={"method": "magic"}), "pipeline[1].score.method: unknown method 'magic'"),
        (
            nodes(score={"weights": {"propensity": 0.4, "relevance": 0.2, "impact": 0.2, "emphasis": 0.1}}),
            "pipeline[1].score.weights: weights must sum to 1 (got 0.9)",
        ),
        (
            nodes(score={"weights": {"propensity": 0.5, "relevance": 0.5}}),
            "pipeline[1].score.weights.impact: required when weights are given",
        ),
        (
            nodes(score={"weights": {"propensity": 1.2, "relevance": -0.2, "impact": 0, "emphasis": 0}}),
            "pipeline[1].score.weights.propensity: must be between 0 and 1",
        ),
        (
            nodes(score={"weights": {"propensity": 1, "relevance": 0, "impact": 0, "emphasis": 0, "luck": 0}}),
            "pipeline[1].score.weights.luck: unknown field",
        ),
        (nodes(score={"method": "formula"}), "pipeline[1].score.formula: required for method formula"),
        (nodes(score={"formula": "p"}), "pipeline[1].score.formula: a formula is used only with method formula"),
        (
            nodes(score={"method": "formula", "formula": "p.real"}),
            "pipeline[1].score.formula: attribute access is not allowed",
        ),
        (
            nodes(score={"propensity_model": {"base_score": 2}}),
            "pipeline[1].score.propensity_model.base_score: must be between 0 and 1",
        ),
        (
            nodes(
                score={
                    "propensity_model": {
                        "rules": [{"condition": {"field": "customer.age", "operator": "gt", "value": 1}}]
                    }
                }
            ),
            "pipeline[1].score.propensity_model.rules[0].points: required",
        ),
        (
            nodes(
                score={
                    "propensity_model": {
                        "rules": [{"condition": {"field": "nope", "operator": "gt", "value": 1}, "points": 0.1}]
                    }
                }
            ),
            "pipeline[1].score.propensity_model.rules[0].condition.field: unknown field 'nope'",
        ),
        # rank and output
        (
            nodes(rank={"max_offers_per_customer": 0}),
            "pipeline[2].rank.max_offers_per_customer: must be between 1 and 50 (got 0)",
        ),
        (
            nodes(rank={"max_offers_per_customer": 51}),
            "pipeline[2].rank.max_offers_per_customer: must be between 1 and 50 (got 51)",
        ),
        (nodes(rank={"max_offers_per_customer": 2.5}), "pipeline[2].rank.max_offers_per_customer: expected an integer"),
        (
            nodes(rank={"one_offer_per_channel": "yes"}),
            "pipeline[2].rank.one_offer_per_channel: expected true or false",
        ),
        (
            [*nodes()[:3], {"type": "output", "fields": ["offer_id", "ssn"]}],
            "pipeline[3].output.fields[1]: unknown output field 'ssn'",
        ),
        ([*nodes()[:3], {"type": "output", "fields": []}], "pipeline[3].output.fields: list at least one field"),
    ],
)
def test_field_errors_name_index_type_and_field(pipeline, expected):
    assert error_of(pipeline).startswith(expected)


def test_reference_checks_are_skipped_without_known_ids():
    catalogue = Catalogue(fields=FIELDS)
    normalised = validate_pipeline(
        [
            {"type": "inventory", "offer_ids": ["off_anything"]},
            {"type": "contact_policy", "policy_ids": ["cp_x"]},
            *nodes()[1:],
        ],
        catalogue,
    )
    assert referenced_ids(normalised) == ({"off_anything"}, {"cp_x"})


def test_weights_within_tolerance_are_accepted():
    weights = {"propensity": 0.1, "relevance": 0.2, "impact": 0.3, "emphasis": 0.4}  # sums to 1.0000000000000002
    assert validate_pipeline(nodes(score={"weights": weights}), CATALOGUE)[1]["weights"] == weights
