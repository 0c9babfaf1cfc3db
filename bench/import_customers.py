"""Benchmark: import N customers (default 1,000,000) from a generated CSV through the import
service, against a raw ``COPY`` of the same file, in the same invocation.

Not a test. It needs PostgreSQL (default: the local server) and recreates its scratch database
``kaireon_bench_import`` on every start:

    .venv/bin/python bench/import_customers.py [--rows N] [--batch-size B] [--reimport] [--segment] [--repeat N]

What it does, each attempt on a new tenant (the previous attempt's customers deleted, untimed):
1. the product: ``customer_import_run`` over the CSV (12 columns: 7 fields, 5 schema attributes);
2. the limit: ``COPY bench_import_limit FROM STDIN (FORMAT csv, HEADER)`` of the same file into a
   plain, logged, unindexed table with the same columns typed (text, boolean, int, float8, date);
3. ``--reimport``: the same file again through the product (every row an update), against the
   update path at the limit: COPY into a temporary table, then one ``UPDATE ... FROM`` join;
4. ``--segment``: creating a segment (view + count) against ``count(*)`` of the same filter on
   the limit's typed columns.

Prints rows/second for each, ``limit-ratio: X.XX`` (product ÷ limit; the first line is the
import, the others are labelled), the CPU-seconds PostgreSQL and this process spent for each, and
``peak-rss-mb: N`` of this process after the product's imports. ``--repeat N`` adds
min / median / max.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.limit import CpuMeter, CpuSpent
from bench.run_throughput import common_arguments, conninfo, scratch_django

DB_NAME = "kaireon_bench_import"
TIERS = ["bronze", "silver", "gold", "platinum"]
HEADER = "externalId,email,firstName,lastName,phone,suppressed,unsubscribed,age,score,vip,birthday,tier"
LIMIT_TABLE = "bench_import_limit"
LIMIT_COLUMNS = (
    "external_id text, email text, first_name text, last_name text, phone text, suppressed boolean, "
    "unsubscribed boolean, age int, score float8, vip boolean, birthday date, tier text"
)
# Every column but the key, for the update path's SET list.
UPDATED = [c.split()[0] for c in LIMIT_COLUMNS.split(", ")][1:]
# The segment both sides count: age >= 30 and a gold or platinum tier.
SEGMENT_FILTERS = {
    "all": [
        {"field": "age", "operator": "gte", "value": 30},
        {"field": "tier", "operator": "in", "value": ["gold", "platinum"]},
    ]
}
COPY_BLOCK = 1 << 20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\n")
        for i in range(rows):
            out.write(
                f"CUST-{i:08d},cust{i}@example.com,First{i % 997},Last{i % 1009},+1555{i:07d},"
                f"{'true' if rng.random() < 0.02 else 'false'},{'true' if rng.random() < 0.05 else 'false'},"
                f"{rng.randrange(18, 90)},{rng.random() * 100:.2f},{'true' if rng.random() < 0.1 else 'false'},"
                f"19{rng.randrange(40, 99)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d},{rng.choice(TIERS)}\n"
            )


@dataclass
class Measured:
    """Rows, seconds and CPU (PostgreSQL, this process) of one timed call."""

    rows: int
    seconds: float
    cpu: CpuSpent

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def measure(work: Callable[[], int]) -> Measured:
    meter = CpuMeter(lambda: [os.getpid()]).start()
    started = time.perf_counter()
    rows = work()
    seconds = time.perf_counter() - started
    return Measured(rows, seconds, meter.stop())


def product_import(tenant, path: Path, label: str) -> Measured:
    from segments import services

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

    def work() -> int:
        done = services.customer_import_run(job_id=job.pk, progress=progress)
        print(
            f"{label}: {done.status}, {done.processed_rows:,} rows (created {done.created_count:,}, updated"
            f" {done.updated_count:,}, rejected {done.error_count:,})",
            flush=True,
        )
        return done.processed_rows

    return measure(work)


def _copy_file(cursor, table: str, path: Path) -> None:
    with cursor.copy(f"COPY {table} FROM STDIN (FORMAT csv, HEADER)") as copy, path.open("rb") as source:
        while block := source.read(COPY_BLOCK):
            copy.write(block)


def limit_import(connect: Callable, path: Path) -> Measured:
    """Raw COPY of the file into the plain table (emptied untimed), one transaction."""
    with connect() as conn:
        conn.execute(f"TRUNCATE {LIMIT_TABLE}")
        conn.commit()

        def work() -> int:
            with conn.cursor() as cursor:
                _copy_file(cursor, LIMIT_TABLE, path)
                rows = cursor.rowcount
            conn.commit()
            return rows

        return measure(work)


def limit_reimport(connect: Callable, path: Path) -> Measured:
    """The update path at the limit: COPY into a temporary table, one UPDATE ... FROM join on
    the external id (a hash join: the plain table has no index), one transaction."""
    assignments = ", ".join(f"{column} = s.{column}" for column in UPDATED)
    with connect() as conn:

        def work() -> int:
            with conn.cursor() as cursor:
                cursor.execute(f"CREATE TEMP TABLE bench_import_staging ({LIMIT_COLUMNS}) ON COMMIT DROP")
                _copy_file(cursor, "bench_import_staging", path)
                cursor.execute(
                    f"UPDATE {LIMIT_TABLE} t SET {assignments} FROM bench_import_staging s "
                    "WHERE t.external_id = s.external_id"
                )
                rows = cursor.rowcount
            conn.commit()
            return rows

        return measure(work)


def product_segment(tenant) -> Measured:
    from segments import services

    def work() -> int:
        segment = services.segment_create(
            tenant=tenant, actor=None, data={"name": "Bench gold adults", "filters": SEGMENT_FILTERS}
        )
        return segment.customer_count

    return measure(work)


def limit_segment(connect: Callable) -> Measured:
    with connect() as conn:

        def work() -> int:
            row = conn.execute(
                f"SELECT count(*) FROM {LIMIT_TABLE} WHERE age >= 30 AND tier IN ('gold', 'platinum')"
            ).fetchone()
            return int(row[0]) if row else 0

        return measure(work)


def report(label: str, product: Measured, reference: Measured, what: str) -> float:
    from bench import limit

    print(f"product {label}: {product.rows:,} rows in {product.seconds:.2f} s = {product.rate:,.0f} rows/s")
    print(
        f"limit {label}: {reference.rows:,} rows in {reference.seconds:.2f} s = {reference.rate:,.0f} rows/s ({what})"
    )
    print(product.cpu.line(f"product {label}", clients="this process", digits=2))
    print(reference.cpu.line(f"limit {label}", clients="this process", digits=2))
    limit.print_ratio(product.rate, reference.rate, "" if label == "import" else label)
    return product.rate / reference.rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=None, help="rows per transaction (default: the pipeline's)")
    parser.add_argument("--reimport", action="store_true", help="import the same file again: all updates")
    parser.add_argument("--segment", action="store_true", help="then time a segment's view and count")
    common_arguments(parser)
    args = parser.parse_args()

    database_url = scratch_django(args.admin_url, DB_NAME)
    import psycopg
    from django.db import connection

    from bench import limit
    from kaireon.services import tenant_create
    from segments.importing import pipeline
    from segments.models import CustomerAttribute

    if args.batch_size:
        pipeline.POSTGRESQL_BATCH_SIZE = pipeline.SQLITE_BATCH_SIZE = args.batch_size
    print(f"database {DB_NAME}, batch size {pipeline.batch_size():,}, rows {args.rows:,}", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {LIMIT_TABLE} ({LIMIT_COLUMNS})")

    def connect() -> psycopg.Connection:
        return psycopg.connect(conninfo(database_url))

    ratios: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="kaireon-bench-") as directory:
        path = Path(directory) / "customers.csv"
        started = time.perf_counter()
        write_csv(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        print(f"generated {path.name}: {size_mb:,.0f} MB in {time.perf_counter() - started:.1f} s", flush=True)
        previous = None
        for attempt in range(1, args.repeat + 1):
            if previous is not None:  # a new tenant on a table without the last attempt's rows
                with connection.cursor() as cursor:
                    cursor.execute("DELETE FROM segments_customer WHERE tenant_id = %s", [previous.pk])
                    cursor.execute("VACUUM ANALYZE segments_customer")
            tenant = tenant_create(slug=f"bench-{attempt}", name=f"Import benchmark {attempt}")
            for name, type_ in [("age", "integer"), ("score", "number"), ("vip", "boolean"), ("birthday", "date")]:
                CustomerAttribute.objects.create(tenant=tenant, name=name, type=type_)
            CustomerAttribute.objects.create(tenant=tenant, name="tier", type="string", required=True)
            previous = tenant
            print(f"[{attempt}/{args.repeat}]")

            product = product_import(tenant, path, "import")
            reference = limit_import(connect, path)
            paths = [("import", product, reference, "raw COPY csv into a plain typed table")]
            if args.reimport:
                product = product_import(tenant, path, "re-import")
                reference = limit_reimport(connect, path)
                paths.append(("re-import", product, reference, "COPY into a temp table + UPDATE ... FROM join"))
            rss = peak_rss_mb()
            if args.segment:
                product, reference = product_segment(tenant), limit_segment(connect)
                paths.append(("segment", product, reference, "count(*) of the filter on typed columns"))
            for label, product, reference, what in paths:
                ratios.setdefault(label, []).append(report(label, product, reference, what))
            print(f"peak-rss-mb: {rss:.0f}")
    if args.repeat > 1:
        for label, values in ratios.items():
            print(limit.summarise(f"limit-ratio over repeats ({label})", values))


if __name__ == "__main__":
    main()
