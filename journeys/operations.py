"""The Python operations API (docs/api-contract.md §3.9): the same operations the REST API offers,
for code that runs beside the app (management commands, campaigns, tests)::

    from journeys import operations

    run = operations.execute(plan, {"contact": {"id": "contact_123"}})      # run.status == "active"
    operations.list_runs({"status": "active"}, tenant=tenant)               # {"runs": [...], "total": n}
    operations.list_runs({"contactId": "contact_123"}, tenant=tenant)
    operations.pause_run(run.id, tenant=tenant); operations.resume_run(run.id, tenant=tenant)
    operations.cancel_run(run.id, "Contact requested removal", tenant=tenant)  # reason in the audit log
    operations.bulk_execute(plan, contacts)  # {"created", "skipped", "errors", "skippedDetails"}
    operations.bulk_cancel({"planId": plan.id, "status": "active"}, "Plan deprecated", tenant=tenant)

Filters take the names of docs/api-contract.md §3.4 (status as one or a list, planId, contactId, startedAfter,
startedBefore, limit, offset) or their snake_case twins. Invalid transitions raise
``kaireon.errors.Conflict`` (409, with ``current_status``). ``actor`` (a Principal, None for
the system) is who the audit log names.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from journeys import selectors, services
from journeys.models import ExecutionRun, Plan
from journeys.services.enrolment import Contact
from kaireon.listcounts import exact_total
from kaireon.models import Tenant
from kaireon.principal import Principal

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000

_SNAKE = {
    "planId": "plan_id",
    "contactId": "contact_id",
    "startedAfter": "started_after",
    "startedBefore": "started_before",
}


def _filters(filters: Mapping[str, Any] | None) -> dict[str, Any]:
    return {_SNAKE.get(key, key): value for key, value in (filters or {}).items()}


def execute(
    plan: Plan, contact: Contact, variables: Mapping[str, Any] | None = None, *, actor: Principal | None = None
) -> ExecutionRun:
    """Start a run of ``plan``'s published version for one contact (a Customer, an externalId,
    or ``{"contact": {"id": externalId, …}}``); it is ``active`` and due at the next tick."""
    if isinstance(contact, Mapping) and variables is None and isinstance(contact.get("variables"), Mapping):
        variables = contact["variables"]
    return services.execution_run_execute(
        tenant=plan.tenant, actor=actor, plan=plan, contact=contact, variables=variables
    )


def list_runs(filters: Mapping[str, Any] | None = None, *, tenant: Tenant) -> dict[str, Any]:
    """``{"runs": [ExecutionRun…], "total": n}``: newest first, ``limit`` (default 50, at most
    1,000) from ``offset``."""
    options = _filters(filters)
    limit = min(max(int(options.pop("limit", DEFAULT_LIMIT) or DEFAULT_LIMIT), 1), MAX_LIMIT)
    offset = max(int(options.pop("offset", 0) or 0), 0)
    queryset = selectors.runs_matching(tenant=tenant, filters=options)
    return {"runs": list(queryset[offset : offset + limit]), "total": exact_total(queryset)}


def pause_run(run_id: uuid.UUID | str, *, tenant: Tenant, actor: Principal | None = None) -> ExecutionRun:
    return services.execution_run_pause(tenant=tenant, actor=actor, run=run_id)


def resume_run(run_id: uuid.UUID | str, *, tenant: Tenant, actor: Principal | None = None) -> ExecutionRun:
    return services.execution_run_resume(tenant=tenant, actor=actor, run=run_id)


def cancel_run(
    run_id: uuid.UUID | str, reason: str = "", *, tenant: Tenant, actor: Principal | None = None
) -> ExecutionRun:
    return services.execution_run_cancel(tenant=tenant, actor=actor, run=run_id, reason=reason)


def bulk_execute(
    plan: Plan,
    contacts: Iterable[Contact],
    variables: Mapping[str, Any] | None = None,
    batch_size: int = 100,
    *,
    actor: Principal | None = None,
) -> dict[str, Any]:
    """Enrol many contacts; ``{"created", "skipped", "errors", "skippedDetails": [{"contactId",
    "reason"}], "errorDetails": [...]}``: skipped already_enrolled or suppressed, errors
    unknown_contact or write_failed."""
    result = services.execution_run_bulk_execute(
        tenant=plan.tenant, actor=actor, plan=plan, contacts=contacts, variables=variables, batch_size=batch_size
    )
    return {
        "created": result["created"],
        "skipped": result["skipped"],
        "errors": result["errors"],
        "skippedDetails": [{"contactId": d["contact_id"], "reason": d["reason"]} for d in result["skipped_details"]],
        "errorDetails": [{"contactId": d["contact_id"], "reason": d["reason"]} for d in result["error_details"]],
    }


def bulk_cancel(filters: Mapping[str, Any], reason: str = "", *, tenant: Tenant, actor: Principal | None = None) -> int:
    """Cancel every live run matching ``filters``; returns how many were cancelled."""
    return services.runs_bulk_cancel(tenant=tenant, actor=actor, filters=_filters(filters), reason=reason)
