from __future__ import annotations

from typing import Any

import pytest

from decisionflows import services
from decisionflows.models import DecisionFlow, DecisionFlowVersion
from decisionflows.selectors import flow_runnable_version
from tests.decisionflows.factories import ContactPolicyFactory, DecisionFlowFactory, OfferFactory
from tests.decisionflows.helpers import error, ok

PATH = "/api/v1/decision-flows"
MINIMAL = [{"type": "inventory"}, {"type": "score"}, {"type": "rank"}, {"type": "output"}]


def with_nodes(*middle: dict[str, Any], score: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [{"type": "inventory"}, *middle, {"type": "score", **(score or {})}, {"type": "rank"}, {"type": "output"}]


def test_create_flow_stores_the_pipeline_normalised(editor, tenant, tier_attribute):
    offer, policy = OfferFactory.create(tenant=tenant), ContactPolicyFactory.create(tenant=tenant)
    pipeline = [
        {"type": "inventory", "offerIds": [offer.pk]},
        {
            "type": "qualify",
            "rules": [
                {
                    "name": "Gold fit",
                    "condition": {"field": "customer.tier", "operator": "eq", "value": "gold"},
                    "mode": "soft",
                    "fitMultiplier": 0.7,
                }
            ],
        },
        {"type": "contact_policy", "policyIds": [policy.pk]},
        {"type": "score", "propensityModel": {"baseScore": 0.3, "rules": []}},
        {"type": "rank", "maxOffersPerCustomer": 3},
        {"type": "output", "fields": ["offerId", "score"]},
    ]
    body = ok(editor.post(PATH, {"key": "cards-nba", "name": "Cards NBA", "pipeline": pipeline}), 201)
    assert body["id"].startswith("df_")
    assert (body["status"], body["latestVersion"], body["publishedVersion"], body["runnable"]) == (
        "draft",
        None,
        None,
        False,
    )
    assert body["pipeline"] == [
        {"type": "inventory", "categories": [], "offerIds": [offer.pk], "includeAll": False},
        {
            "type": "qualify",
            "rules": [
                {
                    "id": "rule-1",
                    "name": "Gold fit",
                    "condition": {"field": "customer.tier", "operator": "eq", "value": "gold"},
                    "mode": "soft",
                    "fitMultiplier": 0.7,
                }
            ],
        },
        {"type": "contact_policy", "policyIds": [policy.pk]},
        {
            "type": "score",
            "method": "prie",
            "weights": {"propensity": 0.4, "relevance": 0.2, "impact": 0.3, "emphasis": 0.1},
            "propensityModel": {"baseScore": 0.3, "rules": []},
            "formula": None,
        },
        {"type": "rank", "maxOffersPerCustomer": 3, "oneOfferPerChannel": False},
        {"type": "output", "fields": ["offer_id", "score"]},
    ]
    stored = DecisionFlow.objects.get(pk=body["id"]).pipeline
    assert stored[2] == {"type": "contact_policy", "policy_ids": [policy.pk]}
    # what the API answers can be sent back as is
    assert (
        ok(editor.put(f"{PATH}/{body['id']}", {"key": "cards-nba", "name": "Cards NBA", "pipeline": body["pipeline"]}))[
            "pipeline"
        ]
        == body["pipeline"]
    )


@pytest.mark.parametrize(
    ("pipeline", "expected"),
    [
        ([{"type": "score"}], "pipeline[0].score: the first node must be an inventory node"),
        ([{"type": "inventory"}, {"type": "rank"}], "pipeline[1].rank: rank must come after the score node"),
        ([*MINIMAL, {"type": "filter"}], "pipeline[4].filter: nothing may follow the output node"),
        ([{"type": "inventory"}, {"type": "score"}, {"type": "rank"}], "pipeline: an output node is required"),
        ([{"type": "inventory"}, {"type": "teleport"}], "pipeline[1].type: unknown node type 'teleport'"),
        ([{"type": "inventory", "everything": True}], "pipeline[0].inventory.everything: unknown field"),
        (
            with_nodes(score={"weights": {"propensity": 0.4, "relevance": 0.2, "impact": 0.2, "emphasis": 0.1}}),
            "pipeline[1].score.weights: weights must sum to 1 (got 0.9)",
        ),
        (
            with_nodes(
                {
                    "type": "qualify",
                    "rules": [
                        {
                            "name": "x",
                            "condition": {"field": "customer.email", "operator": "is_null"},
                            "mode": "soft",
                            "fitMultiplier": 2,
                        }
                    ],
                }
            ),
            "pipeline[1].qualify.rules[0].fitMultiplier: must be between 0 and 1 (got 2)",
        ),
        (
            with_nodes(
                {
                    "type": "filter",
                    "rules": [{"name": "x", "condition": {"field": "customer.age", "operator": "gte", "value": 1}}],
                }
            ),
            "pipeline[1].filter.rules[0].condition.field: unknown field 'customer.age'",
        ),
        (
            with_nodes(
                {
                    "type": "filter",
                    "rules": [
                        {"name": "x", "condition": {"field": "customer.email", "operator": "like", "value": "a"}}
                    ],
                }
            ),
            "pipeline[1].filter.rules[0].condition.operator: unknown operator 'like'",
        ),
        (
            with_nodes({"type": "contact_policy", "policyIds": ["cp_nope"]}),
            "pipeline[1].contactPolicy.policyIds[0]: no contact policy with id 'cp_nope' in this tenant",
        ),
        (
            with_nodes(score={"method": "formula", "formula": "__import__('os').getcwd()"}),
            "pipeline[1].score.formula: calls other than min and max are not allowed",
        ),
        (
            with_nodes(score={"method": "formula", "formula": "p.real"}),
            "pipeline[1].score.formula: attribute access is not allowed",
        ),
        (
            [*MINIMAL[:2], {"type": "rank", "maxOffersPerCustomer": 99}, MINIMAL[3]],
            "pipeline[2].rank.maxOffersPerCustomer: must be between 1 and 50",
        ),
        ("inventory", "pipeline: must be a list of nodes"),
    ],
)
def test_invalid_pipelines_are_400s_naming_node_and_field(editor, pipeline, expected):
    response = editor.post(PATH, {"key": "k", "name": "n", "pipeline": pipeline})
    assert error(response).startswith(expected)
    path = expected.split(": ", 1)[0]
    assert path in response.json()["fields"]
    assert not DecisionFlow.objects.exists()


def test_another_tenants_offer_in_the_inventory_is_rejected(editor, other_tenant):
    foreign = OfferFactory.create(tenant=other_tenant)
    response = editor.post(
        PATH, {"key": "k", "name": "n", "pipeline": [{"type": "inventory", "offerIds": [foreign.pk]}, *MINIMAL[1:]]}
    )
    assert error(response) == f"pipeline[0].inventory.offerIds[0]: no offer with id '{foreign.pk}' in this tenant"


def test_flow_keys_are_unique_per_tenant(editor, tenant):
    DecisionFlowFactory.create(tenant=tenant, key="nba")
    assert (
        error(editor.post(PATH, {"key": "nba", "name": "Again"}))
        == "key: A decision flow with key 'nba' already exists."
    )


def test_patch_without_pipeline_does_not_recheck_it(editor, tenant):
    flow = DecisionFlowFactory.create(
        tenant=tenant, pipeline=[{"type": "inventory", "offer_ids": ["off_gone"]}, *MINIMAL[1:]]
    )
    assert ok(editor.patch(f"{PATH}/{flow.pk}", {"name": "Renamed"}))["name"] == "Renamed"
    assert error(editor.patch(f"{PATH}/{flow.pk}", {"pipeline": flow.pipeline})).startswith(
        "pipeline[0].inventory.offerIds[0]: no offer with id 'off_gone'"
    )


def test_publish_creates_numbered_immutable_versions(editor, viewer, tenant):
    flow_id = ok(editor.post(PATH, {"key": "nba", "name": "NBA", "pipeline": MINIMAL}), 201)["id"]
    first = editor.post(f"{PATH}/{flow_id}/publish")
    v1 = ok(first, 201)
    assert (v1["version"], v1["decisionFlowId"]) == (1, flow_id)
    assert v1["id"].startswith("dfv_")
    assert v1["publishedBy"].startswith("API key editor key")
    assert first["Location"].endswith(f"{PATH}/{flow_id}/versions/1")
    assert v1["pipeline"][2] == {"type": "rank", "maxOffersPerCustomer": 1, "oneOfferPerChannel": False}

    edited = [MINIMAL[0], MINIMAL[1], {"type": "rank", "maxOffersPerCustomer": 5}, MINIMAL[3]]
    ok(editor.patch(f"{PATH}/{flow_id}", {"pipeline": edited}))
    v2 = ok(editor.post(f"{PATH}/{flow_id}/publish"), 201)
    assert v2["version"] == 2
    assert v2["pipeline"][2]["maxOffersPerCustomer"] == 5

    listed = ok(viewer.get(f"{PATH}/{flow_id}/versions"))
    assert [v["version"] for v in listed["versions"]] == [2, 1]
    assert listed["total"] == 2
    # version 1 kept the pipeline it was published with
    assert ok(viewer.get(f"{PATH}/{flow_id}/versions/1"))["pipeline"][2]["maxOffersPerCustomer"] == 1
    assert viewer.get(f"{PATH}/{flow_id}/versions/3").status_code == 404
    assert ok(viewer.get(f"{PATH}/{flow_id}"))["latestVersion"] == 2


def test_versions_cannot_be_rewritten_in_code_either(tenant, system_actor):
    flow = DecisionFlowFactory.create(tenant=tenant)
    version = services.decision_flow_publish(tenant=tenant, actor=system_actor, flow=flow)
    version.pipeline = []
    with pytest.raises(ValueError, match="immutable"):
        version.save()
    assert DecisionFlowVersion.objects.get(pk=version.pk).pipeline != []


def test_runnable_needs_active_status_and_a_published_version(editor, tenant):
    flow_id = ok(editor.post(PATH, {"key": "nba", "name": "NBA", "pipeline": MINIMAL, "status": "active"}), 201)["id"]
    flow = DecisionFlow.objects.get(pk=flow_id)
    assert ok(editor.get(f"{PATH}/{flow_id}"))["runnable"] is False
    assert flow_runnable_version(flow) is None

    ok(editor.post(f"{PATH}/{flow_id}/publish"), 201)
    body = ok(editor.get(f"{PATH}/{flow_id}"))
    assert (body["runnable"], body["latestVersion"], body["publishedVersion"]) == (True, 1, 1)
    flow.refresh_from_db()
    runnable = flow_runnable_version(flow)
    assert runnable is not None
    assert runnable.version == 1
    assert [f["id"] for f in ok(editor.get(f"{PATH}?runnable=true"))["decisionFlows"]] == [flow_id]

    body = ok(editor.patch(f"{PATH}/{flow_id}", {"status": "paused"}))
    assert (body["runnable"], body["latestVersion"], body["publishedVersion"]) == (False, 1, None)
    flow.refresh_from_db()
    assert flow_runnable_version(flow) is None
    assert ok(editor.get(f"{PATH}?runnable=true"))["total"] == 0


def test_publish_revalidates_and_refuses_empty_or_archived_flows(editor, tenant):
    sketch = ok(editor.post(PATH, {"key": "sketch", "name": "Sketch"}), 201)
    assert sketch["pipeline"] == []
    assert error(editor.post(f"{PATH}/{sketch['id']}/publish")).startswith("pipeline: nothing to publish")
    stale = DecisionFlowFactory.create(
        tenant=tenant, pipeline=[{"type": "inventory", "offer_ids": ["off_gone"]}, *MINIMAL[1:]]
    )
    assert error(editor.post(f"{PATH}/{stale.pk}/publish")).startswith("pipeline[0].inventory.offerIds[0]: no offer")
    archived = DecisionFlowFactory.create(tenant=tenant, status="archived")
    assert error(editor.post(f"{PATH}/{archived.pk}/publish"), 409) == "An archived decision flow cannot be published."
    assert not DecisionFlowVersion.objects.exists()


def test_deleting_a_flow_deletes_its_versions(admin, tenant, system_actor):
    flow = DecisionFlowFactory.create(tenant=tenant)
    services.decision_flow_publish(tenant=tenant, actor=system_actor, flow=flow)
    ok(admin.delete(f"{PATH}/{flow.pk}"), 204)
    assert not DecisionFlowVersion.objects.exists()


def test_flow_filters(viewer, tenant):
    draft = DecisionFlowFactory.create(tenant=tenant, key="cards", name="Cards")
    active = DecisionFlowFactory.create(tenant=tenant, key="loans", name="Loan offers", status="active")

    def ids(query: str) -> list[str]:
        return [item["id"] for item in ok(viewer.get(f"{PATH}?{query}"))["decisionFlows"]]

    assert ids("status=active") == [active.pk]
    assert ids("q=card") == [draft.pk]
    assert ids("q=loan") == [active.pk]
    assert ids("runnable=false") == [active.pk, draft.pk]
