"""The Recommend API's cached decision contexts (decisionflows.realtime): one query per warm
decision, and never a stale context once a change to what a decision reads has committed."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from decisionflows import realtime, services
from decisionflows.loading import attribute_types, customer_frame
from decisionflows.models import ActiveStatus, ContactPolicy, FlowStatus, Offer, OfferStatus
from decisionflows.recommend import CUSTOMER_FIELDS, recommend
from decisionflows.serializers import RecommendResponseSerializer
from kaireon.models import Role, Tenant
from kaireon.principal import Principal
from segments import services as segment_services
from segments.models import CustomerAttribute
from tests.decisionflows.conftest import recommend_catalogue
from tests.decisionflows.factories import (
    MINIMAL_PIPELINE,
    ChannelFactory,
    ContactHistoryFactory,
    CustomerFactory,
    OfferFactory,
)
from tests.decisionflows.helpers import error, ok

PATH = "/api/v1/recommend"
REQUEST = {"decisionFlowKey": "nba", "customerId": "c-ada"}


def offer_keys(body: dict[str, Any]) -> list[str]:
    """The offers of an API body (camelCase) or of the service's answer."""
    return [r["offerKey"] if "offerKey" in r else r["offer_key"] for r in body["recommendations"]]


# --- queries ----------------------------------------------------------------------------------


def test_a_warm_decision_is_one_query_with_the_contact_history(tenant, catalogue, django_assert_num_queries):
    recommend(tenant=tenant, customer_id="c-ada", flow_key="nba")
    # the flow's contact_policy node applies the monthly cap on gold: contacts are read too
    with django_assert_num_queries(1) as captured:
        result = recommend(tenant=tenant, customer_id="c-ada", flow_key="nba", channel="email", limit=2, debug=True)
    assert "contact_history_all" in captured.captured_queries[0]["sql"]
    assert offer_keys(result) == ["gold", "loan"]


def test_a_warm_request_is_two_queries_the_api_key_and_the_decision(viewer, catalogue, warm, django_assert_num_queries):
    ok(viewer.post(PATH, REQUEST))
    with django_assert_num_queries(2) as captured:
        body = ok(viewer.post(PATH, {**REQUEST, "channel": "push", "debug": True}))
    key, decision = (query["sql"] for query in captured.captured_queries)
    assert "kaireon_apikey" in key
    assert "segments_customer" in decision
    assert offer_keys(body) == ["gold", "app"]


def test_the_response_is_what_the_serializer_would_write(tenant, catalogue):
    """The view returns the service's answer as it is: its keys, their order and the types must
    be the serializer's (docs/api-contract.md)."""
    result = recommend(tenant=tenant, customer_id="c-ada", flow_key="nba", debug=True)
    assert result["funnel"]["dropped"]
    assert result["recommendations"]
    assert json.dumps(RecommendResponseSerializer(result).data) == json.dumps(result)


# --- the one query: the customer and their contacts, as runs read them ------------------------


def test_the_customer_is_typed_as_customer_frame_types_a_chunk(tenant):
    for name, type_ in (("age", "integer"), ("balance", "number"), ("vip", "boolean"), ("joined", "date")):
        CustomerAttribute.objects.create(tenant=tenant, name=name, type=type_)
    CustomerAttribute.objects.create(tenant=tenant, name="tier", type="string")
    values = [
        {"age": 42, "balance": 10.5, "vip": True, "joined": "2023-12-31", "tier": 'gold\nplus, "vip"'},
        {},
        {"age": "42", "balance": "lots", "vip": "yes", "joined": "31/12/2023", "tier": 7},
        {"age": 3.0, "balance": 2, "vip": False, "joined": "2024-02-30", "tier": ""},
    ]
    customers = [
        CustomerFactory.create(tenant=tenant, external_id=f"c{i}", last_name='O"Neil', suppressed=i == 0, attributes=a)
        for i, a in enumerate(values)
    ]
    snapshot = realtime.catalogue_snapshot(tenant=tenant)
    chunk = customer_frame(
        tenant=tenant, first_id=customers[0].pk, last_id=customers[-1].pk, attributes=attribute_types(tenant=tenant)
    )
    for customer, expected in zip(customers, chunk.iter_rows(named=True), strict=True):
        version, row = realtime.read_customer(
            tenant=tenant, snapshot=snapshot, external_id=customer.external_id, since=None
        )
        assert version == snapshot.version
        assert row is not None
        frame = realtime.customer_frame(snapshot, row)
        assert frame.schema == chunk.schema
        assert frame.to_dicts() == [expected]
        assert row.fields() == {
            **{name: getattr(customer, name) for name in CUSTOMER_FIELDS},
            "attributes": customer.attributes,
        }
    assert realtime.read_customer(tenant=tenant, snapshot=snapshot, external_id="nobody", since=None) == (
        snapshot.version,
        None,
    )


