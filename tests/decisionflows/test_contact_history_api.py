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
    assert [row["id"] for row in body["contactHistory"]] == [str(new.pk), str(old.pk)]
    assert body["contactHistory"][0] == {
        "id": str(new.pk),
        "customerId": "ada",
        "offerId": new.offer_id,
        "channelId": new.channel_id,
        "source": "journey",
        "sourceId": "plan_1",
        "contactedAt": new.contacted_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    assert [row["id"] for row in ok(viewer.get(f"{PATH}?customerId=ada&offerId={offer.pk}"))["contactHistory"]] == [
        str(old.pk)
    ]
    after = (now - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert [row["id"] for row in ok(viewer.get(f"{PATH}?customerId=ada&contactedAfter={after}"))["contactHistory"]] == [
        str(new.pk)
    ]
    assert ok(viewer.get(f"{PATH}?source=journey"))["total"] == 1
    assert error(viewer.get(f"{PATH}?source=carrier-pigeon")).startswith("source: ")


def test_another_tenants_customer_with_the_same_external_id_stays_hidden(viewer, tenant, other_tenant):
    ContactHistoryFactory.create(
        tenant=other_tenant, customer=CustomerFactory.create(tenant=other_tenant, external_id="ada")
    )
    assert ok(viewer.get(f"{PATH}?customerId=ada"))["total"] == 0


def test_a_runs_recommendations_are_listed_as_its_contacts_until_it_is_cancelled(viewer, tenant):
    from kaireon.models import Role
    from kaireon.principal import Principal
    from runs import services as runs
    from runs.models import Recommendation, Run, RunStatus
    from tests.runs.conftest import build_catalogue

    catalogue = build_catalogue(tenant)
    actor = Principal(tenant=tenant, role=Role.ADMIN)
    run = runs.run_create(
        tenant=tenant, actor=actor, decision_flow_id=catalogue.flow.pk, segment_id=catalogue.everyone.pk, dispatch=False
    )
    run = runs.run_execute_inline(run_id=run.pk)
    first = Recommendation.objects.filter(run=run).order_by("customer_id", "rank").select_related("customer").first()
    assert first is not None
    body = ok(viewer.get(f"{PATH}?source=run&sourceId={run.pk}&limit=200"))
    assert body["total"] == run.recommendation_count > 0
    mine = [row for row in body["contactHistory"] if row["customerId"] == first.customer.external_id]
    assert {(row["offerId"], row["channelId"]) for row in mine} == set(
        Recommendation.objects.filter(run=run, customer_id=first.customer_id).values_list("offer_id", "channel_id")
    )
    assert mine[0]["id"].startswith(f"{run.pk}/{first.customer_id}/")
    Run.objects.filter(pk=run.pk).update(status=RunStatus.CANCELLED)
    assert ok(viewer.get(f"{PATH}?source=run&sourceId={run.pk}"))["total"] == 0
