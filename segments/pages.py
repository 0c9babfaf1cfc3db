"""Web pages of segments and customers (server-rendered, htmx-enhanced), after runs/pages.py.

Segments: the list (filters in words, the cached count), the detail (filters, count, refresh, a
sample of the customers, start a run), create/edit with a live count as the filter is typed
(the new-run page's ``runs:audience-count``), delete. Customers: a search that stays cheap on
millions of rows (indexed prefix lookups, keyset paging, a capped count). One customer's page,
which shows decisions and runs, is the console's (``console.pages``).

Thin: reads through ``segments.selectors``, writes through ``segments.services``;
``tenant_page`` refuses what the role may not do (403) and scopes to the tenant (404).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.db.models import ProtectedError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kaireon import rules
from kaireon.errors import Conflict, DomainError
from kaireon.models import Role, Tenant
from kaireon.pages import tenant_page
from kaireon.paging import page_context
from kaireon.principal import Principal
from kaireon.rules import OPERATORS
from segments import selectors, services
from segments.forms import FILTER_HELP_EXAMPLE, CustomerSearch, SegmentForm
from segments.models import Customer, CustomerAttribute, Segment

app_name = "segments"

SEGMENTS_PER_PAGE = 25
SAMPLE_SIZE = selectors.PREVIEW_SAMPLE_SIZE  # 20
SAMPLE_ATTRIBUTES = 4
RECENT_RUNS = 5
CUSTOMERS_PER_PAGE = 25
LIST_ATTRIBUTES = 3
# The customers page counts matches up to here and then says "1,000+": COUNT over millions of
# rows on every page view is what keyset paging is there to avoid.
COUNT_CAP = 1_000


# --- segments: helpers ---------------------------------------------------------------------


def _segment_or_404(principal: Principal, segment_id: str) -> Segment:
    return get_object_or_404(selectors.segments_for(tenant=principal.tenant), pk=segment_id)


def _field_rows(tenant: Tenant) -> list[dict[str, Any]]:
    """What a filter may name: built-in columns and schema attributes, with their operators."""
    specs = selectors.customer_field_specs(tenant=tenant)
    return [
        {
            "name": spec.name,
            "type": spec.type,
            "label": spec.label if spec.label and spec.label != spec.name else "",
            "builtin": spec.name in selectors.BUILTIN_CUSTOMER_FIELDS,
            "operators": [op for op, types in OPERATORS.items() if spec.type in types],
        }
        for spec in specs.values()
    ]


def _sample_attributes(schema: list[CustomerAttribute], filters: dict[str, Any]) -> list[CustomerAttribute]:
    """The attributes worth a column beside a sample: those the filters name, then the schema's."""
    used = rules.fields_used(filters)
    chosen = [a for a in schema if a.name in used] + [a for a in schema if a.name not in used]
    return chosen[:SAMPLE_ATTRIBUTES]


def _segment_form_context(principal: Principal, form: SegmentForm, segment: Segment | None) -> dict[str, Any]:
    return {
        "form": form,
        "segment": segment,
        "fields": _field_rows(principal.tenant),
        "filter_example": FILTER_HELP_EXAMPLE,
    }


# --- segments: pages -----------------------------------------------------------------------


@tenant_page()
@require_GET
def segment_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    tenant = principal.tenant
    q = request.GET.get("q", "").strip()[:200]
    # A tenant has hundreds of segments at most: a plain Paginator (its COUNT) is cheap here.
    context = {
        **page_context(request, selectors.segments_for(tenant=tenant, q=q), SEGMENTS_PER_PAGE, "segments"),
        "field_specs": selectors.customer_field_specs(tenant=tenant),
        "q": q,
        "can_create": principal.is_editor,
    }
    return render(request, "segments/segment_list.html", context)


@tenant_page()
@require_GET
def segment_detail(request: HttpRequest, principal: Principal, segment_id: str) -> HttpResponse:
    segment = _segment_or_404(principal, segment_id)
    tenant = principal.tenant
    schema = selectors.customer_attributes(tenant=tenant)
    context: dict[str, Any] = {
        "segment": segment,
        "field_specs": selectors.customer_field_specs(tenant=tenant),
        "sample_attributes": _sample_attributes(schema, segment.filters),
        "recent_runs": selectors.segment_recent_runs(tenant=tenant, segment=segment, limit=RECENT_RUNS),
        "can_edit": principal.is_editor,
        "can_delete": principal.is_admin,
    }
    context["sample"], context["sample_from_view"] = selectors.segment_sample(segment=segment, size=SAMPLE_SIZE)
    return render(request, "segments/segment_detail.html", context)


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def segment_new(request: HttpRequest, principal: Principal) -> HttpResponse:
    if request.method == "POST":
        form = SegmentForm(request.POST)
        if form.is_valid():
            try:
                segment = services.segment_create(tenant=principal.tenant, actor=principal, data=form.service_data())
            except DomainError as exc:
                form.add_service_error(exc)
            else:
                messages.success(
                    request, f"Segment “{segment.name}” created: {segment.customer_count:,} customers match."
                )
                return redirect("segments:detail", segment_id=segment.pk)
    else:
        form = SegmentForm(initial={"filters": "{}"})
    return render(request, "segments/segment_form.html", _segment_form_context(principal, form, None))


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def segment_edit(request: HttpRequest, principal: Principal, segment_id: str) -> HttpResponse:
    segment = _segment_or_404(principal, segment_id)
    if request.method == "POST":
        form = SegmentForm(request.POST)
        if form.is_valid():
            try:
                segment = services.segment_update(
                    tenant=principal.tenant, actor=principal, instance=segment, data=form.service_data()
                )
            except DomainError as exc:
                form.add_service_error(exc)
            else:
                messages.success(
                    request, f"Segment “{segment.name}” saved: {segment.customer_count:,} customers match."
                )
                return redirect("segments:detail", segment_id=segment.pk)
    else:
        form = SegmentForm.for_segment(segment)
    return render(request, "segments/segment_form.html", _segment_form_context(principal, form, segment))


