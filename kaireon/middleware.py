from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from kaireon.principal import principal_for_session


class CurrentTenantMiddleware:
    """``request.principal`` for the web pages: the signed-in user in their current tenant."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.principal = SimpleLazyObject(lambda: principal_for_session(request))  # type: ignore[attr-defined]
        return self.get_response(request)
