"""The plans list, and a plan's page: its steps drawn in order with live counts, its versions,
the publish errors beside their steps."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from journeys import selectors
from journeys.forms import STEP_PATH, BulkCancelForm, BulkEnrolForm
from journeys.models import Plan, PlanStatus, PlanVersion
from journeys.pages.shared import POLL_SECONDS, plan_or_404, tick_seconds
from journeys.selectors import LIVE_ORDER
from journeys.templatetags.journeys_ui import referenced_ids, step_views
from kaireon.errors import FieldError
from kaireon.models import Tenant
from kaireon.pages import STOP_POLLING, tenant_page
from kaireon.paging import page_context, query_int
from kaireon.principal import Principal

PLANS_PER_PAGE = 50
MAX_VERSION = 10**9  # a version number from the query string stays inside an integer column


# --- plans list ----------------------------------------------------------------------------


def _list_rows(tenant: Tenant, plans: list[Plan]) -> bool:
    """Decorate each plan with ``step_count`` (of the version runs use, else the draft) and
    ``run_counts`` (status → runs): one query each for the whole page. True when a run is live."""
    if not plans:
        return False
    steps = selectors.plan_step_counts(plans=plans)
    run_counts = selectors.plans_run_counts(tenant=tenant, plans=plans)
    any_live = False
    for plan in plans:
        counts = run_counts[plan.pk]
        plan.step_count = steps[plan.pk]  # type: ignore[attr-defined]
        plan.run_counts = counts  # type: ignore[attr-defined]
        plan.live_runs = sum(counts[s] for s in LIVE_ORDER)  # type: ignore[attr-defined]
        plan.total_runs = sum(counts.values())  # type: ignore[attr-defined]
        any_live = any_live or plan.live_runs > 0  # type: ignore[attr-defined]
    return any_live


@tenant_page()
@require_GET
def plan_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    q = str(request.GET.get("q") or "").strip()[:200]
    plans = selectors.plans_listed(tenant=principal.tenant, q=q)
    context: dict[str, Any] = page_context(request, plans, PLANS_PER_PAGE, "plans")
    polling = _list_rows(principal.tenant, context["plans"])
    context |= {
        "q": q,
        "polling": polling,
        "poll_seconds": POLL_SECONDS,
        "can_create": principal.is_editor,
        "live_statuses": LIVE_ORDER,
    }
    if request.htmx:  # type: ignore[attr-defined]
        response = render(request, "journeys/_plan_table.html", context)
        if not polling:
            response.status_code = STOP_POLLING
        return response
    return render(request, "journeys/list.html", context)


# --- plan detail ---------------------------------------------------------------------------


def _version_number(request: HttpRequest, plan: Plan) -> int:
    number = query_int(str(request.GET.get("version") or ""))
    if number and number < MAX_VERSION:
        return number
    return plan.published_version or plan.latest_version


def _live_context(
    tenant: Tenant, plan: Plan, version: PlanVersion, *, errors: Iterable[tuple[int, str]] = ()
) -> dict[str, Any]:
    """Runs of the plan by status, live runs of ``version`` per step, and the steps drawn."""
    status_counts = selectors.plan_run_counts(tenant=tenant, plan=plan)
    per_step = selectors.plan_live_step_counts(tenant=tenant, plan=plan, number=version.number)
    names = selectors.catalogue_names(tenant=tenant, ids=referenced_ids(version.steps or []))
    steps = step_views(
        list(version.steps or []), names=names, tick_seconds=tick_seconds(), counts=per_step, errors=errors
    )
    live = sum(status_counts[s] for s in LIVE_ORDER)
    return {
        "plan": plan,
        "version": version,
        "steps": steps,
        "status_counts": status_counts,
        "live_runs": live,
        "total_runs": sum(status_counts.values()),
        "live_statuses": LIVE_ORDER,
        "poll_seconds": POLL_SECONDS,
    }


def detail_context(
    request: HttpRequest,
    principal: Principal,
    plan: Plan,
    *,
    number: int | None = None,
    publish_errors: list[FieldError] | None = None,
    enrol_form: BulkEnrolForm | None = None,
    cancel_form: BulkCancelForm | None = None,
) -> dict[str, Any]:
    """The plan's page: version ``number`` (else the one asked for, else the one runs use) and its
    publish errors, each beside its step when it names one."""
    versions = selectors.plan_versions_shown(plan=plan)
    wanted = number if number is not None else _version_number(request, plan)
    version = next((v for v in versions if v.number == wanted), None)
    if version is None:
        if number is None and request.GET.get("version"):
            raise Http404("No such version of this journey.")
        version = versions[0]
    located: list[tuple[int, str]] = []
    general: list[str] = []
    for error in publish_errors or []:
        match = STEP_PATH.match(error.path or "")
        if match:
            located.append((int(match["index"]), error.short or error.message))
        else:
            general.append(error.message)
    context = _live_context(principal.tenant, plan, version, errors=located)
    draft = versions[0] if not versions[0].is_published else None
    context.update(
        {
            "principal": principal,
            "versions": versions,
            "draft": draft,
            "publish_errors": [error.message for error in publish_errors or []],
            "publish_general_errors": general,
            "polling": context["live_runs"] > 0 and not publish_errors,
            "can_edit": principal.is_editor and plan.status != PlanStatus.ARCHIVED,
            "can_publish": principal.is_editor and draft is not None and plan.status != PlanStatus.ARCHIVED,
            "can_delete": principal.is_admin,
            "can_enrol": principal.is_editor and plan.executable,
            "can_bulk_cancel": principal.is_editor and context["live_runs"] > 0,
        }
    )
    if context["can_enrol"]:
        context["enrol_form"] = enrol_form or BulkEnrolForm(tenant=principal.tenant)
    if context["can_bulk_cancel"] or cancel_form is not None:
        context["cancel_form"] = cancel_form or BulkCancelForm()
    return context


@tenant_page()
@require_GET
def plan_detail(request: HttpRequest, principal: Principal, plan_id: str) -> HttpResponse:
    plan = plan_or_404(principal, plan_id)
    return render(request, "journeys/detail.html", detail_context(request, principal, plan))


@tenant_page()
@require_GET
def plan_live(request: HttpRequest, principal: Principal, plan_id: str) -> HttpResponse:
    """The detail page's live part (status counts, steps with their live runs); 286 stops the
    polling once no run of the plan is live."""
    plan = plan_or_404(principal, plan_id)
    number = _version_number(request, plan)
    version = selectors.plan_version(plan=plan, number=number) or selectors.plan_draft(plan=plan)
    context = _live_context(principal.tenant, plan, version)
    response = render(request, "journeys/_plan_live.html", context)
    if not context["live_runs"]:
        response.status_code = STOP_POLLING
    return response
