"""Reads: plans and their run counts, run lists and their filters, the plan-validation catalogue,
the catalogue's names for the pages, the clock, public ids."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db.models import Count, Q, QuerySet

from decisionflows.models import Channel, Creative, DecisionFlow, Offer
from journeys.models import (
    DUE_STATUSES,
    LIVE_STATUSES,
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

# DESIGN 9: the execution-run statuses as the public endpoint shows them (docs/api-contract.md §5.4).
PUBLIC_STATUS: dict[str, str] = {
    ExecutionRunStatus.PENDING: "queued",
    ExecutionRunStatus.ACTIVE: "running",
    ExecutionRunStatus.WAITING: "running",
    ExecutionRunStatus.PAUSED: "running",
    ExecutionRunStatus.COMPLETED: "completed",
    ExecutionRunStatus.FAILED: "failed",
    ExecutionRunStatus.CANCELLED: "exited",
}
# Statuses in the order pages show them, and the live ones among them.
STATUS_ORDER = [s.value for s in ExecutionRunStatus]
LIVE_ORDER = [s for s in STATUS_ORDER if s in LIVE_STATUSES]


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


def plans_for(*, tenant: Tenant) -> QuerySet[Plan]:
    return Plan.objects.filter(tenant=tenant)


def plans_listed(*, tenant: Tenant, q: str = "") -> QuerySet[Plan]:
    """The plans list: newest first, those whose name contains ``q``."""
    plans = Plan.objects.filter(tenant=tenant).order_by("-created_at", "-id")
    return plans.filter(name__icontains=q) if q else plans


def plan_choices(*, tenant: Tenant) -> list[Plan]:
    """Every plan's id and name, by name (a filter's choices)."""
    return list(Plan.objects.filter(tenant=tenant).order_by("name").only("id", "name"))


def plan_step_counts(*, plans: Sequence[Plan]) -> dict[str, int]:
    """plan id → steps of the version runs use (else the draft), in one query."""
    if not plans:
        return {}
    shown = Q()
    for plan in plans:
        shown |= Q(plan_id=plan.pk, number=plan.published_version or plan.latest_version)
    steps = dict(PlanVersion.objects.filter(shown).values_list("plan_id", "steps"))
    return {plan.pk: len(steps.get(plan.pk) or []) for plan in plans}


def _status_counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(STATUS_ORDER, 0)
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + row["n"]
    return counts


def plans_run_counts(*, tenant: Tenant, plans: Sequence[Plan]) -> dict[str, dict[str, int]]:
    """plan id → {status: runs} (every status, in STATUS_ORDER), in one grouped query."""
    if not plans:
        return {}
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for row in (
        ExecutionRun.objects.filter(tenant=tenant, plan_id__in=[p.pk for p in plans])
        .values("plan_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        grouped.setdefault(row["plan_id"], []).append(row)
    return {plan.pk: _status_counts(grouped.get(plan.pk, [])) for plan in plans}


def plan_run_counts(*, tenant: Tenant, plan: Plan) -> dict[str, int]:
    """{status: runs of the plan} (every status, in STATUS_ORDER): a grouped count served by the
    index journey_run_plan_started."""
    runs = ExecutionRun.objects.filter(tenant=tenant, plan=plan)
    return _status_counts(runs.values("status").annotate(n=Count("id")).order_by())


def plan_live_step_counts(*, tenant: Tenant, plan: Plan, number: int) -> dict[str, dict[str, int]]:
    """{step id ("" before the first): {live status: runs}} for the live runs of version ``number``."""
    per_step: dict[str, dict[str, int]] = {}
    for row in (
        ExecutionRun.objects.filter(tenant=tenant, plan=plan, plan_version=number, status__in=LIVE_ORDER)
        .values("current_step", "status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        per_step.setdefault(row["current_step"] or "", {})[row["status"]] = row["n"]
    return per_step


def catalogue_names(*, tenant: Tenant, ids: Iterable[str]) -> dict[str, str]:
    """Names of the offers, channels, creatives and flows among ``ids`` (a query per kind named)."""
    names: dict[str, str] = {}
    kinds: tuple[tuple[Any, str], ...] = ((Offer, "off_"), (Channel, "ch_"), (Creative, "cr_"), (DecisionFlow, "df_"))
    for model, prefix in kinds:
        wanted = sorted(i for i in ids if i.startswith(prefix))
        if wanted:
            names.update(model.objects.filter(tenant=tenant, pk__in=wanted).values_list("id", "name"))
    return names


def catalogue_choices(*, tenant: Tenant) -> dict[str, list[Mapping[str, object]]]:
    """The channels, offers and flows a plan's steps may use, by name: {"channels": [{id, name}]…}."""
    return {
        "channels": list(Channel.objects.filter(tenant=tenant).order_by("name").values("id", "name")),
        "offers": list(Offer.objects.filter(tenant=tenant).order_by("name").values("id", "name")),
        "flows": list(DecisionFlow.objects.filter(tenant=tenant).order_by("name").values("id", "name")),
    }


def plan_version(*, plan: Plan, number: int) -> PlanVersion | None:
    return PlanVersion.objects.filter(plan=plan, number=number).first()


def plan_versions(*, plan: Plan) -> QuerySet[PlanVersion]:
    return PlanVersion.objects.filter(plan=plan).order_by("-number")


def plan_versions_shown(*, plan: Plan) -> list[PlanVersion]:
    """The plan's versions, newest first, with what the detail page shows of them."""
    fields = ("id", "plan_id", "number", "published_at", "published_by", "created_at", "steps")
    return list(plan_versions(plan=plan).only(*fields))


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
    """A tenant's runs matching docs/api-contract.md §3.4's filters: ``status`` (one or many, also comma-separated),
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


def runs_listed(*, tenant: Tenant, filters: Mapping[str, Any] | None = None) -> QuerySet[ExecutionRun]:
    """``runs_matching`` with each run's plan, for the runs list."""
    return runs_matching(tenant=tenant, filters=filters).select_related("plan")


def runs_shown(*, tenant: Tenant) -> QuerySet[ExecutionRun]:
    """A tenant's runs with their plan and version, for a run's page."""
    return runs_matching(tenant=tenant).select_related("plan", "version")


def run_events(*, run: ExecutionRun) -> QuerySet[RunEvent]:
    return RunEvent.objects.filter(run=run).order_by("seq")


def run_events_first(*, run: ExecutionRun, limit: int) -> list[RunEvent]:
    """The run's first ``limit`` events in order."""
    return list(run_events(run=run)[:limit])


def due_count(*, tick: int) -> int:
    """Runs the tick ``tick`` has to process (served by the partial index journey_run_due)."""
    return ExecutionRun.objects.filter(status__in=sorted(DUE_STATUSES), wake_tick__lte=tick).count()
