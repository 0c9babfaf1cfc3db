"""Reads of customers and segments: the fields a rule may name, filters checked and compiled,
a segment's count, sample and view, the lists of the pages, and the customers search that stays
cheap on millions of rows (indexed prefix lookups, keyset paging, a capped count)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.db import OperationalError, connection, transaction
from django.db.models import Q, QuerySet

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
# A name search cannot use an index (it looks inside first and last names); on PostgreSQL it
# gets this long before the page says to narrow it down, rather than holding a worker.
SEARCH_TIMEOUT_MS = 5_000
# The highest code point: "abc" ≤ s < "abc\U0010ffff" bounds every s that starts with "abc" for
# an index range scan (the LIKE beside it keeps the match exact).
_TOP = "\U0010ffff"

T = TypeVar("T")


def segments_for(*, tenant: Tenant, q: str = "") -> QuerySet[Segment]:
    """The tenant's segments by name, those whose name contains ``q`` when given."""
    segments = Segment.objects.filter(tenant=tenant)
    if q:
        segments = segments.filter(name__icontains=q)
    return segments.order_by("name", "id")


def segment_recent_runs(*, tenant: Tenant, segment: Segment, limit: int) -> list[Any]:
    """The segment's latest runs with their flows, newest first."""
    # by the runs' foreign key (related name "runs"): runs is a higher layer, never imported here
    runs = segment.runs.filter(tenant=tenant).select_related("decision_flow")
    return list(runs.order_by("-created_at")[:limit])


def customers_for(*, tenant: Tenant) -> QuerySet[Customer]:
    return Customer.objects.filter(tenant=tenant)


def customers_by_id(*, tenant: Tenant, ids: list[int]) -> list[Customer]:
    """The tenant's customers of ``ids``, ascending by id."""
    return list(Customer.objects.filter(tenant=tenant, id__in=ids).order_by("id"))


def customer_attributes(*, tenant: Tenant, limit: int | None = None) -> list[CustomerAttribute]:
    """The tenant's customer schema in its order (the first ``limit`` attributes when given)."""
    attributes = CustomerAttribute.objects.filter(tenant=tenant)
    return list(attributes[:limit] if limit is not None else attributes)


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
    return count, customers_by_id(tenant=tenant, ids=ids)


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


def segment_sample(*, segment: Segment, size: int = PREVIEW_SAMPLE_SIZE) -> tuple[list[Customer], bool]:
    """The segment's first ``size`` customers by id, and whether they came from its view: from
    its view when it has one (what a run would read), else straight from its filters."""
    tenant = segment.tenant
    if segment.has_view and segment_view_exists(segment):
        return customers_by_id(tenant=tenant, ids=segment_customer_ids(segment, 0, size)), True
    _, sample = segment_preview(tenant=tenant, filters=segment.filters)
    return sample, False


# --- the customers search --------------------------------------------------------------------


def with_search_timeout(read: Callable[[], T]) -> T | None:
    """``read()`` under a statement timeout on PostgreSQL; None when it ran out of time."""
    if connection.vendor != "postgresql":
        return read()
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {int(SEARCH_TIMEOUT_MS)}")
            return read()
    except OperationalError:
        return None


def _prefix(queryset: QuerySet[Customer], field: str, text: str) -> QuerySet[Customer]:
    """Rows whose ``field`` starts with ``text``, as an index range scan plus an exact check."""
    return queryset.filter(**{f"{field}__gte": text, f"{field}__lt": text + _TOP, f"{field}__startswith": text})


def customer_search(*, tenant: Tenant, q: str, by: str, after: int) -> tuple[QuerySet[Customer], QuerySet[Customer]]:
    """(all matches, this page's matches) of a search, each in its keyset order: externalId or
    email prefixes walk their (tenant, column) index; no query and name searches go newest first
    along (tenant, id). The page's cursor ``after`` is the last customer id shown (0: none)."""
    base = Customer.objects.filter(tenant=tenant)
    if not q or by == "name":
        matches = base
        for term in q.split()[:4]:
            matches = matches.filter(Q(first_name__icontains=term) | Q(last_name__icontains=term))
        matches = matches.order_by("-id")
        return matches, (matches.filter(id__lt=after) if after else matches)
    column = "email" if by == "email" else "external_id"
    # externalId is unique in a tenant: its index alone gives the order (and a LIMIT stops the
    # scan); emails repeat, so the id breaks ties.
    matches = _prefix(base, column, q).order_by(*((column,) if column == "external_id" else (column, "id")))
    if not after:
        return matches, matches
    anchor = base.filter(pk=after).values_list(column, flat=True).first()
    if anchor is None:
        return matches, matches
    following = matches.filter(**{f"{column}__gte": anchor}).filter(
        Q(**{f"{column}__gt": anchor}) | Q(**{column: anchor, "id__gt": after})
    )
    return matches, following


def customer_search_page(
    *, tenant: Tenant, q: str, by: str, after: int, limit: int, count_cap: int
) -> tuple[list[Customer], int]:
    """Up to ``limit`` customers of a search (``customer_search``) and how many match, counted
    only up to ``count_cap``: a subquery with LIMIT, never a COUNT over the whole tenant."""
    matches, page_rows = customer_search(tenant=tenant, q=q, by=by, after=after)
    return list(page_rows[:limit]), matches.order_by()[:count_cap].count()
