"""What the catalogue's pages share: the list page, the form-then-service save and the delete
that explains a refusal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db.models import ProtectedError, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from decisionflows.forms import ServiceForm
from kaireon.errors import Conflict, DomainError
from kaireon.paging import page_context

PER_PAGE = 25


def posted(request: HttpRequest) -> Any:
    """The form data of a POST (even an empty one, which must fail validation), else None."""
    return request.POST if request.method == "POST" else None


def rows_page(request: HttpRequest, queryset: QuerySet[Any]) -> dict[str, Any]:
    """One page of a list, as ``rows`` and the paginator's context."""
    return page_context(request, queryset, PER_PAGE, "rows")


def _in_use_message(exc: Conflict | ProtectedError, what: str) -> str:
    """Why a delete was refused: the service's own message (Conflict), or, for a row other
    rows still point at (ProtectedError), which kinds of rows they are."""
    if isinstance(exc, Conflict):
        return exc.message
    kinds = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
    return f"This {what} is still in use ({', '.join(kinds)} refer to it) and cannot be deleted."


def delete(
    request: HttpRequest, *, delete: Callable[[], None], what: str, name: str, done: str, back: str
) -> HttpResponse:
    """Call the delete service; go to ``done`` when it deleted, back to ``back`` saying why not."""
    try:
        delete()
    except (Conflict, ProtectedError) as exc:
        messages.error(request, _in_use_message(exc, what))
        return redirect(back)
    messages.success(request, f"{what.capitalize()} “{name}” deleted.")
    return redirect(done)


def save(form: ServiceForm, write: Callable[[dict[str, Any]], Any]) -> Any | None:
    """Validate the form, then call the service; its errors go beside the fields. None on error."""
    if not form.is_valid():
        return None
    try:
        return write(form.service_data())
    except DomainError as exc:
        form.add_service_error(exc)
    return None
