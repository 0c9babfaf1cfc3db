from __future__ import annotations

from datetime import UTC, timedelta

from django.utils import timezone

from tests.decisionflows.factories import ContactHistoryFactory, CustomerFactory, OfferFactory
from tests.decisionflows.helpers import error, ok

PATH = "/api/v1/contact-history"


def test_history_of_one_customer_newest_first(viewer, tenant):
    now = timezone.now()
    ada = CustomerFactory.create(tenant=tenant, external_id="ada")
    offer = OfferFactory.create(tenant=tenant)
    old = ContactHistoryFactory.create(tenant=tenant, customer=ada, offer=offer, contacted_at=now - timedelta(days=3))
    new = ContactHistoryFactory.create(
        tenant=tenant, customer=ada, contacted_at=now - timedelta(hours=1), source="journey", source_id="plan_1"
    )
    ContactHistoryFactory.create(tenant=tenant)  # another customer

    body = ok(viewer.get(f"{PATH}?customerId=ada"))
    assert body["total"] == 2
    assert [row["id"] for row in body["contactHistory"]] == [new.pk, old.pk]
    assert body["contactHistory"][0] == {
        "id": new.pk,
        "customerId": "ada",
        "offerId": new.offer_id,
        "channelId": new.channel_id,
        "source": "journey",
        "sourceId": "plan_1",
        "contactedAt": new.contacted_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    assert [row["id"] for row in ok(viewer.get(f"{PATH}?customerId=ada&offerId={offer.pk}"))["contactHistory"]] == [
        old.pk
    ]
    after = (now - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert [row["id"] for row in ok(viewer.get(f"{PATH}?customerId=ada&contactedAfter={after}"))["contactHistory"]] == [
        new.pk
    ]
    assert ok(viewer.get(f"{PATH}?source=journey"))["total"] == 1
    assert error(viewer.get(f"{PATH}?source=carrier-pigeon")).startswith("source: ")


def test_another_tenants_customer_with_the_same_external_id_stays_hidden(viewer, tenant, other_tenant):
    ContactHistoryFactory.create(
        tenant=other_tenant, customer=CustomerFactory.create(tenant=other_tenant, external_id="ada")
    )
    assert ok(viewer.get(f"{PATH}?customerId=ada"))["total"] == 0
