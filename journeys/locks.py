"""Row locks on journeys and their runs (the policy: ``kaireon.locks``).

Order: the plan, then its runs in pk order, the tenant's audit chain last. The plan row
serialises publishing, editing and enrolling (triggers of one journey queue on it); a run row is
held by whoever moves it (a tick's claim, a service), so its events are appended one at a time.
"""

from __future__ import annotations

from django.db.models import QuerySet

from journeys.models import ExecutionRun, Plan
from kaireon.locks import for_update, skip_locked


def plan_for_update() -> QuerySet[Plan]:
    """Plans locked while edited, published or enrolling runs."""
    return for_update(Plan.objects.all())


def run_for_update() -> QuerySet[ExecutionRun]:
    """Journey runs locked while their state changes (cancel, pause, resume); several in pk order."""
    return for_update(ExecutionRun.objects.all())


def runs_to_claim() -> QuerySet[ExecutionRun]:
    """Journey runs as a tick's work queue: the runs another worker holds are skipped."""
    return skip_locked(ExecutionRun.objects.all())
