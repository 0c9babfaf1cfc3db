"""Decision flows: the list, the detail with its pipeline drawn node by node and its versions, a
published version, create, edit, publish and delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from decisionflows import selectors, services
from decisionflows.forms import DecisionFlowForm
from decisionflows.models import ActiveStatus, DecisionFlow, DecisionFlowVersion, FlowStatus
from decisionflows.pages.common import delete, rows_page, save
from decisionflows.pipeline import DEFAULT_WEIGHTS
from kaireon.errors import DomainError
from kaireon.models import Role, Tenant
from kaireon.pages import tenant_page
from kaireon.principal import Principal

FLOW_VERSIONS_SHOWN = 50


class FlowFilters:
    """The flow list's filters, read leniently from the query string."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.q = str(params.get("q") or "").strip()[:200]
        status = str(params.get("status") or "")
        self.status = status if status in FlowStatus.values else ""

    @property
    def active(self) -> bool:
        return bool(self.q or self.status)


def _flow_or_404(principal: Principal, flow_id: str) -> DecisionFlow:
    return get_object_or_404(selectors.flows_for(tenant=principal.tenant), pk=flow_id)


@tenant_page()
@require_GET
def flow_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    filters = FlowFilters(request.GET)
    context = {
        "section": "flows",
        "filters": filters,
        "statuses": FlowStatus.choices,
        "can_create": principal.is_editor,
        **rows_page(request, selectors.flow_list(tenant=principal.tenant, q=filters.q, status=filters.status)),
    }
    return render(request, "decisionflows/flow_list.html", context)


def _weights(node: Mapping[str, Any]) -> list[dict[str, Any]]:
    weights = node.get("weights") or DEFAULT_WEIGHTS
    return [
        {"name": name, "value": float(weights.get(name, 0)), "percent": round(100 * float(weights.get(name, 0)), 1)}
        for name in DEFAULT_WEIGHTS
    ]


def pipeline_cards(*, tenant: Tenant, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One card per node, in order, with the offers and contact policies it names looked up
    (``selectors.pipeline_objects``: two queries at most, whatever the pipeline's size)."""
    named = selectors.pipeline_objects(tenant=tenant, pipeline=pipeline)
    by_id = {policy.pk: policy for policy in named.policies}
    cards: list[dict[str, Any]] = []
    for index, node in enumerate(pipeline):
        node_type = node.get("type")
        card: dict[str, Any] = {"number": index + 1, "type": node_type, "node": node}
        if node_type == "inventory":
            card["offers"] = [{"id": oid, "offer": named.offers.get(oid)} for oid in node.get("offer_ids") or []]
        elif node_type == "contact_policy":
            policy_ids = node.get("policy_ids") or []
            card["every_policy"] = not policy_ids
            if policy_ids:
                card["policies"] = [{"id": pid, "policy": by_id.get(pid)} for pid in policy_ids]
            else:
                card["policies"] = [
                    {"id": p.pk, "policy": p} for p in named.policies if p.status == ActiveStatus.ACTIVE
                ]
        elif node_type == "score":
            card["weights"] = _weights(node)
        cards.append(card)
    return cards


@tenant_page()
@require_GET
def flow_detail(request: HttpRequest, principal: Principal, flow_id: str) -> HttpResponse:
    flow = _flow_or_404(principal, flow_id)
    versions = list(selectors.flow_versions(flow=flow)[:FLOW_VERSIONS_SHOWN])
    latest = versions[0] if versions else None
    context = {
        "section": "flows",
        "flow": flow,
        "cards": pipeline_cards(tenant=principal.tenant, pipeline=flow.pipeline or []),
        "versions": versions,
        "latest": latest,
        "unpublished_changes": bool(flow.pipeline) and (latest is None or latest.pipeline != flow.pipeline),
        "can_edit": principal.is_editor,
        "can_publish": principal.is_editor and flow.status != FlowStatus.ARCHIVED and bool(flow.pipeline),
        "can_run": principal.is_editor and flow.runnable,
        "can_delete": principal.is_admin,
    }
    return render(request, "decisionflows/flow_detail.html", context)


@tenant_page()
@require_GET
def flow_version(request: HttpRequest, principal: Principal, flow_id: str, number: int) -> HttpResponse:
    flow = _flow_or_404(principal, flow_id)
    version: DecisionFlowVersion = get_object_or_404(selectors.flow_versions(flow=flow), version=number)
    context = {
        "section": "flows",
        "flow": flow,
        "version": version,
        "cards": pipeline_cards(tenant=principal.tenant, pipeline=version.pipeline or []),
    }
    return render(request, "decisionflows/flow_version.html", context)


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def flow_create(request: HttpRequest, principal: Principal) -> HttpResponse:
    tenant = principal.tenant
    if request.method == "POST":
        form = DecisionFlowForm(request.POST)
        flow = save(form, lambda data: services.decision_flow_create(tenant=tenant, actor=principal, data=data))
        if flow is not None:
            messages.success(request, f"Decision flow “{flow.name}” created. Publish it when it is ready to run.")
            return redirect("decisionflows:flow-detail", flow_id=flow.pk)
    else:
        form = DecisionFlowForm(initial=DecisionFlowForm.initial_new())
    return render(request, "decisionflows/flow_form.html", {"section": "flows", "form": form, "flow": None})


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def flow_edit(request: HttpRequest, principal: Principal, flow_id: str) -> HttpResponse:
    tenant = principal.tenant
    flow = _flow_or_404(principal, flow_id)
    if request.method == "POST":
        form = DecisionFlowForm(request.POST)
        saved = save(
            form,
            lambda data: services.decision_flow_update(tenant=tenant, actor=principal, instance=flow, data=data),
        )
        if saved is not None:
            messages.success(request, f"Decision flow “{saved.name}” saved. Runs see the change once it is published.")
            return redirect("decisionflows:flow-detail", flow_id=flow.pk)
        flow.refresh_from_db()
    else:
        form = DecisionFlowForm(initial=DecisionFlowForm.initial_from(flow))
    return render(request, "decisionflows/flow_form.html", {"section": "flows", "form": form, "flow": flow})


@tenant_page(Role.EDITOR)
@require_POST
def flow_publish(request: HttpRequest, principal: Principal, flow_id: str) -> HttpResponse:
    flow = _flow_or_404(principal, flow_id)
    try:
        version = services.decision_flow_publish(tenant=principal.tenant, actor=principal, flow=flow)
    except DomainError as exc:
        form = DecisionFlowForm()
        problems = [message for messages_ in form.service_errors(exc).values() for message in messages_]
        messages.error(request, f"Version not published: {' '.join(problems)}")
    else:
        note = (
            ""
            if flow.status == FlowStatus.ACTIVE
            else f" Runs can use it once the flow is active (it is {flow.status})."
        )
        messages.success(request, f"Version {version.version} of “{flow.name}” published.{note}")
    return redirect("decisionflows:flow-detail", flow_id=flow.pk)


@tenant_page(Role.ADMIN)
@require_POST
def flow_delete(request: HttpRequest, principal: Principal, flow_id: str) -> HttpResponse:
    flow = _flow_or_404(principal, flow_id)
    return delete(
        request,
        delete=lambda: services.decision_flow_delete(tenant=principal.tenant, actor=principal, instance=flow),
        what="decision flow",
        name=flow.name,
        done="decisionflows:flow-list",
        back=reverse("decisionflows:flow-detail", args=[flow.pk]),
    )
