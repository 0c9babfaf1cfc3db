from __future__ import annotations

from decimal import Decimal

import pytest

from decisionflows.models import Creative, Offer
from decisionflows.selectors import offers_with_tags
from tests.decisionflows.factories import ContactHistoryFactory, CreativeFactory, DecisionFlowFactory, OfferFactory
from tests.decisionflows.helpers import error, ok

PATH = "/api/v1/offers"


def test_create_offer_with_every_field(editor, tenant, tier_attribute):
    body = ok(
        editor.post(
            PATH,
            {
                "key": "gold-card",
                "name": "Gold card",
                "description": "Our best card",
                "category": "cards",
                "status": "active",
                "priority": 80,
                "businessValue": 120.5,
                "startDate": "2026-01-01",
                "endDate": "2026-12-31",
                "eligibility": {
                    "all": [
                        {"field": "customer.tier", "operator": "in", "value": ["gold", "platinum"]},
                        {"field": "customer.unsubscribed", "operator": "eq", "value": False},
                        {"field": "offer.priority", "operator": "gte", "value": 10},
                    ]
                },
                "tags": ["vip", " vip ", "new"],
            },
        ),
        201,
    )
    assert body["id"].startswith("off_")
    assert body["businessValue"] == 120.5
    assert body["tags"] == ["vip", "new"]
    assert body["eligibility"]["all"][0] == {"field": "customer.tier", "operator": "in", "value": ["gold", "platinum"]}
    offer = Offer.objects.get(pk=body["id"])
    assert offer.business_value == Decimal("120.50")
    assert offer.tenant == tenant


def test_offer_defaults(editor):
    body = ok(editor.post(PATH, {"key": "plain", "name": "Plain"}), 201)
    assert (body["status"], body["priority"], body["businessValue"], body["eligibility"], body["tags"]) == (
        "draft",
        50,
        0,
        {},
        [],
    )


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"priority": 101}, "priority: "),
        ({"priority": -1}, "priority: "),
        ({"businessValue": -0.01}, "businessValue: "),
        ({"key": "Not a slug!"}, "key: "),
        ({"startDate": "2026-05-02", "endDate": "2026-05-01"}, "endDate: must be on or after the start date"),
        ({"tags": "vip"}, "tags: "),
        (
            {"eligibility": {"field": "customer.shoe_size", "operator": "eq", "value": 1}},
            "eligibility.field: unknown field 'customer.shoe_size'",
        ),
        (
            {"eligibility": {"field": "customer.email", "operator": "between", "value": 1}},
            "eligibility.operator: unknown operator 'between'",
        ),
        (
            {"eligibility": {"any": [{"field": "offer.priority", "operator": "eq", "value": "high"}]}},
            "eligibility.any[0].value: expected an integer, got 'high'",
        ),
        ({"eligibility": {"field": "tier", "operator": "eq", "value": "x"}}, "eligibility.field: unknown field 'tier'"),
    ],
)
def test_invalid_offers_are_rejected_naming_the_field(editor, payload, expected):
    assert error(editor.post(PATH, {"key": "k", "name": "n", **payload})).startswith(expected)


def test_patch_dates_are_checked_against_the_stored_offer(editor, tenant):
    offer = OfferFactory.create(tenant=tenant, start_date="2026-06-01")
    assert error(editor.patch(f"{PATH}/{offer.pk}", {"endDate": "2026-05-01"})) == (
        "endDate: must be on or after the start date"
    )


def test_offer_keys_are_unique_per_tenant(editor, outsider, tenant):
    OfferFactory.create(tenant=tenant, key="gold")
    assert error(editor.post(PATH, {"key": "gold", "name": "Gold"})) == "key: An offer with key 'gold' already exists."
    ok(outsider.post(PATH, {"key": "gold", "name": "Gold"}), 201)


def test_offer_detail_includes_its_creatives(viewer, tenant):
    creative = CreativeFactory.create(tenant=tenant)
    CreativeFactory.create(tenant=tenant)  # another offer's
    body = ok(viewer.get(f"{PATH}/{creative.offer_id}"))
    assert [c["id"] for c in body["creatives"]] == [creative.pk]
    assert body["creatives"][0]["tokens"] == ["customer.first_name", "offer.name"]
    assert "creatives" not in ok(viewer.get(PATH))["offers"][0]


