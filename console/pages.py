"""The pages that read across apps: the dashboard (counts of customers, offers, flows and
segments; runs in progress, polled live; recent outcomes).

Thin, like every app's pages: reads through the apps' selectors and models; ``tenant_page``
refuses what the role may not do (403) and scopes to the tenant.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from decisionflows.models import DecisionFlow, Offer
from kaireon.pages import STOP_POLLING, current_principal, tenant_page
from kaireon.principal import Principal
from runs.models import ACTIVE_STATUSES, FINISHED_STATUSES
from runs.selectors import runs_for
from segments.models import Customer, Segment

DASHBOARD_ACTIVE_RUNS = 10
DASHBOARD_RECENT_RUNS = 8


def dashboard_runs(principal: Principal) -> dict[str, Any]:
    """Runs in progress (oldest first, so the one closest to done leads) and recent outcomes."""
    runs = runs_for(tenant=principal.tenant)
    active = list(runs.filter(status__in=ACTIVE_STATUSES).order_by("created_at", "id")[:DASHBOARD_ACTIVE_RUNS])
    recent = list(runs.filter(status__in=FINISHED_STATUSES).order_by("-created_at", "-id")[:DASHBOARD_RECENT_RUNS])
    return {"active_runs": active, "recent_runs": recent, "polling": bool(active)}


def dashboard_counts(principal: Principal) -> dict[str, int]:
    tenant = principal.tenant
    return {
        "customers": Customer.objects.filter(tenant=tenant).count(),
        "offers": Offer.objects.filter(tenant=tenant).count(),
        "flows": DecisionFlow.objects.filter(tenant=tenant).count(),
        "segments": Segment.objects.filter(tenant=tenant).count(),
    }


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    principal = current_principal(request)
    if principal is None:
        return render(request, "console/dashboard.html", {"no_tenant": True})
    context = {"counts": dashboard_counts(principal), **dashboard_runs(principal)}
    return render(request, "console/dashboard.html", context)


@tenant_page()
@require_GET
def home_live(request: HttpRequest, principal: Principal) -> HttpResponse:
    """The dashboard's live part, polled while a run is going; once nothing is running the
    answer is 286, which tells htmx to stop polling."""
    context = dashboard_runs(principal)
    response = render(request, "console/_dashboard_live.html", context)
    if not context["polling"]:
        response.status_code = STOP_POLLING
    return response


urlpatterns = [
    path("", home, name="home"),
    path("dashboard/live/", home_live, name="home-live"),
]
