"""What the Recommend API reads, at one query per warm request.

- **The catalogue, cached per process and catalogue version.** A tenant's active channels,
  offers, creatives and contact policies, its customer schema and the flows resolved so far make
  a ``Snapshot`` taken at the tenant's ``catalogue_version`` (kaireon.models.Tenant), which every
  service that changes any of them bumps in its own transaction. The version is read *before*
  the rows, so a snapshot is at least as new as its number; and a request uses it only when its
  own read of the version (``read_customer``) returns that number. A change committed before a
  request starts is therefore always seen, by every process, with no TTL and no message between
  processes: each web or worker process keeps its own bounded cache.
- **The decision context** of (flow version, day, channel, limit) is built from the snapshot
  once and copied per request with the request's clock.
- **One query per request** (``read_customer``): the catalogue version, the customer with its
  attributes typed by the schema as ``loading.customer_frame`` types them, and their contacts
  within the applied policies' look-back.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from decisionflows.engine import ChannelInfo, CreativeInfo, DecisionContext, History, OfferInfo, PolicyInfo
from decisionflows.loading import (
    JSON_TYPES,
    active_policies,
    attribute_types,
    channel_info,
    creative_info,
    customer_columns,
    customer_frame_from_rows,
    offer_info,
)
from decisionflows.models import ActiveStatus, Channel, ChannelType, Contact, Creative, DecisionFlow, Offer
from decisionflows.selectors import flow_runnable_version
from kaireon.errors import ValidationError
from kaireon.models import Tenant
from segments.models import Customer

# Tenants whose snapshot a process keeps (least recently used goes first), and decision
# contexts per snapshot (one per flow version, day, channel and limit; the oldest goes first). A
# snapshot of 20 offers and 4 channels is a few kB; of 5,000 offers a few MB.
MAX_TENANTS = 256
MAX_CONTEXTS = 64
# read_customer's row: the catalogue version, the frame's columns (this many before the
# attributes, loading.customer_frame_from_rows), the attributes' JSON, then one contact (NULLs
# when none: one row per contact).
_BUILTIN_COUNT = 9


@dataclass(frozen=True)
class FlowEntry:
    """A decision flow as the snapshot saw it, with its runnable version (None: not runnable)."""

    id: str
    key: str
    status: str
    latest_version: int | None
    version: int | None
    pipeline: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class CustomerRow:
    """One customer as ``read_customer`` reads them: ``values`` in the frame's column order
    (loading.customer_frame_from_rows), ``attributes`` as stored, the contacts since the look-back."""

    values: tuple[Any, ...]
    attributes: Any
    history: History

    @property
    def external_id(self) -> str:
        return str(self.values[1])

    def fields(self) -> dict[str, Any]:
        """The customer as personalization tokens see it (``recommend.CUSTOMER_FIELDS``)."""
        external_id, email, first_name, last_name, phone, suppressed, unsubscribed = self.values[1:8]
        return {
            "external_id": external_id,
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "phone": phone,
            "suppressed": bool(suppressed),
            "unsubscribed": bool(unsubscribed),
            "attributes": self.attributes or {},
        }


@dataclass(frozen=True)
class DecisionRead:
    """What one decision reads, from one catalogue version. ``flow`` is None when there is no
    such flow, ``customer`` when there is no such customer; ``context`` is None when the flow
    is not runnable or ``refusal`` says why the request's channel cannot be used."""

    snapshot: Snapshot
    flow: FlowEntry | None
    context: DecisionContext | None
    refusal: ValidationError | None
    customer: CustomerRow | None


