"""GET /api/v1/customers at scale: the exact total from the counters (kaireon/listcounts.py) through
creates, imports (new and existing customers) and deletes; other filters still count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from segments.models import Customer
from segments.tasks import import_customers

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers"


def total(client, **query: object) -> int:
    return client.get(URL, query).json()["total"]


def test_totals_follow_creates_imports_and_deletes(editor, admin, viewer, outsider, tenant, schema):
    for external_id in ("a1", "a2"):
        assert (
            editor.post(URL, {"externalId": external_id, "attributes": {"tier": "gold"}}, format="json").status_code
            == 201
        )
    records = [{"externalId": e, "tier": "silver", "suppressed": e == "n2"} for e in ("a1", "n1", "n2", "n3")]
    job = editor.post(f"{URL}/import", {"customers": records}, format="json").json()
    import_customers.apply(args=(job["id"],))
    assert total(viewer) == Customer.objects.filter(tenant=tenant).count() == 5  # a1 updated, not added
    assert admin.delete(f"{URL}/n3").status_code == 204
    assert total(viewer) == 4
    # not answered by the counters: counted by the database, as exact
    assert total(viewer, suppressed="true") == 1
    assert total(viewer, q="n") == 2
    assert total(outsider) == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite counts every list with COUNT")
def test_the_plain_list_reads_the_counter_not_count(viewer, tenant):
    Customer.objects.bulk_create(Customer(tenant=tenant, external_id=f"b{i}") for i in range(30))
    for query, counted in (({}, False), ({"email": "x@example.com"}, True)):
        with CaptureQueriesContext(connection) as queries:
            viewer.get(URL, query)
        assert any("COUNT(" in q["sql"].upper() for q in queries.captured_queries) is counted, query