@tenant_page(Role.EDITOR)
@require_POST
def segment_refresh(request: HttpRequest, principal: Principal, segment_id: str) -> HttpResponse:
    segment = _segment_or_404(principal, segment_id)
    try:
        segment = services.segment_refresh(tenant=principal.tenant, actor=principal, segment=segment)
    except DomainError as exc:
        messages.error(request, f"The segment could not be refreshed: {_first_message(exc)}")
    else:
        messages.success(request, f"Segment refreshed: {segment.customer_count:,} customers match now.")
    return redirect("segments:detail", segment_id=segment.pk)


@tenant_page(Role.ADMIN)
@require_POST
def segment_delete(request: HttpRequest, principal: Principal, segment_id: str) -> HttpResponse:
    segment = _segment_or_404(principal, segment_id)
    try:
        services.segment_delete(tenant=principal.tenant, actor=principal, instance=segment)
    except ProtectedError as exc:
        messages.error(request, _in_use_message(segment, exc.protected_objects))
        return redirect("segments:detail", segment_id=segment.pk)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("segments:detail", segment_id=segment.pk)
    messages.success(request, f"Segment “{segment.name}” deleted. Its past runs keep their results.")
    return redirect("segments:list")


def _in_use_message(segment: Segment, users: Iterable[Any]) -> str:
    """The API's conflict ("still in use"), naming what uses the segment."""
    names: list[str] = []
    for obj in users:
        label = f"{obj._meta.verbose_name} “{obj}”"
        if label not in names:
            names.append(label)
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"This object is still in use and cannot be deleted: “{segment.name}” is used by {shown}."


def _first_message(exc: Exception) -> str:
    return next(iter(SegmentForm.error_messages(exc)), str(exc))


# --- customers: search ---------------------------------------------------------------------


@tenant_page()
@require_GET
def customer_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    tenant = principal.tenant
    search = CustomerSearch(request.GET)

    def read() -> tuple[list[Customer], int]:
        # one more than a page (is there a next one?), one more than the cap (is it "1,000+"?)
        return selectors.customer_search_page(
            tenant=tenant,
            q=search.q,
            by=search.by,
            after=search.after,
            limit=CUSTOMERS_PER_PAGE + 1,
            count_cap=COUNT_CAP + 1,
        )

    # Only a name search scans (the others walk an index and stop after a page): it alone is
    # given a time limit.
    result = selectors.with_search_timeout(read) if search.active and search.by == "name" else read()
    fell_back = False
    if result == ([], 0) and search.active and search.guessed and search.by == "external_id" and not search.after:
        # "Wright" is no externalId: look in the names, as the person typing meant
        search.by, fell_back = "name", True
        result = selectors.with_search_timeout(read)
    timed_out = result is None
    rows, count = result if result is not None else ([], 0)
    has_more = len(rows) > CUSTOMERS_PER_PAGE
    rows = rows[:CUSTOMERS_PER_PAGE]
    schema = selectors.customer_attributes(tenant=tenant, limit=LIST_ATTRIBUTES)
    context = {
        "search": search,
        "by_choices": CustomerSearch.BY_CHOICES,
        "customers": rows,
        "next_cursor": rows[-1].pk if has_more and rows else None,
        "count": min(count, COUNT_CAP),
        "count_capped": count > COUNT_CAP,
        "timed_out": timed_out,
        "fell_back": fell_back,
        "list_attributes": schema,
    }
    return render(request, "segments/customer_list.html", context)


urlpatterns = [
    path("segments/", segment_list, name="list"),
    path("segments/new/", segment_new, name="new"),
    path("segments/<str:segment_id>/", segment_detail, name="detail"),
    path("segments/<str:segment_id>/edit/", segment_edit, name="edit"),
    path("segments/<str:segment_id>/refresh/", segment_refresh, name="refresh"),
    path("segments/<str:segment_id>/delete/", segment_delete, name="delete"),
    path("customers/", customer_list, name="customers"),
]
