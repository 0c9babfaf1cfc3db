"""Reads of runs: the list's rows, the summary computed at the end, its API shape, per-customer
results by keyset, and the streamed export."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet

from decisionflows.engine import merge_funnels
from decisionflows.models import Channel, ContactPolicy, Creative, Offer
from decisionflows.personalization import render
from kaireon.csvexport import CsvWriter
from kaireon.models import Tenant
from kaireon.naming import camel
from runs.models import ChunkStatus, Recommendation, Run, RunChunk
from segments.models import Customer

# What a run's row in a list shows (RunSerializer) of its own columns, and nothing more: a completed
# run's summary is a few kB of JSON, and parsing it (with the filters, the error context, the flow
# version's pipeline) for every row of a page was most of the list's time.
RUN_LIST_FIELDS = (
    "id",
    "tenant_id",
    "name",
    "decision_flow_id",
    "segment_id",
    "segment_name",
    "channel_ids",
    "status",
    "execution_mode",
    "total_customers",
    "processed_customers",
    "failed_customers",
    "recommendation_count",
    "chunk_count",
    "chunks_done",
    "chunks_failed",
    "started_at",
    "completed_at",
    "error",
    "created_by",
    "created_at",
    "updated_at",
)

# Customers per page of the export: 2,000 customers ≈ 6,000 rows, one query each for the
# recommendations and their customers.
EXPORT_PAGE = 2_000
EXPORT_COLUMNS = (
    "customer_id",
    "external_id",
    "email",
    "rank",
    "offer_id",
    "offer_key",
    "offer_name",
    "channel_id",
    "channel",
    "creative_id",
    "creative",
    "score",
    "subject",
    "content",
)
# JSON is camelCase everywhere (DESIGN 4), JSON Lines files included; a CSV header keeps the
# column names (snake_case, as docs/api-contract.md §2.7 lists them: customer_id, offer_name).
EXPORT_JSON_KEYS = {column: camel(column) for column in EXPORT_COLUMNS}


def runs_for(*, tenant: Tenant) -> QuerySet[Run]:
    return Run.objects.filter(tenant=tenant).select_related("decision_flow", "segment", "flow_version")


# --- summary -------------------------------------------------------------------------------


def run_summary_compute(*, run: Run, completed_at: Any, recount: bool = False) -> dict[str, Any]:
    """The summary of docs/api-contract.md §4.4: totals, average offers per customer, execution time, offer and
    channel breakdowns (count, percent of total), and the merged funnel.

    The breakdowns add up the chunks' own counts (written with their rows); they are counted
    from the rows instead (one GROUP BY pass, ~2 s per 3M rows) when ``recount`` says the rows
    changed after the chunks wrote them, or a chunk has no counts."""
    by_offer: dict[str, int] = {}
    by_channel: dict[str, int] = {}
    with_recommendations = 0
    chunks = RunChunk.objects.filter(run=run, status=ChunkStatus.DONE)
    parts: list[Any] = [] if recount else list(chunks.values_list("breakdown", flat=True).iterator(chunk_size=1000))
    if recount or any(part is None for part in parts):
        parts = [_breakdown_of_rows(run)]
    for part in parts:
        for offer_id, channel_id, count, firsts in part:
            by_offer[offer_id] = by_offer.get(offer_id, 0) + count
            by_channel[channel_id] = by_channel.get(channel_id, 0) + count
            with_recommendations += int(firsts or 0)
    funnel: dict[str, Any] | None = None
    for part in chunks.values_list("funnel", flat=True).iterator(chunk_size=1000):
        if part:
            funnel = merge_funnels(funnel, part)
    total = sum(by_offer.values())
    processed = run.processed_customers - run.failed_customers
    started = run.started_at or completed_at
    return {
        "total_customers": run.total_customers,
        "customers_processed": processed,
        "customers_failed": run.failed_customers,
        "customers_with_recommendations": with_recommendations,
        "customers_without_recommendations": max(processed - with_recommendations, 0),
        "total_recommendations": total,
        "average_offers_per_customer": round(total / processed, 3) if processed else 0.0,
        "execution_seconds": round((completed_at - started).total_seconds(), 3),
        "offer_counts": by_offer,
        "channel_counts": by_channel,
        "funnel": funnel or {"customers": 0, "offers": {}, "customers_without_offers": {}},
    }


def _breakdown_of_rows(run: Run) -> list[list[Any]]:
    """[offer id, channel id, rows, rows of rank 1] counted from the run's rows in one pass
    (every customer with a recommendation has one of rank 1)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT offer_id, channel_id, COUNT(*), SUM(CASE WHEN rank = 1 THEN 1 ELSE 0 END) "  # noqa: S608
            f"FROM {Recommendation._meta.db_table} WHERE run_id = %s GROUP BY offer_id, channel_id",
            [run.pk],
        )
        return [list(row) for row in cursor.fetchall()]


def _percent(count: int, total: int) -> float:
    return round(100.0 * count / total, 1) if total else 0.0