def test_the_contacts_are_the_customers_own_within_the_look_back(tenant, other_tenant):
    now = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)
    channel, offer = ChannelFactory.create(tenant=tenant), OfferFactory.create(tenant=tenant)
    ada, bob = CustomerFactory.create(tenant=tenant, external_id="ada"), CustomerFactory.create(tenant=tenant)
    theirs = CustomerFactory.create(tenant=other_tenant, external_id="ada")
    week = now - dt.timedelta(days=7)
    for customer, when, on in (
        (ada, now - dt.timedelta(days=2), channel),
        (ada, week, None),  # the window's first instant
        (ada, week - dt.timedelta(microseconds=1), channel),  # before it
        (bob, now, channel),
    ):
        ContactHistoryFactory.create(tenant=tenant, customer=customer, offer=offer, channel=on, contacted_at=when)
    ContactHistoryFactory.create(tenant=other_tenant, customer=theirs, contacted_at=now)
    snapshot = realtime.catalogue_snapshot(tenant=tenant)
    _, row = realtime.read_customer(tenant=tenant, snapshot=snapshot, external_id="ada", since=week)
    assert row is not None
    history = row.history
    columns = (history.customer_rows.tolist(), history.offer_ids, history.channel_ids, history.contacted_at)
    found = sorted(zip(*columns, strict=True), key=lambda contact: contact[3])
    assert found == [(0, offer.pk, None, week), (0, offer.pk, channel.pk, now - dt.timedelta(days=2))]
    assert all(when.tzinfo is not None for when in history.contacted_at)
    _, row = realtime.read_customer(tenant=tenant, snapshot=snapshot, external_id="ada", since=None)
    assert row is not None
    assert row.history.offer_ids == []


# --- invalidation -----------------------------------------------------------------------------


def _rename_gold(c: dict[str, Any], tenant: Tenant, actor: Principal) -> None:
    services.offer_update(tenant=tenant, actor=actor, instance=c["gold"], data={"name": "Golden Card"})


def _pause_gold(c: dict[str, Any], tenant: Tenant, actor: Principal) -> None:
    services.offer_update(tenant=tenant, actor=actor, instance=c["gold"], data={"status": OfferStatus.PAUSED})


def _delete_app(c: dict[str, Any], tenant: Tenant, actor: Principal) -> None:
    services.offer_delete(tenant=tenant, actor=actor, instance=c["app"])


def _edit_gold_email(c: dict[str, Any], tenant: Tenant, actor: Principal) -> None:
    creative = c["creatives"]["gold_email"]
    services.creative_update(tenant=tenant, actor=actor, instance=creative, data={"content": "New {{offer.name}}"})


def _deactivate_push(c: dict[str, Any], tenant: Tenant, actor: Principal) -> None:
    services.channel_update(tenant=tenant, actor=actor, instance=c["push"], data={"status": ActiveStatus.INACTIVE})


def _publish_top_one(c: dict[str, Any], tenant: Tenant, actor: Principal) -> None:
    flow = c["flow"]
    pipeline = [{**node, "max_offers_per_customer": 1} if node["type"] == "rank" else node for node in flow.pipeline]
    services.decision_flow_update(tenant=tenant, actor=actor, instance=flow, data={"pipeline": pipeline})
    services.decision_flow_publish(tenant=tenant, actor=actor, flow=flow)


def _drop_age_from_schema(c: dict[str, Any], tenant: Tenant, actor: Principal) -> None:
    attribute = CustomerAttribute.objects.get(tenant=tenant, name="age")
    segment_services.customer_attribute_delete(tenant=tenant, actor=actor, instance=attribute)


