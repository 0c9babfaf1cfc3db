"""Contact policies: the list, create, edit and delete."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from decisionflows import selectors, services
from decisionflows.forms import ContactPolicyForm
from decisionflows.models import ContactPolicy
from decisionflows.pages.common import delete, posted, rows_page, save
from kaireon.models import Role
from kaireon.pages import tenant_page
from kaireon.principal import Principal


def _policy_or_404(principal: Principal, policy_id: str) -> ContactPolicy:
    return get_object_or_404(selectors.contact_policies_for(tenant=principal.tenant), pk=policy_id)


@tenant_page()
@require_GET
def policy_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    context = {
        "section": "policies",
        "can_create": principal.is_editor,
        "can_delete": principal.is_admin,
        **rows_page(request, selectors.contact_policy_list(tenant=principal.tenant)),
    }
    return render(request, "decisionflows/policy_list.html", context)


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def policy_create(request: HttpRequest, principal: Principal) -> HttpResponse:
    tenant = principal.tenant
    form = ContactPolicyForm(posted(request), tenant=tenant)
    if request.method == "POST":
        policy = save(form, lambda data: services.contact_policy_create(tenant=tenant, actor=principal, data=data))
        if policy is not None:
            messages.success(request, f"Contact policy “{policy.name}” created.")
            return redirect("decisionflows:policy-list")
    return render(request, "decisionflows/policy_form.html", {"section": "policies", "form": form, "policy": None})


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, principal: Principal, policy_id: str) -> HttpResponse:
    tenant = principal.tenant
    policy = _policy_or_404(principal, policy_id)
    if request.method == "POST":
        form = ContactPolicyForm(request.POST, tenant=tenant)
        saved = save(
            form,
            lambda data: services.contact_policy_update(tenant=tenant, actor=principal, instance=policy, data=data),
        )
        if saved is not None:
            messages.success(request, f"Contact policy “{saved.name}” saved.")
            return redirect("decisionflows:policy-list")
        policy.refresh_from_db()
    else:
        form = ContactPolicyForm(initial=ContactPolicyForm.initial_from(policy), tenant=tenant)
    context = {"section": "policies", "form": form, "policy": policy, "can_delete": principal.is_admin}
    return render(request, "decisionflows/policy_form.html", context)


@tenant_page(Role.ADMIN)
@require_POST
def policy_delete(request: HttpRequest, principal: Principal, policy_id: str) -> HttpResponse:
    policy = _policy_or_404(principal, policy_id)
    return delete(
        request,
        delete=lambda: services.contact_policy_delete(tenant=principal.tenant, actor=principal, instance=policy),
        what="contact policy",
        name=policy.name,
        done="decisionflows:policy-list",
        back="decisionflows:policy-list",
    )
