"""Lists: query counts that do not grow with the page (no N+1), and bounded pagination."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from decisionflows.models import Channel
from kaireon.models import Tenant
from tests.decisionflows.factories import (
    ChannelFactory,
    ContactHistoryFactory,
    ContactPolicyFactory,
    CreativeFactory,
    DecisionFlowFactory,
    DecisionFlowVersionFactory,
    OfferFactory,
)
from tests.decisionflows.helpers import error, ok


def make_creatives(tenant: Tenant, n: int) -> None:
    for _ in range(n):
        CreativeFactory.create(tenant=tenant)


def make_history(tenant: Tenant, n: int) -> None:
    for _ in range(n):
        ContactHistoryFactory.create(tenant=tenant)


def make_policies(tenant: Tenant, n: int) -> None:
    channel, offer = ChannelFactory.create(tenant=tenant), OfferFactory.create(tenant=tenant)
    for i in range(n):
        ContactPolicyFactory.create(
            tenant=tenant, scope=["channel", "offer"][i % 2], **{["channel", "offer"][i % 2]: [channel, offer][i % 2]}
        )


LISTS: dict[str, tuple[str, Callable[[Tenant, int], object]]] = {
    "channels": ("/api/v1/channels", lambda t, n: ChannelFactory.create_batch(n, tenant=t)),
    "offers": ("/api/v1/offers", lambda t, n: OfferFactory.create_batch(n, tenant=t)),
    "creatives": ("/api/v1/creatives", make_creatives),
    "contactPolicies": ("/api/v1/contact-policies", make_policies),
    "decisionFlows": ("/api/v1/decision-flows", lambda t, n: DecisionFlowFactory.create_batch(n, tenant=t)),
    "contactHistory": ("/api/v1/contact-history", make_history),
}


@pytest.mark.parametrize("key", LISTS)
def test_list_query_count_does_not_grow_with_rows(key, viewer, tenant, warm, django_assert_num_queries):
    path, make = LISTS[key]
    make(tenant, 2)
    # the key lookup, the count and the page
    with django_assert_num_queries(3):
        first = ok(viewer.get(path))
    make(tenant, 6)
    with django_assert_num_queries(3):
        second = ok(viewer.get(path))
    assert (len(first[key]), len(second[key])) == (first["total"], second["total"])
    assert second["total"] > first["total"]


def test_offer_detail_loads_creatives_in_one_query(viewer, tenant, warm, django_assert_num_queries):
    offer = OfferFactory.create(tenant=tenant)
    for _ in range(4):
        CreativeFactory.create(tenant=tenant, offer=offer)
    with django_assert_num_queries(3):  # key, offer, creatives
        body = ok(viewer.get(f"/api/v1/offers/{offer.pk}"))
    assert len(body["creatives"]) == 4


def test_versions_query_count(viewer, tenant, warm, django_assert_num_queries):
    flow = DecisionFlowFactory.create(tenant=tenant)
    DecisionFlowVersionFactory.create_batch(5, flow=flow)
    with django_assert_num_queries(4):  # key, flow, count, page
        body = ok(viewer.get(f"/api/v1/decision-flows/{flow.pk}/versions"))
    assert body["total"] == 5


def test_limit_is_clamped_at_200_and_must_be_positive(viewer, tenant):
    Channel.objects.bulk_create(
        [Channel(tenant=tenant, name=f"c{i:03}", channel_type="email", delivery_mode="file") for i in range(201)]
    )
    body = ok(viewer.get("/api/v1/channels?limit=500"))
    assert (len(body["channels"]), body["total"]) == (200, 201)
    assert len(ok(viewer.get("/api/v1/channels"))["channels"]) == 50
    assert len(ok(viewer.get("/api/v1/channels?limit=10&offset=195"))["channels"]) == 6
    assert error(viewer.get("/api/v1/channels?limit=0")) == "limit: Must be an integer from 1 to 200."
    assert error(viewer.get("/api/v1/channels?limit=-3")).startswith("limit: ")
    assert error(viewer.get("/api/v1/channels?offset=x")).startswith("offset: ")


def test_versions_list_is_paginated_too(viewer, tenant):
    flow = DecisionFlowFactory.create(tenant=tenant)
    DecisionFlowVersionFactory.create_batch(3, flow=flow)
    body = ok(viewer.get(f"/api/v1/decision-flows/{flow.pk}/versions?limit=2"))
    assert (len(body["versions"]), body["total"]) == (2, 3)
    assert error(viewer.get(f"/api/v1/decision-flows/{flow.pk}/versions?limit=0")).startswith("limit: ")
