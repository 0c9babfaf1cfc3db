"""A run never reaches the wrong audience and every failure ends visibly (issue 10, part 1)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.db.models import F
from django.test import override_settings
from django.utils import timezone

from decisionflows.models import Contact
from kaireon.models import Role
from runs import datapath, hooks, services, tasks
from runs.models import ChunkStatus, Recommendation, Run, RunChunk, RunStatus
from segments import services as seg
from segments.models import Customer
from tests.runs.conftest import build_catalogue


def new_run(catalogue, actor, segment=None) -> Run:
    return services.run_create(
        tenant=catalogue.tenant,
        actor=actor,
        decision_flow_id=catalogue.flow.pk,
        segment_id=(segment or catalogue.everyone).pk,
        dispatch=False,
    )


def one_customer_segment(catalogue, actor):
    first = Customer.objects.filter(tenant=catalogue.tenant, suppressed=False).order_by("id")[0]
    return seg.segment_create(
        tenant=catalogue.tenant,
        actor=actor,
        data={"name": "Just one", "filters": {"field": "external_id", "operator": "eq", "value": first.external_id}},
    )


# --- the audience is frozen at creation ----------------------------------------------------


@pytest.mark.django_db
def test_deleting_the_segment_of_a_pending_run_does_not_widen_it(catalogue, client_for):
    """The reproduction: a 1-customer segment, POST a run, DELETE the segment, then plan."""
    editor, admin = client_for(catalogue.tenant, Role.EDITOR), client_for(catalogue.tenant, Role.ADMIN)
    segment = one_customer_segment(catalogue, None)
    created = editor.post("/api/v1/runs", {"decisionFlowId": catalogue.flow.pk, "segmentId": segment.pk}, format="json")
    assert created.status_code == 201, created.content
    assert admin.delete(f"/api/v1/segments/{segment.pk}").status_code == 204
    run = services.run_execute_inline(run_id=created.json()["id"])
    assert run.status == RunStatus.COMPLETED
    assert run.total_customers == 1
    assert Recommendation.objects.filter(run=run).values("customer_id").distinct().count() == 1
    assert Contact.objects.filter(source_id=run.pk).values("customer_id").distinct().count() == 1


@pytest.mark.django_db
def test_editing_the_segment_of_a_pending_run_does_not_move_it(catalogue, system_actor):
    run = new_run(catalogue, system_actor, catalogue.gold)
    gold = set(Customer.objects.filter(tenant=catalogue.tenant, attributes__tier="gold").values_list("id", flat=True))
    seg.segment_update(tenant=catalogue.tenant, actor=system_actor, instance=catalogue.gold, data={"filters": {}})
    services.run_plan(run_id=run.pk, dispatch=False)
    planned = {int(cid) for chunk in RunChunk.objects.filter(run=run) for cid in chunk.ids()}
    assert planned == gold
    assert 0 < len(gold) < 60


@pytest.mark.django_db
def test_a_run_without_recorded_filters_fails_instead_of_taking_everyone(catalogue, system_actor):
    run = new_run(catalogue, system_actor, catalogue.gold)
    # a run from before audiences were frozen, whose segment is gone
    Run.objects.filter(pk=run.pk).update(segment=None, segment_filters=None, filters=None)
    assert services.run_plan(run_id=run.pk, dispatch=False) == []
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "no audience" in run.error
    assert run.error_context["stage"] == "planning"
    assert not RunChunk.objects.filter(run=run).exists()


@pytest.mark.django_db
def test_ad_hoc_filters_with_a_percent_sign_plan(catalogue, system_actor):
    Customer.objects.filter(tenant=catalogue.tenant, external_id="c00003").update(email="50%off@example.com")
    run = services.run_create(
        tenant=catalogue.tenant,
        actor=system_actor,
        decision_flow_id=catalogue.flow.pk,
        filters={"field": "email", "operator": "contains", "value": "%"},
        dispatch=False,
    )
    services.run_plan(run_id=run.pk, dispatch=False)
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    assert run.total_customers == 1


# --- every failure ends the run visibly ----------------------------------------------------


def _violate_a_constraint(run: Run, **_: object):
    """A database error inside planning's transaction (on PostgreSQL it aborts the transaction,
    as a missing view did): processed > total breaks the run's check constraint."""
    Run.objects.filter(pk=run.pk).update(processed_customers=F("total_customers") + 1)
    yield  # pragma: no cover


@pytest.mark.django_db
def test_a_database_error_during_planning_fails_the_run_with_its_reason(catalogue, system_actor, monkeypatch):
    run = new_run(catalogue, system_actor)
    monkeypatch.setattr(datapath, "audience_ids", _violate_a_constraint)
    assert services.run_plan(run_id=run.pk, dispatch=False) == []
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("Run failed during planning: IntegrityError")
    assert run.error_context["stage"] == "planning"
    assert run.error_context["exception"] == "IntegrityError"
    assert "Traceback" in run.error_context["traceback"]
    assert run.completed_at is not None


