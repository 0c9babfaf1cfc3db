from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import connection

from kaireon import rules
from kaireon.errors import ValidationError
from kaireon.models import Tenant
from kaireon.rules import FieldSpec
from segments import sql
from segments.models import Customer, CustomerAttribute, Segment

# Columns every customer has, as the rule language sees them.
BUILTIN_CUSTOMER_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("external_id", "string", "External id"),
        FieldSpec("email", "string", "Email"),
        FieldSpec("first_name", "string", "First name"),
        FieldSpec("last_name", "string", "Last name"),
        FieldSpec("phone", "string", "Phone"),
        FieldSpec("suppressed", "boolean", "Suppressed"),
        FieldSpec("unsubscribed", "boolean", "Unsubscribed"),
        FieldSpec("created_at", "date", "Created"),
    )
}

PREVIEW_SAMPLE_SIZE = 20


def customer_field_specs(*, tenant: Tenant) -> dict[str, FieldSpec]:
    """The fields a rule may name about a customer: built-in columns, then schema attributes."""
    specs = dict(BUILTIN_CUSTOMER_FIELDS)
    for name, type_, label in CustomerAttribute.objects.filter(tenant=tenant).values_list("name", "type", "label"):
        specs.setdefault(name, FieldSpec(name, type_, label or name))
    return specs


def attribute_schema(*, tenant: Tenant) -> dict[str, tuple[str, bool]]:
    """The tenant's attributes as {name: (type, required)}, what imports and the API check against."""
    rows = CustomerAttribute.objects.filter(tenant=tenant).values_list("name", "type", "required")
    return {name: (type_, required) for name, type_, required in rows}


def normalise_filter_fields(condition: Any) -> Any:
    """``customer.age`` → ``age`` everywhere in a condition (segments speak about customers only)."""
    if isinstance(condition, Mapping):
        out: dict[str, Any] = {}
        for key, value in condition.items():
            if key == "field" and isinstance(value, str) and value.startswith("customer."):
                out[key] = value.removeprefix("customer.")
            elif key in ("all", "any") and isinstance(value, list):
                out[key] = [normalise_filter_fields(item) for item in value]
            else:
                out[key] = value
        return out
    return condition


def validated_filters(*, tenant: Tenant, filters: Any) -> dict[str, Any]:
    """The filters normalised (``customer.`` prefixes dropped, values typed), or a 400 naming the path."""
    if not filters:
        return {}
    filters = normalise_filter_fields(filters)
    try:
        return rules.validate(filters, customer_field_specs(tenant=tenant))
    except rules.RuleError as exc:
        path = "filters" + (exc.path if exc.path.startswith(".") or not exc.path else f".{exc.path}")
        raise ValidationError({path: [exc.message]}) from None


def segments_using_fields(*, tenant: Tenant, names: set[str]) -> list[Segment]:
    """The tenant's segments whose filters name any of ``names`` (a tenant has hundreds at most)."""
    return [
        segment
        for segment in Segment.objects.filter(tenant=tenant).order_by("name")
        if rules.fields_used(segment.filters) & names
    ]


def customer_where(*, tenant: Tenant, filters: Mapping[str, Any] | None) -> str:
    """The SQL condition selecting the tenant's customers that match ``filters`` (validated)."""
    return sql.customer_where(
        tenant_id=tenant.pk, filters=filters, fields=customer_field_specs(tenant=tenant), vendor=connection.vendor
    )


def segment_preview(*, tenant: Tenant, filters: Mapping[str, Any] | None) -> tuple[int, list[Customer]]:
    """How many of the tenant's customers match ``filters`` and the first few of them by id."""
    where = customer_where(tenant=tenant, filters=filters)
    table = sql.quote_identifier(sql.CUSTOMER_TABLE)
    # No parameters: the compiled SQL may hold a literal "%", which a placeholder pass would read.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE {where}")  # noqa: S608  (compiled by segments.sql)
        count = int(cursor.fetchone()[0])
        cursor.execute(f'SELECT "id" FROM {table} WHERE {where} ORDER BY "id" LIMIT {PREVIEW_SAMPLE_SIZE}')  # noqa: S608
        ids = [row[0] for row in cursor.fetchall()]
    return count, list(Customer.objects.filter(tenant=tenant, id__in=ids).order_by("id"))


def segment_view_exists(segment: Segment) -> bool:
    """Whether the segment's view is in the database (it may have been dropped by hand)."""
    if not segment.view_name:
        return False
    with connection.cursor() as cursor:
        if connection.vendor == sql.POSTGRESQL:
            cursor.execute(
                "SELECT 1 FROM pg_catalog.pg_views WHERE viewname = %s AND schemaname = current_schema()",
                [segment.view_name],
            )
        else:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = %s", [segment.view_name])
        return cursor.fetchone() is not None


def segment_customer_ids(segment: Segment, after_id: int = 0, limit: int = 1000) -> list[int]:
    """The next ``limit`` customer ids of the segment above ``after_id``, ascending (keyset).

    Reads the segment's view, so membership is the filters' as of now; the caller checks
    ``segment_view_exists`` (or ``segment.has_view``) first.
    """
    view = sql.quote_identifier(segment.view_name)
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "id" FROM {view} WHERE "id" > %s ORDER BY "id" LIMIT %s',  # noqa: S608  (a checked identifier)
            [int(after_id), int(limit)],
        )
        return [int(row[0]) for row in cursor.fetchall()]


def segment_count(segment: Segment) -> int:
    view = sql.quote_identifier(segment.view_name)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {view}")  # noqa: S608  (a checked identifier)
        return int(cursor.fetchone()[0])
