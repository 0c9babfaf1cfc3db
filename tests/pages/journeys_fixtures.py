"""Helpers of the journey page tests: plans built through journeys.services on the bank catalogue
of tests/runs (channels, offers, the "nba" flow, 60 customers of whom a few are suppressed, the
segments "All customers" and "Gold tier"), and a clock driven by hand."""

from __future__ import annotations

from typing import Any

from journeys import services
from journeys.models import ExecutionRun, Plan
from kaireon.models import Role, Tenant
from kaireon.principal import Principal
from segments.models import Customer
from tests.runs.conftest import Catalogue


def admin(tenant: Tenant) -> Principal:
    return Principal(tenant=tenant, role=Role.ADMIN)


def welcome_steps(catalogue: Catalogue) -> list[dict[str, Any]]:
    """send → wait 2 ticks → branch on variables.tier → (update) → end; a blocked send ends as "stopped"."""
    return [
        {
            "id": "hello",
            "type": "send",
            "channelId": catalogue.email.pk,
            "offerId": catalogue.offers["loan"].pk,
            "next": "pause",
            "onBlocked": "stopped",
        },
        {"id": "pause", "type": "wait", "ticks": 2, "next": "check"},
        {
            "id": "check",
            "type": "branch",
            "conditions": [
                {"condition": {"field": "variables.tier", "operator": "eq", "value": "gold"}, "next": "vip"}
            ],
            "default": "done",
        },
        {"id": "vip", "type": "update", "set": {"vip": True}, "next": "done"},
        {"id": "done", "type": "end", "outcome": "finished"},
        {"id": "stopped", "type": "end", "outcome": "stopped"},
    ]


def make_plan(
    tenant: Tenant, steps: list[dict[str, Any]], *, key: str = "welcome", publish: bool = True, **fields: Any
) -> Plan:
    fields.setdefault("name", key.replace("-", " ").title())
    plan = services.plan_create(tenant=tenant, actor=admin(tenant), data={"key": key, "steps": steps, **fields})
    if publish:
        services.plan_publish(tenant=tenant, actor=admin(tenant), plan=plan)
    plan.refresh_from_db()
    return plan


def reachable(tenant: Tenant, count: int = 10) -> list[Customer]:
    """Customers no suppression stops, lowest ids first."""
    return list(Customer.objects.filter(tenant=tenant, suppressed=False, unsubscribed=False).order_by("id")[:count])


def enrol(plan: Plan, customers: list[Customer], **variables: Any) -> list[ExecutionRun]:
    tenant = plan.tenant
    return [
        services.execution_run_execute(tenant=tenant, actor=admin(tenant), plan=plan, contact=c, variables=variables)
        for c in customers
    ]


def advance(ticks: int = 1) -> int:
    """Move the clock ``ticks`` ticks, processing each tick's due runs here (no worker)."""
    tick = 0
    for _ in range(ticks):
        tick, _ = services.journeys_tick(dispatch=False)
        services.journeys_drain(tick=tick)
    return tick