@pytest.mark.django_db
def test_the_reaper_resends_a_lost_planning_without_failing_a_run_that_waits_in_a_queue(
    catalogue, system_actor, monkeypatch, settings
):
    settings.RUNS_RECOVERY_MAX_ATTEMPTS = 2
    sent: list[str] = []
    monkeypatch.setattr(tasks.plan_run, "delay", sent.append)
    run = new_run(catalogue, system_actor)  # pending; its planning message is lost, or far back in a queue
    for _ in range(5):
        Run.objects.filter(pk=run.pk).update(updated_at=timezone.now() - timedelta(hours=1))
        assert services.runs_reap()["plans"] == 1
        # sent again only once the staleness window passed since the last send
        assert services.runs_reap()["plans"] == 0
    run.refresh_from_db()
    assert (run.status, run.recovery_attempts) == (RunStatus.PENDING, 0)
    assert sent == [run.pk] * 5
    # the message finally reaches a worker: the run is planned
    assert services.run_plan(run_id=run.pk, dispatch=False)
    run.refresh_from_db()
    assert (run.status, run.recovery_attempts) == (RunStatus.RUNNING, 0)


def _lost_connection(run: Run, **_: object):
    raise OperationalError("database is locked")
    yield  # pragma: no cover


@pytest.mark.django_db
def test_planning_that_keeps_losing_its_connection_fails_after_its_attempts(
    catalogue, system_actor, monkeypatch, settings
):
    settings.RUNS_RECOVERY_MAX_ATTEMPTS = 3
    monkeypatch.setattr(datapath, "audience_ids", _lost_connection)
    run = new_run(catalogue, system_actor)
    for attempt in range(1, 4):
        with pytest.raises(OperationalError):  # the task's retry (then the reaper's re-send) tries again
            services.run_plan(run_id=run.pk, dispatch=False)
        run.refresh_from_db()
        assert (run.status, run.recovery_attempts) == (RunStatus.PENDING, attempt)
    assert services.run_plan(run_id=run.pk, dispatch=False) == []
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error == (
        "Run failed during planning: Planning did not complete in 3 attempts; "
        "last error: OperationalError: database is locked"
    )
    assert run.error_context["recovery_attempts"] == 4


@pytest.mark.django_db
def test_finalising_that_keeps_losing_its_connection_fails_after_its_attempts(
    catalogue, system_actor, monkeypatch, settings
):
    settings.RUNS_RECOVERY_MAX_ATTEMPTS = 1
    run = new_run(catalogue, system_actor)
    for chunk_id in services.run_plan(run_id=run.pk, dispatch=False):
        services.run_chunk_process(chunk_id=chunk_id, finalize=False)

    def lost(run: Run) -> dict:
        raise OperationalError("database is locked")

    monkeypatch.setattr(hooks, "before_summary", [lost])
    with pytest.raises(OperationalError):
        services.run_finalize(run_id=run.pk)
    assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING
    finalised = services.run_finalize(run_id=run.pk)
    assert finalised is not None
    assert finalised.status == RunStatus.FAILED
    assert finalised.error.startswith("Run failed during finalising: Finalising did not complete in 1 attempts")


@pytest.mark.django_db
def test_a_failure_seen_late_never_fails_a_run_that_moved_on(catalogue, system_actor):
    run = new_run(catalogue, system_actor)
    services.run_plan(run_id=run.pk, dispatch=False)
    assert not services.run_fail(run_id=run.pk, stage="planning", message="late", expected=RunStatus.PENDING)
    assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_drops_out_during_fan_out_leaves_the_planned_run_to_the_reaper(tenant, monkeypatch):
    from kombu.exceptions import OperationalError as BrokerDown

    catalogue = build_catalogue(tenant, customers=20)
    run = new_run(catalogue, None)

    def down(chunk_id: int) -> None:
        raise BrokerDown("Error 111 connecting to redis")

    monkeypatch.setattr(tasks.process_chunk, "delay", down)
    chunk_ids = services.run_plan(run_id=run.pk)  # dispatches after commit: the broker is gone
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    assert set(RunChunk.objects.filter(run=run).values_list("status", flat=True)) == {ChunkStatus.PENDING}
    sent: list[int] = []
    monkeypatch.setattr(tasks.process_chunk, "delay", sent.append)
    Run.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(hours=1))
    services.runs_reap()
    assert sent == chunk_ids


