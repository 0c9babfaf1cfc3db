"""Run lifecycle through the Python API of docs/api-contract.md §3.9 (journeys.operations): every transition, every
invalid one (409 with the current status), waits waking at the right tick, and the event log."""

from __future__ import annotations

from typing import Any

import pytest

from journeys import operations, services, stepping
from journeys.models import ExecutionRun, ExecutionRunStatus, JourneyClock, RunEvent
from journeys.selectors import clock_tick
from kaireon.errors import Conflict
from kaireon.models import AuditLog
from tests.journeys.conftest import actions, advance, make_plan, reachable_customers, step_events


@pytest.fixture
def contact(tenant, catalogue):
    return reachable_customers(tenant, 1)[0]


def test_execute_starts_an_active_run_with_every_seed_field(tenant, welcome, contact):
    advance(4)
    run = operations.execute(
        welcome, {"contact": {"id": contact.external_id, "email": contact.email}}, {"tier": "gold"}
    )
    assert run.status == ExecutionRunStatus.ACTIVE
    assert (run.plan_id, run.plan_version, run.contact_id) == (welcome.pk, 1, contact.external_id)
    assert (run.current_step, run.steps_completed, run.steps_remaining) == ("hello", 0, 5)
    assert (run.start_tick, run.current_tick, run.wake_tick) == (4, 4, 4)
    assert run.started_at is not None
    assert (run.completed_at, run.outcome) == (None, None)
    assert run.variables == {"tier": "gold"}
    assert actions(run) == ["enrolled"]
    assert AuditLog.objects.filter(tenant=tenant, action="execute", object_id=str(run.pk)).exists()


def test_a_contact_is_enrolled_once_per_plan_while_its_run_is_live(tenant, welcome, contact):
    run = operations.execute(welcome, contact)
    with pytest.raises(Conflict) as again:
        operations.execute(welcome, contact.external_id)
    assert again.value.extra == {"reason": "already_enrolled", "run_id": str(run.pk), "current_status": "active"}
    operations.cancel_run(run.pk, "test", tenant=tenant)
    assert operations.execute(welcome, contact).pk != run.pk


def test_suppressed_contact_cannot_be_enrolled(tenant, welcome):
    from tests.journeys.conftest import suppressed_customers

    with pytest.raises(Conflict) as caught:
        operations.execute(welcome, suppressed_customers(tenant)[0])
    assert caught.value.extra == {"reason": "suppressed"}


def test_wait_wakes_at_its_tick_and_the_run_completes(tenant, welcome, contact):
    start = clock_tick()
    run = operations.execute(welcome, contact, {"tier": "gold"})
    advance()  # tick start+1: send, then wait 2 ticks
    run.refresh_from_db()
    assert (run.status, run.current_step, run.wake_tick) == ("waiting", "pause", start + 3)
    assert (run.steps_completed, run.steps_remaining, run.current_tick) == (1, 4, start + 1)
    advance()  # start+2: still asleep, not even claimed
    run.refresh_from_db()
    assert (run.status, run.current_tick) == ("waiting", start + 1)
    advance()  # start+3: wakes, branches to vip, updates, ends
    run.refresh_from_db()
    assert (run.status, run.outcome, run.current_step) == ("completed", "finished", None)
    assert (run.steps_completed, run.steps_remaining, run.current_tick) == (5, 0, start + 3)
    assert run.variables == {"tier": "gold", "vip": True}
    woke = RunEvent.objects.get(run=run, action="woke")
    assert (woke.tick, woke.step) == (start + 3, "pause")
    assert step_events(run) == [
        ("hello", "send"),
        ("pause", "wait"),
        ("check", "branch"),
        ("vip", "update"),
        ("done", "end"),
    ]
    assert actions(run)[-1] == "completed"
    assert services.execution_run_events_verify(run=run) == []


