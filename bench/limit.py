"""What this machine can do at best, measured in the same invocation as the product's path.

Each benchmark runs the product, then a reference built only from the fastest parts the machine
has (binary COPY, numpy, no ORM, no per-row Python), on the same PostgreSQL and the same data,
and prints ``limit-ratio: X.XX`` = product throughput / reference throughput. A reference that
copied the product's choices (text COPY into the same keyed table) would flatter the product; this
one reads typed columns and writes integer rows into an unindexed table, as LIMITS.md measured.

CPU: ``CpuMeter`` adds up the CPU seconds of every PostgreSQL server process (backends, WAL
writer, checkpointer: what the database really spent) and of the given client processes.
"""

from __future__ import annotations

import math
import queue
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import psutil

# Rows per COPY slice of the reference pipeline: 50,000 customers ≈ 2.4 MB binary, ~40 ms to read.
SLICE = 50_000
BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
BINARY_TRAILER = struct.pack(">h", -1)
T = TypeVar("T")


# --- CPU --------------------------------------------------------------------------------------


def _tree_cpu(pids: Iterable[int]) -> float:
    total = 0.0
    seen: set[int] = set()
    for pid in pids:
        try:
            root = psutil.Process(pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for process in processes:
            if process.pid in seen:
                continue
            seen.add(process.pid)
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
    return total


def postgres_cpu() -> float:
    """CPU seconds of all PostgreSQL server processes (their names start with 'postgres'),
    with the children they reaped: a backend that exits (a closed connection) adds its CPU to
    the postmaster's children times, so nothing it spent is lost between two readings."""
    total = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        name = process.info["name"] or ""
        times = process.info["cpu_times"]
        if name.startswith("postgres") and times is not None:
            total += times.user + times.system + times.children_user + times.children_system
    return total


@dataclass
class CpuSpent:
    postgres: float
    clients: float

    @property
    def total(self) -> float:
        return self.postgres + self.clients

    def line(self, label: str, clients: str = "workers", digits: int = 1) -> str:
        return (
            f"cpu-s {label}: postgres {self.postgres:.{digits}f}, {clients} {self.clients:.{digits}f}, "
            f"total {self.total:.{digits}f}"
        )


class CpuMeter:
    """CPU seconds spent between ``start`` and ``stop`` by PostgreSQL and by client processes
    (pids with their children; 0 means this process, whose threads count)."""

    def __init__(self, pids: Callable[[], Iterable[int]]) -> None:
        self.pids = pids

    def _read(self) -> tuple[float, float]:
        return postgres_cpu(), _tree_cpu(self.pids())

    def start(self) -> CpuMeter:
        self.started = self._read()
        return self

    def stop(self) -> CpuSpent:
        pg, clients = self._read()
        return CpuSpent(postgres=pg - self.started[0], clients=clients - self.started[1])


# --- the reference pipeline ------------------------------------------------------------------

# The typed customers the reference reads: what "typed storage for attributes" would hold.
TYPED_TABLE = "bench_limit_customer"
RESULT_TABLE = "bench_limit_recommendation"
# One binary COPY row of TYPED_TABLE: field count, then (length, value) per column, big-endian.
TYPED_ROW = np.dtype(
    [
        ("n", ">i2"),
        ("l_id", ">i4"),
        ("id", ">i8"),
        ("l_age", ">i4"),
        ("age", ">i4"),
        ("l_income", ">i4"),
        ("income", ">f8"),
        ("l_tier", ">i4"),
        ("tier", ">i2"),
        ("l_churn", ">i4"),
        ("churn", ">f8"),
    ]
)
RESULT_ROW = np.dtype(
    [
        ("n", ">i2"),
        ("l_run", ">i4"),
        ("run", ">i4"),
        ("l_customer", ">i4"),
        ("customer", ">i8"),
        ("l_rank", ">i4"),
        ("rank", ">i2"),
        ("l_offer", ">i4"),
        ("offer", ">i4"),
        ("l_channel", ">i4"),
        ("channel", ">i4"),
        ("l_score", ">i4"),
        ("score", ">f8"),
    ]
)


def prepare_typed_customers(cursor, tenant_id: str) -> int:
    """Untimed set-up: the tenant's customers as typed columns (tier as a small integer), and an
    empty, unindexed, logged result table with integer columns."""
    cursor.execute(f"DROP TABLE IF EXISTS {TYPED_TABLE}, {RESULT_TABLE}")
    cursor.execute(
        f"CREATE TABLE {TYPED_TABLE} AS SELECT id, (attributes->>'age')::int AS age, "
        "(attributes->>'income')::float8 AS income, "
        "(CASE attributes->>'tier' WHEN 'bronze' THEN 0 WHEN 'silver' THEN 1 WHEN 'gold' THEN 2 ELSE 3 END)::int2 "
        "AS tier, (attributes->>'churn_risk')::float8 AS churn FROM segments_customer WHERE tenant_id = %s",
        [tenant_id],
    )
    cursor.execute(f"ALTER TABLE {TYPED_TABLE} ADD PRIMARY KEY (id)")
    cursor.execute(
        f"CREATE TABLE {RESULT_TABLE} (run_id int, customer_id bigint, rank int2, offer_id int, channel_id int, "
        "score float8)"
    )
    cursor.execute(f"ANALYZE {TYPED_TABLE}")
    cursor.execute(f"SELECT count(*) FROM {TYPED_TABLE}")
    return int(cursor.fetchone()[0])


def _read_slices(connect: Callable, out: queue.Queue) -> None:
    """Binary COPY of the typed customers, one id range at a time, parsed with one frombuffer."""
    with connect() as conn, conn.cursor() as cursor:
        after = -1
        while True:
            buffer = bytearray()
            with cursor.copy(
                f"COPY (SELECT id, age, income, tier, churn FROM {TYPED_TABLE} WHERE id > {after} "
                f"ORDER BY id LIMIT {SLICE}) TO STDOUT (FORMAT binary)"
            ) as copy:
                for block in copy:
                    buffer += block
            body = memoryview(buffer)[len(BINARY_HEADER) : len(buffer) - len(BINARY_TRAILER)]
            rows = np.frombuffer(body, dtype=TYPED_ROW)
            if rows.size == 0:
                break
            out.put(rows)
            after = int(rows["id"][-1])
            if rows.size < SLICE:
                break
    out.put(None)


def decide(rows: np.ndarray, value: np.ndarray, priority: np.ndarray, max_offers: int) -> np.ndarray:
    """The bench flow's decision in numpy: PRIE-like scores for every (customer, offer), the
    age rule on every third offer, the top ``max_offers`` per customer. Returns RESULT_ROW rows."""
    offers = value.size
    adult = (rows["age"] >= 18)[:, None]
    gold = (rows["tier"] == 2)[:, None]
    churn = rows["churn"][:, None]
    p = np.where(gold, 0.52, 0.4)
    r = np.where(churn < 0.5, 1.0, 0.7)
    score = p**0.4 * r**0.2 * value[None, :] ** 0.3 * priority[None, :] ** 0.1
    score = np.where(adult | (np.arange(offers) % 3 != 0)[None, :], score, 0.0)
    top = np.argpartition(-score, max_offers - 1, axis=1)[:, :max_offers]
    top_scores = np.take_along_axis(score, top, axis=1)
    order = np.argsort(-top_scores, axis=1)
    top = np.take_along_axis(top, order, axis=1)
    n = rows.size * max_offers
    out = np.empty(n, dtype=RESULT_ROW)
    out["n"] = 6
    for length, field in ((4, "l_run"), (8, "l_customer"), (2, "l_rank"), (4, "l_offer"), (4, "l_channel")):
        out[field] = length
    out["l_score"] = 8
    out["run"] = 1
    out["customer"] = np.repeat(rows["id"], max_offers)
    out["rank"] = np.tile(np.arange(1, max_offers + 1, dtype=np.int16), rows.size)
    out["offer"] = top.ravel()
    out["channel"] = top.ravel() % 4
    out["score"] = np.take_along_axis(score, top, axis=1).ravel()
    return out


def _write(connect: Callable, results: queue.Queue) -> int:
    """Binary COPY of every slice's rows into the unindexed result table, one transaction."""
    written = 0
    with connect() as conn, conn.cursor() as cursor:
        with cursor.copy(f"COPY {RESULT_TABLE} FROM STDIN (FORMAT binary)") as copy:
            copy.write(BINARY_HEADER)
            while (rows := results.get()) is not None:
                copy.write(rows.tobytes())
                written += rows.size
            copy.write(BINARY_TRAILER)
        conn.commit()
    return written


@dataclass
class LimitResult:
    customers: int
    rows: int
    seconds: float
    cpu: CpuSpent

    @property
    def rate(self) -> float:
        return self.customers / self.seconds


def reference_run(connect: Callable, *, offers: int, max_offers: int) -> LimitResult:
    """COPY out → numpy decide → binary COPY in, pipelined: a reader thread, this thread
    deciding, a writer thread, each stage on its own connection where it talks to PostgreSQL."""
    rng = np.random.default_rng(3)
    value, priority = rng.random(offers), rng.random(offers)
    slices: queue.Queue = queue.Queue(maxsize=4)
    results: queue.Queue = queue.Queue(maxsize=4)
    written: list[int] = []
    meter = CpuMeter(lambda: [psutil.Process().pid]).start()
    started = time.perf_counter()
    reader = threading.Thread(target=_read_slices, args=(connect, slices))
    writer = threading.Thread(target=lambda: written.append(_write(connect, results)))
    reader.start()
    writer.start()
    customers = 0
    while (rows := slices.get()) is not None:
        customers += rows.size
        results.put(decide(rows, value, priority, max_offers))
    results.put(None)
    reader.join()
    writer.join()
    seconds = time.perf_counter() - started
    return LimitResult(customers=customers, rows=written[0], seconds=seconds, cpu=meter.stop())


def print_ratio(product_rate: float, limit_rate: float, label: str = "") -> None:
    """The one line every benchmark prints, at the start of its line (``label`` names the path
    when a benchmark measures several)."""
    print(f"limit-ratio: {product_rate / limit_rate:.2f}" + (f" ({label})" if label else ""))


def timed_calls(call: Callable[[T], object], items: Iterable[T]) -> tuple[list[float], CpuSpent]:
    """``call(item)`` for each item, each timed on its own (seconds), and the CPU that
    PostgreSQL and this process spent over all of them."""
    meter = CpuMeter(lambda: [psutil.Process().pid]).start()
    seconds = []
    for item in items:
        started = time.perf_counter()
        call(item)
        seconds.append(time.perf_counter() - started)
    return seconds, meter.stop()


def percentile_ms(seconds: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100, nearest rank) of durations in seconds, in milliseconds."""
    ordered = sorted(seconds)
    rank = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank] * 1000


def summarise(label: str, values: Iterator[float] | list[float]) -> str:
    ordered = sorted(values)
    if not ordered:
        return f"{label}: -"
    middle = ordered[len(ordered) // 2]
    return f"{label}: min {ordered[0]:.2f} / median {middle:.2f} / max {ordered[-1]:.2f}"
