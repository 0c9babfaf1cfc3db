"""Web pages of the journeys app: the plans list, a plan's steps drawn in order with live counts,
its versions, create / edit / publish / delete, bulk enrol from a segment (with a dry-run
preview first) and bulk cancel; the execution runs list with seed 002's filters, one run's
fields and event timeline, pause / resume / cancel.

Thin, as runs/pages.py: reads through journeys.selectors (and grouped counts here), every change
through journeys.services; ``tenant_page`` refuses lesser roles (403) and another tenant's plan
or run is a 404."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import Count, ProtectedError, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from decisionflows.models import Channel, Creative, DecisionFlow, Offer
from journeys import selectors, services
from journeys.forms import (
    STEP_PATH,
    STEPS_EXAMPLE,
    BulkCancelForm,
    BulkEnrolForm,
    CancelRunForm,
    PlanForm,
    RunFilterForm,
    plan_form_initial,
)
from journeys.models import (
    DUE_STATUSES,
    LIVE_STATUSES,
    ExecutionRun,
    ExecutionRunStatus,
    Plan,
    PlanStatus,
    PlanVersion,
)
from journeys.templatetags.journeys_ui import describe, referenced_ids, step_views
from kaireon.errors import Conflict, DomainError, FieldError, ValidationError
from kaireon.models import Role, Tenant
from kaireon.pages import STOP_POLLING, tenant_page
from kaireon.pagination import query_int
from kaireon.paging import page_context
from kaireon.principal import Principal

app_name = "journeys"

PLANS_PER_PAGE = 50
RUNS_PER_PAGE = 50
# The timeline shows this many events at most (a run looping through waits can log thousands;
# the API pages through all of them).
EVENTS_MAX = 500
# Live counts refresh this often: a grouped count over the plan's runs (index journey_run_plan_started).
POLL_SECONDS = 3
# Bulk enrolment writes this many runs per COPY / executemany (the API's default is 100, which
# makes a 100,000-contact segment 1,000 round trips).
ENROL_BATCH_SIZE = 1000
STATUS_ORDER = [s.value for s in ExecutionRunStatus]
LIVE_ORDER = [s for s in STATUS_ORDER if s in LIVE_STATUSES]


# --- lookups -------------------------------------------------------------------------------


def _plan_or_404(principal: Principal, plan_id: str) -> Plan:
    return get_object_or_404(Plan.objects.filter(tenant=principal.tenant), pk=plan_id)


def _run_or_404(principal: Principal, run_id: uuid.UUID) -> ExecutionRun:
    runs = selectors.runs_matching(tenant=principal.tenant).select_related("plan", "version")
    return get_object_or_404(runs, pk=run_id)


def _catalogue_names(tenant: Tenant, ids: set[str]) -> dict[str, str]:
    """Names of the offers, channels, creatives and flows among ``ids`` (a query per kind named)."""
    names: dict[str, str] = {}
    kinds: tuple[tuple[Any, str], ...] = ((Offer, "off_"), (Channel, "ch_"), (Creative, "cr_"), (DecisionFlow, "df_"))
    for model, prefix in kinds:
        wanted = sorted(i for i in ids if i.startswith(prefix))
        if wanted:
            names.update(model.objects.filter(tenant=tenant, pk__in=wanted).values_list("id", "name"))
    return names


def _status_counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(STATUS_ORDER, 0)
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + row["n"]
    return counts


def _tick_seconds() -> float:
    return float(settings.JOURNEYS_TICK_SECONDS)


# --- plans list ----------------------------------------------------------------------------


def _list_rows(tenant: Tenant, plans: list[Plan]) -> bool:
    """Decorate each plan with ``step_count`` (of the version runs use, else the draft) and
    ``run_counts`` (status → runs): one query each for the whole page. True when a run is live."""
    if not plans:
        return False
    shown = Q()
    for plan in plans:
        shown |= Q(plan_id=plan.pk, number=plan.published_version or plan.latest_version)
    steps = dict(PlanVersion.objects.filter(shown).values_list("plan_id", "steps"))
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for row in (
        ExecutionRun.objects.filter(tenant=tenant, plan_id__in=[p.pk for p in plans])
        .values("plan_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        grouped.setdefault(row["plan_id"], []).append(row)
    any_live = False
    for plan in plans:
        counts = _status_counts(grouped.get(plan.pk, []))
        plan.step_count = len(steps.get(plan.pk) or [])  # type: ignore[attr-defined]
        plan.run_counts = counts  # type: ignore[attr-defined]
        plan.live_runs = sum(counts[s] for s in LIVE_ORDER)  # type: ignore[attr-defined]
        plan.total_runs = sum(counts.values())  # type: ignore[attr-defined]
        any_live = any_live or plan.live_runs > 0  # type: ignore[attr-defined]
    return any_live


@tenant_page()
@require_GET
def plan_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    q = str(request.GET.get("q") or "").strip()[:200]
    plans = Plan.objects.filter(tenant=principal.tenant).order_by("-created_at", "-id")
    if q:
        plans = plans.filter(name__icontains=q)
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
    runs = ExecutionRun.objects.filter(tenant=tenant, plan=plan)
    status_counts = _status_counts(runs.values("status").annotate(n=Count("id")).order_by())
    per_step: dict[str, dict[str, int]] = {}
    for row in (
        runs.filter(plan_version=version.number, status__in=LIVE_ORDER)
        .values("current_step", "status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        per_step.setdefault(row["current_step"] or "", {})[row["status"]] = row["n"]
    names = _catalogue_names(tenant, referenced_ids(version.steps or []))
    steps = step_views(
        list(version.steps or []), names=names, tick_seconds=_tick_seconds(), counts=per_step, errors=errors
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


def _detail_context(
    request: HttpRequest,
    principal: Principal,
    plan: Plan,
    *,
    number: int | None = None,
    publish_errors: list[FieldError] | None = None,
    enrol_form: BulkEnrolForm | None = None,
    cancel_form: BulkCancelForm | None = None,
) -> dict[str, Any]:
    versions = list(
        selectors.plan_versions(plan=plan).only(
            "id", "plan_id", "number", "published_at", "published_by", "created_at", "steps"
        )
    )
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
    plan = _plan_or_404(principal, plan_id)
    return render(request, "journeys/detail.html", _detail_context(request, principal, plan))


@tenant_page()
@require_GET
def plan_live(request: HttpRequest, principal: Principal, plan_id: str) -> HttpResponse:
    """The detail page's live part (status counts, steps with their live runs); 286 stops the
    polling once no run of the plan is live."""
    plan = _plan_or_404(principal, plan_id)
    number = _version_number(request, plan)
    version = selectors.plan_version(plan=plan, number=number) or selectors.plan_draft(plan=plan)
    context = _live_context(principal.tenant, plan, version)
    response = render(request, "journeys/_plan_live.html", context)
    if not context["live_runs"]:
        response.status_code = STOP_POLLING
    return response


# --- create, edit, publish, delete ---------------------------------------------------------

DRAFT_PROBLEMS_SHOWN = 3
MAX_VERSION = 10**9  # a version number from the query string stays inside an integer column


def _save_plan(request: HttpRequest, principal: Principal, form: PlanForm, plan: Plan | None) -> Plan | None:
    """Create or update, then publish when asked, all in one transaction: a publish that fails
    undoes the save, and its errors (each naming its step) go beside the steps."""
    tenant = principal.tenant
    publish = request.POST.get("action") == "publish"
    try:
        with transaction.atomic():
            if plan is None:
                saved = services.plan_create(tenant=tenant, actor=principal, data=form.service_data())
            else:
                saved = services.plan_update(tenant=tenant, actor=principal, instance=plan, data=form.service_data())
            version = services.plan_publish(tenant=tenant, actor=principal, plan=saved) if publish else None
    except DomainError as exc:
        form.add_service_error(exc)
        return None
    if version is not None:
        messages.success(request, f"Journey “{saved.name}” saved and version {version.number} published.")
    elif plan is None:
        messages.success(request, f"Journey “{saved.name}” created as a draft. Publish it to start enrolling contacts.")
    elif saved.published_version is not None and saved.latest_version != saved.published_version:
        messages.success(
            request,
            f"Saved as draft version {saved.latest_version}; runs stay on version {saved.published_version} "
            "until you publish it.",
        )
    else:
        messages.success(request, f"Journey “{saved.name}” saved.")
    if version is None and (problems := services.plan_draft_problems(tenant=tenant, plan=saved)):
        shown = "; ".join(problems[:DRAFT_PROBLEMS_SHOWN]) + ("; …" if len(problems) > DRAFT_PROBLEMS_SHOWN else "")
        messages.warning(request, f"Saved, but it cannot be published yet: {shown}.")
    return saved


def _reference(tenant: Tenant) -> dict[str, Any]:
    """The ids a plan's steps may use, shown beside the editor."""
    return {
        "channels": list(Channel.objects.filter(tenant=tenant).order_by("name").values("id", "name")),
        "offers": list(Offer.objects.filter(tenant=tenant).order_by("name").values("id", "name")),
        "flows": list(DecisionFlow.objects.filter(tenant=tenant).order_by("name").values("id", "name")),
        "steps_example": STEPS_EXAMPLE,
        "tick_seconds": _tick_seconds(),
    }


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def plan_new(request: HttpRequest, principal: Principal) -> HttpResponse:
    if request.method == "POST":
        form = PlanForm(request.POST)
        if form.is_valid():
            saved = _save_plan(request, principal, form, None)
            if saved is not None:
                return redirect("journeys:detail", plan_id=saved.pk)
    else:
        form = PlanForm(initial={"steps": STEPS_EXAMPLE})
    return render(request, "journeys/form.html", {"form": form, "plan": None, **_reference(principal.tenant)})


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, principal: Principal, plan_id: str) -> HttpResponse:
    plan = _plan_or_404(principal, plan_id)
    if request.method == "POST":
        form = PlanForm(request.POST, plan=plan)
        if form.is_valid():
            saved = _save_plan(request, principal, form, plan)
            if saved is not None:
                return redirect("journeys:detail", plan_id=saved.pk)
    else:
        form = PlanForm(plan=plan, initial=plan_form_initial(plan, selectors.plan_draft(plan=plan).steps))
    context = {"form": form, "plan": plan, **_reference(principal.tenant)}
    return render(request, "journeys/form.html", context)


