"""From the database to the engine's inputs: build_context, customer_frame, load_history.

Runs on SQLite and on PostgreSQL (where customer_frame reads through COPY).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl
import pytest
from django.utils import timezone

from decisionflows.engine import decide
from decisionflows.loading import attribute_types, build_context, customer_frame, load_history
from decisionflows.models import ActiveStatus, CapPeriod, CapScope, DeliveryMode, OfferStatus, PolicyType
from kaireon.models import Tenant
from segments.models import Customer, CustomerAttribute
from tests.decisionflows.factories import (
    MINIMAL_PIPELINE,
    ChannelFactory,
    ContactHistoryFactory,
    ContactPolicyFactory,
    CreativeFactory,
    CustomerFactory,
    OfferFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)
POLICY_PIPELINE: list[dict[str, Any]] = [MINIMAL_PIPELINE[0], {"type": "contact_policy"}, *MINIMAL_PIPELINE[1:]]


def frame_for(tenant: Tenant, customers: list[Customer], **kwargs) -> pl.DataFrame:
    ids = sorted(c.pk for c in customers)
    return customer_frame(
        tenant=tenant, first_id=ids[0], last_id=ids[-1], attributes=attribute_types(tenant=tenant), **kwargs
    )


# --- build_context -------------------------------------------------------------------------


def test_build_context_uses_active_channels_in_creation_order(tenant, other_tenant):
    email = ChannelFactory.create(tenant=tenant, name="Email", delivery_mode=DeliveryMode.FILE)
    api = ChannelFactory.create(tenant=tenant, name="API", delivery_mode=DeliveryMode.API)
    ChannelFactory.create(tenant=tenant, name="Old", status=ActiveStatus.INACTIVE)
    ChannelFactory.create(tenant=other_tenant, name="Theirs")
    sms = ChannelFactory.create(tenant=tenant, name="SMS", delivery_mode=DeliveryMode.INTEGRATION)

    every = build_context(tenant=tenant, pipeline=MINIMAL_PIPELINE, now=NOW)
    assert [c.id for c in every.channels] == [email.pk, api.pk, sms.pk]
    batch = build_context(tenant=tenant, pipeline=MINIMAL_PIPELINE, batch_only=True, now=NOW)
    assert [c.id for c in batch.channels] == [email.pk, sms.pk]
    assert batch.channels[0].name == "Email"
    assert batch.channels[1].delivery_mode == "integration"


def test_build_context_keeps_the_order_of_channel_ids(tenant):
    email, sms, push = (ChannelFactory.create(tenant=tenant, name=name) for name in ("Email", "SMS", "Push"))
    ChannelFactory.create(tenant=tenant, name="Off", status=ActiveStatus.INACTIVE)
    context = build_context(tenant=tenant, pipeline=MINIMAL_PIPELINE, channel_ids=[push.pk, email.pk], now=NOW)
    assert [c.id for c in context.channels] == [push.pk, email.pk]
    # an inactive (or unknown) id in the list is simply not usable
    off = ChannelFactory.create(tenant=tenant, name="Off 2", status=ActiveStatus.INACTIVE)
    context = build_context(tenant=tenant, pipeline=MINIMAL_PIPELINE, channel_ids=[off.pk, sms.pk], now=NOW)
    assert [c.id for c in context.channels] == [sms.pk]


def test_build_context_takes_active_offers_creatives_and_policies_of_the_tenant(tenant, other_tenant):
    email = ChannelFactory.create(tenant=tenant, name="Email")
    gold = OfferFactory.create(tenant=tenant, key="gold", priority=80, business_value="250.50", tags=["premium"])
    OfferFactory.create(tenant=tenant, key="draft", status=OfferStatus.DRAFT)
    OfferFactory.create(tenant=other_tenant, key="theirs")
    live = CreativeFactory.create(tenant=tenant, offer=gold, channel=email, name="live")
    silent = OfferFactory.create(tenant=tenant, key="silent")
    CreativeFactory.create(tenant=tenant, offer=silent, channel=email, status=ActiveStatus.INACTIVE)
    CreativeFactory.create(tenant=other_tenant, channel=ChannelFactory.create(tenant=other_tenant))
    weekly = ContactPolicyFactory.create(tenant=tenant, name="weekly")
    ContactPolicyFactory.create(tenant=tenant, name="off", status=ActiveStatus.INACTIVE)
    ContactPolicyFactory.create(tenant=other_tenant, name="theirs")

    context = build_context(tenant=tenant, pipeline=POLICY_PIPELINE, now=NOW)
    assert [o.key for o in context.candidates] == ["gold", "silent"]
    info = context.candidates[0]
    assert (info.priority, info.business_value, info.tags, info.category) == (80, 250.5, ("premium",), "cards")
    assert [c.id for c in context.creatives] == [live.pk]
    assert context.has_creative.tolist() == [[True], [False]]
    assert [p.id for p in context.applied_policies] == [weekly.pk]
    assert context.applied_policies[0].period == "week"
    assert context.today == dt.date(2025, 3, 10)


# --- customer_frame ------------------------------------------------------------------------


@pytest.fixture
def schema(tenant: Tenant) -> dict[str, str]:
    for name, type_ in (("age", "integer"), ("balance", "number"), ("vip", "boolean"), ("joined", "date")):
        CustomerAttribute.objects.create(tenant=tenant, name=name, type=type_)
    CustomerAttribute.objects.create(tenant=tenant, name="tier", type="string")
    return attribute_types(tenant=tenant)


def test_customer_frame_types_every_attribute(tenant, schema):
    created = dt.datetime(2024, 5, 1, 23, 30, tzinfo=dt.UTC)
    full = CustomerFactory.create(
        tenant=tenant,
        external_id="full",
        email="ada@example.com",
        first_name="Ada",
        last_name='O"Neil, Jr.',
        phone="+44 1",
        suppressed=True,
        attributes={"age": 42, "balance": 10.5, "vip": True, "joined": "2023-12-31", "tier": 'gold\nplus, "vip"'},
        created_at=created,
    )
    empty = CustomerFactory.create(tenant=tenant, external_id="empty", first_name="", attributes={})
    frame = frame_for(tenant, [full, empty])
    assert dict(frame.schema) == (
        {
            "id": pl.Int64(),
            "external_id": pl.String(),
            "email": pl.String(),
            "first_name": pl.String(),
            "last_name": pl.String(),
            "phone": pl.String(),
            "suppressed": pl.Boolean(),
            "unsubscribed": pl.Boolean(),
            "created_at": pl.Date(),
            "age": pl.Int64(),
            "balance": pl.Float64(),
            "vip": pl.Boolean(),
            "joined": pl.Date(),
            "tier": pl.String(),
        }
    )
    rows = frame.to_dicts()
    assert rows[0] == {
        "id": full.pk,
        "external_id": "full",
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": 'O"Neil, Jr.',
        "phone": "+44 1",
        "suppressed": True,
        "unsubscribed": False,
        "created_at": dt.date(2024, 5, 1),
        "age": 42,
        "balance": 10.5,
        "vip": True,
        "joined": dt.date(2023, 12, 31),
        "tier": 'gold\nplus, "vip"',
    }
    # missing attributes are null; blank built-ins stay blank strings
    assert rows[1]["external_id"] == "empty"
    assert rows[1]["first_name"] == ""
    assert [rows[1][name] for name in ("age", "balance", "vip", "joined", "tier")] == [None] * 5


def test_customer_frame_reads_values_of_another_type_as_null(tenant, schema):
    odd = CustomerFactory.create(
        tenant=tenant,
        attributes={"age": "42", "balance": "lots", "vip": "yes", "joined": "31/12/2023", "tier": 7},
    )
    near = CustomerFactory.create(
        tenant=tenant,
        attributes={"age": 3.0, "balance": 2, "vip": False, "joined": "2024-02-30", "tier": ""},
    )
    rows = frame_for(tenant, [odd, near]).to_dicts()
    assert [rows[0][name] for name in ("age", "balance", "vip", "joined", "tier")] == [None] * 5
    # 3.0 is an integer, 2 a number; an impossible date is null; "" is a value, not null
    assert [rows[1][name] for name in ("age", "balance", "vip", "joined", "tier")] == [3, 2.0, False, None, ""]


def test_customer_frame_reads_an_id_range_narrowed_by_ids(tenant, other_tenant, schema):
    customers = [CustomerFactory.create(tenant=tenant) for _ in range(5)]
    CustomerFactory.create(tenant=other_tenant)
    ids = [c.pk for c in customers]
    attributes = attribute_types(tenant=tenant)
    frame = customer_frame(tenant=tenant, first_id=ids[1], last_id=ids[3], attributes=attributes)
    assert frame.get_column("id").to_list() == ids[1:4]
    chosen = np.array([ids[0], ids[2], ids[4]], dtype=np.int64)
    frame = customer_frame(tenant=tenant, first_id=ids[0], last_id=ids[3], ids=chosen, attributes=attributes)
    assert frame.get_column("id").to_list() == [ids[0], ids[2]]
    # another tenant's customers are never read, even inside the range
    wide = customer_frame(tenant=tenant, first_id=0, last_id=ids[-1] + 10, attributes=attributes)
    assert wide.get_column("id").to_list() == ids


def test_customer_frame_of_an_empty_range_is_empty_but_typed(tenant, schema):
    customer = CustomerFactory.create(tenant=tenant)
    attributes = attribute_types(tenant=tenant)
    for frame in (
        customer_frame(tenant=tenant, first_id=customer.pk + 1, last_id=customer.pk + 9, attributes=attributes),
        customer_frame(
            tenant=tenant, first_id=customer.pk, last_id=customer.pk, ids=np.zeros(0, np.int64), attributes=attributes
        ),
    ):
        assert frame.height == 0
        assert frame.schema["joined"] == pl.Date()
        assert frame.schema["vip"] == pl.Boolean()


def test_customer_frame_without_a_schema_has_the_built_in_columns(tenant):
    customer = CustomerFactory.create(tenant=tenant, attributes={"stray": 1})
    frame = customer_frame(tenant=tenant, first_id=customer.pk, last_id=customer.pk, attributes={})
    assert frame.columns == [
        "id",
        "external_id",
        "email",
        "first_name",
        "last_name",
        "phone",
        "suppressed",
        "unsubscribed",
        "created_at",
    ]


# --- load_history --------------------------------------------------------------------------


def test_load_history_reads_the_look_back_window_of_the_batch(tenant, other_tenant):
    channel = ChannelFactory.create(tenant=tenant)
    offer = OfferFactory.create(tenant=tenant)
    ContactPolicyFactory.create(tenant=tenant, name="weekly", period=CapPeriod.WEEK, scope=CapScope.GLOBAL)
    first, outside, last = (CustomerFactory.create(tenant=tenant) for _ in range(3))
    recent = NOW - dt.timedelta(days=2)

    def contact(customer: Customer, when: dt.datetime, on: object = channel) -> None:
        ContactHistoryFactory.create(tenant=tenant, customer=customer, offer=offer, channel=on, contacted_at=when)

    contact(first, recent)
    contact(first, NOW - dt.timedelta(days=8))  # before the week
    contact(outside, recent)  # inside the id range, not in the batch
    contact(last, NOW - dt.timedelta(days=6, hours=23), on=None)
    theirs = CustomerFactory.create(tenant=other_tenant)
    ContactHistoryFactory.create(tenant=other_tenant, customer=theirs, contacted_at=recent)

    context = build_context(tenant=tenant, pipeline=POLICY_PIPELINE, now=NOW)
    history = load_history(tenant=tenant, context=context, customer_ids=np.array([first.pk, last.pk]))
    columns = (history.customer_rows.tolist(), history.offer_ids, history.channel_ids, history.contacted_at)
    found = sorted(zip(*columns, strict=True))
    assert found == [(0, offer.pk, channel.pk, recent), (1, offer.pk, None, NOW - dt.timedelta(days=6, hours=23))]


def test_load_history_reads_nothing_when_no_policy_looks_back(tenant):
    customer = CustomerFactory.create(tenant=tenant)
    ContactHistoryFactory.create(tenant=tenant, customer=customer, contacted_at=NOW)
    ContactPolicyFactory.create(tenant=tenant, name="weekly")
    # the flow has no contact_policy node
    context = build_context(tenant=tenant, pipeline=MINIMAL_PIPELINE, now=NOW)
    assert load_history(tenant=tenant, context=context, customer_ids=np.array([customer.pk])).offer_ids == []
    context = build_context(tenant=tenant, pipeline=POLICY_PIPELINE, now=NOW)
    assert load_history(tenant=tenant, context=context, customer_ids=np.zeros(0, np.int64)).offer_ids == []


def test_cooldown_look_back_is_in_hours(tenant):
    customer = CustomerFactory.create(tenant=tenant)
    ContactPolicyFactory.create(tenant=tenant, name="cool", policy_type=PolicyType.COOLDOWN, cooldown_hours=12)
    ContactHistoryFactory.create(tenant=tenant, customer=customer, contacted_at=NOW - dt.timedelta(hours=11))
    ContactHistoryFactory.create(tenant=tenant, customer=customer, contacted_at=NOW - dt.timedelta(hours=13))
    context = build_context(tenant=tenant, pipeline=POLICY_PIPELINE, now=NOW)
    history = load_history(tenant=tenant, context=context, customer_ids=np.array([customer.pk]))
    assert history.contacted_at == [NOW - dt.timedelta(hours=11)]


# --- all together --------------------------------------------------------------------------


def test_a_loaded_batch_decides_like_the_documented_semantics(tenant, schema):
    email = ChannelFactory.create(tenant=tenant, name="Email")
    gold = OfferFactory.create(tenant=tenant, key="gold", priority=80, business_value=200, eligibility={})
    loan = OfferFactory.create(tenant=tenant, key="loan", priority=50, business_value=100)
    for offer in (gold, loan):
        CreativeFactory.create(tenant=tenant, offer=offer, channel=email)
    ContactPolicyFactory.create(tenant=tenant, name="two a day", max_count=2, period=CapPeriod.DAY)
    pipeline: list[dict[str, Any]] = [
        MINIMAL_PIPELINE[0],
        {
            "type": "qualify",
            "rules": [
                {
                    "id": "r1",
                    "name": "vip or joined early",
                    "mode": "hard",
                    "condition": {
                        "any": [
                            {"field": "customer.vip", "operator": "eq", "value": True},
                            {"field": "customer.joined", "operator": "lt", "value": "2024-01-01"},
                        ]
                    },
                }
            ],
        },
        {"type": "contact_policy", "policy_ids": []},
        {"type": "score", "method": "prie"},
        {"type": "rank", "max_offers_per_customer": 2},
        {"type": "output"},
    ]
    vip = CustomerFactory.create(tenant=tenant, attributes={"vip": True})
    early = CustomerFactory.create(tenant=tenant, attributes={"joined": "2023-06-01"})
    late = CustomerFactory.create(tenant=tenant, attributes={"joined": "2024-06-01", "vip": False})
    contacted = CustomerFactory.create(tenant=tenant, attributes={"vip": True})
    for hours in (1, 20):
        when = NOW - dt.timedelta(hours=hours)
        ContactHistoryFactory.create(tenant=tenant, customer=contacted, offer=gold, channel=email, contacted_at=when)

    context = build_context(tenant=tenant, pipeline=pipeline, now=NOW)
    frame = frame_for(tenant, [vip, early, late, contacted])
    history = load_history(tenant=tenant, context=context, customer_ids=frame.get_column("id").to_numpy())
    decisions = decide(context, frame, history)
    got = [
        (int(frame["id"][int(row)]), context.candidates[int(j)].key, int(rank))
        for row, j, rank in zip(decisions.customer_rows, decisions.offer_idx, decisions.rank, strict=True)
    ]
    # the daily cap leaves nothing for the customer contacted today
    assert got == [(vip.pk, "gold", 1), (vip.pk, "loan", 2), (early.pk, "gold", 1), (early.pk, "loan", 2)]
    # gold: 0.5^0.4 · 0.8^0.1 = 0.741134; loan: 0.5^0.4 · 0.5^0.3 · 0.5^0.1 = 0.574349
    assert decisions.score[:2].tolist() == pytest.approx([0.7411344491069477, 0.5743491774985175])
    funnel = decisions.funnel(context)
    assert funnel["customers_without_offers"] == {"no_eligible_offers": 1, "contact_policy": 1}
    assert timezone.is_aware(history.contacted_at[0])
