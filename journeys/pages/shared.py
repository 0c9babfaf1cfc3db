"""What the journeys pages share: how often they poll, the tick's length, a plan or run of the
principal's tenant (another tenant's is a 404)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.shortcuts import get_object_or_404

from journeys import selectors
from journeys.models import ExecutionRun, Plan
from kaireon.principal import Principal

# Live counts refresh this often: a grouped count over the plan's runs (index journey_run_plan_started).
POLL_SECONDS = 3


def tick_seconds() -> float:
    return float(settings.JOURNEYS_TICK_SECONDS)


def plan_or_404(principal: Principal, plan_id: str) -> Plan:
    return get_object_or_404(selectors.plans_for(tenant=principal.tenant), pk=plan_id)


def run_or_404(principal: Principal, run_id: uuid.UUID) -> ExecutionRun:
    return get_object_or_404(selectors.runs_shown(tenant=principal.tenant), pk=run_id)
