"""A plan's create, edit, publish and delete: every change through journeys.services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import ProtectedError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from journeys import selectors, services
from journeys.forms import STEPS_EXAMPLE, PlanForm, plan_form_initial
from journeys.models import Plan
from journeys.pages.plans import detail_context
from journeys.pages.shared import plan_or_404, tick_seconds
from kaireon.errors import Conflict, DomainError, ValidationError
from kaireon.models import Role, Tenant
from kaireon.pages import tenant_page
from kaireon.principal import Principal

DRAFT_PROBLEMS_SHOWN = 3


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
        **selectors.catalogue_choices(tenant=tenant),
        "steps_example": STEPS_EXAMPLE,
        "tick_seconds": tick_seconds(),
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
    plan = plan_or_404(principal, plan_id)
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
    plan = plan_or_404(principal, plan_id)
    try:
        version = services.plan_publish(tenant=principal.tenant, actor=principal, plan=plan)
    except ValidationError as exc:
        context = detail_context(request, principal, plan, number=plan.latest_version, publish_errors=exc.errors)
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
    plan = plan_or_404(principal, plan_id)
    try:
        services.plan_delete(tenant=principal.tenant, actor=principal, instance=plan)
    except ProtectedError:
        messages.error(
            request, f"Journey “{plan.name}” has execution runs, which keep it: archive it instead (Edit, then Status)."
        )
        return redirect("journeys:detail", plan_id=plan.pk)
    messages.success(request, f"Journey “{plan.name}” and its versions were deleted.")
    return redirect("journeys:list")
