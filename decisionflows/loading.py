"""Reads what the engine needs from the database: the decision context (offers, channels,
creatives, policies of a tenant), a batch of customers as a typed polars frame, and their
recent contact history. One query each, whatever the batch size."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from django.db import connection
from django.utils import timezone

from decisionflows.engine import ChannelInfo, CreativeInfo, DecisionContext, History, OfferInfo, PolicyInfo
from decisionflows.models import ActiveStatus, Channel, Contact, ContactPolicy, Creative, Offer
from kaireon.models import Tenant
from segments.models import Customer, CustomerAttribute

BUILTIN_COLUMNS: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "external_id": pl.String(),
    "email": pl.String(),
    "first_name": pl.String(),
    "last_name": pl.String(),
    "phone": pl.String(),
    "suppressed": pl.Boolean(),
    "unsubscribed": pl.Boolean(),
    "created_at": pl.Date(),  # rules compare it as a date (UTC), as segments do
}
# The column type of each schema attribute type in a customer frame.
ATTRIBUTE_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "integer": pl.Int64(),
    "number": pl.Float64(),
    "boolean": pl.Boolean(),
    "date": pl.Date(),
}
# The JSON type a stored value must have to count as a value of the attribute (segments/sql.py:
# anything else — missing, null, left over from before a type change — is null).
JSON_TYPES = {
    "postgresql": {
        "string": "= 'string'",
        "date": "= 'string'",
        "integer": "= 'number'",
        "number": "= 'number'",
        "boolean": "= 'boolean'",
    },
    "sqlite": {
        "string": "= 'text'",
        "date": "= 'text'",
        "integer": "IN ('integer', 'real')",
        "number": "IN ('integer', 'real')",
        "boolean": "IN ('true', 'false')",
    },
}
_ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def offer_info(offer: Offer) -> OfferInfo:
    """The offer as the engine and the personalization tokens see it."""
    return OfferInfo(
        id=offer.pk,
        key=offer.key,
        name=offer.name,
        category=offer.category,
        priority=offer.priority,
        business_value=float(offer.business_value),
        status=offer.status,
        start_date=offer.start_date,
        end_date=offer.end_date,
        tags=tuple(offer.tags or ()),
        eligibility=offer.eligibility or {},
        description=offer.description,
    )


def channel_info(channel: Channel) -> ChannelInfo:
    return ChannelInfo(
        id=channel.pk, name=channel.name, channel_type=channel.channel_type, delivery_mode=channel.delivery_mode
    )


def creative_info(creative: Creative) -> CreativeInfo:
    return CreativeInfo(
        id=creative.pk,
        offer_id=creative.offer_id,
        channel_id=creative.channel_id,
        name=creative.name,
        subject=creative.subject,
        content=creative.content,
    )


def active_policies(*, tenant: Tenant) -> list[PolicyInfo]:
    """The tenant's active contact policies as the engine applies them, oldest first."""
    return [
        PolicyInfo(
            id=p.pk,
            name=p.name,
            policy_type=p.policy_type,
            max_count=p.max_count,
            period=p.period,
            scope=p.scope,
            channel_id=p.channel_id,
            offer_id=p.offer_id,
            cooldown_hours=p.cooldown_hours,
            suppress_unsubscribed=p.suppress_unsubscribed,
            suppress_suppressed=p.suppress_suppressed,
        )
        for p in ContactPolicy.objects.filter(tenant=tenant, status=ActiveStatus.ACTIVE).order_by("created_at", "id")
    ]


def build_context(
    *,
    tenant: Tenant,
    pipeline: Sequence[Mapping[str, Any]],
    channel_ids: Iterable[str] | None = None,
    batch_only: bool = False,
    now: dt.datetime | None = None,
) -> DecisionContext:
    """The context of one decision: active channels (only ``channel_ids`` if given, only
    batch-compatible ones for a run), the tenant's offers and creatives, its active policies."""
    now = now or timezone.now()
    channels = Channel.objects.filter(tenant=tenant).active()
    if batch_only:
        channels = channels.batch_compatible()
    wanted = list(channel_ids or [])
    if wanted:
        channels = channels.filter(pk__in=wanted)
    channel_rows = list(channels.order_by("created_at", "id"))
    if wanted:
        position = {channel_id: index for index, channel_id in enumerate(wanted)}
        channel_rows.sort(key=lambda c: position[c.pk])
    offers = [offer_info(o) for o in Offer.objects.filter(tenant=tenant, status="active")]
    creatives = [creative_info(c) for c in Creative.objects.filter(tenant=tenant, status=ActiveStatus.ACTIVE)]
    return DecisionContext(
        pipeline=pipeline,
        offers=offers,
        channels=[channel_info(c) for c in channel_rows],
        creatives=creatives,
        policies=active_policies(tenant=tenant),
        today=timezone.localdate(now),
        now=now,
    )


