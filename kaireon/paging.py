"""Query-string integers, and one page of a list page: Django's ``Paginator`` with the elided
page range the templates' pager (templates/kaireon/_pagination.html) shows. Lists of a tenant's
objects are hundreds to a few thousand rows, so the page count's COUNT(*) is cheap; long lists (a
run's customers) go by keyset instead."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest

# A query-string integer: ASCII digits only ("²".isdigit() is True, int("²") is not), and at most
# 18 of them, so it fits a bigint on every database.
MAX_DIGITS = 18


def query_int(raw: str) -> int | None:
    """``raw`` as a non-negative integer, or None when it is not one."""
    if raw.isascii() and raw.isdigit() and len(raw) <= MAX_DIGITS:
        return int(raw)
    return None


def page_context(request: HttpRequest, rows: Any, per_page: int, name: str) -> dict[str, Any]:
    """``{"page_obj", "page_range", name: [the page's rows]}`` for ``?page=`` of ``rows`` (a
    queryset or a list); an out-of-range or malformed page number gives the nearest page."""
    page = Paginator(rows, per_page).get_page(request.GET.get("page"))
    return {
        "page_obj": page,
        "page_range": page.paginator.get_elided_page_range(page.number),
        name: list(page.object_list),
    }
