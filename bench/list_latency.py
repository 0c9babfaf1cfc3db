"""Benchmark: server-side latency of the list endpoints with a big tenant (100,000 runs,
1,000,000 customers, 1,000,000 journey runs, one campaign with 100,000 campaign runs), against each
list's own SELECT of one page, in the same invocation.

Not a test. It needs PostgreSQL (default: the local server) and recreates its scratch database
``kaireon_bench_lists`` on every start:

    .venv/bin/python bench/list_latency.py [--runs 100000] [--customers 1000000] [--journey-runs N]
        [--requests 200] [--repeat N]

What it does:
1. loads the catalogue of bench/run_throughput.py (one published flow, a segment of everyone,
   an API key) with N customers, and COPYs ``--runs`` runs of that flow, version and segment into
   ``runs_run`` (85% completed, each with a summary of the real shape; the rest failed,
   cancelled or completed with errors; one every 5 minutes back in time); makes every run a
   campaign run of one campaign (a result file each when completed); publishes a journey plan
   and enrols ``--journey-runs`` customers (default: all of them) by INSERT … SELECT, one run
   each (70% completed, the rest active, waiting, failed or cancelled); not timed;
2. the product: for GET /api/v1/runs (and ?status=completed), /api/v1/customers,
   /api/v1/journeys/runs (and ?status=active) and /api/v1/campaigns/{id}/campaign-runs, a few
   untimed requests, then ``--requests`` through DRF's test client in this process (no network:
   the time is the server's) with the API key, each timed; SQL queries of one request;
3. the limit: the list's own SELECT of one page alone (LIMIT 50 in the order of its index,
   the columns the list shows, no count), through psycopg, as many times, each timed.

Prints per endpoint ``p50-ms: N (endpoint)`` and ``p95-ms: N (endpoint)`` of the product, the
limit's p50 / p95, queries per request, the CPU-seconds PostgreSQL and this process spent for
both, and ``limit-ratio: X.XX (endpoint)`` = limit p95 ÷ product p95 (the product's throughput
over the limit's). ``--repeat N`` interleaves all N times and adds min / median / max.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import io
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import limit
from bench.run_throughput import common_arguments, conninfo, copy_text, load_catalogue, scratch_django

DB_NAME = "kaireon_bench_lists"
PAGE = 50
NULL = "\\N"  # in COPY text
RUN_COLUMNS = (
    "id, tenant_id, created_at, updated_at, name, decision_flow_id, flow_version_id, segment_id, segment_name, "
    "filters, segment_filters, channel_ids, status, execution_mode, total_customers, processed_customers, "
    "failed_customers, recommendation_count, chunk_count, chunks_done, chunks_failed, recovery_attempts, "
    "started_at, completed_at, error, error_context, summary, created_by"
)
# What the run list shows of the row itself (RunSerializer; flow and version come from joins).
RUN_LIST_COLUMNS = (
    "id, tenant_id, name, decision_flow_id, segment_id, status, segment_name, channel_ids, execution_mode, "
    "total_customers, processed_customers, failed_customers, recommendation_count, chunk_count, chunks_done, "
    "chunks_failed, started_at, completed_at, error, created_by, created_at, updated_at"
)
CUSTOMER_COLUMNS = (
    "id, external_id, email, first_name, last_name, phone, attributes, suppressed, unsubscribed, created_at, updated_at"
)
# What the journey-run list shows (ExecutionRunSerializer).
JOURNEY_RUN_COLUMNS = (
    "id, plan_id, plan_version, contact_id, status, current_step, steps_completed, steps_remaining, start_tick, "
    "current_tick, wake_tick, started_at, completed_at, outcome, variables, error"
)
# What the campaign-run list shows (CampaignRunSerializer): the row, its run's status, its file.
CAMPAIGN_RUN_SQL = (
    "SELECT cr.id, cr.campaign_id, cr.run_number, cr.triggered_by, cr.scheduled_for, cr.error, cr.run_id, "
    "cr.created_at, cr.deliveries_total, cr.deliveries_sent, cr.deliveries_failed, cr.work_items, "
    "cr.deliveries_settled_at, coalesce(r.status, cr.status), f.status, f.format, f.destination, f.rows, "
    "f.checksum, f.error, f.path FROM campaigns_campaignrun cr LEFT JOIN runs_run r ON r.id = cr.run_id "
    "LEFT JOIN campaigns_campaignfile f ON f.campaign_run_id = cr.id WHERE cr.campaign_id = %(campaign)s "
    f"ORDER BY cr.run_number DESC LIMIT {PAGE}"
)


@dataclass
class Endpoint:
    label: str
    # the request path; {name} placeholders are filled from the loaded ids
    path: str
    # the list's page at the limit, in the order of the index that serves it (%(name)s: the loaded ids)
    sql: str


ENDPOINTS = [
    Endpoint(
        "runs list",
        "/api/v1/runs",
        f"SELECT {RUN_LIST_COLUMNS} FROM runs_run WHERE tenant_id = %(tenant)s "
        f"ORDER BY created_at DESC, id DESC LIMIT {PAGE}",
    ),
    Endpoint(
        "runs list, status=completed",
        "/api/v1/runs?status=completed",
        f"SELECT {RUN_LIST_COLUMNS} FROM runs_run WHERE tenant_id = %(tenant)s AND status = 'completed' "
        f"ORDER BY created_at DESC, id DESC LIMIT {PAGE}",
    ),
    Endpoint(
        "customers list",
        "/api/v1/customers",
        f"SELECT {CUSTOMER_COLUMNS} FROM segments_customer WHERE tenant_id = %(tenant)s ORDER BY id LIMIT {PAGE}",
    ),
    Endpoint(
        "journey runs list",
        "/api/v1/journeys/runs",
        f"SELECT {JOURNEY_RUN_COLUMNS} FROM journeys_executionrun WHERE tenant_id = %(tenant)s "
        f"ORDER BY started_at DESC, id DESC LIMIT {PAGE}",
    ),
    Endpoint(
        "journey runs list, status=active",
        "/api/v1/journeys/runs?status=active",
        f"SELECT {JOURNEY_RUN_COLUMNS} FROM journeys_executionrun WHERE tenant_id = %(tenant)s "
        f"AND status = 'active' ORDER BY started_at DESC, id DESC LIMIT {PAGE}",
    ),
    Endpoint("campaign runs list", "/api/v1/campaigns/{campaign}/campaign-runs", CAMPAIGN_RUN_SQL),
]


def _summary(customers: int) -> str:
    """A completed run's summary as runs.selectors builds it, over the tenant's real offers and
    channels: what every row of the list carries."""
    from decisionflows.models import Channel, Offer

    offers = list(Offer.objects.values_list("id", flat=True))
    channels = list(Channel.objects.values_list("id", flat=True))
    total = customers * 3
    return json.dumps(
        {
            "total_customers": customers,
            "customers_processed": customers,
            "customers_failed": 0,
            "customers_with_recommendations": customers,
            "customers_without_recommendations": 0,
            "total_recommendations": total,
            "average_offers_per_customer": 3.0,
            "execution_seconds": 12.345,
            "offer_counts": {offer: total // len(offers) for offer in offers},
            "channel_counts": {channel: total // len(channels) for channel in channels},
            "funnel": {
                "customers": customers,
                "offers": {
                    offer: {"candidates": customers, "qualified": customers, "scored": customers, "by_policy": {}}
                    for offer in offers
                },
                "customers_without_offers": {},
            },
        }
    )


def seed_runs(ids: dict[str, str], runs: int, customers: int) -> None:
    """COPY ``runs`` runs of the catalogue's flow, version and segment into runs_run."""
    from decisionflows.models import DecisionFlowVersion
    from kaireon.ids import new_id

    started = time.monotonic()
    version = DecisionFlowVersion.objects.get(flow_id=ids["flow"])
    summary = _summary(customers)
    now = dt.datetime.now(dt.UTC)
    statuses = {0: "failed", 1: "cancelled", 2: "completed_with_errors"}

    def lines(start: int, stop: int, out: io.StringIO) -> None:
        for i in range(start, stop):
            created = now - dt.timedelta(minutes=5 * i)
            status = statuses.get(i % 20, "completed")
            done = status == "completed"
            out.write(
                f"{new_id('run')}\t{ids['tenant']}\t{created}\t{created}\tRun {i}\t{ids['flow']}\t{version.pk}\t"
                f"{ids['segment']}\tEveryone\t{NULL}\t{{}}\t[]\t{status}\tcelery\t{customers}\t"
                f"{customers if done else customers // 2}\t0\t{customers * 3 if done else 0}\t50\t"
                f"{50 if done else 25}\t0\t0\t{created}\t{created + dt.timedelta(seconds=20)}\t"
                f"{'' if done else 'stopped'}\t{{}}\t{summary if done else NULL}\tbench\n"
            )

    # a completed run's line is ~3.6 KB (its summary): 5,000 of them ≈ 18 MB of text per slice
    copy_text("runs_run", RUN_COLUMNS, runs, lines, slice_rows=5_000)
    print(f"setup: {runs:,} runs loaded in {time.monotonic() - started:.1f} s")