@tenant_page(Role.EDITOR)
@require_POST
def plan_publish(request: HttpRequest, principal: Principal, plan_id: str) -> HttpResponse:
    plan = _plan_or_404(principal, plan_id)
    try:
        version = services.plan_publish(tenant=principal.tenant, actor=principal, plan=plan)
    except ValidationError as exc:
        context = _detail_context(request, principal, plan, number=plan.latest_version, publish_errors=exc.errors)
        return render(request, "journeys/detail.html", context)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"Version {version.number} published; new runs use it, runs already going stay on theirs."
        )
    return redirect("journeys:detail", plan_id=plan.pk)


@tenant_page(Role.ADMIN)
@require_POST
def plan_delete(request: HttpRequest, principal: Principal, plan_id: str) -> HttpResponse:
    plan = _plan_or_404(principal, plan_id)
    try:
        services.plan_delete(tenant=principal.tenant, actor=principal, instance=plan)
    except ProtectedError:
        messages.error(
            request, f"Journey “{plan.name}” has execution runs, which keep it: archive it instead (Edit, then Status)."
        )
        return redirect("journeys:detail", plan_id=plan.pk)
    messages.success(request, f"Journey “{plan.name}” and its versions were deleted.")
    return redirect("journeys:list")


# --- bulk enrol and cancel -----------------------------------------------------------------


