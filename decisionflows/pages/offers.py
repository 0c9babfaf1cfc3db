"""Offers (list, detail with its creatives previewed for a customer, create, edit, delete) and
their creatives, which are edited on their offer's page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from decisionflows import selectors, services
from decisionflows.engine import offer_fields
from decisionflows.forms import CreativeForm, OfferForm
from decisionflows.loading import offer_info
from decisionflows.models import Creative, Offer, OfferStatus
from decisionflows.pages.common import delete, posted, rows_page, save
from decisionflows.personalization import render as personalize
from decisionflows.recommend import CUSTOMER_FIELDS
from kaireon.models import Role
from kaireon.pages import tenant_page
from kaireon.principal import Principal


class OfferFilters:
    """The offer list's filters, read leniently from the query string."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.q = str(params.get("q") or "").strip()[:200]
        self.category = str(params.get("category") or "").strip()[:100]
        status = str(params.get("status") or "")
        self.status = status if status in OfferStatus.values else ""

    @property
    def active(self) -> bool:
        return bool(self.q or self.category or self.status)


def _offer_or_404(principal: Principal, offer_id: str) -> Offer:
    return get_object_or_404(selectors.offers_for(tenant=principal.tenant), pk=offer_id)


@tenant_page()
@require_GET
def offer_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    tenant = principal.tenant
    filters = OfferFilters(request.GET)
    offers = selectors.offer_list(tenant=tenant, q=filters.q, category=filters.category, status=filters.status)
    context: dict[str, Any] = {
        "section": "offers",
        "filters": filters,
        "statuses": OfferStatus.choices,
        "categories": selectors.offer_categories(tenant=tenant),
        "can_create": principal.is_editor,
        **rows_page(request, offers),
    }
    return render(request, "decisionflows/offer_list.html", context)


def _offer_tokens(offer: Offer) -> dict[str, Any]:
    """The offer as personalization tokens see it (the engine's own mapping)."""
    return offer_fields(offer_info(offer))


@tenant_page()
@require_GET
def offer_detail(request: HttpRequest, principal: Principal, offer_id: str) -> HttpResponse:
    offer = _offer_or_404(principal, offer_id)
    creatives = selectors.offer_creatives(offer=offer)
    # The customer the creatives are previewed for: the one asked for by externalId, else the
    # tenant's first.
    customer_query = request.GET.get("customer", "").strip()[:128]
    customer = selectors.sample_customer(tenant=principal.tenant, external_id=customer_query)
    if customer is not None:
        fields: dict[str, Any] = {name: getattr(customer, name) for name in CUSTOMER_FIELDS}
        fields["attributes"] = customer.attributes or {}
        tokens = _offer_tokens(offer)
        for creative in creatives:
            creative.preview_subject = personalize(creative.subject, fields, tokens)  # type: ignore[attr-defined]
            creative.preview_content = personalize(creative.content, fields, tokens)  # type: ignore[attr-defined]
    context = {
        "section": "offers",
        "offer": offer,
        "creatives": creatives,
        "customer": customer,
        "customer_query": customer_query,
        "flows": selectors.flows_referencing(tenant=principal.tenant, offer_id=offer.pk),
        "policies": selectors.offer_contact_policies(tenant=principal.tenant, offer=offer),
        "can_edit": principal.is_editor,
        "can_delete": principal.is_admin,
    }
    return render(request, "decisionflows/offer_detail.html", context)


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def offer_create(request: HttpRequest, principal: Principal) -> HttpResponse:
    tenant = principal.tenant
    form = OfferForm(posted(request))
    if request.method == "POST":
        offer = save(form, lambda data: services.offer_create(tenant=tenant, actor=principal, data=data))
        if offer is not None:
            messages.success(request, f"Offer “{offer.name}” created. Add a creative for each channel it goes on.")
            return redirect("decisionflows:offer-detail", offer_id=offer.pk)
    return render(request, "decisionflows/offer_form.html", {"section": "offers", "form": form, "offer": None})


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def offer_edit(request: HttpRequest, principal: Principal, offer_id: str) -> HttpResponse:
    tenant = principal.tenant
    offer = _offer_or_404(principal, offer_id)
    if request.method == "POST":
        form = OfferForm(request.POST)
        saved = save(
            form, lambda data: services.offer_update(tenant=tenant, actor=principal, instance=offer, data=data)
        )
        if saved is not None:
            messages.success(request, f"Offer “{saved.name}” saved.")
            return redirect("decisionflows:offer-detail", offer_id=offer.pk)
        offer.refresh_from_db()
    else:
        form = OfferForm(initial=OfferForm.initial_from(offer))
    return render(request, "decisionflows/offer_form.html", {"section": "offers", "form": form, "offer": offer})


