"""Enrolment: one contact (docs/api-contract.md §3.5) or many at once (bulk execute, §3.7).

Enrolments of one plan queue on the plan's row lock, which makes the "already enrolled" check
exact; the partial unique index (plan, customer) over live runs is the backstop. Lock order is
the plan row, then run rows, then the tenant row (the audit chain, taken last by audit_record).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from decisionflows.models import ActiveStatus, ContactPolicy, PolicyType
from journeys import bulk, events, locks, selectors
from journeys.error_codes import JourneyErrorCode
from journeys.models import (
    LIVE_STATUSES,
    ExecutionRun,
    ExecutionRunStatus,
    Plan,
    PlanVersion,
    RunEvent,
)
from journeys.uuids import time_ordered_uuids, uuid7
from kaireon.errors import Conflict, NotFound, ValidationError
from kaireon.models import Tenant
from kaireon.services import Actor, audit_record
from segments import sql as segment_sql
from segments.locks import segment_lock_in_use
from segments.models import Customer, Segment
from segments.selectors import segment_view_exists

Contact = Customer | str | Mapping[str, Any]

MAX_BATCH_SIZE = 10_000
LOOKUP_CHUNK = 5_000  # externalIds per IN (...) query: well under SQLite's 32,766 parameters


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _lock_plan(*, tenant: Tenant, plan: Plan) -> tuple[Plan, PlanVersion]:
    """The plan, locked, and the version new runs execute; 409 when it cannot start runs."""
    locked = locks.plan_for_update().filter(pk=plan.pk, tenant=tenant).first()
    if locked is None:
        raise NotFound("No such journey.")
    if not locked.executable:
        state = "it has no published version" if locked.published_version is None else f"its status is {locked.status}"
        raise Conflict(
            f"Journey {locked.key!r} cannot start runs: {state}; it must be active and published.",
            code=JourneyErrorCode.NOT_EXECUTABLE,
            current_status=locked.status,
        )
    assert locked.published_version is not None
    version = PlanVersion.objects.get(plan=locked, number=locked.published_version)
    return locked, version


def _external_id(contact: Contact) -> str | None:
    if isinstance(contact, Customer):
        return contact.external_id
    if isinstance(contact, str):
        return contact
    if isinstance(contact, Mapping):
        # the engine API's contact (docs/api-contract.md §3.9): {contact: {id: "contact_123", email: …}}
        inner = contact.get("contact", contact)
        if isinstance(inner, Mapping):
            for key in ("id", "externalId", "external_id", "contactId", "contact_id"):
                if isinstance(inner.get(key), str):
                    return str(inner[key])
    return None


def _suppression_query(*, tenant: Tenant) -> Q:
    """Customers who may not be enrolled: flagged suppressed (never contacted, whatever the
    policies), or unsubscribed when an active suppression policy drops unsubscribed customers."""
    query = Q(suppressed=True)
    if ContactPolicy.objects.filter(
        tenant=tenant, status=ActiveStatus.ACTIVE, policy_type=PolicyType.SUPPRESSION, suppress_unsubscribed=True
    ).exists():
        query |= Q(unsubscribed=True)
    return query


def _new_run(
    *,
    tenant: Tenant,
    plan: Plan,
    version: PlanVersion,
    customer_id: int,
    external_id: str,
    variables: Mapping[str, Any],
    tick: int,
    start_tick: int | None,
    now: dt.datetime,
) -> tuple[ExecutionRun, RunEvent]:
    pending = start_tick is not None and start_tick > tick
    begin = start_tick if pending and start_tick is not None else tick
    first = version.steps[0]["id"]
    run = ExecutionRun(
        id=uuid7(),
        tenant=tenant,
        plan_id=plan.pk,
        version_id=version.pk,
        plan_version=version.number,
        customer_id=customer_id,
        contact_id=external_id,
        profile_id=selectors.profile_uuid(tenant.pk, external_id),
        status=ExecutionRunStatus.PENDING if pending else ExecutionRunStatus.ACTIVE,
        current_step=first,
        visits={},
        steps_remaining=int(version.remaining.get(first, len(version.steps))),
        start_tick=begin,
        current_tick=tick,
        wake_tick=begin,
        started_at=now,
        variables=dict(variables),
        last_result={},
        created_at=now,
        updated_at=now,
    )
    event = events.append(
        run, tick=tick, action="enrolled", now=now, data={"planVersion": version.number, "startTick": begin}
    )
    return run, event


@dataclass
class _Head:
    """A run's id and chain head while bulk enrolment builds its rows (no model instance)."""

    pk: str
    event_seq: int = 0
    event_head: str = ""


RUN_COLUMNS = tuple(f.attname for f in ExecutionRun._meta.concrete_fields)


