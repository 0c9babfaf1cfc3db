"""The execution runs list with the filters of docs/api-contract.md §3.4, one run's fields and
event timeline, and its pause / resume / cancel through journeys.services."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from journeys import selectors, services
from journeys.forms import CancelRunForm, RunFilterForm
from journeys.models import DUE_STATUSES, LIVE_STATUSES, ExecutionRun, ExecutionRunStatus
from journeys.pages.shared import POLL_SECONDS, run_or_404, tick_seconds
from journeys.selectors import STATUS_ORDER
from journeys.templatetags.journeys_ui import describe, referenced_ids
from kaireon.errors import Conflict
from kaireon.models import Role
from kaireon.pages import STOP_POLLING, tenant_page
from kaireon.paging import page_context
from kaireon.principal import Principal

RUNS_PER_PAGE = 50
# The timeline shows this many events at most (a run looping through waits can log thousands;
# the API pages through all of them).
EVENTS_MAX = 500


@tenant_page()
@require_GET
def run_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    tenant = principal.tenant
    plans = selectors.plan_choices(tenant=tenant)
    form = RunFilterForm(request.GET, plans=plans)
    filters = form.filters()
    runs = selectors.runs_listed(tenant=tenant, filters=filters)
    plan = next((p for p in plans if p.pk == filters.get("plan_id")), None)
    context: dict[str, Any] = {
        **page_context(request, runs, RUNS_PER_PAGE, "runs"),
        "form": form,
        "filters_active": form.active,
        "selected_statuses": form.selected_statuses(),
        "statuses": STATUS_ORDER,
        "plan": plan,
    }
    return render(request, "journeys/runs.html", context)


def _run_context(principal: Principal, run: ExecutionRun, cancel_form: CancelRunForm | None = None) -> dict[str, Any]:
    events = selectors.run_events_first(run=run, limit=EVENTS_MAX + 1)
    step = None
    if run.current_step and run.version_id:
        step = next((s for s in run.version.steps or [] if s.get("id") == run.current_step), None)
    step_text = ""
    if step is not None:
        names = selectors.catalogue_names(tenant=principal.tenant, ids=referenced_ids([step]))
        step_text = describe(step, names, tick_seconds())
    live = run.status in LIVE_STATUSES
    return {
        "run": run,
        "events": events[:EVENTS_MAX],
        "events_truncated": len(events) > EVENTS_MAX,
        "events_max": EVENTS_MAX,
        "step_text": step_text,
        "live": live,
        "poll_seconds": POLL_SECONDS,
        "can_pause": principal.is_editor and run.status in DUE_STATUSES,
        "can_resume": principal.is_editor and run.status == ExecutionRunStatus.PAUSED,
        "can_cancel": principal.is_editor and live,
        "cancel_form": cancel_form or CancelRunForm(),
        "tick": selectors.clock_tick(),
    }


@tenant_page()
@require_GET
def run_detail(request: HttpRequest, principal: Principal, run_id: uuid.UUID) -> HttpResponse:
    run = run_or_404(principal, run_id)
    return render(request, "journeys/run_detail.html", _run_context(principal, run))


@tenant_page()
@require_GET
def run_live(request: HttpRequest, principal: Principal, run_id: uuid.UUID) -> HttpResponse:
    """The run page's live part (fields, actions, timeline); 286 once the run has finished."""
    run = run_or_404(principal, run_id)
    context = _run_context(principal, run)
    response = render(request, "journeys/_run_live_update.html", context)
    if not context["live"]:
        response.status_code = STOP_POLLING
    return response


def _run_action(request: HttpRequest, principal: Principal, run_id: uuid.UUID, verb: str) -> HttpResponse:
    run = run_or_404(principal, run_id)
    tenant = principal.tenant
    try:
        if verb == "pause":
            services.execution_run_pause(tenant=tenant, actor=principal, run=run)
            messages.success(request, "Run paused: the tick skips it until it is resumed.")
        elif verb == "resume":
            resumed = services.execution_run_resume(tenant=tenant, actor=principal, run=run)
            messages.success(request, f"Run resumed; it is {resumed.status} again.")
        else:
            form = CancelRunForm(request.POST)
            reason = form.cleaned_data["reason"] if form.is_valid() else ""
            services.execution_run_cancel(
                tenant=tenant, actor=principal, run=run, reason=reason or "cancelled in the web UI"
            )
            messages.success(request, "Run cancelled.")
    except Conflict as exc:
        messages.error(request, exc.message)
    return redirect("journeys:run", run_id=run.pk)


@tenant_page(Role.EDITOR)
@require_POST
def execution_run_pause(request: HttpRequest, principal: Principal, run_id: uuid.UUID) -> HttpResponse:
    return _run_action(request, principal, run_id, "pause")


@tenant_page(Role.EDITOR)
@require_POST
def execution_run_resume(request: HttpRequest, principal: Principal, run_id: uuid.UUID) -> HttpResponse:
    return _run_action(request, principal, run_id, "resume")


@tenant_page(Role.EDITOR)
@require_POST
def execution_run_cancel(request: HttpRequest, principal: Principal, run_id: uuid.UUID) -> HttpResponse:
    return _run_action(request, principal, run_id, "cancel")