def plan_url(plan: Plan) -> str:
    return reverse("journeys:detail", kwargs={"plan_id": plan.pk})


def _preview(result: Mapping[str, Any]) -> dict[str, Any]:
    """execution_run_bulk_execute's answer for the page: exact skipped and error counts by reason (the
    API's skippedByReason and errorsByReason), a few examples. A segment's contacts all exist, so
    errors are only batches that could not be written: the enrol message says so, the preview
    (a dry run, nothing written) never has any."""
    details = result.get("skipped_details") or []
    by_reason: dict[str, int] = result["skipped_by_reason"]
    errors_by_reason: dict[str, int] = result["errors_by_reason"]
    return {
        "created": result["created"],
        "skipped": result["skipped"],
        "errors": result["errors"],
        "by_reason": sorted(by_reason.items(), key=lambda item: (-item[1], item[0])),
        "errors_by_reason": sorted(errors_by_reason.items(), key=lambda item: (-item[1], item[0])),
        "examples": details[:10],
    }


def _reason_text(by_reason: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{count:,} {reason.replace('_', ' ')}" for reason, count in by_reason)


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def plan_enrol(request: HttpRequest, principal: Principal, plan_id: str) -> HttpResponse:
    """Bulk enrol a segment: "preview" counts with a dry run, "enrol" commits. htmx swaps the
    panel in place; without script the same panel comes as a page of its own."""
    plan = _plan_or_404(principal, plan_id)
    tenant = principal.tenant
    form = BulkEnrolForm(request.POST or None, tenant=tenant)
    preview: dict[str, Any] | None = None
    commit = request.POST.get("action") == "enrol"
    if request.method == "POST" and form.is_valid():
        try:
            result = services.execution_run_bulk_execute(
                tenant=tenant,
                actor=principal,
                plan=plan,
                segment=form.cleaned_data["segment"],
                variables=form.cleaned_data["variables"],
                batch_size=ENROL_BATCH_SIZE,
                dry_run=not commit,
            )
        except Conflict as exc:
            form.add_error(None, exc.message)
        except DomainError as exc:
            form.add_service_error(exc)
        else:
            preview = _preview(result)
            if commit:
                text = (
                    f"Enrolled {preview['created']:,} contact{'s' if preview['created'] != 1 else ''} in “{plan.name}”."
                )
                if preview["skipped"]:
                    text += f" {preview['skipped']:,} skipped ({_reason_text(preview['by_reason'])})."
                if preview["errors"]:
                    text += (
                        f" {preview['errors']:,} could not be enrolled ({_reason_text(preview['errors_by_reason'])})."
                    )
                messages.success(request, text)
                if request.htmx:  # type: ignore[attr-defined]
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = plan_url(plan)
                    return response
                return redirect("journeys:detail", plan_id=plan.pk)
    context = {"plan": plan, "enrol_form": form, "preview": preview, "can_enrol": plan.executable}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "journeys/_enrol_panel.html", context)
    return render(request, "journeys/enrol.html", context)


