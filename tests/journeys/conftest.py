"""Journeys fixtures: the bank catalogue of tests/runs (channels, offers, creatives, a
suppression policy, the published "nba" flow, 60 customers of whom a few are suppressed), plans
built through the services, and a clock driven by hand."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from journeys import services
from journeys.models import ExecutionRun, Plan, RunEvent
from kaireon.models import Tenant
from kaireon.principal import Principal
from segments.models import Customer
from tests.pages import journeys_fixtures
from tests.runs.conftest import Catalogue, build_catalogue

STEP_ACTIONS = {"send", "send_blocked", "decide", "wait", "branch", "update", "end"}


@pytest.fixture
def catalogue(tenant: Tenant) -> Catalogue:
    return build_catalogue(tenant)


def make_plan(
    tenant: Tenant, steps: list[dict[str, Any]], *, key: str = "welcome", publish: bool = True, **fields: Any
) -> Plan:
    actor = Principal(tenant=tenant, role="admin")
    plan = services.plan_create(
        tenant=tenant, actor=actor, data={"key": key, "name": key.title(), "steps": steps, **fields}
    )
    if publish:
        services.plan_publish(tenant=tenant, actor=actor, plan=plan)
        plan.refresh_from_db()
    return plan


def advance(ticks: int = 1) -> int:
    """Move the clock ``ticks`` ticks, processing each tick's due runs here (no worker)."""
    tick = 0
    for _ in range(ticks):
        tick, _ = services.journeys_tick(dispatch=False)
        services.journeys_drain(tick=tick)
    return tick


def actions(run: ExecutionRun) -> list[str]:
    return list(RunEvent.objects.filter(run=run).order_by("seq").values_list("action", flat=True))


def step_events(run: ExecutionRun) -> list[tuple[str, str]]:
    """(step, action) of the run's step executions, in order."""
    rows = RunEvent.objects.filter(run=run, action__in=STEP_ACTIONS).order_by("seq").values_list("step", "action")
    return list(rows)


def reachable_customers(tenant: Tenant, count: int = 10) -> list[Customer]:
    """Customers no suppression policy stops."""
    return list(Customer.objects.filter(tenant=tenant, suppressed=False, unsubscribed=False).order_by("id")[:count])


def suppressed_customers(tenant: Tenant) -> list[Customer]:
    return list(Customer.objects.filter(tenant=tenant, suppressed=True).order_by("id"))


@pytest.fixture
def welcome_steps(catalogue: Catalogue) -> list[dict[str, Any]]:
    """send → wait 2 → branch on variables.tier → (update) → end; a blocked send ends as "stopped"."""
    return journeys_fixtures.welcome_steps(catalogue)


@pytest.fixture
def welcome(tenant: Tenant, welcome_steps: list[dict[str, Any]]) -> Plan:
    return make_plan(tenant, welcome_steps)


Factory = Callable[..., Plan]
__all__: Sequence[str] = [
    "Catalogue",
    "actions",
    "advance",
    "make_plan",
    "reachable_customers",
    "step_events",
    "suppressed_customers",
]