def attribute_types(*, tenant: Tenant) -> dict[str, str]:
    return dict(CustomerAttribute.objects.filter(tenant=tenant).values_list("name", "type"))


def _attribute_names(attributes: Mapping[str, str]) -> list[str]:
    names = [name for name in attributes if name not in BUILTIN_COLUMNS]
    for name in names:
        # the schema's own rule (segments.models); it also keeps names safe inside SQL text
        if not _ATTRIBUTE_NAME.match(name):
            raise ValueError(f"not a valid attribute name: {name!r}")
    return names


def _postgresql_rows(
    *, tenant: Tenant, first_id: int, last_id: int, ids: np.ndarray | None, types: Sequence[str], names: list[str]
) -> bytes:
    """The customers as CSV, straight from a COPY (no Python object per row)."""
    from psycopg import sql

    columns: list[sql.Composable] = [
        sql.SQL(
            "id, external_id, email, first_name, last_name, phone, suppressed::int, unsubscribed::int, "
            "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        )
    ]
    for name, type_ in zip(names, types, strict=True):
        columns.append(
            sql.SQL("CASE WHEN jsonb_typeof(attributes -> {key}) {test} THEN attributes ->> {key} END").format(
                key=sql.Literal(name), test=sql.SQL(JSON_TYPES["postgresql"][type_])
            )
        )
    where = sql.SQL("tenant_id = {tenant} AND id >= {first} AND id <= {last}").format(
        tenant=sql.Literal(tenant.pk), first=sql.Literal(int(first_id)), last=sql.Literal(int(last_id))
    )
    if ids is not None:
        array = "{" + ",".join(str(int(i)) for i in ids) + "}"
        where = sql.SQL("{where} AND id = ANY({ids}::bigint[])").format(where=where, ids=sql.Literal(array))
    statement = sql.SQL("COPY (SELECT {columns} FROM {table} WHERE {where} ORDER BY id) TO STDOUT (FORMAT csv)").format(
        columns=sql.SQL(", ").join(columns), table=sql.Identifier(Customer._meta.db_table), where=where
    )
    buffer = io.BytesIO()
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for block in copy:
            buffer.write(block)
    return buffer.getvalue()


def _sqlite_rows(
    *, tenant: Tenant, first_id: int, last_id: int, ids: np.ndarray | None, types: Sequence[str], names: list[str]
) -> list[tuple[Any, ...]]:
    columns = [
        "id, external_id, email, first_name, last_name, phone, suppressed, unsubscribed, substr(created_at, 1, 10)"
    ]
    params: list[Any] = []
    for name, type_ in zip(names, types, strict=True):
        path = f"$.{name}"
        test = JSON_TYPES["sqlite"][type_]
        # booleans read back as their JSON type ('true' / 'false'); everything else as text
        value = "json_type(attributes, %s)" if type_ == "boolean" else "CAST(json_extract(attributes, %s) AS TEXT)"
        columns.append(f"CASE WHEN json_type(attributes, %s) {test} THEN {value} END")
        params += [path, path]
    where = "tenant_id = %s AND id >= %s AND id <= %s"
    params += [tenant.pk, int(first_id), int(last_id)]
    if ids is not None:
        where += " AND id IN (SELECT value FROM json_each(%s))"
        params.append(json.dumps([int(i) for i in ids]))
    table = Customer._meta.db_table
    with connection.cursor() as cursor:
        # the columns are fixed text and type tests; names and values are parameters
        cursor.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE {where} ORDER BY id", params)  # noqa: S608
        return list(cursor.fetchall())


def _typed(column: str, type_: str) -> pl.Expr:
    """A text column of attribute values as the attribute's type (what does not parse is null)."""
    text = pl.col(column)
    if type_ == "integer":
        number = text.cast(pl.Float64, strict=False)
        # 3 or 3.0 are 3; 3.5 is no integer (segments would compare it as 3.5: an edge not worth a float column)
        integral = pl.when(number == number.round(0)).then(number.cast(pl.Int64, strict=False))
        return pl.coalesce(text.cast(pl.Int64, strict=False), integral)
    if type_ == "number":
        return text.cast(pl.Float64, strict=False)
    if type_ == "boolean":
        return pl.when(text == "true").then(True).when(text == "false").then(False).otherwise(None)
    if type_ == "date":
        return pl.when(text.str.contains(_ISO_DATE)).then(text.str.to_date("%Y-%m-%d", strict=False))
    return text


DENSE_FRACTION = 0.5


def customer_frame(
    *, tenant: Tenant, first_id: int, last_id: int, ids: np.ndarray | None = None, attributes: Mapping[str, str]
) -> pl.DataFrame:
    """Customers with ids in [first_id, last_id] (and in ``ids`` when given), sorted by id,
    one typed column per built-in field and schema attribute; an attribute value missing or of
    another type than the schema's is null, as in segments.

    One range scan on the (tenant, id) index, the attributes typed in SQL; on PostgreSQL a COPY
    read straight into polars (no Python object per row), which keeps a chunk of thousands of
    customers in milliseconds."""
    columns = customer_columns(attributes)
    names, types, raw_schema = list(columns.names), list(columns.types), columns.raw_schema
    frame = pl.DataFrame(schema=raw_schema)
    # A dense id set (most of the range) is cheaper to read as the whole range and filter here
    # than to send as an id list for the server to match: 20,000 customers 0.13 s against 0.18 s.
    dense = ids is not None and len(ids) >= DENSE_FRACTION * (last_id - first_id + 1)
    if ids is None or len(ids):
        read = _postgresql_rows if connection.vendor == "postgresql" else _sqlite_rows
        sql_ids = None if dense else ids
        data = read(tenant=tenant, first_id=first_id, last_id=last_id, ids=sql_ids, types=types, names=names)
        if isinstance(data, bytes):
            if data:
                frame = pl.read_csv(io.BytesIO(data), has_header=False, schema=raw_schema)
        elif data:
            frame = pl.DataFrame(data, schema=raw_schema, orient="row")
    if dense and ids is not None:
        frame = frame.join(pl.DataFrame({"id": pl.Series(ids, dtype=pl.Int64)}), on="id", how="semi")
    return frame.select(columns.typed)


@dataclass(frozen=True)
class CustomerColumns:
    """A customer frame's columns under one schema: the attributes read and the type each is
    read as, the columns as the database sends them (flags as 0 / 1, the date and attributes as
    text), and the expressions that type them (built once: ~0.2 ms a frame otherwise)."""

    names: tuple[str, ...]
    types: tuple[str, ...]
    raw_schema: dict[str, pl.DataType]
    typed: tuple[pl.Expr, ...]


def customer_columns(attributes: Mapping[str, str]) -> CustomerColumns:
    names = _attribute_names(attributes)
    types = [attributes[name] if attributes[name] in ATTRIBUTE_TYPES else "string" for name in names]
    raw_schema: dict[str, pl.DataType] = {
        **BUILTIN_COLUMNS,
        "suppressed": pl.Int64(),
        "unsubscribed": pl.Int64(),
        "created_at": pl.String(),
        **{name: pl.String() for name in names},
    }
    typed = (
        pl.col("id"),
        *[pl.col(c).fill_null("") for c in ("external_id", "email", "first_name", "last_name", "phone")],
        pl.col("suppressed").cast(pl.Boolean),
        pl.col("unsubscribed").cast(pl.Boolean),
        pl.col("created_at").str.to_date("%Y-%m-%d"),
        *[
            _typed(name, type_).cast(ATTRIBUTE_TYPES[type_]).alias(name)
            for name, type_ in zip(names, types, strict=True)
        ],
    )
    return CustomerColumns(names=tuple(names), types=tuple(types), raw_schema=raw_schema, typed=typed)


def customer_frame_from_rows(rows: Sequence[Sequence[Any]], columns: CustomerColumns) -> pl.DataFrame:
    """``customer_frame`` of rows read elsewhere, in its column order: id, external_id, email,
    first_name, last_name, phone, suppressed and unsubscribed (0 / 1), created_at (YYYY-MM-DD),
    then each attribute of ``columns.names`` as text when its JSON type is the schema's, else NULL."""
    raw = pl.DataFrame([tuple(row) for row in rows], schema=columns.raw_schema, orient="row")
    return raw.select(columns.typed)


def load_history(*, tenant: Tenant, context: DecisionContext, customer_ids: np.ndarray) -> History:
    """Contacts of these customers (sorted ids) within the policies' look-back window: the
    contact history table and the runs' recommendations (``Contact``, one view over both)."""
    since = context.lookback()
    if since is None or customer_ids.size == 0:
        return History.empty()
    rows = list(
        Contact.objects.filter(
            tenant=tenant,
            customer_id__gte=int(customer_ids[0]),
            customer_id__lte=int(customer_ids[-1]),
            contacted_at__gte=since,
        )
        .order_by()
        .values_list("customer_id", "offer_id", "channel_id", "contacted_at")
    )
    if not rows:
        return History.empty()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    position = np.searchsorted(customer_ids, ids)
    position = np.minimum(position, customer_ids.size - 1)
    known = customer_ids[position] == ids
    keep = np.flatnonzero(known).tolist()
    return History(
        customer_rows=position[known],
        offer_ids=[rows[i][1] for i in keep],
        channel_ids=[rows[i][2] for i in keep],
        contacted_at=[rows[i][3] for i in keep],
    )
