"""Benchmark: server-side latency of the real-time Recommend API (POST /api/v1/recommend), one
random customer per request, against an indexed lookup plus a numpy score, in the same invocation.

Not a test. It needs PostgreSQL (default: the local server) and recreates its scratch database
(``--database``, default ``kaireon_bench_recommend``) on every start:

    .venv/bin/python bench/recommend_latency.py [--customers 100000] [--offers 20] [--requests 2000] [--repeat N]

What it does:
1. loads the catalogue of bench/run_throughput.py (4 channels, ``--offers`` offers, a published
   flow keeping the top 3) and N customers (COPY; not timed);
2. the product: ``--warmup`` untimed requests, then ``--requests`` POSTs through DRF's test client
   in this process (no network: the time is the server's), an API key, one random customer
   each, each timed; then ``--sample`` more inside CaptureQueriesContext to count SQL queries;
3. the limit: as many single-customer lookups through psycopg (``SELECT attributes FROM
   segments_customer WHERE tenant_id = %s AND external_id = %s``, by the unique index) plus a
   numpy score of the offers and their top 3, timed per request, the offers' arrays built once.

Prints ``p50-ms: N`` and ``p99-ms: N`` of the product, the limit's p50 / p99, the mean number of
SQL queries per request (``queries-per-request: N``, every query the request sends, the API key's
included), ``limit-ratio: X.XX`` (limit p50 ÷ product p50: the product's throughput over the
limit's) and the CPU-seconds PostgreSQL and this process spent for both. ``--repeat N``
interleaves both N times and adds min / median / max.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench import limit
from bench.run_throughput import common_arguments, conninfo, load_catalogue, scratch_django

DB_NAME = "kaireon_bench_recommend"
PATH = "/api/v1/recommend"
LOOKUP = "SELECT attributes FROM segments_customer WHERE tenant_id = %s AND external_id = %s"
TOP = 3


def external_ids(customers: int, n: int, seed: int) -> list[str]:
    """``n`` random customers' external ids, as load_catalogue names them."""
    rng = np.random.default_rng(seed)
    return [f"c{k:07d}" for k in rng.integers(0, customers, n)]


def product_client(ids: dict[str, str]) -> Any:
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=ids["key"])
    return client


def recommend(client: Any, flow: str, customer: str) -> dict[str, Any]:
    # secure: with DEBUG off plain http is redirected to https, as in production
    response = client.post(PATH, {"decisionFlowId": flow, "customerId": customer}, format="json", secure=True)
    assert response.status_code == 200, response.content
    return response.json()


def queries_per_request(client: Any, flow: str, customers: list[str]) -> float:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for customer in customers:
        with CaptureQueriesContext(connection) as queries:
            recommend(client, flow, customer)
        counts.append(len(queries))
    return sum(counts) / len(counts)


class Reference:
    """The limit of one request: one indexed lookup, then the offers scored in numpy (the bench
    flow's kind of PRIE score, the age rule on every third offer) and the top 3 taken."""

    def __init__(self, cursor: Any, tenant: str, offers: int) -> None:
        rng = np.random.default_rng(3)
        self.cursor, self.tenant = cursor, tenant
        self.weights = rng.random(offers) ** 0.3 * rng.random(offers) ** 0.1
        self.age_rule = np.arange(offers) % 3 == 0

    def __call__(self, customer: str) -> np.ndarray:
        self.cursor.execute(LOOKUP, (self.tenant, customer), prepare=True)
        row = self.cursor.fetchone()
        assert row is not None, customer
        attributes = row[0]
        p = 0.52 if attributes["tier"] == "gold" else 0.4
        r = 1.0 if attributes["churn_risk"] < 0.5 else 0.7
        score = p**0.4 * r**0.2 * self.weights
        if attributes["age"] < 18:
            score = np.where(self.age_rule, 0.0, score)
        top = np.argpartition(-score, TOP - 1)[:TOP]
        return top[np.argsort(-score[top])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--offers", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--warmup", type=int, default=100, help="untimed requests first")
    parser.add_argument("--sample", type=int, default=50, help="requests whose SQL queries are counted")
    parser.add_argument("--database", default=DB_NAME, help="the scratch database (dropped and recreated)")
    common_arguments(parser)
    args = parser.parse_args()

    # served as production is (DEBUG off), which wants a key: this process's own will do
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    database_url = scratch_django(args.admin_url, args.database, debug=False)
    import psycopg

    ids = load_catalogue(args.customers, args.offers, TOP)
    client, flow = product_client(ids), ids["flow"]
    body = recommend(client, flow, "c0000000")
    print(f"a response: {len(body['recommendations'])} recommendations, first {body['recommendations'][:1]}")
    for customer in external_ids(args.customers, args.warmup, seed=1):
        recommend(client, flow, customer)
    queries = queries_per_request(client, flow, external_ids(args.customers, args.sample, seed=2))

    ratios, p50s, p99s = [], [], []
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn, conn.cursor() as cursor:
        reference = Reference(cursor, ids["tenant"], args.offers)
        for customer in external_ids(args.customers, args.warmup, seed=1):
            reference(customer)
        for attempt in range(1, args.repeat + 1):
            customers = external_ids(args.customers, args.requests, seed=10 + attempt)
            product, product_cpu = limit.timed_calls(lambda customer: recommend(client, flow, customer), customers)
            baseline, limit_cpu = limit.timed_calls(reference, customers)
            p50, p99 = limit.percentile_ms(product, 50), limit.percentile_ms(product, 99)
            limit_p50, limit_p99 = limit.percentile_ms(baseline, 50), limit.percentile_ms(baseline, 99)
            print(f"[{attempt}/{args.repeat}] {args.requests:,} requests, {args.customers:,} customers")
            print(f"p50-ms: {p50:.2f}")
            print(f"p99-ms: {p99:.2f}")
            print(f"limit p50-ms {limit_p50:.3f}, p99-ms {limit_p99:.3f} (indexed lookup + numpy score of offers)")
            print(f"queries-per-request: {queries:.1f} (mean of {args.sample})")
            print(product_cpu.line("product", clients="this process", digits=2))
            print(limit_cpu.line("limit", clients="this process", digits=2))
            # latencies: the throughput of one request stream is 1 / latency
            limit.print_ratio(1 / p50, 1 / limit_p50)
            ratios.append(limit_p50 / p50)
            p50s.append(p50)
            p99s.append(p99)
    if args.repeat > 1:
        print(limit.summarise("limit-ratio over repeats", ratios))
        print(limit.summarise("p50 ms", p50s))
        print(limit.summarise("p99 ms", p99s))


if __name__ == "__main__":
    main()
