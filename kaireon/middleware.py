from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.functional import SimpleLazyObject

from kaireon.principal import principal_for_session


class CurrentTenantMiddleware:
    """``request.principal`` for the web pages: the signed-in user in their current tenant."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.principal = SimpleLazyObject(lambda: principal_for_session(request))  # type: ignore[attr-defined]
        return self.get_response(request)


class RefuseNulMiddleware:
    """A NUL character in the path or the query string is a 400 before any view runs: no view
    can use one, and PostgreSQL refuses it in any text it is compared with (a 500 otherwise).
    The API answers in its error shape, naming the parameter; the pages with a plain message."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = _nul_in(request)
        if where is None:
            return self.get_response(request)
        message = "NUL characters (%00) are not allowed."
        if request.path_info.startswith("/api/"):
            body: dict[str, object] = {"status": 400, "error": f"{where}: {message}", "code": "invalid"}
            if where != "path":
                body["fields"] = {where: [message]}
            return JsonResponse(body, status=400)
        return HttpResponseBadRequest(f"Bad request: the {where} contains a NUL character.", content_type="text/plain")


def _nul_in(request: HttpRequest) -> str | None:
    """ "path", the first query parameter holding a NUL (in its name or a value), or None."""
    if "\x00" in request.path:
        return "path"
    query = request.META.get("QUERY_STRING", "")
    if "%00" not in query and "\x00" not in query:
        return None  # spares parsing the query string of nearly every request
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "") or "query"
    return None