def _run_rows(
    *,
    tenant: Tenant,
    plan: Plan,
    version: PlanVersion,
    contacts: Sequence[tuple[int, str]],
    variables: Mapping[str, Any],
    tick: int,
    now: dt.datetime,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows of RUN_COLUMNS and events.COLUMNS for new active runs, one per (customer id, externalId)."""
    first = version.steps[0]["id"]
    stamp = events.timestamp(now)
    values: dict[str, Any] = {
        "tenant_id": tenant.pk,
        "plan_id": plan.pk,
        "version_id": version.pk,
        "plan_version": version.number,
        "status": ExecutionRunStatus.ACTIVE.value,
        "paused_from": "",
        "current_step": first,
        "visits": {},
        "steps_completed": 0,
        "steps_remaining": int(version.remaining.get(first, len(version.steps))),
        "start_tick": tick,
        "current_tick": tick,
        "wake_tick": tick,
        "started_at": now,
        "completed_at": None,
        "outcome": None,
        "variables": dict(variables),
        "last_result": {},
        "error": "",
        "created_at": now,
        "updated_at": now,
    }
    runs, first_events = [], []
    data = {"planVersion": version.number, "startTick": tick}
    data_json = events.canonical_json(data)
    row = operator.itemgetter(*RUN_COLUMNS)
    for (customer_id, external_id), run_id in zip(contacts, time_ordered_uuids(len(contacts)), strict=True):
        head = _Head(run_id)
        first_events.append(
            events.row(head, tick=tick, action="enrolled", now=now, stamp=stamp, data=data, data_json=data_json)
        )
        values.update(
            id=head.pk,
            customer_id=customer_id,
            contact_id=external_id,
            profile_id=selectors.profile_text(tenant.pk, external_id),
            event_seq=head.event_seq,
            event_head=head.event_head,
        )
        runs.append(row(values))
    return runs, first_events


def customer_for(*, tenant: Tenant, contact: Contact) -> Customer:
    """The tenant's customer a contact names (400 naming contactId when there is none)."""
    if isinstance(contact, Customer) and contact.tenant_id == tenant.pk:
        return contact
    external_id = _external_id(contact)
    customer = Customer.objects.filter(tenant=tenant, external_id=external_id).first() if external_id else None
    if customer is None:
        raise ValidationError({"contact_id": f"No customer with externalId {external_id!r} in this tenant."})
    return customer


@transaction.atomic
def execution_run_execute(
    *,
    tenant: Tenant,
    actor: Actor,
    plan: Plan,
    contact: Contact,
    variables: Mapping[str, Any] | None = None,
    start_tick: int | None = None,
) -> ExecutionRun:
    """Enrol one contact in the plan's published version: an active run, due at the next tick
    (``pending`` until ``start_tick`` when that is later). 409 when the contact is already in a
    live run of the plan or suppressed; 400 for an unknown contact."""
    locked, version = _lock_plan(tenant=tenant, plan=plan)
    customer = customer_for(tenant=tenant, contact=contact)
    if Customer.objects.filter(pk=customer.pk).filter(_suppression_query(tenant=tenant)).exists():
        raise Conflict(
            f"Contact {customer.external_id!r} is suppressed.",
            code=JourneyErrorCode.SUPPRESSED,
            reason=JourneyErrorCode.SUPPRESSED,
        )
    existing = ExecutionRun.objects.filter(plan=locked, customer=customer, status__in=sorted(LIVE_STATUSES)).first()
    if existing is not None:
        raise Conflict(
            f"Contact {customer.external_id!r} is already enrolled in journey {locked.key!r}.",
            code=JourneyErrorCode.ALREADY_ENROLLED,
            reason=JourneyErrorCode.ALREADY_ENROLLED,
            run_id=str(existing.pk),
            current_status=existing.status,
        )
    run, event = _new_run(
        tenant=tenant,
        plan=locked,
        version=version,
        customer_id=customer.pk,
        external_id=customer.external_id,
        variables=variables or {},
        tick=selectors.clock_tick(),
        start_tick=start_tick,
        now=timezone.now(),
    )
    run.save(force_insert=True)
    event.save(force_insert=True)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="execute",
        instance=run,
        after={"plan": locked.pk, "plan_version": version.number, "contact_id": run.contact_id, "status": run.status},
    )
    return run


# --- bulk enrolment ------------------------------------------------------------------------


def _resolve_contacts(*, tenant: Tenant, contacts: Iterable[Contact]) -> tuple[list[tuple[int, str]], list[str]]:
    """(customer id, externalId) of the contacts found, in input order, and the unknown ones."""
    wanted: list[str] = []
    known: dict[str, int] = {}
    for contact in contacts:
        if isinstance(contact, Customer) and contact.tenant_id == tenant.pk:
            known[contact.external_id] = contact.pk
            wanted.append(contact.external_id)
        else:
            wanted.append(_external_id(contact) or "")
    lookup = sorted({value for value in wanted if value and value not in known})
    for chunk in _chunks(lookup, LOOKUP_CHUNK):
        known.update(Customer.objects.filter(tenant=tenant, external_id__in=chunk).values_list("external_id", "id"))
    found = [(known[value], value) for value in wanted if value in known]
    unknown = [value for value in wanted if value not in known]
    return found, unknown