def with_names(queryset: QuerySet[Run]) -> QuerySet[Run]:
    """``queryset`` with what a run's API body shows besides its own columns, joined in the one
    query as values (a model per related row cost a third of a 50-row list): the flow's
    ``decision_flow_name`` and ``decision_flow_key``, the version's ``flow_version_number`` and
    the segment's ``segment_size`` (null without a segment)."""
    return queryset.annotate(
        decision_flow_name=F("decision_flow__name"),
        decision_flow_key=F("decision_flow__key"),
        flow_version_number=F("flow_version__version"),
        segment_size=F("segment__customer_count"),
    )


def with_list_columns(queryset: QuerySet[Run]) -> QuerySet[Run]:
    """``queryset`` (``with_names``) with only the run's columns a list shows."""
    return queryset.only(*RUN_LIST_FIELDS)


def run_results(run: Run) -> dict[str, Any]:
    """The stored summary as the API shows it: breakdowns with names and percentages, and the
    funnel as lists (ids are values, never keys, so camelCase conversion cannot touch them)."""
    summary = dict(run.summary or {})
    offer_counts: Mapping[str, int] = summary.pop("offer_counts", {})
    channel_counts: Mapping[str, int] = summary.pop("channel_counts", {})
    funnel: Mapping[str, Any] = summary.pop("funnel", {}) or {}
    funnel_offers: Mapping[str, Any] = funnel.get("offers", {})
    offer_ids = set(offer_counts) | set(funnel_offers)
    offers = {o.pk: o for o in Offer.objects.filter(pk__in=offer_ids)}
    channels = {c.pk: c for c in Channel.objects.filter(pk__in=list(channel_counts))}
    policy_ids = {p for entry in funnel_offers.values() for p in entry.get("by_policy", {})}
    policies = dict(ContactPolicy.objects.filter(pk__in=policy_ids).values_list("pk", "name"))
    total = summary.get("total_recommendations", 0)

    def offer_name(offer_id: str) -> str:
        return offers[offer_id].name if offer_id in offers else offer_id

    offer_breakdown = [
        {
            "offer_id": offer_id,
            "offer_key": offers[offer_id].key if offer_id in offers else "",
            "offer_name": offer_name(offer_id),
            "count": count,
            "percent": _percent(count, total),
        }
        for offer_id, count in offer_counts.items()
    ]
    channel_breakdown = [
        {
            "channel_id": channel_id,
            "channel_name": channels[channel_id].name if channel_id in channels else channel_id,
            "channel_type": channels[channel_id].channel_type if channel_id in channels else "",
            "count": count,
            "percent": _percent(count, total),
        }
        for channel_id, count in channel_counts.items()
    ]
    funnel_rows = []
    for offer_id, entry in funnel_offers.items():
        funnel_rows.append(
            {
                "offer_id": offer_id,
                "offer_name": offer_name(offer_id),
                **{k: v for k, v in entry.items() if k not in ("by_rule", "by_policy")},
                "by_rule": [{"rule": rule, "count": n} for rule, n in sorted(entry.get("by_rule", {}).items())],
                "by_policy": [
                    {"policy_id": pid, "policy_name": policies.get(pid, pid), "count": n}
                    for pid, n in sorted(entry.get("by_policy", {}).items())
                ],
            }
        )
    funnel_rows.sort(key=lambda row: (-row.get("recommended", 0), row["offer_name"]))
    return {
        **summary,
        "offer_breakdown": sorted(offer_breakdown, key=lambda item: (-item["count"], item["offer_name"])),
        "channel_breakdown": sorted(channel_breakdown, key=lambda item: (-item["count"], item["channel_name"])),
        "funnel": {
            "customers": funnel.get("customers", 0),
            "offers": funnel_rows,
            "customers_without_offers": [
                {"reason": reason, "count": n}
                for reason, n in sorted(funnel.get("customers_without_offers", {}).items())
            ],
        },
    }


# --- per-customer results ------------------------------------------------------------------


def customer_fields(customer: Customer) -> dict[str, Any]:
    """A customer as personalization tokens see it: columns, then schema attributes."""
    return {
        **(customer.attributes or {}),
        "external_id": customer.external_id,
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "phone": customer.phone,
    }


def offer_fields(offer: Offer) -> dict[str, Any]:
    return {
        "id": offer.pk,
        "key": offer.key,
        "name": offer.name,
        "description": offer.description,
        "category": offer.category,
        "priority": offer.priority,
        "business_value": offer.business_value,
    }