@tenant_page(Role.EDITOR)
@require_POST
def plan_cancel_runs(request: HttpRequest, principal: Principal, plan_id: str) -> HttpResponse:
    """Cancel every live run of the plan, with a reason (seed 002 bulkCancel by planId)."""
    plan = _plan_or_404(principal, plan_id)
    form = BulkCancelForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request, principal, plan, cancel_form=form)
        return render(request, "journeys/detail.html", context)
    count = services.runs_bulk_cancel(
        tenant=principal.tenant,
        actor=principal,
        filters={"plan_id": plan.pk, "status": LIVE_ORDER},
        reason=form.cleaned_data["reason"],
    )
    messages.success(request, f"Cancelled {count:,} run{'s' if count != 1 else ''} of “{plan.name}”.")
    return redirect("journeys:detail", plan_id=plan.pk)


# --- runs ----------------------------------------------------------------------------------


@tenant_page()
@require_GET
def run_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    tenant = principal.tenant
    plans = list(Plan.objects.filter(tenant=tenant).order_by("name").only("id", "name"))
    form = RunFilterForm(request.GET, plans=plans)
    filters = form.filters()
    runs = selectors.runs_matching(tenant=tenant, filters=filters).select_related("plan")
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
    events = list(selectors.run_events(run=run)[: EVENTS_MAX + 1])
    step = None
    if run.current_step and run.version_id:
        step = next((s for s in run.version.steps or [] if s.get("id") == run.current_step), None)
    step_text = ""
    if step is not None:
        names = _catalogue_names(principal.tenant, referenced_ids([step]))
        step_text = describe(step, names, _tick_seconds())
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
    run = _run_or_404(principal, run_id)
    return render(request, "journeys/run_detail.html", _run_context(principal, run))


@tenant_page()
@require_GET
def run_live(request: HttpRequest, principal: Principal, run_id: uuid.UUID) -> HttpResponse:
    """The run page's live part (fields, actions, timeline); 286 once the run has finished."""
    run = _run_or_404(principal, run_id)
    context = _run_context(principal, run)
    response = render(request, "journeys/_run_live_update.html", context)
    if not context["live"]:
        response.status_code = STOP_POLLING
    return response


def _run_action(request: HttpRequest, principal: Principal, run_id: uuid.UUID, verb: str) -> HttpResponse:
    run = _run_or_404(principal, run_id)
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


urlpatterns = [
    path("journeys/", plan_list, name="list"),
    path("journeys/new/", plan_new, name="new"),
    path("journeys/runs/", run_list, name="runs"),
    path("journeys/runs/<uuid:run_id>/", run_detail, name="run"),
    path("journeys/runs/<uuid:run_id>/live/", run_live, name="run-live"),
    path("journeys/runs/<uuid:run_id>/pause/", execution_run_pause, name="run-pause"),
    path("journeys/runs/<uuid:run_id>/resume/", execution_run_resume, name="run-resume"),
    path("journeys/runs/<uuid:run_id>/cancel/", execution_run_cancel, name="run-cancel"),
    path("journeys/<str:plan_id>/", plan_detail, name="detail"),
    path("journeys/<str:plan_id>/live/", plan_live, name="live"),
    path("journeys/<str:plan_id>/edit/", plan_edit, name="edit"),
    path("journeys/<str:plan_id>/publish/", plan_publish, name="publish"),
    path("journeys/<str:plan_id>/delete/", plan_delete, name="delete"),
    path("journeys/<str:plan_id>/enrol/", plan_enrol, name="enrol"),
    path("journeys/<str:plan_id>/cancel-runs/", plan_cancel_runs, name="cancel-runs"),
]
