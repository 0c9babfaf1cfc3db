"""What keeps a run's cost flat in its size (issue 11): chunks planned page by page with their ids
as int64 arrays, and the summary added up from the chunks' own counts."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from runs import datapath, selectors, services
from runs.models import ChunkStatus, Recommendation, RunChunk, RunStatus
from segments.models import Customer
from tests.runs.test_execution import new_run


def _run(catalogue):
    return new_run(catalogue, None)


def _execute(run) -> None:
    services.run_plan(run_id=run.pk, dispatch=False)
    for chunk_id in RunChunk.objects.filter(run=run).order_by("seq").values_list("pk", flat=True):
        services.run_chunk_process(chunk_id=chunk_id, finalize=False)
    services.run_finalize(run_id=run.pk)
    run.refresh_from_db()


@pytest.mark.django_db
@pytest.mark.parametrize("page", [14, 20, 1000])
def test_planning_page_by_page_chunks_every_customer_once_in_order(catalogue, monkeypatch, page):
    """Pages of the audience smaller than it (14, 20 ids) and larger (1000): the chunks hold
    every customer of the snapshot once, ascending, in chunks of the size the whole audience
    asks for (7 here), the remainder of a page carried into the next."""
    monkeypatch.setattr(datapath, "SNAPSHOT_PAGE", page)
    audience = list(Customer.objects.filter(tenant=catalogue.tenant).order_by("id").values_list("id", flat=True))
    assert len(audience) == 60
    run = _run(catalogue)
    with override_settings(RUNS_CHUNK_SIZE=None, RUNS_TARGET_CHUNKS=2, RUNS_CHUNK_SIZE_MIN=1, RUNS_CHUNK_SIZE_MAX=7):
        services.run_plan(run_id=run.pk, dispatch=False)
    chunks = list(RunChunk.objects.filter(run=run).order_by("seq"))
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    assert [c.size for c in chunks] == [7] * 8 + [4]
    planned = [int(i) for c in chunks for i in c.ids()]
    assert planned == audience
    for chunk in chunks:
        ids = chunk.ids()
        assert (chunk.first_customer_id, chunk.last_customer_id, chunk.size) == (ids[0], ids[-1], ids.size)
    run.refresh_from_db()
    assert (run.total_customers, run.chunk_count) == (60, 9)


@pytest.mark.django_db
def test_a_small_audience_is_sized_from_its_only_page(catalogue):
    run = _run(catalogue)
    with override_settings(RUNS_CHUNK_SIZE=None, RUNS_TARGET_CHUNKS=4, RUNS_CHUNK_SIZE_MIN=1, RUNS_CHUNK_SIZE_MAX=1000):
        services.run_plan(run_id=run.pk, dispatch=False)
    assert list(RunChunk.objects.filter(run=run).order_by("seq").values_list("size", flat=True)) == [15, 15, 15, 15]


def _rows_breakdown(run) -> tuple[dict[str, int], dict[str, int], int]:
    offers: dict[str, int] = {}
    channels: dict[str, int] = {}
    for row in Recommendation.objects.filter(run=run).values("offer_id", "channel_id", "rank"):
        offers[row["offer_id"]] = offers.get(row["offer_id"], 0) + 1
        channels[row["channel_id"]] = channels.get(row["channel_id"], 0) + 1
    firsts = Recommendation.objects.filter(run=run, rank=1).count()
    return offers, channels, firsts


@pytest.mark.django_db
def test_the_summary_adds_up_the_chunks_counts_and_they_match_the_rows(catalogue):
    run = _run(catalogue)
    with override_settings(RUNS_CHUNK_SIZE=9):
        _execute(run)
    assert run.status == RunStatus.COMPLETED
    chunks = RunChunk.objects.filter(run=run, status=ChunkStatus.DONE)
    assert chunks.count() == 7
    assert all(c.breakdown is not None for c in chunks)
    assert sum(n for c in chunks for _, _, n, _ in (c.breakdown or [])) == run.recommendation_count > 0
    offers, channels, firsts = _rows_breakdown(run)
    assert run.summary["offer_counts"] == offers
    assert run.summary["channel_counts"] == channels
    assert run.summary["customers_with_recommendations"] == firsts


@pytest.mark.django_db
def test_the_summary_reads_the_chunks_counts_not_the_rows(catalogue):
    """Counts written by the chunks are what the summary adds (the rows are not read again);
    ``recount`` or a chunk without counts (planned before they existed) reads the rows."""
    run = _run(catalogue)
    with override_settings(RUNS_CHUNK_SIZE=30):
        _execute(run)
    offers, channels, firsts = _rows_breakdown(run)
    RunChunk.objects.filter(run=run).update(breakdown=[["off_x", "ch_y", 5, 2]])
    summary = selectors.run_summary_compute(run=run, completed_at=timezone.now())
    assert (summary["offer_counts"], summary["channel_counts"]) == ({"off_x": 10}, {"ch_y": 10})
    assert summary["customers_with_recommendations"] == 4
    recounted = selectors.run_summary_compute(run=run, completed_at=timezone.now(), recount=True)
    assert (recounted["offer_counts"], recounted["customers_with_recommendations"]) == (offers, firsts)
    RunChunk.objects.filter(run=run, seq=0).update(breakdown=None)
    older = selectors.run_summary_compute(run=run, completed_at=timezone.now())
    assert (older["offer_counts"], older["channel_counts"]) == (offers, channels)


@pytest.mark.django_db
def test_chunk_ids_are_stored_as_an_int64_array(catalogue):
    run = _run(catalogue)
    services.run_plan(run_id=run.pk, dispatch=False)
    chunk = RunChunk.objects.filter(run=run).order_by("seq")[0]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT customer_ids FROM {RunChunk._meta.db_table} WHERE id = %s", [chunk.pk])  # noqa: S608
        stored = bytes(cursor.fetchone()[0])
    assert len(stored) == 8 * chunk.size
    assert int.from_bytes(stored[:8], "little") == chunk.first_customer_id


@pytest.mark.django_db(transaction=True)
def test_the_chunk_ids_migration_reverses_with_chunks(catalogue):
    """Rolling back to JSON lists works on a table that has chunks, and forward again gives the
    same ids."""
    from django.db.migrations.executor import MigrationExecutor

    run = _run(catalogue)
    with override_settings(RUNS_CHUNK_SIZE=25):
        services.run_plan(run_id=run.pk, dispatch=False)
    before = {c.seq: [int(i) for i in c.ids()] for c in RunChunk.objects.filter(run=run)}
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("runs", "0003_run_audience_snapshot_recovery")])
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT seq, customer_ids FROM {RunChunk._meta.db_table} WHERE run_id = %s",  # noqa: S608
                [run.pk],
            )
            stored = {seq: json.loads(ids) if isinstance(ids, str) else ids for seq, ids in cursor.fetchall()}
        assert stored == before
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert {c.seq: [int(i) for i in c.ids()] for c in RunChunk.objects.filter(run=run)} == before
