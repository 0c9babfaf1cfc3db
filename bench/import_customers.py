"""Benchmark: import N customers (default 1,000,000) from a generated CSV through the import service.

Not a test. Against a scratch PostgreSQL database (it creates a new tenant each run):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/kaireon_bench_import
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/import_customers.py [--rows N] [--batch-size B] [--reimport] [--segment]

Prints rows/second, total seconds and peak RSS of the import; ``--reimport`` imports the same
file again (every row an update), ``--segment`` then times creating a segment (view + count).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection  # noqa: E402

from kaireon.services import tenant_create  # noqa: E402
from segments import services  # noqa: E402
from segments.importing import engine  # noqa: E402
from segments.models import CustomerAttribute  # noqa: E402

TIERS = ["bronze", "silver", "gold", "platinum"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("externalId,email,firstName,lastName,phone,suppressed,unsubscribed,age,score,vip,birthday,tier\n")
        for i in range(rows):
            out.write(
                f"CUST-{i:08d},cust{i}@example.com,First{i % 997},Last{i % 1009},+1555{i:07d},"
                f"{'true' if rng.random() < 0.02 else 'false'},{'true' if rng.random() < 0.05 else 'false'},"
                f"{rng.randrange(18, 90)},{rng.random() * 100:.2f},{'true' if rng.random() < 0.1 else 'false'},"
                f"19{rng.randrange(40, 99)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d},{rng.choice(TIERS)}\n"
            )


def run_import(tenant, path: Path, label: str) -> None:
    job = services.customer_import_create(tenant=tenant, actor=None, local_path=str(path))
    started = time.perf_counter()
    last = [started]

    def progress(current) -> None:
        now = time.perf_counter()
        if now - last[0] >= 10:
            last[0] = now
            print(
                f"  {current.processed_rows:,} rows, {current.processed_rows / (now - started):,.0f} rows/s", flush=True
            )

    job = services.customer_import_run(job_id=job.pk, progress=progress)
    seconds = time.perf_counter() - started
    print(
        f"{label}: {job.status}, {job.processed_rows:,} rows (created {job.created_count:,}, updated"
        f" {job.updated_count:,}, rejected {job.error_count:,}) in {seconds:.1f} s"
        f" = {job.processed_rows / seconds:,.0f} rows/s; peak RSS {peak_rss_mb():.0f} MB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=None, help="rows per transaction (default: the engine's)")
    parser.add_argument("--reimport", action="store_true", help="import the same file again: all updates")
    parser.add_argument("--segment", action="store_true", help="then time a segment's view and count")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print(f"warning: this measures {connection.vendor}, not PostgreSQL (set DATABASE_URL)", file=sys.stderr)
    if args.batch_size:
        engine.POSTGRESQL_BATCH_SIZE = engine.SQLITE_BATCH_SIZE = args.batch_size
    print(f"database {connection.vendor}, batch size {engine.batch_size():,}, rows {args.rows:,}", flush=True)

    tenant = tenant_create(slug=f"bench-{int(time.time())}", name="Import benchmark")
    for name, type_ in [("age", "integer"), ("score", "number"), ("vip", "boolean"), ("birthday", "date")]:
        CustomerAttribute.objects.create(tenant=tenant, name=name, type=type_)
    CustomerAttribute.objects.create(tenant=tenant, name="tier", type="string", required=True)

    with tempfile.TemporaryDirectory(prefix="kaireon-bench-") as directory:
        path = Path(directory) / "customers.csv"
        started = time.perf_counter()
        write_csv(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        print(f"generated {path.name}: {size_mb:,.0f} MB in {time.perf_counter() - started:.1f} s", flush=True)
        run_import(tenant, path, "import")
        if args.reimport:
            run_import(tenant, path, "re-import")
    if args.segment:
        started = time.perf_counter()
        segment = services.segment_create(
            tenant=tenant,
            actor=None,
            data={
                "name": "Bench gold adults",
                "filters": {
                    "all": [
                        {"field": "age", "operator": "gte", "value": 30},
                        {"field": "tier", "operator": "in", "value": ["gold", "platinum"]},
                    ]
                },
            },
        )
        print(f"segment view + count: {segment.customer_count:,} customers in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