def seed_campaign_runs(ids: dict[str, str]) -> str:
    """One manual campaign of the catalogue's flow and segment whose campaign runs are the seeded
    runs, numbered by creation, each completed one with a ready result file; returns its id."""
    from django.db import connection

    from campaigns import services as campaigns
    from kaireon.models import Role, Tenant
    from kaireon.principal import Principal

    started = time.monotonic()
    tenant = Tenant.objects.get(pk=ids["tenant"])
    campaign = campaigns.campaign_create(
        tenant=tenant,
        actor=Principal(tenant=tenant, role=Role.ADMIN),
        data={"decision_flow_id": ids["flow"], "segment_id": ids["segment"], "file_config": {}},
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO campaigns_campaignrun (id, tenant_id, created_at, updated_at, campaign_id, run_number, "
            "triggered_by, scheduled_for, run_id, status, error, volume_constraints, deliveries_total, "
            "deliveries_sent, deliveries_failed, work_items, deliveries_settled_at) "
            "SELECT 'crun_' || substr(md5(id), 1, 26), tenant_id, created_at, updated_at, %s, "
            "row_number() OVER (ORDER BY created_at, id), 'schedule', created_at, id, status, '', NULL, "
            "0, 0, 0, 0, NULL FROM runs_run WHERE tenant_id = %s",
            [campaign.pk, ids["tenant"]],
        )
        runs = cursor.rowcount
        cursor.execute(
            "INSERT INTO campaigns_campaignfile (tenant_id, created_at, updated_at, campaign_run_id, format, "
            "destination, path, columns, rows, size, checksum, status, error, generated_at) "
            "SELECT cr.tenant_id, cr.created_at, cr.created_at, cr.id, 'csv', 'download', "
            '\'campaigns/\' || cr.id || \'.csv\', \'["customer_id", "offer_name", "channel", "score"]\', '
            "r.recommendation_count, r.recommendation_count * 40, md5(cr.id) || md5(cr.id), 'ready', '', "
            "r.completed_at FROM campaigns_campaignrun cr JOIN runs_run r ON r.id = cr.run_id "
            "WHERE cr.campaign_id = %s AND r.status = 'completed'",
            [campaign.pk],
        )
        cursor.execute("ANALYZE campaigns_campaignrun")
        cursor.execute("ANALYZE campaigns_campaignfile")
    print(f"setup: {runs:,} campaign runs of one campaign loaded in {time.monotonic() - started:.1f} s")
    return campaign.pk


def seed_journey_runs(ids: dict[str, str], runs: int) -> None:
    """Publish a plan of one send and an end, and enrol the tenant's first ``runs`` customers
    (one run each, one a second back in time) with INSERT … SELECT: 70% completed, 10% active,
    10% waiting, 5% failed, 5% cancelled."""
    from django.db import connection

    from decisionflows.models import Channel, Offer
    from journeys import services as journeys
    from kaireon.models import Role, Tenant
    from kaireon.principal import Principal

    started = time.monotonic()
    tenant = Tenant.objects.get(pk=ids["tenant"])
    actor = Principal(tenant=tenant, role=Role.ADMIN)
    channel = Channel.objects.filter(tenant=tenant, delivery_mode="file").order_by("name").first()
    offer = Offer.objects.filter(tenant=tenant).order_by("key").first()
    assert channel is not None
    assert offer is not None
    steps = [
        {"id": "send", "type": "send", "channelId": channel.pk, "offerId": offer.pk, "next": "done"},
        {"id": "done", "type": "end", "outcome": "finished"},
    ]
    plan = journeys.plan_create(tenant=tenant, actor=actor, data={"key": "bench", "name": "Bench", "steps": steps})
    journeys.plan_publish(tenant=tenant, actor=actor, plan=plan)
    plan.refresh_from_db()
    version = plan.versions.get(published_at__isnull=False)
    status = (
        "CASE WHEN mod(k, 20) < 14 THEN 'completed' WHEN mod(k, 20) < 16 THEN 'active' "
        "WHEN mod(k, 20) < 18 THEN 'waiting' WHEN mod(k, 20) = 18 THEN 'failed' ELSE 'cancelled' END"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO journeys_executionrun (id, tenant_id, plan_id, version_id, plan_version, customer_id, "
            "contact_id, profile_id, status, paused_from, current_step, visits, steps_completed, steps_remaining, "
            "start_tick, current_tick, wake_tick, started_at, completed_at, outcome, variables, last_result, error, "
            "event_seq, event_head, created_at, updated_at) "
            "SELECT gen_random_uuid(), tenant_id, %(plan)s, %(version)s, %(number)s, id, external_id, "
            "md5(tenant_id || external_id)::uuid, s.status, '', "
            "CASE WHEN s.status = 'completed' THEN 'done' ELSE 'send' END, '{\"send\": 1}', "
            "CASE WHEN s.status = 'completed' THEN 2 ELSE 0 END, CASE WHEN s.status = 'completed' THEN 0 ELSE 2 END, "
            "1000, 1001, CASE WHEN s.status IN ('active', 'waiting') THEN 1002 END, now() - k * interval '1 second', "
            "CASE WHEN s.status IN ('completed', 'failed', 'cancelled') THEN now() - k * interval '1 second' END, "
            "CASE WHEN s.status = 'completed' THEN 'finished' END, '{\"source\": \"bench\"}', '{}', "
            "CASE WHEN s.status = 'failed' THEN 'bench' ELSE '' END, 3, md5(external_id) || md5(external_id), "
            "now() - k * interval '1 second', now() - k * interval '1 second' "
            "FROM (SELECT id, tenant_id, external_id, row_number() OVER (ORDER BY id) AS k FROM segments_customer "
            "WHERE tenant_id = %(tenant)s ORDER BY id LIMIT %(runs)s) c "
            f"CROSS JOIN LATERAL (SELECT {status} AS status) s",
            {"plan": plan.pk, "version": version.pk, "number": version.number, "tenant": tenant.pk, "runs": runs},
        )
        loaded = cursor.rowcount
        cursor.execute("ANALYZE journeys_executionrun")
    print(f"setup: {loaded:,} journey runs loaded in {time.monotonic() - started:.1f} s")


def product_get(client: Any, path: str) -> dict[str, Any]:
    # secure: served as production serves it (HTTPS; DEBUG off redirects plain HTTP)
    response = client.get(path, secure=True)
    assert response.status_code == 200, response.content
    return response.json()


def queries_of(client: Any, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        product_get(client, path)
    return len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--journey-runs", type=int, default=None, help="default: one per customer")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint")
    parser.add_argument("--warmup", type=int, default=10, help="untimed requests per endpoint first")
    common_arguments(parser)
    args = parser.parse_args()

    # DEBUG off (no query log per request) needs a secret key; any will do for a scratch database
    os.environ.setdefault("SECRET_KEY", "bench-list-latency-" + "x" * 40)
    database_url = scratch_django(args.admin_url, DB_NAME, debug=False)
    import psycopg
    from rest_framework.test import APIClient

    ids = load_catalogue(args.customers, 20, 3)
    seed_runs(ids, args.runs, args.customers)
    ids["campaign"] = seed_campaign_runs(ids)
    seed_journey_runs(ids, args.customers if args.journey_runs is None else args.journey_runs)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=ids["key"])
    for endpoint in ENDPOINTS:
        path = endpoint.path.format(**ids)
        body = product_get(client, path)
        print(f"{endpoint.label}: total {body['total']:,}, {queries_of(client, path)} queries per request")
        for _ in range(args.warmup):
            product_get(client, path)

    ratios: dict[str, list[float]] = {}
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn, conn.cursor() as cursor:

        def page(sql: str) -> None:
            cursor.execute(sql, ids, prepare=True)
            assert len(cursor.fetchall()) == PAGE

        for endpoint in ENDPOINTS:
            for _ in range(args.warmup):
                page(endpoint.sql)
        for attempt in range(1, args.repeat + 1):
            print(f"[{attempt}/{args.repeat}] {args.requests:,} requests per endpoint")
            for endpoint in ENDPOINTS:
                paths, sqls = [endpoint.path.format(**ids)] * args.requests, [endpoint.sql] * args.requests
                product, product_cpu = limit.timed_calls(functools.partial(product_get, client), paths)
                baseline, limit_cpu = limit.timed_calls(page, sqls)
                p95, limit_p95 = limit.percentile_ms(product, 95), limit.percentile_ms(baseline, 95)
                print(f"p50-ms: {limit.percentile_ms(product, 50):.2f} ({endpoint.label})")
                print(f"p95-ms: {p95:.2f} ({endpoint.label})")
                print(
                    f"limit p50-ms {limit.percentile_ms(baseline, 50):.3f}, p95-ms {limit_p95:.3f} "
                    f"({endpoint.label}: one page's SELECT by the index, no count)"
                )
                print(product_cpu.line(f"product {endpoint.label}", clients="this process", digits=2))
                print(limit_cpu.line(f"limit {endpoint.label}", clients="this process", digits=2))
                limit.print_ratio(1 / p95, 1 / limit_p95, endpoint.label)
                ratios.setdefault(endpoint.label, []).append(limit_p95 / p95)
    if args.repeat > 1:
        for label, values in ratios.items():
            print(limit.summarise(f"limit-ratio over repeats ({label})", values))


if __name__ == "__main__":
    main()