def test_offer_filters(viewer, tenant):
    gold = OfferFactory.create(tenant=tenant, key="gold-card", name="Gold", category="cards", tags=["vip", "new"])
    loan = OfferFactory.create(
        tenant=tenant, key="loan", name="Personal loan", category="loans", status="paused", tags=["vip"]
    )
    OfferFactory.create(tenant=tenant, key="other", name="Other", category="misc", tags=["vipx"])

    def keys(query: str) -> list[str]:
        return [item["key"] for item in ok(viewer.get(f"{PATH}?{query}"))["offers"]]

    assert keys("status=paused") == ["loan"]
    assert keys("category=cards") == ["gold-card"]
    assert keys("tags=vip") == [loan.key, gold.key]
    assert keys("tags=vip,new") == [gold.key]
    assert keys("tags=nothing") == []
    assert keys("q=card") == ["gold-card"]
    assert keys("q=personal") == ["loan"]


def test_offers_with_tags_matches_whole_tags_only(tenant):
    exact = OfferFactory.create(tenant=tenant, tags=['say "hi"', "ünïcode"])
    OfferFactory.create(tenant=tenant, tags=["say", "hi"])
    queryset = Offer.objects.filter(tenant=tenant)
    assert list(offers_with_tags(queryset, ['say "hi"'])) == [exact]
    assert list(offers_with_tags(queryset, ["ünïcode"])) == [exact]
    assert list(offers_with_tags(queryset, ["%"])) == []


def test_deleting_an_offer_deletes_its_creatives(admin, tenant):
    creative = CreativeFactory.create(tenant=tenant)
    ok(admin.delete(f"{PATH}/{creative.offer_id}"), 204)
    assert not Creative.objects.filter(pk=creative.pk).exists()


def test_offer_in_a_flow_pipeline_or_the_contact_history_cannot_be_deleted(admin, tenant):
    offer = OfferFactory.create(tenant=tenant)
    DecisionFlowFactory.create(
        tenant=tenant,
        key="cards-nba",
        pipeline=[
            {"type": "inventory", "offer_ids": [offer.pk]},
            {"type": "score"},
            {"type": "rank"},
            {"type": "output"},
        ],
    )
    assert error(admin.delete(f"{PATH}/{offer.pk}"), 409) == (
        "This offer is used in the pipeline of decision flow(s) cards-nba; remove it there first."
    )
    contacted = ContactHistoryFactory.create(tenant=tenant).offer
    assert admin.delete(f"{PATH}/{contacted.pk}").status_code == 409
    assert Offer.objects.filter(pk__in=[offer.pk, contacted.pk]).count() == 2


def test_an_offer_or_channel_a_run_recommended_cannot_be_deleted(admin, tenant):
    from kaireon.models import Role
    from kaireon.principal import Principal
    from runs import services as runs
    from runs.models import Recommendation
    from tests.runs.conftest import build_catalogue

    catalogue = build_catalogue(tenant)
    run = runs.run_create(
        tenant=tenant,
        actor=Principal(tenant=tenant, role=Role.ADMIN),
        decision_flow_id=catalogue.flow.pk,
        segment_id=catalogue.everyone.pk,
        dispatch=False,
    )
    runs.run_execute_inline(run_id=run.pk)
    recommended = Recommendation.objects.filter(run_id=run.pk).values_list("offer_id", "channel_id").first()
    assert recommended is not None
    offer_id, channel_id = recommended
    message = error(admin.delete(f"{PATH}/{offer_id}"), 409)
    assert message.startswith("This offer has been sent or recommended to customers")
    assert error(admin.delete(f"/api/v1/channels/{channel_id}"), 409).startswith("This channel has been sent")
    assert Offer.objects.filter(pk=offer_id).exists()
    # an offer nobody was offered still goes
    unused = OfferFactory.create(tenant=tenant)
    ok(admin.delete(f"{PATH}/{unused.pk}"), 204)