class Snapshot:
    """A tenant's catalogue at ``version``, and what has been derived from it so far."""

    def __init__(
        self,
        *,
        tenant_id: str,
        version: int,
        channels: Sequence[ChannelInfo],
        offers: Sequence[OfferInfo],
        creatives: Sequence[CreativeInfo],
        policies: Sequence[PolicyInfo],
        attributes: Mapping[str, str],
    ) -> None:
        self.tenant_id, self.version = tenant_id, version
        self.channels, self.offers, self.creatives, self.policies = channels, offers, creatives, policies
        self.columns = customer_columns(attributes)
        self.flows: dict[tuple[str | None, str | None], FlowEntry] = {}
        self.contexts: OrderedDict[tuple[Any, ...], DecisionContext] = OrderedDict()
        self._sql: dict[bool, str] = {}

    def channel_ids(self, channel: str | None) -> list[str] | None:
        """The channels a request may use: all active ones, or those ``channel`` names by id or type."""
        if channel is None:
            return None
        if any(c.id == channel for c in self.channels):
            return [channel]
        if channel in ChannelType.values:
            ids = [c.id for c in self.channels if c.channel_type == channel]
            if not ids:
                raise ValidationError({"channel": f"The tenant has no active {channel} channel."})
            return ids
        types = ", ".join(ChannelType.values)
        raise ValidationError(
            {"channel": f"Unknown channel {channel!r}: give an active channel's id or a type ({types})."}
        )

    def context(self, flow: FlowEntry, *, now: dt.datetime, channel: str | None, limit: int | None) -> DecisionContext:
        """The decision context of the flow's runnable version on ``now``'s day, ``now`` its clock;
        ``channel`` narrows the channels (``ValidationError`` when it names none), ``limit``
        overrides the rank node's maximum."""
        today = timezone.localdate(now)
        key = (flow.id, flow.version, today, channel, limit)
        with _lock:
            cached = self.contexts.get(key)
        if cached is None:
            wanted = self.channel_ids(channel)
            channels = list(self.channels)
            if wanted is not None:
                by_id = {c.id: c for c in channels}
                channels = [by_id[channel_id] for channel_id in wanted]
            cached = DecisionContext(
                pipeline=_with_limit(flow.pipeline, limit),
                offers=self.offers,
                channels=channels,
                creatives=self.creatives,
                policies=self.policies,
                today=today,
                now=now,
            )
            with _lock:
                self.contexts[key] = cached
                while len(self.contexts) > MAX_CONTEXTS:
                    self.contexts.popitem(last=False)
        context = copy.copy(cached)  # shallow: the arrays are shared and never written
        context.now = now
        return context

    def sql(self, *, history: bool) -> str:
        """``read_customer``'s statement for this schema (with or without the contacts' join)."""
        if history not in self._sql:
            self._sql[history] = _customer_sql(self.columns.names, self.columns.types, history=history)
        return self._sql[history]


_lock = threading.Lock()
_snapshots: OrderedDict[str, Snapshot] = OrderedDict()


def _with_limit(pipeline: Sequence[Mapping[str, Any]], limit: int | None) -> list[Mapping[str, Any]]:
    if limit is None:
        return list(pipeline)
    return [{**node, "max_offers_per_customer": limit} if node.get("type") == "rank" else node for node in pipeline]


def catalogue_snapshot(*, tenant: Tenant) -> Snapshot:
    """The tenant's cached snapshot, taken now when there is none. It may be older than the
    database: check its ``version`` against ``read_customer``'s before trusting what it says."""
    with _lock:
        snapshot = _snapshots.get(tenant.pk)
        if snapshot is not None:
            _snapshots.move_to_end(tenant.pk)
            return snapshot
    return _take_snapshot(tenant=tenant)


def catalogue_snapshot_refresh(*, tenant: Tenant, version: int | None) -> Snapshot:
    """The snapshot of ``version``, the one the database has just answered: the cached one if
    another request has taken it already, else a new one."""
    with _lock:
        current = _snapshots.get(tenant.pk)
    if current is not None and current.version == version:
        return current
    return _take_snapshot(tenant=tenant)