def _segment_contacts(*, tenant: Tenant, segment: Segment) -> list[tuple[int, str]]:
    # Kept from deletion while its view is read, so a concurrent delete cannot drop it mid-read.
    locked = segment_lock_in_use(tenant=tenant, segment_id=segment.pk)
    if locked is None:
        raise ValidationError({"segment_id": "No such segment in this tenant."})
    segment = locked
    if not segment_view_exists(segment):
        raise ValidationError({"segment_id": "The segment has no view: save it with valid filters first."})
    view, table = segment_sql.quote_identifier(segment.view_name), segment_sql.quote_identifier(Customer._meta.db_table)
    with connection.cursor() as cursor:
        # one join with the segment's view (a checked identifier), not a lookup per page of ids
        cursor.execute(
            f'SELECT c."id", c."external_id" FROM {table} c JOIN {view} v ON v."id" = c."id" '  # noqa: S608
            'WHERE c."tenant_id" = %s ORDER BY c."id"',
            [tenant.pk],
        )
        return [(int(pk), str(external_id)) for pk, external_id in cursor.fetchall()]


@transaction.atomic
def execution_run_bulk_execute(
    *,
    tenant: Tenant,
    actor: Actor,
    plan: Plan,
    contacts: Iterable[Contact] | None = None,
    segment: Segment | None = None,
    variables: Mapping[str, Any] | None = None,
    batch_size: int = 100,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Enrol many contacts (or a segment's customers) at once; bulk execute (docs/api-contract.md §3.7).

    Set-based: one query for the contacts, one for those already enrolled, one for the suppressed,
    then the runs and their first events inserted ``batch_size`` at a time (COPY on PostgreSQL),
    each batch in its own savepoint. Returns ``{created, skipped, errors, skipped_by_reason,
    skipped_details, errors_by_reason, error_details}``: skipped (docs/api-contract.md §3.7: already enrolled or
    suppressed) is already_enrolled | suppressed; errors are unknown_contact (no such customer)
    and write_failed (its batch could not be written). Details are capped at
    JOURNEYS_BULK_SKIPPED_DETAILS_MAX each; the counts are exact. ``dry_run`` counts without enrolling."""
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValidationError({"batch_size": f"Must be from 1 to {MAX_BATCH_SIZE}."})
    if (contacts is None) == (segment is None):
        raise ValidationError({"contact_ids": "Give either contacts or a segment."})
    locked, version = _lock_plan(tenant=tenant, plan=plan)
    unknown: list[str] = []
    if segment is not None:
        found = _segment_contacts(tenant=tenant, segment=segment)
    else:
        found, unknown = _resolve_contacts(tenant=tenant, contacts=contacts or [])
    enrolled = set(
        ExecutionRun.objects.filter(plan=locked, status__in=sorted(LIVE_STATUSES)).values_list("customer_id", flat=True)
    )
    suppressed = set(
        Customer.objects.filter(tenant=tenant).filter(_suppression_query(tenant=tenant)).values_list("id", flat=True)
    )
    # docs/api-contract.md §3.7: skipped = already enrolled or suppressed; a contact that does not exist is an error.
    failures: list[dict[str, str]] = [{"contact_id": value, "reason": "unknown_contact"} for value in unknown]
    details: list[dict[str, str]] = []
    todo: list[tuple[int, str]] = []
    for customer_id, external_id in found:
        if customer_id in enrolled:
            details.append({"contact_id": external_id, "reason": "already_enrolled"})
        elif customer_id in suppressed:
            details.append({"contact_id": external_id, "reason": "suppressed"})
        else:
            todo.append((customer_id, external_id))
            enrolled.add(customer_id)  # a contact listed twice is enrolled once
    created = 0
    if not dry_run:
        tick, now = selectors.clock_tick(), timezone.now()
        for chunk in _chunks(todo, batch_size):
            runs, first_events = _run_rows(
                tenant=tenant,
                plan=locked,
                version=version,
                contacts=chunk,
                variables=variables or {},
                tick=tick,
                now=now,
            )
            try:
                with transaction.atomic():  # a savepoint: one failed batch does not undo the others
                    bulk.insert(ExecutionRun, RUN_COLUMNS, runs)
                    bulk.insert(RunEvent, events.COLUMNS, first_events)
            except DatabaseError:
                failures.extend({"contact_id": external_id, "reason": "write_failed"} for _, external_id in chunk)
            else:
                created += len(chunk)
        audit_record(
            tenant=tenant,
            actor=actor,
            action="bulk_execute",
            instance=locked,
            after={
                "plan_version": version.number,
                "segment": segment.pk if segment is not None else None,
                "created": created,
                "skipped": len(details),
                "errors": len(failures),
            },
        )
    limit = int(settings.JOURNEYS_BULK_SKIPPED_DETAILS_MAX)
    return {
        "created": len(todo) if dry_run else created,
        "skipped": len(details),
        "errors": len(failures),
        "skipped_by_reason": dict(Counter(d["reason"] for d in details).most_common()),
        "skipped_details": details[:limit],
        "errors_by_reason": dict(Counter(d["reason"] for d in failures).most_common()),
        "error_details": failures[:limit],
        "dry_run": dry_run,
    }
