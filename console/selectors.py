"""Reads across apps for the console's pages: the dashboard's counts and runs, and one
customer's attributes, contact history and what the latest runs recommended to them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from decisionflows.models import Contact, DecisionFlow, Offer
from kaireon.models import Tenant
from runs.models import ACTIVE_STATUSES, FINISHED_STATUSES, Recommendation, Run, RunStatus
from runs.selectors import runs_for
from segments.models import Customer, Segment
from segments.selectors import customer_attributes

FINISHED_WITH_RESULTS = (RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_ERRORS)


# --- dashboard -------------------------------------------------------------------------------


def dashboard_counts(*, tenant: Tenant) -> dict[str, int]:
    return {
        "customers": Customer.objects.filter(tenant=tenant).count(),
        "offers": Offer.objects.filter(tenant=tenant).count(),
        "flows": DecisionFlow.objects.filter(tenant=tenant).count(),
        "segments": Segment.objects.filter(tenant=tenant).count(),
    }


def runs_in_progress(*, tenant: Tenant, limit: int) -> list[Run]:
    """Runs in progress, oldest first, so the one closest to done leads."""
    return list(runs_for(tenant=tenant).filter(status__in=ACTIVE_STATUSES).order_by("created_at", "id")[:limit])


def runs_finished_recently(*, tenant: Tenant, limit: int) -> list[Run]:
    return list(runs_for(tenant=tenant).filter(status__in=FINISHED_STATUSES).order_by("-created_at", "-id")[:limit])


# --- one customer ----------------------------------------------------------------------------


def customer_attribute_rows(*, tenant: Tenant, customer: Customer) -> list[dict[str, Any]]:
    """The customer's attributes in the order of the tenant's schema, then any value the
    schema no longer has (kept on the customer, shown as such)."""
    values = customer.attributes if isinstance(customer.attributes, dict) else {}
    rows = [
        {"name": a.name, "label": a.label, "type": a.type, "value": values.get(a.name), "in_schema": True}
        for a in customer_attributes(tenant=tenant)
    ]
    known = {row["name"] for row in rows}
    rows += [
        {"name": name, "label": "", "type": "", "value": value, "in_schema": False}
        for name, value in sorted(values.items())
        if name not in known
    ]
    return rows


def customer_contacts(*, tenant: Tenant, customer: Customer, offset: int, limit: int) -> list[Contact]:
    """The customer's contact history, newest first, ``limit`` rows from ``offset``."""
    contacts = Contact.objects.filter(tenant=tenant, customer=customer).select_related("offer", "channel")
    return list(contacts.order_by("-contacted_at", "-id")[offset : offset + limit])


def customer_run_recommendations(*, tenant: Tenant, customer: Customer, runs: int, limit: int) -> list[dict[str, Any]]:
    """What the tenant's latest ``runs`` finished runs recommended to this customer (up to
    ``limit`` recommendations): one query on the recommendations' primary key (run, customer,
    rank), as [{"run", "recommendations"}] for the runs that recommended something."""
    latest = list(
        Run.objects.filter(tenant=tenant, status__in=FINISHED_WITH_RESULTS)
        .select_related("decision_flow")
        .order_by("-created_at", "-id")[:runs]
    )
    if not latest:
        return []
    rows = list(
        Recommendation.objects.filter(run_id__in=[r.pk for r in latest], customer_id=customer.pk)
        .select_related("offer", "channel")
        .order_by("run_id", "rank")[:limit]
    )
    by_run: dict[str, list[Recommendation]] = {}
    for row in rows:
        by_run.setdefault(row.run_id, []).append(row)
    return [{"run": run, "recommendations": by_run[run.pk]} for run in latest if run.pk in by_run]


def offer_names(*, tenant: Tenant, ids: Iterable[str]) -> dict[str, str]:
    """{offer id: name} of the tenant's offers among ``ids``."""
    return dict(Offer.objects.filter(tenant=tenant, pk__in=set(ids)).values_list("pk", "name"))
