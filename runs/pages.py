"""Web pages of runs: the list, the detail with its live progress and results, the new-run
form, cancel, delete and the downloads. Thin: reads go through runs.selectors, changes through
runs.services; ``tenant_page`` refuses what the role may not do (403) and scopes to the tenant
(another tenant's run is a 404)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from decisionflows.models import Channel, DecisionFlow
from kaireon.errors import Conflict, DomainError
from kaireon.models import Role
from kaireon.pages import STOP_POLLING, tenant_page
from kaireon.paging import page_context, query_int
from kaireon.principal import Principal
from kaireon.rules import parse_filter
from runs import selectors, services
from runs.forms import FILTER_EXAMPLE, RunCreateForm, RunFilters
from runs.models import ACTIVE_STATUSES, Run, RunStatus
from segments.models import Segment
from segments.selectors import segment_preview, validated_filters

RUNS_PER_PAGE = 50
CUSTOMERS_PER_PAGE = 20
# How often pages ask for fresh progress while a run goes: often enough to look live, cheap
# enough (one indexed row read) for many open tabs.
POLL_SECONDS = 1
LIST_POLL_SECONDS = 2

app_name = "runs"


def _run_or_404(principal: Principal, run_id: str) -> Run:
    return get_object_or_404(selectors.runs_for(tenant=principal.tenant), pk=run_id)


def _actions(principal: Principal, run: Run) -> dict[str, bool]:
    return {
        "can_create": principal.is_editor,
        "can_cancel": principal.is_editor and run.status in ACTIVE_STATUSES,
        "can_delete": principal.is_admin and run.is_finished,
        "can_download": bool(run.summary),
    }


def _int_param(value: Any) -> int:
    """A keyset cursor from the query string: a non-negative bigint, anything else is 0."""
    return query_int(str(value or "")) or 0


def _customers_context(request: HttpRequest, run: Run) -> dict[str, Any]:
    external_id = request.GET.get("customer", "").strip()[:128]
    after = _int_param(request.GET.get("after"))
    customers, next_cursor = selectors.run_customers_page(
        run, after=after, limit=CUSTOMERS_PER_PAGE, external_id=external_id or None
    )
    return {"customers": customers, "next_cursor": next_cursor, "customer_query": external_id, "after": after}


def _results(run: Run) -> dict[str, Any]:
    """runs.selectors.run_results plus what the charts need: the largest bar of each chart and
    the share of processed customers who got an offer."""
    results = selectors.run_results(run)
    results["offer_max"] = max((row["count"] for row in results["offer_breakdown"]), default=0)
    results["channel_max"] = max((row["count"] for row in results["channel_breakdown"]), default=0)
    processed = results.get("customers_processed") or 0
    reached = results.get("customers_with_recommendations") or 0
    results["with_recommendations_percent"] = round(100.0 * reached / processed, 1) if processed else 0.0
    return results


def _detail_context(request: HttpRequest, principal: Principal, run: Run) -> dict[str, Any]:
    context: dict[str, Any] = {"run": run, "principal": principal, "poll_seconds": POLL_SECONDS}
    context.update(_actions(principal, run))
    if run.is_finished and run.summary:
        context["results"] = _results(run)
        context.update(_customers_context(request, run))
    return context


# --- list ----------------------------------------------------------------------------------


@tenant_page()
@require_GET
def run_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    filters = RunFilters(request.GET)
    runs = filters.apply(selectors.runs_for(tenant=principal.tenant)).order_by("-created_at", "-id")
    context: dict[str, Any] = page_context(request, runs, RUNS_PER_PAGE, "runs")
    polling = any(run.status in ACTIVE_STATUSES for run in context["runs"])
    context |= {
        "filters": filters,
        "polling": polling,
        "poll_seconds": LIST_POLL_SECONDS,
        "can_create": principal.is_editor,
    }
    if request.htmx:  # type: ignore[attr-defined]
        response = render(request, "runs/_run_table.html", context)
        if not polling:
            response.status_code = STOP_POLLING
        return response
    tenant = principal.tenant
    context["statuses"] = RunStatus.choices
    context["flow_options"] = DecisionFlow.objects.filter(tenant=tenant).order_by("name").only("id", "name")
    context["segment_options"] = Segment.objects.filter(tenant=tenant).order_by("name").only("id", "name")
    return render(request, "runs/list.html", context)


# --- detail --------------------------------------------------------------------------------


@tenant_page()
@require_GET
def run_detail(request: HttpRequest, principal: Principal, run_id: str) -> HttpResponse:
    run = _run_or_404(principal, run_id)
    context = _detail_context(request, principal, run)
    context["channels"] = list(
        Channel.objects.filter(tenant=principal.tenant, pk__in=run.channel_ids or []).order_by("name")
    )
    return render(request, "runs/detail.html", context)


@tenant_page()
@require_GET
def run_progress(request: HttpRequest, principal: Principal, run_id: str) -> HttpResponse:
    """The live part of the detail page: the progress block, plus out-of-band updates of the
    status badge and the actions; once the run has finished, the results, and polling stops."""
    run = _run_or_404(principal, run_id)
    response = render(request, "runs/_progress_update.html", _detail_context(request, principal, run))
    if run.is_finished:
        response.status_code = STOP_POLLING
    return response


@tenant_page()
@require_GET
def run_customers(request: HttpRequest, principal: Principal, run_id: str) -> HttpResponse:
    """Per-customer results, one keyset page, searchable by the customer's externalId."""
    run = _run_or_404(principal, run_id)
    return render(request, "runs/_customers.html", {"run": run, **_customers_context(request, run)})


