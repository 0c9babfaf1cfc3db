"""Reads: run lists and their filters, the plan-validation catalogue, the clock, public ids."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import QuerySet

from decisionflows.models import Channel, Creative, DecisionFlow, Offer
from journeys.models import (
    DUE_STATUSES,
    ExecutionRun,
    ExecutionRunStatus,
    JourneyClock,
    Plan,
    PlanVersion,
    RunEvent,
)
from journeys.plans import Catalogue
from journeys.uuids import name_uuid
from kaireon.errors import ValidationError
from kaireon.models import Tenant
from segments.selectors import customer_field_specs

# profileId of the public API: uuid5 in this namespace of "<tenant id>:<externalId>". Customers
# have bigint keys and no UUID of their own; this one is stable, needs no column, and differs
# between tenants for the same externalId.
PROFILE_NAMESPACE = uuid.UUID("6f1d3c1e-2a51-5c1b-9b59-6b6a6f75726e")

# DESIGN 9: seed 002's statuses as seed 004's public endpoint shows them.
PUBLIC_STATUS: dict[str, str] = {
    ExecutionRunStatus.PENDING: "queued",
    ExecutionRunStatus.ACTIVE: "running",
    ExecutionRunStatus.WAITING: "running",
    ExecutionRunStatus.PAUSED: "running",
    ExecutionRunStatus.COMPLETED: "completed",
    ExecutionRunStatus.FAILED: "failed",
    ExecutionRunStatus.CANCELLED: "exited",
}


def profile_uuid(tenant_id: str, external_id: str) -> uuid.UUID:
    return uuid.UUID(profile_text(tenant_id, external_id))


def profile_text(tenant_id: str, external_id: str) -> str:
    """The profileId as text (bulk enrolment makes 10^5 of them)."""
    return name_uuid(PROFILE_NAMESPACE, f"{tenant_id}:{external_id}")


def clock_tick() -> int:
    """The current tick (0 before the first)."""
    tick = JourneyClock.objects.filter(pk=1).values_list("tick", flat=True).first()
    return int(tick or 0)


def plan_catalogue(*, tenant: Tenant) -> Catalogue:
    """What a plan's steps may reference in this tenant."""
    return Catalogue(
        channels=frozenset(Channel.objects.filter(tenant=tenant).values_list("id", flat=True)),
        offers=frozenset(Offer.objects.filter(tenant=tenant).values_list("id", flat=True)),
        creatives={
            pk: (offer, channel)
            for pk, offer, channel in Creative.objects.filter(tenant=tenant).values_list("id", "offer_id", "channel_id")
        },
        flows=frozenset(DecisionFlow.objects.filter(tenant=tenant).values_list("id", flat=True)),
        customer_fields=customer_field_specs(tenant=tenant),
    )


def plan_version(*, plan: Plan, number: int) -> PlanVersion | None:
    return PlanVersion.objects.filter(plan=plan, number=number).first()


def plan_versions(*, plan: Plan) -> QuerySet[PlanVersion]:
    return PlanVersion.objects.filter(plan=plan).order_by("-number")


def plan_draft(*, plan: Plan) -> PlanVersion:
    """The plan's newest version (a draft unless it has just been published)."""
    return PlanVersion.objects.get(plan=plan, number=plan.latest_version)


def parse_statuses(value: Any) -> list[str]:
    """Statuses from one value, a list, or comma-separated text; 400 for an unknown one."""
    items: Iterable[Any] = [value] if isinstance(value, str) else (value or [])
    out = [part.strip() for item in items for part in str(item).split(",") if part.strip()]
    unknown = sorted(set(out) - set(ExecutionRunStatus.values))
    if unknown:
        raise ValidationError(
            {"status": f"unknown status {', '.join(unknown)}; use {', '.join(ExecutionRunStatus.values)}"}
        )
    return out


def runs_matching(*, tenant: Tenant, filters: Mapping[str, Any] | None = None) -> QuerySet[ExecutionRun]:
    """A tenant's runs matching seed 002's filters: ``status`` (one or many, also comma-separated),
    ``plan_id``, ``contact_id`` (externalId), ``started_after`` (≥), ``started_before`` (<);
    newest first."""
    filters = filters or {}
    queryset = ExecutionRun.objects.filter(tenant=tenant)
    if filters.get("status"):
        queryset = queryset.filter(status__in=parse_statuses(filters["status"]))
    if filters.get("plan_id"):
        queryset = queryset.filter(plan_id=filters["plan_id"])
    if filters.get("contact_id"):
        queryset = queryset.filter(contact_id=filters["contact_id"])
    for key, lookup in (("started_after", "started_at__gte"), ("started_before", "started_at__lt")):
        value = filters.get(key)
        if value is not None:
            if not isinstance(value, dt.datetime):
                raise ValidationError({key: "expected a datetime"})
            queryset = queryset.filter(**{lookup: value})
    return queryset.order_by("-started_at", "-id")


def run_events(*, run: ExecutionRun) -> QuerySet[RunEvent]:
    return RunEvent.objects.filter(run=run).order_by("seq")


def due_count(*, tick: int) -> int:
    """Runs the tick ``tick`` has to process (served by the partial index journey_run_due)."""
    return ExecutionRun.objects.filter(status__in=sorted(DUE_STATUSES), wake_tick__lte=tick).count()