def test_wait_duration_is_converted_with_the_tick_length(tenant, catalogue, settings):
    settings.JOURNEYS_TICK_SECONDS = 60
    steps: list[dict[str, Any]] = [
        {"id": "nap", "type": "wait", "duration": 150, "next": "done"},
        {"id": "done", "type": "end"},
    ]
    plan = make_plan(tenant, steps)
    run = operations.execute(plan, reachable_customers(tenant, 1)[0])
    tick = advance()
    run.refresh_from_db()
    assert run.wake_tick == tick + 3  # 150 s at 60 s a tick: 3 ticks


def test_pause_and_resume_an_active_run(tenant, welcome, contact):
    run = operations.execute(welcome, contact)
    paused = operations.pause_run(run.pk, tenant=tenant)
    assert paused.status == ExecutionRunStatus.PAUSED
    advance()
    run.refresh_from_db()
    assert (run.status, run.steps_completed) == ("paused", 0)  # the tick left it alone
    resumed = operations.resume_run(run.pk, tenant=tenant)
    assert resumed.status == ExecutionRunStatus.ACTIVE
    advance()
    run.refresh_from_db()
    assert run.status == ExecutionRunStatus.WAITING
    assert actions(run)[:3] == ["enrolled", "paused", "resumed"]


def test_a_paused_wait_resumes_waiting_and_wakes_on_time(tenant, welcome, contact):
    run = operations.execute(welcome, contact)
    start = advance()
    operations.pause_run(run.pk, tenant=tenant)
    advance(3)  # the wake tick passes while paused
    run.refresh_from_db()
    assert run.status == ExecutionRunStatus.PAUSED
    assert operations.resume_run(run.pk, tenant=tenant).status == ExecutionRunStatus.WAITING
    advance()
    run.refresh_from_db()
    assert run.status == ExecutionRunStatus.COMPLETED
    assert RunEvent.objects.get(run=run, action="woke").tick == start + 4


def test_pending_run_starts_at_its_start_tick(tenant, welcome, contact):
    now = clock_tick()
    run = services.execution_run_execute(tenant=tenant, actor=None, plan=welcome, contact=contact, start_tick=now + 2)
    assert (run.status, run.start_tick, run.wake_tick) == ("pending", now + 2, now + 2)
    operations.pause_run(run.pk, tenant=tenant)
    assert operations.resume_run(run.pk, tenant=tenant).status == ExecutionRunStatus.PENDING
    advance()
    run.refresh_from_db()
    assert run.status == ExecutionRunStatus.PENDING
    advance()
    run.refresh_from_db()
    assert run.status == ExecutionRunStatus.WAITING
    assert actions(run)[:5] == ["enrolled", "paused", "resumed", "started", "send"]


@pytest.mark.parametrize("status", ["pending", "active", "waiting", "paused"])
def test_cancel_any_live_run_with_the_reason_in_the_audit_log(tenant, welcome, contact, status):
    run = operations.execute(welcome, contact)
    ExecutionRun.objects.filter(pk=run.pk).update(status=status)
    cancelled = operations.cancel_run(run.pk, "Contact requested removal", tenant=tenant)
    assert (cancelled.status, cancelled.wake_tick) == ("cancelled", None)
    assert cancelled.completed_at is not None
    event = RunEvent.objects.get(run=run, action="cancelled")
    assert (event.reason, event.data) == ("Contact requested removal", {"from": status})
    audit = AuditLog.objects.get(tenant=tenant, action="cancel", object_id=str(run.pk))
    assert (audit.reason, audit.before, audit.after) == (
        "Contact requested removal",
        {"status": status},
        {"status": "cancelled"},
    )


