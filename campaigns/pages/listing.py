"""The campaigns list: filters by status and name, each campaign with its run figures."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from campaigns import selectors
from campaigns.forms import CampaignFilters
from campaigns.models import CampaignStatus
from kaireon.pages import tenant_page
from kaireon.paging import page_context
from kaireon.principal import Principal

CAMPAIGNS_PER_PAGE = 25


@tenant_page()
@require_GET
def campaign_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    filters = CampaignFilters(request.GET)
    campaigns = filters.apply(selectors.campaigns_for(tenant=principal.tenant))
    context: dict[str, Any] = {
        **page_context(request, campaigns, CAMPAIGNS_PER_PAGE, "campaigns"),
        "filters": filters,
        "statuses": CampaignStatus.choices,
        "can_create": principal.is_editor,
    }
    return render(request, "campaigns/list.html", context)