@pytest.mark.django_db
def test_an_inline_run_whose_chunk_keeps_failing_ends_completed_with_errors(
    catalogue, system_actor, monkeypatch, settings
):
    settings.RUNS_CHUNK_SIZE = 30
    settings.RUNS_CHUNK_MAX_RETRIES = 1
    real = datapath.chunk_decide
    calls: list[int] = []

    def second_chunk_broken(*, tenant, chunk, context):
        calls.append(chunk.seq)
        if chunk.seq == 1:
            raise ValueError("bad data in this slice")
        return real(tenant=tenant, chunk=chunk, context=context)

    monkeypatch.setattr(datapath, "chunk_decide", second_chunk_broken)
    run = services.run_execute_inline(run_id=new_run(catalogue, system_actor).pk)
    assert calls == [0, 1, 1]  # one retry, as the worker's task has
    assert run.status == RunStatus.COMPLETED_WITH_ERRORS
    assert run.error_context["first_error"] == "ValueError: bad data in this slice"
    assert run.failed_customers == 30


@pytest.mark.django_db
def test_a_chunk_whose_worker_keeps_dying_fails_instead_of_looping(catalogue, system_actor, monkeypatch, settings):
    settings.RUNS_CHUNK_MAX_RETRIES = 2
    monkeypatch.setattr(tasks.process_chunk, "delay", lambda chunk_id: None)
    monkeypatch.setattr(tasks.finalize_run, "delay", lambda run_id: None)
    run = new_run(catalogue, system_actor)
    [chunk_id] = services.run_plan(run_id=run.pk, dispatch=False)
    expired = timezone.now() - timedelta(seconds=1)
    RunChunk.objects.filter(pk=chunk_id).update(status=ChunkStatus.RUNNING, attempts=2, lease_expires_at=expired)
    assert services.runs_reap()["chunks"] == 1  # two claims so far: one more try
    RunChunk.objects.filter(pk=chunk_id).update(attempts=3, lease_expires_at=expired)
    assert services.runs_reap()["chunks_failed"] == 1
    chunk = RunChunk.objects.get(pk=chunk_id)
    assert chunk.status == ChunkStatus.FAILED
    assert chunk.error.startswith("Its lease expired on every attempt: the worker was killed or lost")


@pytest.mark.django_db
def test_an_error_while_finalising_fails_the_run_and_contacts_nobody(catalogue, system_actor, monkeypatch):
    def broken(run: Run) -> dict:
        raise ValueError("constraints exploded")

    monkeypatch.setattr(hooks, "before_summary", [broken])
    run = new_run(catalogue, system_actor)
    for chunk_id in services.run_plan(run_id=run.pk, dispatch=False):
        services.run_chunk_process(chunk_id=chunk_id, finalize=False)
    finalised = services.run_finalize(run_id=run.pk)
    assert finalised is not None
    run = finalised
    assert run.status == RunStatus.FAILED
    assert run.error == "Run failed during finalising: ValueError: constraints exploded"
    assert run.error_context["stage"] == "finalising"
    assert Recommendation.objects.filter(run=run).exists()
    assert not Contact.objects.filter(source_id=run.pk).exists()
    assert run.result_count == 0


# --- cancel and the chunk's write serialise --------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_cancel_that_commits_during_a_chunk_write_keeps_its_rows_out(tenant, monkeypatch):
    """The chunk's write pauses until a cancel has committed (PostgreSQL lets it commit then;
    SQLite's single writer makes it wait for the chunk). Either way no row lands after a cancel:
    the chunk's rows are rolled back, or they committed before the cancel did."""
    catalogue = build_catalogue(tenant, customers=40)
    actor = None
    run = new_run(catalogue, actor)
    [chunk_id] = services.run_plan(run_id=run.pk, dispatch=False)
    written, cancelled = threading.Event(), threading.Event()
    real_write = datapath.recommendations_write

    def slow_write(rows):
        real_write(rows)
        written.set()
        cancelled.wait(timeout=3)

    monkeypatch.setattr(datapath, "recommendations_write", slow_write)
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["last"] = services.run_chunk_process(chunk_id=chunk_id, finalize=False)
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    assert written.wait(timeout=30)
    services.run_cancel(tenant=tenant, actor=actor, run=Run.objects.get(pk=run.pk))
    cancel_committed_mid_write = worker.is_alive()
    cancelled.set()
    worker.join(timeout=30)
    run.refresh_from_db()
    chunk = RunChunk.objects.get(pk=chunk_id)
    assert run.status == RunStatus.CANCELLED
    if cancel_committed_mid_write:
        assert outcome["last"] is False
        assert chunk.status == ChunkStatus.CANCELLED
        assert not Recommendation.objects.filter(run_id=run.pk).exists()
        assert (run.processed_customers, run.recommendation_count) == (0, 0)
    else:  # the cancel waited for the chunk: its rows are counted, as written before the cancel
        assert chunk.status == ChunkStatus.DONE
        assert Recommendation.objects.filter(run_id=run.pk).count() == run.recommendation_count > 0
    assert connection.vendor != "postgresql" or cancel_committed_mid_write


