"""What journeys.stepping reads: published versions compiled for execution, and claimed runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from journeys import locks
from journeys.models import DUE_STATUSES, PlanVersion
from kaireon.rules import fields_used

RUN_FIELDS = (
    "status",
    "current_step",
    "visits",
    "steps_completed",
    "steps_remaining",
    "current_tick",
    "wake_tick",
    "completed_at",
    "outcome",
    "variables",
    "last_result",
    "error",
    "event_seq",
    "event_head",
    "updated_at",
)


@dataclass(frozen=True)
class CompiledPlan:
    """A published version as journeys.stepping reads it (published versions never change, so each
    process keeps them)."""

    steps: Mapping[str, Mapping[str, Any]]
    remaining: Mapping[str, int]
    # branch steps whose conditions read customer.* (the batch loads customers only for them)
    customer_branches: frozenset[str]


_PLANS: dict[str, CompiledPlan] = {}
# A run whose version is not a published one (cannot happen through the services) fails on its first step.
_NO_PLAN = CompiledPlan({}, {}, frozenset())


def compiled_plans(version_ids: set[str]) -> dict[str, CompiledPlan]:
    missing = version_ids - set(_PLANS)
    if missing:
        for version in PlanVersion.objects.filter(pk__in=missing, published_at__isnull=False):
            steps = {step["id"]: step for step in version.steps}
            branches = frozenset(
                step_id
                for step_id, step in steps.items()
                if step["type"] == "branch"
                and any(f.startswith("customer.") for c in step["conditions"] for f in fields_used(c["condition"]))
            )
            _PLANS[version.pk] = CompiledPlan(steps, version.remaining, branches)
    return {pk: _PLANS[pk] for pk in version_ids if pk in _PLANS}


@dataclass(slots=True)
class RunState:
    """A claimed run as the batch changes it: the columns it reads and writes, no model instance
    (1,000 of those cost more than the batch's SQL)."""

    pk: str  # the run's UUID as text: every row the batch writes names it
    tenant_id: str
    version_id: str
    customer_id: int
    status: str
    current_step: str | None
    visits: dict[str, int]
    steps_completed: int
    steps_remaining: int
    current_tick: int
    wake_tick: int | None
    completed_at: dt.datetime | None
    outcome: str | None
    variables: dict[str, Any]
    last_result: dict[str, Any]
    error: str
    event_seq: int
    event_head: str
    updated_at: dt.datetime


_LOADED = ("id", "tenant_id", "version_id", "customer_id", *RUN_FIELDS)


@dataclass
class Work:
    run: RunState
    plan: CompiledPlan
    events: list[tuple[Any, ...]] = field(default_factory=list)


def claim(*, tick: int, limit: int) -> list[RunState]:
    """Lock and return up to ``limit`` runs due at ``tick`` (call inside a transaction)."""
    queryset = (
        locks.runs_to_claim().filter(status__in=sorted(DUE_STATUSES), wake_tick__lte=tick).order_by("wake_tick", "id")
    )
    return [RunState(str(row[0]), *row[1:]) for row in queryset.values_list(*_LOADED)[:limit]]
