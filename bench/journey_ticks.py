"""Benchmark: journey steps per second through the tick, on PostgreSQL, with two Celery worker
processes sharing the batches.

Not a test. It needs PostgreSQL and Redis (defaults: the local servers) and recreates its
scratch database on every start:

    .venv/bin/python bench/journey_ticks.py [--runs 100000] [--sends 3] [--workers 2] [--batch 1000]

What it does:
1. creates the database ``kaireon_bench_journeys`` (dropping an old one), migrates it, and loads
   a tenant with an email channel, offers with personalized creatives, an active suppression
   policy (so every send goes through the contact-policy check) and N customers (COPY; not timed);
2. publishes a plan of ``--sends`` send steps and an end, and enrols every customer with
   bulk-execute over a segment (timed: the set-based enrolment);
3. starts ``--workers`` ``celery worker --concurrency 1`` processes and sends one tick: the tick
   fans the due runs out as batch tasks, the workers claim them with SKIP LOCKED; timed from the
   tick until no run is due any more.

Prints the enrolment time, steps executed (sends and ends), sends, and steps per second.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DB_NAME = "kaireon_bench_journeys"


def prepare_database(admin_url: str) -> str:
    import psycopg

    with psycopg.connect(admin_url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    return admin_url.rsplit("/", 1)[0] + f"/{DB_NAME}"


def setup_django(database_url: str, batch: int) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["JOURNEYS_BATCH_SIZE"] = str(batch)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def load(customers: int, sends: int) -> dict[str, str]:
    from django.core.management import call_command
    from django.db import connection

    from decisionflows import services as df
    from journeys import services as journeys
    from kaireon.models import Role
    from kaireon.principal import Principal
    from kaireon.services import tenant_create
    from segments import services as seg

    call_command("migrate", verbosity=0)
    tenant = tenant_create(slug="bench", name="Bench Bank")
    actor = Principal(tenant=tenant, role=Role.ADMIN)
    email = df.channel_create(
        tenant=tenant, actor=actor, data={"name": "Email", "channel_type": "email", "delivery_mode": "file"}
    )
    offers = []
    for i in range(sends):
        offer = df.offer_create(
            tenant=tenant,
            actor=actor,
            data={"key": f"offer-{i}", "name": f"Offer {i}", "status": "active", "priority": 50, "business_value": 10},
        )
        df.creative_create(
            tenant=tenant,
            actor=actor,
            data={
                "offer": offer,
                "channel": email,
                "name": "default",
                "subject": 'Hi {{customer.first_name | "there"}}',
                "content": "{{offer.name}} for you",
            },
        )
        offers.append(offer)
    df.contact_policy_create(
        tenant=tenant,
        actor=actor,
        data={"name": "No suppressed", "policy_type": "suppression", "suppress_suppressed": True},
    )
    started = time.monotonic()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY segments_customer (tenant_id, external_id, email, first_name, last_name, phone, attributes, "
            "suppressed, unsubscribed, created_at, updated_at) FROM STDIN"
        ) as copy,
    ):
        buffer = io.StringIO()
        for k in range(customers):
            buffer.write(f"{tenant.pk}\tc{k:07d}\tc{k}@example.com\tName{k % 97}\tLast\t\t{{}}\tf\tf\tnow()\tnow()\n")
        copy.write(buffer.getvalue())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE segments_customer")
    print(f"setup:   {customers:,} customers loaded in {time.monotonic() - started:.1f} s")
    segment = seg.segment_create(tenant=tenant, actor=actor, data={"name": "Everyone", "filters": {}})
    steps = [
        {"id": f"send-{i}", "type": "send", "channelId": email.pk, "offerId": offer.pk, "next": f"send-{i + 1}"}
        for i, offer in enumerate(offers)
    ]
    steps[-1]["next"] = "done"
    steps.append({"id": "done", "type": "end", "outcome": "finished"})
    plan = journeys.plan_create(tenant=tenant, actor=actor, data={"key": "bench", "name": "Bench", "steps": steps})
    journeys.plan_publish(tenant=tenant, actor=actor, plan=plan)
    plan.refresh_from_db()
    started = time.monotonic()
    result = journeys.execution_run_bulk_execute(
        tenant=tenant, actor=actor, plan=plan, segment=segment, batch_size=1000
    )
    print(f"enrol:   {result['created']:,} runs (bulk-execute of a segment) in {time.monotonic() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE journeys_executionrun")
    return {"tenant": tenant.pk, "plan": plan.pk}


def start_worker(database_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, DATABASE_URL=database_url, PYTHONUNBUFFERED="1")
    name = f"bench-{log.stem}@%h"
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "1"]
    command += ["-n", name, "-l", "warning", "--without-gossip", "--without-mingle"]
    return subprocess.Popen(  # noqa: S603  (our interpreter, fixed arguments)
        command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_ready(workers: int, logs: list[Path]) -> None:
    from config.celery import app

    deadline = time.monotonic() + 60
    while len(app.control.ping(timeout=0.5) or []) < workers:
        if time.monotonic() > deadline:
            raise SystemExit("workers did not start:\n" + "\n".join(log.read_text() for log in logs))


def timed_tick(runs: int) -> tuple[float, int, int]:
    from django.db import connection

    from journeys import services
    from journeys.models import DUE_STATUSES, ExecutionRun

    started = time.monotonic()
    tick, batches = services.journeys_tick()
    print(f"tick {tick}: {batches} batch tasks")
    due = ExecutionRun.objects.filter(status__in=sorted(DUE_STATUSES), wake_tick__lte=tick)
    while due.exists():
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM journeys_send")
        sends = int(cursor.fetchone()[0])
        cursor.execute("SELECT coalesce(sum(steps_completed), 0) FROM journeys_executionrun")
        steps = int(cursor.fetchone()[0])
    return elapsed, steps, sends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--sends", type=int, default=3, help="send steps per plan (then an end step)")
    parser.add_argument("--workers", type=int, default=2, help="celery worker processes")
    parser.add_argument("--batch", type=int, default=1000, help="JOURNEYS_BATCH_SIZE")
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_ADMIN_URL", DEFAULT_ADMIN_URL))
    args = parser.parse_args()
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")

    database_url = prepare_database(args.admin_url)
    setup_django(database_url, args.batch)
    from config.celery import app

    app.control.purge()
    load(args.runs, args.sends)
    logs = [Path(f"var/bench-journeys-worker-{i}.log") for i in range(args.workers)]
    logs[0].parent.mkdir(exist_ok=True)
    workers = [start_worker(database_url, log) for log in logs]
    try:
        wait_ready(args.workers, logs)
        seconds, steps, sends = timed_tick(args.runs)
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)
    from journeys.models import ExecutionRun

    completed = ExecutionRun.objects.filter(status="completed").count()
    print(
        f"ticked:  {completed:,} of {args.runs:,} runs completed, {steps:,} steps ({sends:,} sends) in {seconds:.2f} s"
    )
    print(f"rate:    {steps / seconds:,.0f} steps/s ({sends / seconds:,.0f} sends/s) with {args.workers} workers")


if __name__ == "__main__":
    main()