@pytest.mark.parametrize(
    ("status", "operation"),
    [
        ("completed", "resume"),
        ("cancelled", "pause"),
        ("active", "resume"),
        ("paused", "pause"),
        ("failed", "cancel"),
        ("completed", "cancel"),
        ("cancelled", "resume"),
        ("completed", "pause"),
    ],
)
def test_invalid_transitions_are_conflicts_naming_the_current_status(tenant, welcome, contact, status, operation):
    run = operations.execute(welcome, contact)
    ExecutionRun.objects.filter(pk=run.pk).update(status=status)
    call = {
        "pause": lambda: operations.pause_run(run.pk, tenant=tenant),
        "resume": lambda: operations.resume_run(run.pk, tenant=tenant),
        "cancel": lambda: operations.cancel_run(run.pk, "why", tenant=tenant),
    }[operation]
    with pytest.raises(Conflict) as caught:
        call()
    assert caught.value.extra["current_status"] == status
    assert ExecutionRun.objects.get(pk=run.pk).status == status
    assert actions(run) == ["enrolled"]


def test_another_tenants_run_is_not_found(tenant, other_tenant, welcome, contact):
    from kaireon.errors import NotFound

    run = operations.execute(welcome, contact)
    with pytest.raises(NotFound):
        operations.pause_run(run.pk, tenant=other_tenant)


def test_step_limit_carries_a_run_over_to_the_next_tick(tenant, catalogue, settings):
    settings.JOURNEYS_MAX_STEPS_PER_TICK = 2
    steps: list[dict[str, Any]] = [
        {"id": "a", "type": "update", "set": {"a": 1}, "next": "b"},
        {"id": "b", "type": "update", "set": {"b": 1}, "next": "c"},
        {"id": "c", "type": "update", "set": {"c": 1}, "next": "done"},
        {"id": "done", "type": "end"},
    ]
    run = operations.execute(make_plan(tenant, steps), reachable_customers(tenant, 1)[0])
    tick = advance()
    run.refresh_from_db()
    assert (run.status, run.current_step, run.wake_tick, run.steps_completed) == ("active", "c", tick + 1, 2)
    advance()
    run.refresh_from_db()
    assert (run.status, run.outcome, run.steps_completed) == ("completed", "completed", 4)


def test_event_chain_detects_an_altered_or_missing_event(tenant, welcome, contact):
    run = operations.execute(welcome, contact)
    advance()
    assert services.execution_run_events_verify(run=run) == []
    RunEvent.objects.filter(run=run, action="send").update(reason="forged")
    problems = services.execution_run_events_verify(run=run)
    assert problems == ["event 2: content does not match its hash (row was altered)"]
    RunEvent.objects.filter(run=run, seq=3).delete()
    assert "the newest events are missing" in services.execution_run_events_verify(run=run)[-1]


def test_clock_is_one_global_row(tenant, welcome):
    JourneyClock.objects.all().delete()
    assert clock_tick() == 0
    assert advance(3) == 3
    assert JourneyClock.objects.get().tick == 3


def test_the_batch_claims_due_runs_only(tenant, welcome):
    customers = reachable_customers(tenant, 3)
    runs = [operations.execute(welcome, c) for c in customers]
    operations.pause_run(runs[1].pk, tenant=tenant)
    tick = services.journeys_tick(dispatch=False)[0]
    result = services.journey_batch_process(tick=tick)
    assert (result.runs, result.sends) == (2, 2)
    assert services.journey_batch_process(tick=tick).runs == 0
    assert stepping.claim(tick=tick, limit=10) == []


def test_the_tick_hashes_events_as_verify_reads_them(tenant, welcome, contact):
    """events.row assembles the canonical JSON by hand for speed: it must equal the generic form."""
    from journeys import events

    run = operations.execute(welcome, contact, {"note": 'quote " and é'})
    advance(3)
    for event in RunEvent.objects.filter(run=run):
        assert events.event_hash(events.event_payload(event)) == event.hash
    payload: dict[str, Any] = {
        "run": "r",
        "seq": 3,
        "tick": 4,
        "step": 's"',
        "action": "a",
        "reason": "é\n",
        "data": {"b": 1, "a": [1, "x", None]},
        "prev_hash": "p",
        "created_at": "2026-01-01T00:00:00+00:00",
    }
    fast = events._fast_hash("r", 3, 4, 's"', "a", "é\n", payload["data"], "p", payload["created_at"])
    assert fast == events.event_hash(payload)