@pytest.mark.django_db
def test_a_cancelled_runs_detail_says_what_was_written_and_that_nobody_was_contacted(catalogue, client_for):
    editor = client_for(catalogue.tenant, Role.EDITOR)
    with override_settings(RUNS_CHUNK_SIZE=20):
        run = new_run(catalogue, None)
        first, *_ = services.run_plan(run_id=run.pk, dispatch=False)
    services.run_chunk_process(chunk_id=first, finalize=False)
    written = Recommendation.objects.filter(run=run).count()
    assert written > 0
    assert editor.post(f"/api/v1/runs/{run.pk}/cancel").status_code == 200
    body = editor.get(f"/api/v1/runs/{run.pk}").json()
    assert body["status"] == "cancelled"
    assert body["recommendationCount"] == 0
    assert body["discarded"]["recommendationsWritten"] == written
    assert body["discarded"]["customersProcessed"] == 20
    assert body["discarded"]["customersContacted"] == 0
    assert "nobody was contacted" in body["discarded"]["message"]
    listed = editor.get("/api/v1/runs").json()["runs"][0]
    assert (listed["recommendationCount"], listed["discarded"]["recommendationsWritten"]) == (0, written)
    # its rows are not handed out as if they were results
    for url in (f"/api/v1/runs/{run.pk}/export?format=csv", f"/api/v1/runs/{run.pk}/customers"):
        refused = editor.get(url)
        assert refused.status_code == 409, url
        assert refused.json()["currentStatus"] == "cancelled"
        assert "nobody was contacted" in refused.json()["error"]


@pytest.mark.django_db
def test_a_completed_run_has_its_count_and_nothing_discarded(catalogue, client_for):
    run = services.run_execute_inline(run_id=new_run(catalogue, None).pk)
    body = client_for(catalogue.tenant, Role.VIEWER).get(f"/api/v1/runs/{run.pk}").json()
    assert body["recommendationCount"] == run.recommendation_count > 0
    assert body["discarded"] is None


@pytest.mark.django_db(transaction=True)
def test_finalising_locks_the_run_row_only_not_its_tenant(tenant, monkeypatch):
    """Finalise holds the run's row for its whole transaction; the tenant's row stays free (other
    runs of the tenant finalise, the tenant can be edited meanwhile). SQLite has one writer and
    no row locks: there, readers (WAL) still read the tenant while finalise writes."""
    from django.db import transaction

    from kaireon.models import Tenant

    catalogue = build_catalogue(tenant, customers=20)
    run = new_run(catalogue, None)
    for chunk_id in services.run_plan(run_id=run.pk, dispatch=False):
        services.run_chunk_process(chunk_id=chunk_id, finalize=False)
    seen: dict[str, object] = {}

    def try_the_tenant_row() -> None:
        try:
            if connection.vendor == "postgresql":
                with transaction.atomic():
                    Tenant.objects.select_for_update(nowait=True).get(pk=tenant.pk)
            else:
                Tenant.objects.get(pk=tenant.pk)
            seen["tenant"] = "free"
        except Exception as exc:  # noqa: BLE001  (DatabaseError: could not obtain lock)
            seen["tenant"] = type(exc).__name__
        finally:
            connection.close()

    def during_finalise(locked: Run) -> dict:
        probe = threading.Thread(target=try_the_tenant_row)
        probe.start()
        probe.join(timeout=30)
        return {}

    monkeypatch.setattr(hooks, "before_summary", [during_finalise])
    finalised = services.run_finalize(run_id=run.pk)
    assert finalised is not None
    assert finalised.status == RunStatus.COMPLETED
    assert seen == {"tenant": "free"}


@pytest.mark.django_db
def test_a_channel_activated_while_the_run_goes_is_not_added_to_it(catalogue, system_actor):
    from decisionflows.models import Channel

    Channel.objects.filter(pk=catalogue.sms.pk).update(status="inactive")
    run = new_run(catalogue, system_actor)
    assert sorted(run.channel_ids) == sorted([catalogue.email.pk, catalogue.call_centre.pk])
    Channel.objects.filter(pk=catalogue.sms.pk).update(status="active")
    run = services.run_execute_inline(run_id=run.pk)
    assert run.recommendation_count > 0
    assert not Recommendation.objects.filter(run=run, channel_id=catalogue.sms.pk).exists()
