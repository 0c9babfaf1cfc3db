"""Benchmark: one batch run of N customers (default 1,000,000) end to end on PostgreSQL, against a
raw baseline doing the same work with nothing but COPY and numpy.

Not a test. It needs PostgreSQL and Redis (defaults: the local servers) and recreates its
scratch database on every start:

    .venv/bin/python bench/run_throughput.py [--customers N] [--offers 20] [--max-offers 3] [--workers 2]

What it does:
1. creates the database ``kaireon_bench`` (dropping an old one), migrates it, and loads a tenant
   with 20 offers over 4 batch channels, a published flow and N customers (COPY; not timed);
2. starts one Celery worker with ``--workers`` pool processes on that database;
3. POSTs /api/v1/runs for a segment of every customer (through the DRF view, as a client would)
   and polls until the run is finished: the run's seconds are from the POST to the final status;
4. the limit (bench/limit.py), in the same invocation: the same customers as typed columns
   (copied untimed), binary COPY out, the same kind of decision in numpy, binary COPY of integer
   rows into an unindexed table, pipelined over three threads.

Prints seconds and customers/second for both, ``limit-ratio: X.XX`` (product ÷ limit), the
CPU-seconds PostgreSQL and the workers spent for each, and ``peak-rss-mb: N`` of the workers.
``--repeat N`` interleaves both N times and adds min / median / max.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DB_NAME = "kaireon_bench"


def common_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark on a scratch database takes."""
    parser.add_argument("--repeat", type=int, default=1, help="product and limit, interleaved, this many times")
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_ADMIN_URL", DEFAULT_ADMIN_URL))


