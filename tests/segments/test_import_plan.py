"""The probe of the current rows is planned on the unique (tenant, external id) index, even for a
tenant the planner's statistics have never seen, and runs before the upsert, which reads no
customer index (issue 11, "Import at the limit")."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from segments.importing import writers
from segments.importing.pipeline import import_stream
from segments.models import Customer

pytestmark = pytest.mark.django_db


def index_names(plan: Any) -> set[str]:
    if isinstance(plan, dict):
        found = {plan["Index Name"]} if "Index Name" in plan else set()
        return found.union(*(index_names(value) for value in plan.values()))
    if isinstance(plan, list):
        return set().union(*(index_names(value) for value in plan))
    return set()


def test_second_batch_of_a_new_tenant_probes_the_unique_index(tenant, other_tenant):
    now = timezone.now()
    Customer.objects.bulk_create(
        Customer(tenant=other_tenant, external_id=f"o{i}", created_at=now, updated_at=now) for i in range(3000)
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # statistics that know only the other tenant
            cursor.execute("ANALYZE segments_customer")
    stream = io.StringIO("externalId,email\n" + "".join(f"n{i},n{i}@example.com\n" for i in range(400)))
    stats = import_stream(tenant_id=tenant.pk, stream=stream, format="csv", schema={}, on_batch=print, size=200)
    assert (stats.created, stats.updated, stats.rejected) == (400, 0, 0)
    assert Customer.objects.filter(tenant=tenant).count() == 400

    if connection.vendor == "postgresql":
        # The next batch's upsert, as write_postgresql plans it: it must look each row up by
        # (tenant, external id), not walk the tenant's rows on another tenant-leading index.
        with connection.cursor() as cursor:
            cursor.execute(writers._CREATE_TEMP)
            cursor.execute(
                "INSERT INTO segments_customer_import (external_id, attributes)"
                " SELECT 'n' || i, '{}' FROM generate_series(200, 599) i"
            )
            cursor.execute("DROP TABLE IF EXISTS pg_temp.segments_customer_import_current")
            cursor.execute("EXPLAIN (FORMAT JSON) " + writers._CURRENT, {"tenant": tenant.pk})
            probe = cursor.fetchone()[0]
            cursor.execute(writers._CURRENT, {"tenant": tenant.pk})
            cursor.execute("EXPLAIN (FORMAT JSON) " + writers._UPSERT, {"tenant": tenant.pk, "now": now})
            upsert = cursor.fetchone()[0]
        names = index_names(json.loads(probe) if isinstance(probe, str) else probe)
        assert "customer_unique_external_id" in names, names
        assert not names & {"customer_tenant_id", "customer_tenant_email"}, names
        # The INSERT itself reads no index of the customers: it takes the current rows from
        # the probe's table, so it never walks the entries it is adding (a new tenant's first
        # batch was quadratic in its size when it did).
        assert not index_names(json.loads(upsert) if isinstance(upsert, str) else upsert), upsert
    else:
        assert connection.vendor == "sqlite"

    # Idempotent: the same rows again are all updates.
    again = io.StringIO("externalId,email\n" + "".join(f"n{i},n{i}@example.com\n" for i in range(400)))
    stats = import_stream(tenant_id=tenant.pk, stream=again, format="csv", schema={}, on_batch=print, size=200)
    assert (stats.created, stats.updated) == (0, 400)
    assert Customer.objects.filter(tenant=tenant).count() == 400
