"""Upsert one batch of ``CustomerRow``s by (tenant, external id); returns how many were new.

Call inside a transaction. Rows of one batch have distinct external ids (``dedupe``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection

from segments.importing.rows import CustomerRow
from segments.models import Customer

TEXT_FIELDS = ("email", "first_name", "last_name", "phone")
FLAG_FIELDS = ("suppressed", "unsubscribed")
# One encoder for every row: json.dumps builds a new one per call unless given the defaults.
_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# SQLite's default limit of host parameters per statement is 32,766; stay well inside it.
SQLITE_LOOKUP_CHUNK = 900


def dedupe(rows: Iterable[CustomerRow]) -> tuple[list[CustomerRow], int]:
    """One row per external id, later rows merged over earlier ones; and how many rows merged away."""
    by_id: dict[str, CustomerRow] = {}
    merged = 0
    for row in rows:
        earlier = by_id.get(row.external_id)
        if earlier is None:
            by_id[row.external_id] = row
        else:
            earlier.merge(row)
            merged += 1
    return list(by_id.values()), merged


# --- PostgreSQL --------------------------------------------------------------------------

_TEMP_TABLE = "segments_customer_import"
_CREATE_TEMP = f"""
DROP TABLE IF EXISTS pg_temp.{_TEMP_TABLE};
CREATE TEMP TABLE {_TEMP_TABLE} (
    external_id text NOT NULL,
    email text, first_name text, last_name text, phone text,
    suppressed boolean, unsubscribed boolean,
    attributes jsonb NOT NULL
) ON COMMIT DROP
"""
# The current rows of the batch's customers, read before the INSERT in a statement of their own:
# probed inside the INSERT, each probe walked the index entries that same INSERT had just added
# (not visible to it, but visited), so a batch into a new tenant cost its size squared (40-60 s
# for a 20,000-row first batch). Each probe is a LIMIT 1 on the (tenant_id, external_id) unique
# index: a plain join let the planner hash the tenant's whole table once per batch.
_CURRENT = """
CREATE TEMP TABLE segments_customer_import_current ON COMMIT DROP AS
SELECT t.external_id, e.email, e.first_name, e.last_name, e.phone, e.attributes, e.suppressed, e.unsubscribed
FROM segments_customer_import t
CROSS JOIN LATERAL (
    SELECT email, first_name, last_name, phone, attributes, suppressed, unsubscribed
    FROM segments_customer
    WHERE tenant_id = %(tenant)s AND external_id = t.external_id
    LIMIT 1
) e
"""
# NULL in the temp table means "the row does not give this field": keep the current value.
_UPSERT = """
WITH upserted AS (
    INSERT INTO segments_customer AS c (
        tenant_id, external_id, email, first_name, last_name, phone, attributes,
        suppressed, unsubscribed, created_at, updated_at
    )
    SELECT %(tenant)s, t.external_id,
        COALESCE(t.email, e.email, ''), COALESCE(t.first_name, e.first_name, ''),
        COALESCE(t.last_name, e.last_name, ''), COALESCE(t.phone, e.phone, ''),
        jsonb_strip_nulls(COALESCE(e.attributes, '{}'::jsonb) || t.attributes),
        COALESCE(t.suppressed, e.suppressed, false), COALESCE(t.unsubscribed, e.unsubscribed, false),
        %(now)s, %(now)s
    FROM segments_customer_import t
    LEFT JOIN segments_customer_import_current e ON e.external_id = t.external_id
    ON CONFLICT (tenant_id, external_id) DO UPDATE SET
        email = EXCLUDED.email, first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
        phone = EXCLUDED.phone, attributes = EXCLUDED.attributes, suppressed = EXCLUDED.suppressed,
        unsubscribed = EXCLUDED.unsubscribed, updated_at = EXCLUDED.updated_at
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) FROM upserted
"""


def write_postgresql(*, tenant_id: str, rows: list[CustomerRow], now: datetime) -> int:
    """COPY the batch into a temp table, then one INSERT ... ON CONFLICT DO UPDATE from it."""
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    with raw.cursor() as cursor:
        cursor.execute(_CREATE_TEMP)
        columns = "external_id, email, first_name, last_name, phone, suppressed, unsubscribed, attributes"
        with cursor.copy(f"COPY {_TEMP_TABLE} ({columns}) FROM STDIN") as copy:
            for row in rows:
                fields = row.fields
                copy.write_row(
                    (
                        row.external_id,
                        fields.get("email"),
                        fields.get("first_name"),
                        fields.get("last_name"),
                        fields.get("phone"),
                        fields.get("suppressed"),
                        fields.get("unsubscribed"),
                        _encode_json(row.attributes),
                    )
                )
        cursor.execute("DROP TABLE IF EXISTS pg_temp.segments_customer_import_current")
        cursor.execute(_CURRENT, {"tenant": tenant_id})
        cursor.execute(_UPSERT, {"tenant": tenant_id, "now": now})
        result = cursor.fetchone()
        assert result is not None
        return int(result[0])


def analyze_after_first_batch() -> None:
    """Refresh the planner's statistics of the customers table once the first batch of an
    import has created rows, before the next batch (PostgreSQL only; outside the batch's
    transaction, so the lock ANALYZE takes is held only while it samples).

    Until autovacuum gets to it, the statistics say a tenant that had no customers has none:
    ``tenant_id = X`` is estimated at 1 row, so every index leading with tenant_id costs the
    same as the unique (tenant_id, external_id) one, and the upsert's probe may be planned on
    ``customer_tenant_id`` (or ``customer_tenant_email``) with external_id as a filter: each
    probe then walks all the tenant's rows, 20,000 x 20,000 for batch 2 (146 s instead of
    0.3 s, EXPLAIN ANALYZE on 200,000 rows of another tenant). Dropping the LIMIT 1 does not
    fix it (the planner hashes the tenant's whole index range per batch instead), nor does
    ANALYZE of the temp table (the tie is on the customers side). One ANALYZE samples a
    bounded number of rows (300 x the statistics target), so it costs the same at any size.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE segments_customer")


# --- SQLite (and anything else) ----------------------------------------------------------


def write_generic(*, tenant_id: str, rows: list[CustomerRow], now: datetime) -> int:
    """Merge with the current rows in Python, then ``bulk_create(update_conflicts=True)``.

    Exact under SQLite's single writer: the transaction holds the write lock from its start.
    """
    current: dict[str, Customer] = {}
    keys = [row.external_id for row in rows]
    for start in range(0, len(keys), SQLITE_LOOKUP_CHUNK):
        chunk = keys[start : start + SQLITE_LOOKUP_CHUNK]
        for customer in Customer.objects.filter(tenant_id=tenant_id, external_id__in=chunk):
            current[customer.external_id] = customer
    objects: list[Customer] = []
    for row in rows:
        existing = current.get(row.external_id)
        values: dict[str, Any] = {}
        for name in (*TEXT_FIELDS, *FLAG_FIELDS):
            if name in row.fields:
                values[name] = row.fields[name]
            elif existing is not None:
                values[name] = getattr(existing, name)
        attributes = dict(existing.attributes) if existing is not None else {}
        attributes.update(row.attributes)
        values["attributes"] = {key: value for key, value in attributes.items() if value is not None}
        objects.append(
            Customer(tenant_id=tenant_id, external_id=row.external_id, created_at=now, updated_at=now, **values)
        )
    Customer.objects.bulk_create(
        objects,
        update_conflicts=True,
        unique_fields=["tenant", "external_id"],
        update_fields=[*TEXT_FIELDS, *FLAG_FIELDS, "attributes", "updated_at"],
    )
    return len(rows) - len(current)


def write_batch(*, tenant_id: str, rows: list[CustomerRow], now: datetime) -> int:
    if connection.vendor == "postgresql":
        return write_postgresql(tenant_id=tenant_id, rows=rows, now=now)
    return write_generic(tenant_id=tenant_id, rows=rows, now=now)