def prepare_database(admin_url: str, name: str = DB_NAME) -> str:
    """(Re)create the scratch database ``name``; returns its URL."""
    import psycopg

    with psycopg.connect(conninfo(admin_url), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def conninfo(database_url: str) -> str:
    """The URL as libpq (psycopg) spells it."""
    return database_url.replace("postgres://", "postgresql://")


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def scratch_django(admin_url: str, name: str, *, debug: bool = True) -> str:
    """A fresh, migrated scratch database ``name`` with Django set up on it; returns its URL.
    Benchmarks use the local Redis's db 9 unless REDIS_URL says otherwise. ``debug=False``
    (unless DEBUG is set) serves as production does: no query log kept per request."""
    if not debug:
        os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
    # the catalogue's SMS channel's webhook points at this machine (nothing is delivered)
    os.environ.setdefault("WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    database_url = prepare_database(admin_url, name)
    setup_django(database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return database_url


def copy_text(
    table: str, columns: str, rows: int, lines: Callable[[int, int, io.StringIO], None], *, slice_rows: int = 100_000
) -> None:
    """COPY ``rows`` rows into ``table`` (text format), ``slice_rows`` at a time: ``lines(start,
    stop, out)`` writes rows start..stop-1 to ``out``; then ANALYZE, as after any bulk load."""
    from django.db import connection

    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for start in range(0, rows, slice_rows):
            buffer = io.StringIO()
            lines(start, min(rows, start + slice_rows), buffer)
            copy.write(buffer.getvalue())
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")


def load_catalogue(customers: int, offers: int, max_offers: int) -> dict[str, str]:
    """A tenant with 4 channels, ``offers`` offers, a published flow keeping ``max_offers``, a
    segment of everyone, an editor's API key and N customers (COPY); returns their ids and the key."""
    import numpy as np

    from decisionflows import services as df
    from kaireon.models import Role
    from kaireon.principal import Principal
    from kaireon.services import api_key_create, tenant_create
    from segments import services as seg

    tenant = tenant_create(slug="bench", name="Bench Bank")
    actor = Principal(tenant=tenant, role=Role.ADMIN)
    for name, type_ in (("age", "integer"), ("income", "number"), ("tier", "string"), ("churn_risk", "number")):
        seg.customer_attribute_create(tenant=tenant, actor=actor, data={"name": name, "type": type_})
    channels = [
        df.channel_create(
            tenant=tenant,
            actor=actor,
            data={"name": name, "channel_type": kind, "delivery_mode": mode, "provider_config": config},
        )
        for name, kind, mode, config in (
            ("Email", "email", "file", {}),
            ("SMS", "sms", "integration", {"webhookUrl": "http://127.0.0.1:9/hook"}),
            ("Direct mail", "direct_mail", "file", {}),
            ("Call centre", "call_center", "manual", {}),
        )
    ]
    rng = np.random.default_rng(11)
    for i in range(offers):
        offer = df.offer_create(
            tenant=tenant,
            actor=actor,
            data={
                "key": f"offer-{i:02d}",
                "name": f"Offer {i:02d}",
                "category": ["cards", "loans", "savings", "insurance"][i % 4],
                "status": "active",
                "priority": int(rng.integers(10, 100)),
                "business_value": int(rng.integers(50, 1000)),
                "eligibility": {"field": "customer.age", "operator": "gte", "value": 18} if i % 3 == 0 else {},
            },
        )
        for channel in channels[: 1 + i % len(channels)]:
            df.creative_create(
                tenant=tenant,
                actor=actor,
                data={"offer": offer, "channel": channel, "name": "default", "content": "Hi {{customer.first_name}}"},
            )
    pipeline = [
        {"type": "inventory", "include_all": True},
        {
            "type": "qualify",
            "rules": [
                {
                    "name": "low churn",
                    "mode": "soft",
                    "fit_multiplier": 0.7,
                    "condition": {"field": "customer.churn_risk", "operator": "lt", "value": 0.5},
                }
            ],
        },
        {"type": "contact_policy", "policy_ids": []},
        {
            "type": "score",
            "method": "prie",
            "propensity_model": {
                "base_score": 0.4,
                "rules": [{"condition": {"field": "customer.tier", "operator": "eq", "value": "gold"}, "points": 0.5}],
            },
        },
        {"type": "rank", "max_offers_per_customer": max_offers, "one_offer_per_channel": False},
        {"type": "output"},
    ]
    flow = df.decision_flow_create(
        tenant=tenant,
        actor=actor,
        data={"key": "bench", "name": "Bench flow", "status": "active", "pipeline": pipeline},
    )
    df.decision_flow_publish(tenant=tenant, actor=actor, flow=flow)

    started = time.monotonic()
    tiers = np.array(["bronze", "silver", "gold", "platinum"])

    def lines(start: int, stop: int, out: io.StringIO) -> None:
        n = stop - start
        ages = rng.integers(16, 90, n)
        incomes = rng.integers(10_000, 200_000, n)
        tier = tiers[rng.integers(0, 4, n)]
        churn = rng.random(n).round(3)
        for j in range(n):
            k = start + j
            out.write(
                f"{tenant.pk}\tc{k:07d}\tc{k}@example.com\tName{k % 97}\tLast\t\t"
                f'{{"age": {ages[j]}, "income": {incomes[j]}, "tier": "{tier[j]}", "churn_risk": {churn[j]}}}'
                f"\tf\tf\tnow()\tnow()\n"
            )

    columns = (
        "tenant_id, external_id, email, first_name, last_name, phone, attributes, suppressed, unsubscribed, "
        "created_at, updated_at"
    )
    copy_text("segments_customer", columns, customers, lines)
    print(f"setup: {customers:,} customers loaded in {time.monotonic() - started:.1f} s")
    segment = seg.segment_create(tenant=tenant, actor=actor, data={"name": "Everyone", "filters": {}})
    _, key = api_key_create(tenant=tenant, actor=None, name="bench", role=Role.EDITOR)
    return {"tenant": tenant.pk, "flow": flow.pk, "segment": segment.pk, "key": key}


def start_worker(database_url: str, processes: int, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, DATABASE_URL=database_url, PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork"]
    command += ["--concurrency", str(processes), "-l", "warning", "--without-gossip", "--without-mingle"]
    process = subprocess.Popen(  # noqa: S603  (our interpreter, fixed arguments)
        command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )
    from config.celery import app

    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit(f"worker did not start:\n{log.read_text()}")
    return process


def worker_peak_rss_mb(root_pid: int) -> float:
    """Largest VmHWM (peak resident set) among the worker and its pool processes."""
    peak = 0.0
    pids = [root_pid]
    children = Path(f"/proc/{root_pid}/task/{root_pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
    return peak


def timed_run(ids: dict[str, str], root_pid: int) -> tuple[float, float, dict]:
    from rest_framework.test import APIClient

    from runs.models import Run

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=ids["key"])
    started = time.monotonic()
    response = client.post("/api/v1/runs", {"decisionFlowId": ids["flow"], "segmentId": ids["segment"]}, format="json")
    assert response.status_code == 201, response.content
    run_id = response.json()["id"]
    peak = 0.0
    while True:
        run = Run.objects.get(pk=run_id)
        peak = max(peak, worker_peak_rss_mb(root_pid))
        if run.is_finished:
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    body = client.get(f"/api/v1/runs/{run_id}").json()
    return elapsed, peak, {"status": run.status, "error": run.error, **(body.get("summary") or {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--offers", type=int, default=20)
    parser.add_argument("--max-offers", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="Celery pool processes")
    common_arguments(parser)
    args = parser.parse_args()

    database_url = scratch_django(args.admin_url, DB_NAME)
    import psycopg
    from django.db import connection

    from bench import limit
    from config.celery import app

    app.control.purge()
    ids = load_catalogue(args.customers, args.offers, args.max_offers)
    with connection.cursor() as cursor:
        typed = limit.prepare_typed_customers(cursor, ids["tenant"])
        # set-up's writes flushed before anything is timed: no checkpoint lands in a measurement
        cursor.execute("VACUUM ANALYZE segments_customer")
        cursor.execute("CHECKPOINT")
    assert typed == args.customers
    log = Path("var/bench-worker.log")
    log.parent.mkdir(exist_ok=True)
    worker = start_worker(database_url, args.workers, log)
    ratios, product_rates, limit_rates, peaks = [], [], [], []
    try:
        for attempt in range(1, args.repeat + 1):
            with connection.cursor() as cursor:
                cursor.execute("CHECKPOINT")  # and the previous repeat's, before the product's
            meter = limit.CpuMeter(lambda: [worker.pid]).start()
            seconds, peak, summary = timed_run(ids, worker.pid)
            product_cpu = meter.stop()
            if summary["status"] != "completed":
                raise SystemExit(f"run ended {summary['status']}: {summary['error']}\n(see {log})")
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {limit.RESULT_TABLE}")
                cursor.execute("CHECKPOINT")  # the product run's 3M rows flushed before the limit's
            reference = limit.reference_run(
                lambda: psycopg.connect(conninfo(database_url)), offers=args.offers, max_offers=args.max_offers
            )
            rate = args.customers / seconds
            print(f"[{attempt}/{args.repeat}]")
            print(f"product:  {args.customers:,} customers in {seconds:.2f} s = {rate:,.0f} customers/s")
            print(
                f"          {summary['totalRecommendations']:,} recommendations, "
                f"{summary['customersWithRecommendations']:,} customers with offers"
            )
            print(
                f"limit:    {reference.customers:,} customers in {reference.seconds:.2f} s = "
                f"{reference.rate:,.0f} customers/s ({reference.rows:,} rows; binary COPY out, numpy, "
                "binary COPY in, pipelined)"
            )
            print(product_cpu.line("product"))
            print(reference.cpu.line("limit"))
            limit.print_ratio(rate, reference.rate)
            print(f"peak-rss-mb: {peak:.0f}")
            ratios.append(rate / reference.rate)
            product_rates.append(rate)
            limit_rates.append(reference.rate)
            peaks.append(peak)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    if args.repeat > 1:
        print(limit.summarise("limit-ratio over repeats", ratios))
        print(limit.summarise("product customers/s", product_rates))
        print(limit.summarise("limit customers/s", limit_rates))
        print(limit.summarise("peak worker RSS MB", peaks))


if __name__ == "__main__":
    main()
