"""The pages that read across apps: the dashboard (counts of customers, offers, flows and
segments; runs in progress, polled live; recent outcomes) and one customer's page (attributes,
contact history, recent run recommendations and a "recommend now" box running the live decision:
``recommend_for_customer`` writes nothing, so viewers may use it).

The customer page keeps its names in the segments' namespace (``segments:customer``), beside
the customers list: config/urls.py joins ``customer_urlpatterns`` to ``segments.pages``.

Thin, like every app's pages: reads through ``console.selectors`` (and the apps' selectors);
``tenant_page``
refuses what the role may not do (403) and scopes to the tenant.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from console import selectors
from console.forms import RecommendForm
from decisionflows.recommend import recommend_for_customer
from kaireon.errors import Conflict, DomainError
from kaireon.models import Tenant
from kaireon.pages import STOP_POLLING, current_principal, tenant_page
from kaireon.paging import query_int
from kaireon.principal import Principal
from segments.models import Customer
from segments.selectors import customers_for

DASHBOARD_ACTIVE_RUNS = 10
DASHBOARD_RECENT_RUNS = 8
HISTORY_ROWS = 25
RECENT_RUNS = 10
RUN_RECOMMENDATIONS = 50
BIGINT_MAX = 2**63 - 1

STAGE_LABELS = {
    "qualification": "Not eligible",
    "contact_policy": "Contact policy",
    "no_channel": "No channel",
    "zero_score": "Zero score",
    "outranked": "Outranked",
}


# --- dashboard -------------------------------------------------------------------------------


def dashboard_runs(principal: Principal) -> dict[str, Any]:
    """Runs in progress (oldest first, so the one closest to done leads) and recent outcomes."""
    tenant = principal.tenant
    active = selectors.runs_in_progress(tenant=tenant, limit=DASHBOARD_ACTIVE_RUNS)
    recent = selectors.runs_finished_recently(tenant=tenant, limit=DASHBOARD_RECENT_RUNS)
    return {"active_runs": active, "recent_runs": recent, "polling": bool(active)}


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    principal = current_principal(request)
    if principal is None:
        return render(request, "console/dashboard.html", {"no_tenant": True})
    context = {"counts": selectors.dashboard_counts(tenant=principal.tenant), **dashboard_runs(principal)}
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


# --- one customer ----------------------------------------------------------------------------


def _customer_or_404(principal: Principal, customer_id: int) -> Customer:
    if customer_id > BIGINT_MAX:
        raise Http404("No such customer.")
    return get_object_or_404(customers_for(tenant=principal.tenant), pk=customer_id)


def _history_page(value: Any) -> int:
    """The contact history page from the query string: 1 to 1,000, anything else is 1."""
    return min(query_int(str(value or "")) or 1, 1000)


def _customer_context(principal: Principal, customer: Customer, *, history_page: int = 1) -> dict[str, Any]:
    tenant = principal.tenant
    start = (history_page - 1) * HISTORY_ROWS
    # one more than a page: is there a next one?
    history = selectors.customer_contacts(tenant=tenant, customer=customer, offset=start, limit=HISTORY_ROWS + 1)
    return {
        "customer": customer,
        "attributes": selectors.customer_attribute_rows(tenant=tenant, customer=customer),
        "history": history[:HISTORY_ROWS],
        "history_page": history_page,
        "history_more": len(history) > HISTORY_ROWS,
        "run_recommendations": selectors.customer_run_recommendations(
            tenant=tenant, customer=customer, runs=RECENT_RUNS, limit=RUN_RECOMMENDATIONS
        ),
    }


def _recommend_result(tenant: Tenant, result: dict[str, Any]) -> dict[str, Any]:
    """recommend_for_customer's answer plus the dropped offers' names and stage labels."""
    funnel = result.get("funnel") or {}
    dropped = funnel.get("dropped", [])
    names = selectors.offer_names(tenant=tenant, ids=(d["offer_id"] for d in dropped))
    funnel["dropped"] = [
        {
            **d,
            "offer_name": names.get(d["offer_id"], d["offer_key"]),
            "stage_label": STAGE_LABELS.get(d["stage"], d["stage"]),
        }
        for d in dropped
    ]
    funnel["steps"] = [
        ("Candidates", funnel.get("candidates", 0)),
        ("After qualification", funnel.get("after_qualification", 0)),
        ("After contact policy", funnel.get("after_contact_policy", 0)),
        ("Scored", funnel.get("scored", 0)),
        ("Returned", funnel.get("returned", 0)),
    ]
    return {**result, "funnel": funnel}


@tenant_page()
@require_GET
def customer_detail(request: HttpRequest, principal: Principal, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(principal, customer_id)
    context = _customer_context(principal, customer, history_page=_history_page(request.GET.get("history")))
    context["recommend_form"] = RecommendForm(tenant=principal.tenant)
    return render(request, "console/customer_detail.html", context)


@tenant_page()
@require_POST
def customer_recommend(request: HttpRequest, principal: Principal, customer_id: int) -> HttpResponse:
    """The live decision for this customer. A read (nothing is written: no contact history, no
    audit entry), so viewers may ask too. htmx gets the box back; without script, the page."""
    customer = _customer_or_404(principal, customer_id)
    tenant = principal.tenant
    form = RecommendForm(request.POST, tenant=tenant)
    context: dict[str, Any] = {"customer": customer, "recommend_form": form}
    if form.is_valid():
        try:
            result = recommend_for_customer(
                tenant=tenant,
                flow=form.selected_flow(),
                customer=customer,
                channel=form.selected_channel(),
                debug=True,
            )
        except Conflict as exc:
            form.add_error("decision_flow", exc.message)
        except DomainError as exc:
            form.add_service_error(exc)
        else:
            context["result"] = _recommend_result(tenant, result)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "console/_recommend_box.html", context)
    context.update(_customer_context(principal, customer))
    return render(request, "console/customer_detail.html", context)


urlpatterns = [
    path("", home, name="home"),
    path("dashboard/live/", home_live, name="home-live"),
]

customer_urlpatterns = [
    path("customers/<int:customer_id>/", customer_detail, name="customer"),
    path("customers/<int:customer_id>/recommend/", customer_recommend, name="customer-recommend"),
]