@tenant_page()
@require_GET
def run_download(request: HttpRequest, principal: Principal, run_id: str, fmt: str) -> HttpResponseBase:
    """Every recommendation of the run, streamed as CSV or JSON Lines (runs.selectors.run_export)."""
    if fmt not in ("csv", "json"):
        raise Http404("Unknown format.")
    run = _run_or_404(principal, run_id)
    if run.is_discarded:
        messages.error(request, run.discarded_message)
        return redirect("runs:detail", run_id=run.pk)
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
    response = StreamingHttpResponse(selectors.run_export(run, fmt), content_type=content_type)
    stem = f"{slugify(run.name)[:60] or 'run'}-{run.pk}"
    response["Content-Disposition"] = f'attachment; filename="{stem}.{"csv" if fmt == "csv" else "jsonl"}"'
    return response


# --- changes -------------------------------------------------------------------------------


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def run_new(request: HttpRequest, principal: Principal) -> HttpResponse:
    tenant = principal.tenant
    if request.method == "POST":
        form = RunCreateForm(request.POST, tenant=tenant)
        if form.is_valid():
            try:
                run = services.run_create(tenant=tenant, actor=principal, **form.service_arguments())
            except (DomainError, DjangoValidationError) as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, f"Run “{run.name}” created; it starts as soon as a worker picks it up.")
                return redirect("runs:detail", run_id=run.pk)
    else:
        initial = {k: request.GET[k] for k in ("decision_flow", "segment") if request.GET.get(k)}
        form = RunCreateForm(initial=initial, tenant=tenant)
    return render(request, "runs/new.html", {"form": form, "filter_example": FILTER_EXAMPLE})


@tenant_page(Role.EDITOR)
@require_POST
def run_audience_count(request: HttpRequest, principal: Principal) -> HttpResponse:
    """The ad-hoc filter's live count on the new-run page (segments.selectors.segment_preview)."""
    raw = request.POST.get("filters", "").strip()
    context: dict[str, Any] = {}
    if not raw:
        context["hint"] = "Type a filter to see how many customers it selects."
    else:
        try:
            filters = validated_filters(tenant=principal.tenant, filters=parse_filter(raw))
            context["count"], _ = segment_preview(tenant=principal.tenant, filters=filters)
        except (DomainError, DjangoValidationError) as exc:  # the form's JSON, then the filter's rules
            context["errors"] = RunCreateForm.error_messages(exc)
    return render(request, "runs/_audience_count.html", context)


@tenant_page(Role.EDITOR)
@require_POST
def run_cancel(request: HttpRequest, principal: Principal, run_id: str) -> HttpResponse:
    run = _run_or_404(principal, run_id)
    try:
        services.run_cancel(tenant=principal.tenant, actor=principal, run=run, reason="cancelled in the web UI")
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Run “{run.name}” cancelled. Chunks not yet processed will not run.")
    return redirect("runs:detail", run_id=run.pk)


@tenant_page(Role.ADMIN)
@require_POST
def run_delete(request: HttpRequest, principal: Principal, run_id: str) -> HttpResponse:
    run = _run_or_404(principal, run_id)
    try:
        services.run_delete(tenant=principal.tenant, actor=principal, instance=run, reason="deleted in the web UI")
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("runs:detail", run_id=run.pk)
    messages.success(request, f"Run “{run.name}” and its results were deleted.")
    return redirect("runs:list")


urlpatterns = [
    path("runs/", run_list, name="list"),
    path("runs/new/", run_new, name="new"),
    path("runs/new/audience-count/", run_audience_count, name="audience-count"),
    path("runs/<str:run_id>/", run_detail, name="detail"),
    path("runs/<str:run_id>/progress/", run_progress, name="progress"),
    path("runs/<str:run_id>/customers/", run_customers, name="customers"),
    path("runs/<str:run_id>/export.<str:fmt>", run_download, name="export"),
    path("runs/<str:run_id>/cancel/", run_cancel, name="cancel"),
    path("runs/<str:run_id>/delete/", run_delete, name="delete"),
]
