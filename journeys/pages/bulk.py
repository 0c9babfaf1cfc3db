"""Bulk enrolment of a segment in a plan (with a dry-run preview first) and the bulk cancel of
its live runs, through journeys.services."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from journeys import services
from journeys.forms import BulkCancelForm, BulkEnrolForm
from journeys.models import Plan
from journeys.pages.plans import detail_context
from journeys.pages.shared import plan_or_404
from journeys.selectors import LIVE_ORDER
from kaireon.errors import Conflict, DomainError
from kaireon.models import Role
from kaireon.pages import tenant_page
from kaireon.principal import Principal

# Bulk enrolment writes this many runs per COPY / executemany (the API's default is 100, which
# makes a 100,000-contact segment 1,000 round trips).
ENROL_BATCH_SIZE = 1000


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
    plan = plan_or_404(principal, plan_id)
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
    """Cancel every live run of the plan, with a reason (bulk cancel by planId, docs/api-contract.md §3.8)."""
    plan = plan_or_404(principal, plan_id)
    form = BulkCancelForm(request.POST)
    if not form.is_valid():
        context = detail_context(request, principal, plan, cancel_form=form)
        return render(request, "journeys/detail.html", context)
    count = services.runs_bulk_cancel(
        tenant=principal.tenant,
        actor=principal,
        filters={"plan_id": plan.pk, "status": LIVE_ORDER},
        reason=form.cleaned_data["reason"],
    )
    messages.success(request, f"Cancelled {count:,} run{'s' if count != 1 else ''} of “{plan.name}”.")
    return redirect("journeys:detail", plan_id=plan.pk)