CHANGES: dict[str, tuple[Callable[..., None], Callable[[dict[str, Any]], bool]]] = {
    "offer renamed": (_rename_gold, lambda body: body["recommendations"][0]["offerName"] == "Golden Card"),
    "offer paused": (_pause_gold, lambda body: offer_keys(body) == ["loan", "app"]),
    "offer deleted": (_delete_app, lambda body: offer_keys(body) == ["gold", "loan"]),
    "creative edited": (
        _edit_gold_email,
        lambda body: body["recommendations"][0]["personalization"]["content"] == "New Gold Card",
    ),
    "channel deactivated": (_deactivate_push, lambda body: offer_keys(body) == ["gold", "loan"]),
    "new version published": (_publish_top_one, lambda body: (body["version"], offer_keys(body)) == (2, ["gold"])),
    # without the age column the adults-only rule holds for nobody, and kids is for under-18s only
    "schema attribute deleted": (_drop_age_from_schema, lambda body: offer_keys(body) == []),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_the_next_request_sees_a_change(viewer, tenant, system_actor, catalogue, change):
    before = ok(viewer.post(PATH, REQUEST))
    assert offer_keys(before) == ["gold", "loan", "app"]
    apply, seen = CHANGES[change]
    apply(catalogue, tenant, system_actor)
    after = ok(viewer.post(PATH, REQUEST))
    assert seen(after), after


def test_the_next_request_sees_a_policy_change(viewer, tenant, system_actor, catalogue):
    ContactHistoryFactory.create(
        tenant=tenant,
        customer=catalogue["ada"],
        offer=catalogue["gold"],
        channel=catalogue["email"],
        contacted_at=timezone.now() - dt.timedelta(days=10),
    )
    assert offer_keys(ok(viewer.post(PATH, REQUEST))) == ["loan", "app"]  # gold: once a month
    policy = ContactPolicy.objects.get(pk=catalogue["policy"].pk)
    services.contact_policy_update(
        tenant=tenant, actor=system_actor, instance=policy, data={"status": ActiveStatus.INACTIVE}
    )
    assert offer_keys(ok(viewer.post(PATH, REQUEST))) == ["gold", "loan", "app"]
    services.contact_policy_create(
        tenant=tenant,
        actor=system_actor,
        data={"name": "rest a day", "policy_type": "cooldown", "cooldown_hours": 24 * 11},
    )
    assert offer_keys(ok(viewer.post(PATH, REQUEST))) == ["loan", "app"]  # gold went 10 days ago


def test_the_next_request_sees_a_paused_flow(viewer, tenant, system_actor, catalogue):
    ok(viewer.post(PATH, REQUEST))
    services.decision_flow_update(
        tenant=tenant, actor=system_actor, instance=catalogue["flow"], data={"status": FlowStatus.PAUSED}
    )
    assert "its status is paused" in error(viewer.post(PATH, REQUEST), 409)


def test_another_process_change_is_seen_by_its_catalogue_version(viewer, tenant, catalogue):
    """Whoever committed the change (another web process, a worker), the version tells: what
    the services write, written here by hand."""
    ok(viewer.post(PATH, REQUEST))
    Offer.objects.filter(pk=catalogue["loan"].pk).update(name="Loan Elsewhere")
    Tenant.objects.filter(pk=tenant.pk).update(catalogue_version=123)
    body = ok(viewer.post(PATH, REQUEST))
    assert body["recommendations"][1]["offerName"] == "Loan Elsewhere"


def test_a_rolled_back_change_never_passes_for_a_later_one(viewer, tenant, system_actor, catalogue):
    """A decision inside a transaction that changed the catalogue caches what was never
    committed; the version a later change writes must not match it (a counter would)."""

    def decide_inside_then_roll_back() -> None:
        with transaction.atomic():
            gold = Offer.objects.get(pk=catalogue["gold"].pk)
            services.offer_update(tenant=tenant, actor=system_actor, instance=gold, data={"name": "Never"})
            assert ok(viewer.post(PATH, REQUEST))["recommendations"][0]["offerName"] == "Never"
            raise RuntimeError("roll back")

    ok(viewer.post(PATH, REQUEST))
    with pytest.raises(RuntimeError):
        decide_inside_then_roll_back()
    loan = Offer.objects.get(pk=catalogue["loan"].pk)
    services.offer_update(tenant=tenant, actor=system_actor, instance=loan, data={"name": "Loan Plus"})
    body = ok(viewer.post(PATH, REQUEST))
    assert [r["offerName"] for r in body["recommendations"]] == ["Gold Card", "Loan Plus", "App Bonus"]


def test_the_context_follows_the_day(tenant, system_actor, catalogue):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    starts = services.offer_create(
        tenant=tenant,
        actor=system_actor,
        data={
            "key": "soon",
            "name": "Soon",
            "status": OfferStatus.ACTIVE,
            "priority": 99,
            "business_value": 200,
            "start_date": tomorrow,
        },
    )
    services.creative_create(
        tenant=tenant, actor=system_actor, data={"offer": starts, "channel": catalogue["email"], "name": "Soon email"}
    )
    today = recommend(tenant=tenant, customer_id="c-ada", flow_key="nba")
    later = recommend(tenant=tenant, customer_id="c-ada", flow_key="nba", now=timezone.now() + dt.timedelta(days=1))
    assert "soon" not in offer_keys(today)
    assert offer_keys(later)[0] == "soon"


# --- isolation and bounds ---------------------------------------------------------------------


def test_two_tenants_never_share_a_context(viewer, outsider, tenant, other_tenant, catalogue):
    """Same flow key, same customer id, same offer keys: each tenant gets its own."""
    actor = Principal(tenant=other_tenant, role=Role.ADMIN)
    theirs = recommend_catalogue(other_tenant, actor)
    services.offer_update(tenant=other_tenant, actor=actor, instance=theirs["gold"], data={"name": "Their Gold"})
    ours = {catalogue[k].pk for k in ("gold", "loan", "app")}
    for _ in range(2):  # cold, then warm
        mine, their = ok(viewer.post(PATH, REQUEST)), ok(outsider.post(PATH, REQUEST))
        assert {r["offerId"] for r in mine["recommendations"]} == ours
        assert {r["offerId"] for r in their["recommendations"]} == {theirs[k].pk for k in ("gold", "loan", "app")}
        assert (mine["decisionFlowId"], their["decisionFlowId"]) == (catalogue["flow"].pk, theirs["flow"].pk)
        assert (mine["recommendations"][0]["offerName"], their["recommendations"][0]["offerName"]) == (
            "Gold Card",
            "Their Gold",
        )


def test_the_cache_keeps_a_bounded_number_of_tenants(viewer, outsider, other_tenant, catalogue, monkeypatch):
    monkeypatch.setattr(realtime, "MAX_TENANTS", 1)
    recommend_catalogue(other_tenant, Principal(tenant=other_tenant, role=Role.ADMIN))
    for _ in range(2):
        assert offer_keys(ok(viewer.post(PATH, REQUEST))) == ["gold", "loan", "app"]
        assert offer_keys(ok(outsider.post(PATH, REQUEST))) == ["gold", "loan", "app"]
        assert len(realtime._snapshots) == 1


def test_contexts_per_tenant_are_bounded(tenant, catalogue, monkeypatch):
    monkeypatch.setattr(realtime, "MAX_CONTEXTS", 2)
    for limit in (1, 2, 3):
        assert len(offer_keys(recommend(tenant=tenant, customer_id="c-ada", flow_key="nba", limit=limit))) == limit
    assert len(realtime.catalogue_snapshot(tenant=tenant).contexts) == 2


# --- the version ------------------------------------------------------------------------------


def test_every_write_to_what_a_decision_reads_changes_the_catalogue_version(tenant, system_actor):
    seen: set[int] = set()

    def changed(by: str) -> None:
        version = Tenant.objects.values_list("catalogue_version", flat=True).get(pk=tenant.pk)
        assert version not in seen, f"{by} left the catalogue version as it was"
        seen.add(version)

    changed("nothing yet")
    kw: dict[str, Any] = {"tenant": tenant, "actor": system_actor}
    fax = services.channel_create(**kw, data={"name": "Fax", "channel_type": "direct_mail", "delivery_mode": "manual"})
    changed("channel_create")
    fax = services.channel_update(**kw, instance=fax, data={"name": "Fax 2"})
    changed("channel_update")
    offer = services.offer_create(**kw, data={"key": "spare", "name": "Spare"})
    changed("offer_create")
    offer = services.offer_update(**kw, instance=offer, data={"name": "Spare 2"})
    changed("offer_update")
    creative = services.creative_create(**kw, data={"offer": offer, "channel": fax, "name": "Spare fax"})
    changed("creative_create")
    creative = services.creative_update(**kw, instance=creative, data={"content": "Hi"})
    changed("creative_update")
    services.creative_delete(**kw, instance=creative)
    changed("creative_delete")
    services.offer_delete(**kw, instance=offer)
    changed("offer_delete")
    services.channel_delete(**kw, instance=fax)
    changed("channel_delete")
    policy = services.contact_policy_create(
        **kw, data={"name": "rest", "policy_type": "cooldown", "cooldown_hours": 24}
    )
    changed("contact_policy_create")
    policy = services.contact_policy_update(**kw, instance=policy, data={"cooldown_hours": 48})
    changed("contact_policy_update")
    services.contact_policy_delete(**kw, instance=policy)
    changed("contact_policy_delete")
    flow = services.decision_flow_create(**kw, data={"key": "nba", "name": "NBA", "pipeline": MINIMAL_PIPELINE})
    changed("decision_flow_create")
    flow = services.decision_flow_update(**kw, instance=flow, data={"status": FlowStatus.ACTIVE})
    changed("decision_flow_update")
    services.decision_flow_publish(**kw, flow=flow)
    changed("decision_flow_publish")
    services.decision_flow_delete(**kw, instance=flow)
    changed("decision_flow_delete")
    vip = segment_services.customer_attribute_create(**kw, data={"name": "vip", "type": "boolean"})
    changed("customer_attribute_create")
    vip = segment_services.customer_attribute_update(**kw, instance=vip, data={"type": "string"})
    changed("customer_attribute_update")
    segment_services.customer_attribute_delete(**kw, instance=vip)
    changed("customer_attribute_delete")