def _take_snapshot(*, tenant: Tenant) -> Snapshot:
    # The version first: rows read after it are at least that new, never older (a write
    # between the two reads makes the next request's version check refresh it).
    version = Tenant.objects.filter(pk=tenant.pk).values_list("catalogue_version", flat=True).first()
    channels = Channel.objects.filter(tenant=tenant).active().order_by("created_at", "id")
    snapshot = Snapshot(
        tenant_id=tenant.pk,
        version=version or 0,
        channels=[channel_info(c) for c in channels],
        offers=[offer_info(o) for o in Offer.objects.filter(tenant=tenant, status="active")],
        creatives=[creative_info(c) for c in Creative.objects.filter(tenant=tenant, status=ActiveStatus.ACTIVE)],
        policies=active_policies(tenant=tenant),
        attributes=attribute_types(tenant=tenant),
    )
    with _lock:
        _snapshots[tenant.pk] = snapshot
        _snapshots.move_to_end(tenant.pk)
        while len(_snapshots) > MAX_TENANTS:
            _snapshots.popitem(last=False)
    return snapshot


def snapshot_flow(snapshot: Snapshot, *, tenant: Tenant, flow_id: str | None, flow_key: str | None) -> FlowEntry | None:
    """The tenant's flow with this id and/or key (both must match when both are given), as the
    snapshot knows it; read from the database the first time. None (not kept) when there is none."""
    key = (flow_id or None, flow_key or None)
    entry = snapshot.flows.get(key)
    if entry is not None:
        return entry
    flows = DecisionFlow.objects.filter(tenant=tenant)
    if flow_id:
        flows = flows.filter(pk=flow_id)
    if flow_key:
        flows = flows.filter(key=flow_key)
    flow = flows.first()
    if flow is None:
        return None
    version = flow_runnable_version(flow)
    entry = FlowEntry(
        id=flow.pk,
        key=flow.key,
        status=flow.status,
        latest_version=flow.latest_version,
        version=version.version if version is not None else None,
        pipeline=tuple(version.pipeline) if version is not None else (),
    )
    with _lock:
        snapshot.flows[key] = entry
    return entry


def decision_read(
    *,
    tenant: Tenant,
    customer_id: str,
    flow_id: str | None,
    flow_key: str | None,
    channel: str | None,
    limit: int | None,
    now: dt.datetime,
) -> DecisionRead:
    """The flow, its decision context and the customer with their contacts, all of the
    catalogue version the database has now: one query when the cache holds that version."""
    snapshot = catalogue_snapshot(tenant=tenant)
    for attempt in (1, 2):
        flow = snapshot_flow(snapshot, tenant=tenant, flow_id=flow_id, flow_key=flow_key)
        if flow is None:  # read from the database just now, whatever the snapshot's age
            return DecisionRead(snapshot, None, None, None, None)
        context: DecisionContext | None = None
        refusal: ValidationError | None = None
        if flow.version is not None:
            try:
                context = snapshot.context(flow, now=now, channel=channel, limit=limit)
            except ValidationError as exc:
                refusal = exc  # raised after the checks that come first (the customer)
        since = context.lookback() if context is not None else None
        version, customer = read_customer(tenant=tenant, snapshot=snapshot, external_id=customer_id, since=since)
        # A second change during the request is concurrent with it: either side is an answer.
        if version == snapshot.version or attempt == 2:
            break
        snapshot = catalogue_snapshot_refresh(tenant=tenant, version=version)
    return DecisionRead(snapshot, flow, context, refusal, customer)


# --- the one query -----------------------------------------------------------------------------


def _attribute_sql(name: str, type_: str) -> str:
    """The attribute's value as text when its JSON type is the schema's, else NULL (as
    loading.customer_frame reads it). Names are checked by ``customer_columns``: safe in SQL."""
    test = JSON_TYPES[connection.vendor][type_]
    if connection.vendor == "postgresql":
        return f"CASE WHEN jsonb_typeof(c.attributes -> '{name}') {test} THEN c.attributes ->> '{name}' END"
    path = f"'$.{name}'"
    if type_ == "boolean":
        value = f"json_type(c.attributes, {path})"
    else:
        value = f"CAST(json_extract(c.attributes, {path}) AS TEXT)"
    return f"CASE WHEN json_type(c.attributes, {path}) {test} THEN {value} END"


