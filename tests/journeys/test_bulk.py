"""Bulk enrolment and bulk cancel (docs/api-contract.md §3.7, §3.8), and the run list's filters (§3.4)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from decisionflows import services as df
from journeys import bulk, operations, services
from journeys.models import ExecutionRun, RunEvent
from kaireon.errors import ValidationError
from kaireon.models import AuditLog
from segments.models import Customer
from tests.journeys.conftest import make_plan, reachable_customers


def test_bulk_execute_counts_created_skipped_and_errors_with_reasons(tenant, welcome):
    reachable = reachable_customers(tenant, 10)
    blocked = reachable[8:]
    Customer.objects.filter(pk__in=[c.pk for c in blocked]).update(suppressed=True)
    reachable = reachable[:8]
    operations.execute(welcome, reachable[0])
    operations.execute(welcome, reachable[1])
    # reachable[2] listed twice: enrolled once
    contacts = (
        [c.external_id for c in reachable] + [c.external_id for c in blocked] + ["nobody", reachable[2].external_id]
    )
    result = operations.bulk_execute(welcome, contacts, {"source": "bulk"}, batch_size=2)
    # docs/api-contract.md §3.7: skipped = already enrolled or suppressed; a contact that does not exist is an error
    assert (result["created"], result["skipped"], result["errors"]) == (6, 5, 1)
    assert result["errorDetails"] == [{"contactId": "nobody", "reason": "unknown_contact"}]
    reasons = {(d["contactId"], d["reason"]) for d in result["skippedDetails"]}
    assert reasons == {
        (reachable[0].external_id, "already_enrolled"),
        (reachable[1].external_id, "already_enrolled"),
        (reachable[2].external_id, "already_enrolled"),
        (blocked[0].external_id, "suppressed"),
        (blocked[1].external_id, "suppressed"),
    }
    created = ExecutionRun.objects.filter(plan=welcome, variables={"source": "bulk"})
    assert created.count() == 6
    assert set(created.values_list("status", flat=True)) == {"active"}
    assert RunEvent.objects.filter(run__in=created, action="enrolled", seq=1).count() == 6
    audit = AuditLog.objects.get(tenant=tenant, action="bulk_execute")
    assert audit.after == {"plan_version": 1, "segment": None, "created": 6, "skipped": 5, "errors": 1}
    for run in created:
        assert services.execution_run_events_verify(run=run) == []


def test_unknown_contacts_are_errors_in_a_dry_run_too(tenant, welcome, system_actor):
    known = reachable_customers(tenant, 1)[0]
    result = services.execution_run_bulk_execute(
        tenant=tenant, actor=system_actor, plan=welcome, contacts=[known.external_id, "ghost"], dry_run=True
    )
    assert (result["created"], result["skipped"], result["errors"]) == (1, 0, 1)
    assert result["errors_by_reason"] == {"unknown_contact": 1}
    assert result["skipped_by_reason"] == {}


def test_each_batch_of_batch_size_is_written_or_failed_on_its_own(tenant, welcome, system_actor, monkeypatch):
    contacts = [c.external_id for c in reachable_customers(tenant, 5)]
    real_insert = bulk.insert
    run_batches: list[int] = []

    def insert(model, columns, rows):
        if model is ExecutionRun:
            run_batches.append(len(rows))
            if len(run_batches) == 2:
                raise DatabaseError("disk full")
        real_insert(model, columns, rows)

    monkeypatch.setattr(bulk, "insert", insert)
    result = services.execution_run_bulk_execute(
        tenant=tenant, actor=system_actor, plan=welcome, contacts=contacts, batch_size=2
    )
    assert run_batches == [2, 2, 1]
    assert (result["created"], result["skipped"], result["errors"]) == (3, 0, 2)
    assert result["error_details"] == [{"contact_id": c, "reason": "write_failed"} for c in contacts[2:4]]
    enrolled = set(ExecutionRun.objects.filter(plan=welcome).values_list("contact_id", flat=True))
    assert enrolled == {contacts[0], contacts[1], contacts[4]}


def test_unsubscribed_contacts_are_suppressed_when_a_policy_says_so(tenant, welcome, system_actor):
    customer = reachable_customers(tenant, 1)[0]
    Customer.objects.filter(pk=customer.pk).update(unsubscribed=True)
    assert operations.bulk_execute(welcome, [customer.external_id])["created"] == 1
    operations.bulk_cancel({"planId": welcome.pk}, "again", tenant=tenant)
    df.contact_policy_create(
        tenant=tenant,
        actor=system_actor,
        data={"name": "No unsubscribed", "policy_type": "suppression", "suppress_unsubscribed": True},
    )
    result = operations.bulk_execute(welcome, [customer.external_id])
    assert result["skippedDetails"] == [{"contactId": customer.external_id, "reason": "suppressed"}]


def test_bulk_execute_a_segment_and_dry_run(tenant, welcome, catalogue, system_actor):
    everyone = Customer.objects.filter(tenant=tenant)
    suppressed = everyone.filter(suppressed=True).count()
    dry = services.execution_run_bulk_execute(
        tenant=tenant, actor=system_actor, plan=welcome, segment=catalogue.everyone, dry_run=True
    )
    assert (dry["created"], dry["skipped"], dry["dry_run"]) == (everyone.count() - suppressed, suppressed, True)
    assert not ExecutionRun.objects.exists()
    real = services.execution_run_bulk_execute(
        tenant=tenant, actor=system_actor, plan=welcome, segment=catalogue.everyone
    )
    assert real["created"] == dry["created"]
    again = services.execution_run_bulk_execute(tenant=tenant, actor=system_actor, plan=welcome, segment=catalogue.gold)
    assert again["created"] == 0
    assert {d["reason"] for d in again["skipped_details"]} <= {"already_enrolled", "suppressed"}
    assert sum(again["skipped_by_reason"].values()) == again["skipped"] > 0


def test_skipped_counts_by_reason_are_exact_when_the_details_are_capped(
    tenant, welcome, catalogue, system_actor, settings
):
    settings.JOURNEYS_BULK_SKIPPED_DETAILS_MAX = 2
    services.execution_run_bulk_execute(tenant=tenant, actor=system_actor, plan=welcome, segment=catalogue.everyone)
    suppressed = Customer.objects.filter(tenant=tenant, suppressed=True).count()
    enrolled = ExecutionRun.objects.filter(plan=welcome).count()
    again = services.execution_run_bulk_execute(
        tenant=tenant, actor=system_actor, plan=welcome, segment=catalogue.everyone, dry_run=True
    )
    assert len(again["skipped_details"]) == 2
    assert again["skipped_by_reason"] == {"already_enrolled": enrolled, "suppressed": suppressed}
    assert again["skipped"] == enrolled + suppressed


def _queries(callable_) -> int:
    with CaptureQueriesContext(connection) as captured:
        callable_()
    return len(captured.captured_queries)


def test_bulk_execute_is_set_based_whatever_the_number_of_contacts(tenant, catalogue, welcome_steps):
    Customer.objects.bulk_create(Customer(tenant=tenant, external_id=f"bulk-{i}") for i in range(930))
    ids = list(
        Customer.objects.filter(tenant=tenant, external_id__startswith="bulk-").values_list("external_id", flat=True)
    )
    few, many = ids[:30], ids[30:]
    small = make_plan(tenant, welcome_steps, key="small")
    large = make_plan(tenant, welcome_steps, key="large")
    queries_few = _queries(lambda: operations.bulk_execute(small, few, batch_size=1000))
    queries_many = _queries(lambda: operations.bulk_execute(large, many, batch_size=1000))
    if connection.vendor == "postgresql":
        assert queries_many == queries_few  # COPY: a fixed number of statements, whatever the count
    else:
        # bulk_create: SQLite inserts ~37 runs per statement (Django's 999-parameter batches)
        assert queries_many - queries_few <= 2 * (len(many) // 30)
    assert ExecutionRun.objects.filter(plan=large).count() == 900


def test_bulk_execute_checks_its_arguments(tenant, welcome, system_actor):
    with pytest.raises(ValidationError):
        services.execution_run_bulk_execute(
            tenant=tenant, actor=system_actor, plan=welcome, contacts=["x"], batch_size=0
        )
    with pytest.raises(ValidationError):
        services.execution_run_bulk_execute(tenant=tenant, actor=system_actor, plan=welcome)


@pytest.fixture
def spread(tenant, welcome, welcome_steps):
    """Runs of two plans with different statuses and start times."""
    other = make_plan(tenant, welcome_steps, key="other")
    customers = reachable_customers(tenant, 6)
    runs = [operations.execute(welcome, c) for c in customers[:4]] + [
        operations.execute(other, c) for c in customers[4:]
    ]
    base = timezone.now() - dt.timedelta(days=10)
    for index, run in enumerate(runs):
        ExecutionRun.objects.filter(pk=run.pk).update(started_at=base + dt.timedelta(days=index))
    ExecutionRun.objects.filter(pk=runs[1].pk).update(status="waiting")
    ExecutionRun.objects.filter(pk=runs[2].pk).update(status="completed")
    return {"runs": runs, "other": other, "base": base}


def test_list_runs_filters(tenant, welcome, spread):
    runs, base = spread["runs"], spread["base"]
    listed = operations.list_runs({"status": "active"}, tenant=tenant)
    assert listed["total"] == 4
    assert operations.list_runs({"status": ["waiting", "completed"]}, tenant=tenant)["total"] == 2
    assert operations.list_runs({"planId": welcome.pk}, tenant=tenant)["total"] == 4
    assert [r.pk for r in operations.list_runs({"contactId": runs[5].contact_id}, tenant=tenant)["runs"]] == [
        runs[5].pk
    ]
    after = operations.list_runs({"startedAfter": base + dt.timedelta(days=3)}, tenant=tenant)
    assert [r.pk for r in after["runs"]] == [runs[5].pk, runs[4].pk, runs[3].pk]  # newest first
    before = operations.list_runs({"startedBefore": base + dt.timedelta(days=1)}, tenant=tenant)
    assert [r.pk for r in before["runs"]] == [runs[0].pk]
    page = operations.list_runs({"limit": 2, "offset": 1}, tenant=tenant)
    assert (page["total"], [r.pk for r in page["runs"]]) == (6, [runs[4].pk, runs[3].pk])
    with pytest.raises(ValidationError):
        operations.list_runs({"status": "sleeping"}, tenant=tenant)


def test_bulk_cancel_by_filters(tenant, welcome, spread):
    runs, other = spread["runs"], spread["other"]
    assert operations.bulk_cancel({"planId": welcome.pk, "status": "active"}, "Plan deprecated", tenant=tenant) == 2
    assert set(ExecutionRun.objects.filter(plan=welcome).values_list("status", flat=True)) == {
        "cancelled",
        "waiting",
        "completed",
    }
    assert operations.bulk_cancel({"contactId": runs[4].contact_id}, "asked", tenant=tenant) == 1
    assert operations.bulk_cancel({"status": ["waiting", "completed"]}, "tidy", tenant=tenant) == 1  # completed stays
    assert ExecutionRun.objects.get(pk=runs[2].pk).status == "completed"
    assert ExecutionRun.objects.get(pk=runs[5].pk).status == "active"
    assert ExecutionRun.objects.filter(plan=other, status="active").count() == 1
    event = RunEvent.objects.get(run=runs[0], action="cancelled")
    assert (event.reason, event.data) == ("Plan deprecated", {"from": "active"})
    audit = AuditLog.objects.filter(tenant=tenant, action="bulk_cancel").order_by("id")[0]
    assert audit.reason == "Plan deprecated"
    assert audit.after == {"cancelled": 2, "filters": {"plan_id": welcome.pk, "status": "active"}}
    for run in runs:
        assert services.execution_run_events_verify(run=run) == []
    with pytest.raises(ValidationError):
        operations.bulk_cancel({}, "everything", tenant=tenant)
