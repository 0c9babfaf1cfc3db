"""Web pages of segments and customers (server-rendered, htmx-enhanced), after runs/pages.py.

Segments: the list (filters in words, the cached count), the detail (filters, count, refresh, a
sample of the customers, start a run), create/edit with a live count as the filter is typed
(the new-run page's ``runs:audience-count``), delete. Customers: a search that stays cheap on
millions of rows (indexed prefix lookups, keyset paging, a capped count). One customer's page,
which shows decisions and runs, is the console's (``console.pages``).

Thin: reads through selectors and the ORM, writes through ``segments.services``;
``tenant_page`` refuses what the role may not do (403) and scopes to the tenant (404).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.contrib import messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError, connection, transaction
from django.db.models import ProtectedError, Q, QuerySet
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
CUSTOMERS_PER_PAGE = 25
LIST_ATTRIBUTES = 3
# The customers page counts matches up to here and then says "1,000+": COUNT over millions of
# rows on every page view is what keyset paging is there to avoid.
COUNT_CAP = 1_000
# A name search cannot use an index (it looks inside first and last names); on PostgreSQL it
# gets this long before the page says to narrow it down, rather than holding a worker.
SEARCH_TIMEOUT_MS = 5_000
# The highest code point: "abc" ≤ s < "abc\U0010ffff" bounds every s that starts with "abc" for
# an index range scan (the LIKE beside it keeps the match exact).
_TOP = "\U0010ffff"

T = TypeVar("T")


# --- segments: helpers ---------------------------------------------------------------------


def _segment_or_404(principal: Principal, segment_id: str) -> Segment:
    return get_object_or_404(Segment.objects.filter(tenant=principal.tenant), pk=segment_id)


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


def _segment_sample(segment: Segment) -> dict[str, Any]:
    """The segment's first customers by id: from its view when it has one (what a run would
    read), else straight from its filters."""
    tenant = segment.tenant
    if segment.has_view and selectors.segment_view_exists(segment):
        ids = selectors.segment_customer_ids(segment, 0, SAMPLE_SIZE)
        sample = list(Customer.objects.filter(tenant=tenant, id__in=ids).order_by("id"))
        return {"sample": sample, "sample_from_view": True}
    _, sample = selectors.segment_preview(tenant=tenant, filters=segment.filters)
    return {"sample": sample, "sample_from_view": False}


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
    segments = Segment.objects.filter(tenant=tenant)
    if q:
        segments = segments.filter(name__icontains=q)
    # A tenant has hundreds of segments at most: a plain Paginator (its COUNT) is cheap here.
    context = {
        **page_context(request, segments.order_by("name", "id"), SEGMENTS_PER_PAGE, "segments"),
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
    schema = list(CustomerAttribute.objects.filter(tenant=tenant))
    context: dict[str, Any] = {
        "segment": segment,
        "field_specs": selectors.customer_field_specs(tenant=tenant),
        "sample_attributes": _sample_attributes(schema, segment.filters),
        # by the runs' foreign key (related name "runs"): runs is a higher layer, never imported here
        "recent_runs": list(
            segment.runs.filter(tenant=tenant).select_related("decision_flow").order_by("-created_at")[:5]
        ),
        "can_edit": principal.is_editor,
        "can_delete": principal.is_admin,
    }
    context.update(_segment_sample(segment))
    return render(request, "segments/segment_detail.html", context)


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def segment_new(request: HttpRequest, principal: Principal) -> HttpResponse:
    if request.method == "POST":
        form = SegmentForm(request.POST)
        if form.is_valid():
            try:
                segment = services.segment_create(tenant=principal.tenant, actor=principal, data=form.service_data())
            except (DomainError, DjangoValidationError) as exc:
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
            except (DomainError, DjangoValidationError) as exc:
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
    except (DomainError, DjangoValidationError) as exc:
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


def _guarded(read: Callable[[], T]) -> T | None:
    """``read()`` under a statement timeout on PostgreSQL; None when it ran out of time."""
    if connection.vendor != "postgresql":
        return read()
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {int(SEARCH_TIMEOUT_MS)}")
            return read()
    except OperationalError:
        return None


def _prefix(queryset: QuerySet[Customer], field: str, text: str) -> QuerySet[Customer]:
    """Rows whose ``field`` starts with ``text``, as an index range scan plus an exact check."""
    return queryset.filter(**{f"{field}__gte": text, f"{field}__lt": text + _TOP, f"{field}__startswith": text})


def customer_search(tenant: Tenant, search: CustomerSearch) -> tuple[QuerySet[Customer], QuerySet[Customer]]:
    """(all matches, this page's matches) of a search, each in its keyset order: externalId or
    email prefixes walk their (tenant, column) index; no query and name searches go newest first
    along (tenant, id). The page's cursor ``after`` is the last customer id shown."""
    base = Customer.objects.filter(tenant=tenant)
    q, after = search.q, search.after
    if not q or search.by == "name":
        matches = base
        for term in q.split()[:4]:
            matches = matches.filter(Q(first_name__icontains=term) | Q(last_name__icontains=term))
        matches = matches.order_by("-id")
        return matches, (matches.filter(id__lt=after) if after else matches)
    column = "email" if search.by == "email" else "external_id"
    # externalId is unique in a tenant: its index alone gives the order (and a LIMIT stops the
    # scan); emails repeat, so the id breaks ties.
    matches = _prefix(base, column, q).order_by(*((column,) if column == "external_id" else (column, "id")))
    if not after:
        return matches, matches
    anchor = base.filter(pk=after).values_list(column, flat=True).first()
    if anchor is None:
        return matches, matches
    following = matches.filter(**{f"{column}__gte": anchor}).filter(
        Q(**{f"{column}__gt": anchor}) | Q(**{column: anchor, "id__gt": after})
    )
    return matches, following


@tenant_page()
@require_GET
def customer_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    tenant = principal.tenant
    search = CustomerSearch(request.GET)

    def read() -> tuple[list[Customer], int]:
        matches, page_rows = customer_search(tenant, search)
        rows = list(page_rows[: CUSTOMERS_PER_PAGE + 1])
        # Counted only up to the cap: a subquery with LIMIT, never a COUNT over the whole tenant.
        return rows, matches.order_by()[: COUNT_CAP + 1].count()

    # Only a name search scans (the others walk an index and stop after a page): it alone is
    # given a time limit.
    result = _guarded(read) if search.active and search.by == "name" else read()
    fell_back = False
    if result == ([], 0) and search.active and search.guessed and search.by == "external_id" and not search.after:
        # "Wright" is no externalId: look in the names, as the person typing meant
        search.by, fell_back = "name", True
        result = _guarded(read)
    timed_out = result is None
    rows, count = result if result is not None else ([], 0)
    has_more = len(rows) > CUSTOMERS_PER_PAGE
    rows = rows[:CUSTOMERS_PER_PAGE]
    schema = list(CustomerAttribute.objects.filter(tenant=tenant)[:LIST_ATTRIBUTES])
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