@tenant_page(Role.ADMIN)
@require_POST
def offer_delete(request: HttpRequest, principal: Principal, offer_id: str) -> HttpResponse:
    offer = _offer_or_404(principal, offer_id)
    return delete(
        request,
        delete=lambda: services.offer_delete(tenant=principal.tenant, actor=principal, instance=offer),
        what="offer",
        name=offer.name,
        done="decisionflows:offer-list",
        back=reverse("decisionflows:offer-detail", args=[offer.pk]),
    )


# --- creatives (on their offer's page) -----------------------------------------------------


def _creative_or_404(principal: Principal, offer: Offer, creative_id: str) -> Creative:
    return get_object_or_404(selectors.creatives_for(tenant=principal.tenant, offer=offer), pk=creative_id)


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def creative_create(request: HttpRequest, principal: Principal, offer_id: str) -> HttpResponse:
    tenant = principal.tenant
    offer = _offer_or_404(principal, offer_id)
    form = CreativeForm(posted(request), tenant=tenant, offer=offer)
    if request.method == "POST":
        creative = save(form, lambda data: services.creative_create(tenant=tenant, actor=principal, data=data))
        if creative is not None:
            messages.success(request, f"Creative “{creative.name}” added to {offer.name}.")
            return redirect("decisionflows:offer-detail", offer_id=offer.pk)
    context = {"section": "offers", "form": form, "offer": offer, "creative": None}
    return render(request, "decisionflows/creative_form.html", context)


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def creative_edit(request: HttpRequest, principal: Principal, offer_id: str, creative_id: str) -> HttpResponse:
    tenant = principal.tenant
    offer = _offer_or_404(principal, offer_id)
    creative = _creative_or_404(principal, offer, creative_id)
    if request.method == "POST":
        form = CreativeForm(request.POST, tenant=tenant, offer=offer)
        saved = save(
            form,
            lambda data: services.creative_update(tenant=tenant, actor=principal, instance=creative, data=data),
        )
        if saved is not None:
            messages.success(request, f"Creative “{saved.name}” saved.")
            return redirect("decisionflows:offer-detail", offer_id=offer.pk)
        creative.refresh_from_db()
    else:
        form = CreativeForm(initial=CreativeForm.initial_from(creative), tenant=tenant, offer=offer)
    context = {"section": "offers", "form": form, "offer": offer, "creative": creative}
    return render(request, "decisionflows/creative_form.html", context)


@tenant_page(Role.ADMIN)
@require_POST
def creative_delete(request: HttpRequest, principal: Principal, offer_id: str, creative_id: str) -> HttpResponse:
    offer = _offer_or_404(principal, offer_id)
    creative = _creative_or_404(principal, offer, creative_id)
    return delete(
        request,
        delete=lambda: services.creative_delete(tenant=principal.tenant, actor=principal, instance=creative),
        what="creative",
        name=creative.name,
        done=reverse("decisionflows:offer-detail", args=[offer.pk]),
        back=reverse("decisionflows:offer-detail", args=[offer.pk]),
    )