@dataclass
class _Catalogue:
    offers: dict[str, Offer]
    channels: dict[str, Channel]
    creatives: dict[str, Creative]

    @classmethod
    def of(cls, tenant: Tenant) -> _Catalogue:
        return cls(
            offers={o.pk: o for o in Offer.objects.filter(tenant=tenant)},
            channels={c.pk: c for c in Channel.objects.filter(tenant=tenant)},
            creatives={c.pk: c for c in Creative.objects.filter(tenant=tenant)},
        )

    def recommendation(self, row: Recommendation, customer: Customer | None) -> dict[str, Any]:
        offer = self.offers.get(row.offer_id)
        channel = self.channels.get(row.channel_id)
        creative = self.creatives.get(row.creative_id or "")
        fields = customer_fields(customer) if customer else {}
        offer_values = offer_fields(offer) if offer else {}
        return {
            "rank": row.rank,
            "score": row.score,
            "offer_id": row.offer_id,
            "offer_key": offer.key if offer else "",
            "offer_name": offer.name if offer else "(deleted offer)",
            "channel_id": row.channel_id,
            "channel_name": channel.name if channel else "(deleted channel)",
            "channel_type": channel.channel_type if channel else "",
            "creative_id": row.creative_id,
            "creative_name": creative.name if creative else "",
            "personalization": {
                "subject": render(creative.subject, fields, offer_values) if creative else "",
                "content": render(creative.content, fields, offer_values) if creative else "",
            },
        }


def _page_customer_ids(
    run: Run, *, after: int, limit: int, customer_id: int | None, offer_id: str | None, channel_id: str | None
) -> list[int]:
    queryset = Recommendation.objects.filter(run=run, customer_id__gt=after)
    if customer_id is not None:
        queryset = queryset.filter(customer_id=customer_id)
    if offer_id:
        queryset = queryset.filter(offer_id=offer_id)
    if channel_id:
        queryset = queryset.filter(channel_id=channel_id)
    return list(queryset.order_by("customer_id").values_list("customer_id", flat=True).distinct()[:limit])


def run_customers_page(
    run: Run,
    *,
    after: int = 0,
    limit: int = 50,
    external_id: str | None = None,
    offer_id: str | None = None,
    channel_id: str | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of customers with their ranked recommendations, by keyset on the customer id;
    returns the page and the cursor of the next one (None at the end)."""
    customer_id = None
    if external_id:
        customer_id = (
            Customer.objects.filter(tenant_id=run.tenant_id, external_id=external_id)
            .values_list("pk", flat=True)
            .first()
        )
        if customer_id is None:
            return [], None
    ids = _page_customer_ids(
        run, after=after, limit=limit + 1, customer_id=customer_id, offer_id=offer_id, channel_id=channel_id
    )
    has_more = len(ids) > limit
    ids = ids[:limit]
    items = _customer_items(run, ids, _Catalogue.of(run.tenant))
    return items, (ids[-1] if has_more and ids else None)


def _customer_items(run: Run, ids: Sequence[int], catalogue: _Catalogue) -> list[dict[str, Any]]:
    if not ids:
        return []
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=ids)}
    rows: dict[int, list[Recommendation]] = {}
    for row in Recommendation.objects.filter(run=run, customer_id__in=ids).order_by("customer_id", "rank"):
        rows.setdefault(row.customer_id, []).append(row)
    items = []
    for customer_id in ids:
        customer = customers.get(customer_id)
        items.append(
            {
                "customer_id": customer.external_id if customer else str(customer_id),
                "customer_ref": customer_id,
                "email": customer.email if customer else "",
                "name": f"{customer.first_name} {customer.last_name}".strip() if customer else "",
                "recommendations": [catalogue.recommendation(row, customer) for row in rows.get(customer_id, [])],
            }
        )
    return items


def run_export(run: Run, fmt: str) -> Iterator[str]:
    """Every recommendation of the run, as CSV (a header, one row each) or JSON Lines, page
    by page so memory stays bounded whatever the run's size."""
    catalogue = _Catalogue.of(run.tenant)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = CsvWriter(buffer)
        writer.writerow(EXPORT_COLUMNS)
        yield buffer.getvalue()
    after = 0
    while True:
        ids = _page_customer_ids(run, after=after, limit=EXPORT_PAGE, customer_id=None, offer_id=None, channel_id=None)
        if not ids:
            return
        buffer = io.StringIO()
        writer = CsvWriter(buffer)
        for item in _customer_items(run, ids, catalogue):
            for rec in item["recommendations"]:
                row = {
                    "customer_id": item["customer_ref"],
                    "external_id": item["customer_id"],
                    "email": item["email"],
                    "rank": rec["rank"],
                    "offer_id": rec["offer_id"],
                    "offer_key": rec["offer_key"],
                    "offer_name": rec["offer_name"],
                    "channel_id": rec["channel_id"],
                    "channel": rec["channel_name"],
                    "creative_id": rec["creative_id"],
                    "creative": rec["creative_name"],
                    "score": rec["score"],
                    "subject": rec["personalization"]["subject"],
                    "content": rec["personalization"]["content"],
                }
                if fmt == "csv":
                    writer.writerow([row[c] for c in EXPORT_COLUMNS])
                else:
                    line = {EXPORT_JSON_KEYS[key]: value for key, value in row.items()}
                    buffer.write(json.dumps(line, ensure_ascii=False) + "\n")
        yield buffer.getvalue()
        after = ids[-1]
