"""POST /api/v1/recommend: one customer through a flow's published version, in real time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from decisionflows import services
from decisionflows.models import (
    ActiveStatus,
    ContactHistory,
    DecisionFlow,
    FlowStatus,
)
from tests.decisionflows.factories import (
    ChannelFactory,
    ContactHistoryFactory,
    CreativeFactory,
    CustomerFactory,
    DecisionFlowFactory,
    OfferFactory,
)
from tests.decisionflows.helpers import error, ok

PATH = "/api/v1/recommend"


def test_recommend_ranks_and_personalizes_offers(viewer, catalogue):
    flow, gold, loan, app = catalogue["flow"], catalogue["gold"], catalogue["loan"], catalogue["app"]
    email, push, creatives = catalogue["email"], catalogue["push"], catalogue["creatives"]
    body = ok(viewer.post(PATH, {"decisionFlowId": flow.pk, "customerId": "c-ada"}))
    # kids: not under 18; I = value / 200, E = priority / 100, P = 0.5, R = 1
    # gold: 0.5^0.4 · 1^0.3 · 0.8^0.1 = 0.757858 · 0.977933 = 0.741134
    # loan: 0.757858 · 0.5^0.3 · 0.5^0.1 = 0.574349
    # app:  0.757858 · 0.5^0.3 · 0.4^0.1 = 0.757858 · 0.812252 · 0.912444 = 0.561682
    assert body == {
        "customerId": "c-ada",
        "decisionFlowId": flow.pk,
        "decisionFlowKey": "nba",
        "version": 1,
        "recommendations": [
            {
                "rank": 1,
                "offerId": gold.pk,
                "offerKey": "gold",
                "offerName": "Gold Card",
                "score": pytest.approx(0.7411344491069477),
                "channelId": email.pk,
                "channelName": "Email",
                "channelType": "email",
                "creativeId": creatives["gold_email"].pk,
                "creativeName": "Gold email",
                "personalization": {"subject": "Hello Ada", "content": "Gold Card for gold members, worth 200."},
            },
            {
                "rank": 2,
                "offerId": loan.pk,
                "offerKey": "loan",
                "offerName": "Personal Loan",
                "score": pytest.approx(0.5743491774985175),
                "channelId": email.pk,
                "channelName": "Email",
                "channelType": "email",
                "creativeId": creatives["loan_email"].pk,
                "creativeName": "Loan email",
                "personalization": {"subject": "Hello Ada", "content": "Personal Loan for gold members, worth 100."},
            },
            {
                # push is an api channel: the real-time API uses it
                "rank": 3,
                "offerId": app.pk,
                "offerKey": "app",
                "offerName": "App Bonus",
                "score": pytest.approx(0.757858283255199 * 0.5**0.3 * 0.4**0.1),
                "channelId": push.pk,
                "channelName": "Push",
                "channelType": "push",
                "creativeId": creatives["app_push"].pk,
                "creativeName": "App push",
                "personalization": {"subject": "Hello Ada", "content": "Discover App Bonus."},
            },
        ],
    }
    assert "funnel" not in body


def test_recommend_is_a_read_that_records_no_contact(editor, catalogue):
    ok(editor.post(PATH, {"decisionFlowKey": "nba", "customerId": "c-ada"}))
    assert not ContactHistory.objects.exists()


def test_recommend_by_flow_key_and_personalization_fallbacks(viewer, tenant, catalogue):
    CustomerFactory.create(tenant=tenant, external_id="c-anon", first_name="", attributes={"age": 30})
    body = ok(viewer.post(PATH, {"decisionFlowKey": "nba", "customerId": "c-anon", "limit": 1}))
    assert body["decisionFlowId"] == catalogue["flow"].pk
    [first] = body["recommendations"]
    assert first["personalization"] == {"subject": "Hello there", "content": "Gold Card for  members, worth 200."}


def test_recommend_uses_the_published_version_not_the_draft_pipeline(viewer, catalogue):
    flow = catalogue["flow"]
    DecisionFlow.objects.filter(pk=flow.pk).update(pipeline=[{"type": "inventory", "offer_ids": ["off_nothing"]}])
    body = ok(viewer.post(PATH, {"decisionFlowId": flow.pk, "customerId": "c-ada"}))
    assert [r["offerKey"] for r in body["recommendations"]] == ["gold", "loan", "app"]


def test_limit_overrides_the_rank_node(viewer, catalogue):
    body = ok(viewer.post(PATH, {"decisionFlowKey": "nba", "customerId": "c-ada", "limit": 2}))
    assert [r["offerKey"] for r in body["recommendations"]] == ["gold", "loan"]
    for limit in (0, 51, "many"):
        message = error(viewer.post(PATH, {"decisionFlowKey": "nba", "customerId": "c-ada", "limit": limit}))
        assert message.startswith("limit:")


def test_channel_restricts_by_id_or_type(viewer, catalogue):
    email, push = catalogue["email"], catalogue["push"]
    # the push channel is an api one: the id route works for it too
    only_push = ok(viewer.post(PATH, {"decisionFlowKey": "nba", "customerId": "c-ada", "channel": push.pk}))
    assert {r["channelId"] for r in only_push["recommendations"]} == {push.pk}
    by_id = ok(viewer.post(PATH, {"decisionFlowKey": "nba", "customerId": "c-ada", "channel": email.pk}))
    assert [(r["offerKey"], r["channelId"]) for r in by_id["recommendations"]] == [
        ("gold", email.pk),
        ("loan", email.pk),
    ]
    by_type = ok(viewer.post(PATH, {"decisionFlowKey": "nba", "customerId": "c-ada", "channel": "push", "debug": True}))
    assert [(r["offerKey"], r["creativeName"]) for r in by_type["recommendations"]] == [
        ("gold", "Gold push"),
        ("app", "App push"),
    ]
    assert by_type["recommendations"][0]["personalization"]["subject"] == "Psst"
    loan = next(d for d in by_type["funnel"]["dropped"] if d["offerKey"] == "loan")
    assert loan["stage"] == "no_channel"


@pytest.mark.parametrize("channel", ["ch_nope", "carrier-pigeon", "sms"])
def test_unknown_or_unavailable_channel_is_400(viewer, catalogue, channel):
    # "sms" is a channel type, but the tenant's only sms channel is inactive
    message = error(viewer.post(PATH, {"decisionFlowKey": "nba", "customerId": "c-ada", "channel": channel}))
    assert message.startswith("channel:")


def test_inactive_channel_id_is_400(viewer, tenant, catalogue):
    inactive = ChannelFactory.create(tenant=tenant, name="Paused", status=ActiveStatus.INACTIVE)
    message = error(viewer.post(PATH, {"decisionFlowKey": "nba", "customerId": "c-ada", "channel": inactive.pk}))
    assert "Unknown channel" in message


def test_flow_id_or_key_is_required(viewer, catalogue):
    message = error(viewer.post(PATH, {"customerId": "c-ada"}))
    assert message == "decisionFlowId: Required: give decisionFlowId or decisionFlowKey."
    assert error(viewer.post(PATH, {"decisionFlowKey": "nba"})) == "customerId: This field is required."


def test_unknown_flow_or_customer_is_404(viewer, catalogue):
    assert (
        error(viewer.post(PATH, {"decisionFlowId": "df_nope", "customerId": "c-ada"}), 404) == "No such decision flow."
    )
    # id and key must name the same flow
    mismatch = {"decisionFlowId": catalogue["flow"].pk, "decisionFlowKey": "other", "customerId": "c-ada"}
    error(viewer.post(PATH, mismatch), 404)
    message = error(viewer.post(PATH, {"decisionFlowKey": "nba", "customerId": "c-nobody"}), 404)
    assert message == "No customer with this customerId."


def test_another_tenants_flow_and_customer_are_404(viewer, outsider, other_tenant, catalogue):
    CustomerFactory.create(tenant=other_tenant, external_id="c-theirs")
    error(outsider.post(PATH, {"decisionFlowId": catalogue["flow"].pk, "customerId": "c-theirs"}), 404)
    error(outsider.post(PATH, {"decisionFlowKey": "nba", "customerId": "c-ada"}), 404)
    # and the tenant cannot reach the other tenant's customer with its own flow
    error(viewer.post(PATH, {"decisionFlowKey": "nba", "customerId": "c-theirs"}), 404)


@pytest.mark.parametrize(
    ("status", "published", "says"),
    [
        (FlowStatus.DRAFT, True, "its status is draft"),
        (FlowStatus.PAUSED, True, "its status is paused"),
        (FlowStatus.ACTIVE, False, "it has no published version"),
    ],
)
def test_flow_that_is_not_runnable_is_409(viewer, tenant, catalogue, status, published, says):
    flow = DecisionFlowFactory.create(tenant=tenant, key="other", status=status)
    if published:
        services.decision_flow_publish(tenant=tenant, actor=None, flow=flow)
    response = viewer.post(PATH, {"decisionFlowId": flow.pk, "customerId": "c-ada"})
    message = error(response, 409)
    assert message == f"Decision flow 'other' cannot recommend: {says}; it must be active and published."
    assert response.json()["flowStatus"] == status


def test_anonymous_is_401(anonymous, catalogue):
    response = anonymous.post(PATH, {"decisionFlowKey": "nba", "customerId": "c-ada"}, format="json")
    assert response.status_code == 401


def test_debug_funnel_names_the_rule_and_the_policy(viewer, tenant, catalogue):
    kids, gold = catalogue["kids"], catalogue["gold"]
    teen = CustomerFactory.create(tenant=tenant, external_id="c-teen", first_name="Tim", attributes={"age": 16})
    body = ok(viewer.post(PATH, {"decisionFlowKey": "nba", "customerId": "c-teen", "debug": True}))
    assert [r["offerKey"] for r in body["recommendations"]] == ["kids"]
    assert body["funnel"] == {
        "candidates": 4,
        "afterQualification": 1,
        "afterContactPolicy": 1,
        "scored": 1,
        "returned": 1,
        "dropped": [
            {"offerId": gold.pk, "offerKey": "gold", "stage": "qualification", "reason": "adults only"},
            {"offerId": catalogue["loan"].pk, "offerKey": "loan", "stage": "qualification", "reason": "adults only"},
            {"offerId": catalogue["app"].pk, "offerKey": "app", "stage": "qualification", "reason": "adults only"},
        ],
    }
    assert teen.external_id == body["customerId"]

    # Ada got gold ten days ago: the monthly cap on gold drops it
    ContactHistoryFactory.create(
        tenant=tenant,
        customer=catalogue["ada"],
        offer=gold,
        channel=catalogue["email"],
        contacted_at=timezone.now() - dt.timedelta(days=10),
    )
    body = ok(viewer.post(PATH, {"decisionFlowKey": "nba", "customerId": "c-ada", "debug": True, "limit": 1}))
    assert [r["offerKey"] for r in body["recommendations"]] == ["loan"]
    assert body["funnel"] == {
        "candidates": 4,
        "afterQualification": 3,
        "afterContactPolicy": 2,
        "scored": 2,
        "returned": 1,
        "dropped": [
            {
                "offerId": kids.pk,
                "offerKey": "kids",
                "stage": "qualification",
                "reason": "The customer does not meet the offer's eligibility condition.",
            },
            {"offerId": gold.pk, "offerKey": "gold", "stage": "contact_policy", "reason": "gold once a month"},
            {
                "offerId": catalogue["app"].pk,
                "offerKey": "app",
                "stage": "outranked",
                "reason": "Better-scored offers took the available places.",
            },
        ],
    }


def test_debug_funnel_counts_zero_scores(viewer, tenant, catalogue):
    free = OfferFactory.create(tenant=tenant, key="free", name="Free", business_value=0, priority=99)
    CreativeFactory.create(tenant=tenant, offer=free, channel=catalogue["email"])
    flow = catalogue["flow"]
    services.decision_flow_publish(tenant=tenant, actor=None, flow=flow)  # version 2: same pipeline
    body = ok(viewer.post(PATH, {"decisionFlowKey": "nba", "customerId": "c-ada", "debug": True}))
    assert body["version"] == 2
    funnel = body["funnel"]
    assert (funnel["candidates"], funnel["scored"], funnel["returned"]) == (5, 3, 3)
    assert {"offerId": free.pk, "offerKey": "free", "stage": "zero_score"}.items() <= funnel["dropped"][0].items()


def test_recommend_query_count_does_not_grow_with_the_catalogue(
    viewer, tenant, system_actor, catalogue, warm, django_assert_num_queries
):
    request = {"decisionFlowKey": "nba", "customerId": "c-ada", "debug": True}
    # cold: the key; the catalogue version, channels, offers, creatives, policies and schema;
    # the flow and its version; the customer with their contact history
    with django_assert_num_queries(10):
        ok(viewer.post(PATH, request))
    for index in range(10):
        offer = services.offer_create(
            tenant=tenant,
            actor=system_actor,
            data={"key": f"extra-{index}", "name": f"Extra {index}", "status": "active"},
        )
        services.creative_create(
            tenant=tenant, actor=system_actor, data={"offer": offer, "channel": catalogue["email"], "name": "e"}
        )
    # the read sees the new catalogue version: the catalogue is read again, as cold, then the customer
    with django_assert_num_queries(11):
        body = ok(viewer.post(PATH, request))
    assert body["funnel"]["candidates"] == 14
    # warm: the key, then the customer with the catalogue version and contact history
    with django_assert_num_queries(2):
        ok(viewer.post(PATH, request))