def _customer_sql(names: Sequence[str], types: Sequence[str], *, history: bool) -> str:
    if connection.vendor == "postgresql":
        builtins = (
            "c.id, c.external_id, c.email, c.first_name, c.last_name, c.phone, c.suppressed::int, "
            "c.unsubscribed::int, to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        )
    else:
        builtins = (
            "c.id, c.external_id, c.email, c.first_name, c.last_name, c.phone, c.suppressed, c.unsubscribed, "
            "substr(c.created_at, 1, 10)"
        )
    # The columns and table names are this module's text; every value is a parameter.
    columns = [builtins, *(_attribute_sql(n, t) for n, t in zip(names, types, strict=True)), "c.attributes"]
    customer = f"SELECT * FROM {Customer._meta.db_table} WHERE tenant_id = %s AND external_id = %s"  # noqa: S608
    joins = "LEFT JOIN c ON 1 = 1"
    if history:
        columns.append("h.offer_id, h.channel_id, h.contacted_at")
        # The customer's id as a scalar, not a join column: PostgreSQL then pushes it into both
        # branches of the view (runs' recommendations by their key), as with load_history's range.
        view = Contact._meta.db_table
        joins += f" LEFT JOIN {view} h ON h.tenant_id = %s AND h.customer_id = (SELECT id FROM c)"  # noqa: S608
        joins += " AND h.contacted_at >= %s"
    return (
        f"WITH c AS ({customer}) SELECT t.catalogue_version, {', '.join(columns)} "  # noqa: S608
        f"FROM {Tenant._meta.db_table} t {joins} WHERE t.id = %s"
    )


def _aware(value: Any) -> dt.datetime:
    if isinstance(value, str):  # SQLite: text in UTC
        parsed = parse_datetime(value)
        assert parsed is not None, value
        value = parsed
    return value if timezone.is_aware(value) else timezone.make_aware(value, dt.UTC)


def read_customer(
    *, tenant: Tenant, snapshot: Snapshot, external_id: str, since: dt.datetime | None
) -> tuple[int | None, CustomerRow | None]:
    """One query: the tenant's catalogue version now (None: no such tenant), and the customer
    (None: no such customer) typed by the snapshot's schema, with their contacts since
    ``since`` (none read when None)."""
    params: list[Any] = [tenant.pk, external_id]
    if since is not None:
        params += [tenant.pk, connection.ops.adapt_datetimefield_value(since)]
    params.append(tenant.pk)
    with connection.cursor() as cursor:
        cursor.execute(snapshot.sql(history=since is not None), params)
        rows = cursor.fetchall()
    if not rows:
        return None, None
    first = rows[0]
    if first[1] is None:
        return first[0], None
    width = _BUILTIN_COUNT + len(snapshot.columns.names)
    attributes = first[1 + width]
    if isinstance(attributes, str | bytes):
        attributes = json.loads(attributes)
    contacts = [row[2 + width :] for row in rows if since is not None and row[2 + width] is not None]
    history = History(
        customer_rows=np.zeros(len(contacts), dtype=np.int64),
        offer_ids=[contact[0] for contact in contacts],
        channel_ids=[contact[1] for contact in contacts],
        contacted_at=[_aware(contact[2]) for contact in contacts],
    )
    return first[0], CustomerRow(values=tuple(first[1 : 1 + width]), attributes=attributes, history=history)


def customer_frame(snapshot: Snapshot, customer: CustomerRow) -> pl.DataFrame:
    """The customer as the engine's one-row frame (loading.customer_frame's columns)."""
    return customer_frame_from_rows([customer.values], snapshot.columns)
