"""The catalogue's overview: how many of each kind there are, and what changed last."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from decisionflows import selectors
from kaireon.pages import tenant_page
from kaireon.principal import Principal

RECENT = 5


@tenant_page()
@require_GET
def catalogue_index(request: HttpRequest, principal: Principal) -> HttpResponse:
    tenant = principal.tenant
    context = {
        "section": "overview",
        "counts": selectors.catalogue_counts(tenant=tenant),
        "recent_offers": selectors.offers_recent(tenant=tenant, limit=RECENT),
        "recent_flows": selectors.flows_recent(tenant=tenant, limit=RECENT),
        "can_edit": principal.is_editor,
    }
    return render(request, "decisionflows/index.html", context)
