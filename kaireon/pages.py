"""Web pages of the kaireon app: sign in/out and the tenant switcher (the dashboard, which reads
every app, is the console's).

``tenant_page`` is the gate every page of every app goes through: signed in, a member of a
tenant, and at least the role the page needs. Pages hide what the role may not do; this refuses
it on the server (403) when someone tries anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec, cast
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render, resolve_url
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from kaireon.models import Membership, Role
from kaireon.principal import SESSION_TENANT_KEY, Principal

P = ParamSpec("P")
PageView = Callable[Concatenate[HttpRequest, Principal, P], HttpResponseBase]

# htmx stops polling an element when its request answers 286.
STOP_POLLING = 286


def current_principal(request: HttpRequest) -> Principal | None:
    """The session's principal (the middleware's lazy object, evaluated), or None."""
    principal = getattr(request, "principal", None)
    return cast(Principal, principal) if principal else None


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "kaireon/forbidden.html", {"message": message}, status=403)


def _sign_in_first(request: HttpRequest) -> HttpResponseBase:
    """To the sign-in page, and back here after. A polled fragment whose session ran out would
    otherwise swap the whole sign-in page into itself: htmx gets told to move the page instead."""
    htmx = getattr(request, "htmx", None)
    if htmx:
        here = urlsplit(htmx.current_url or "/")
        back = urlunsplit(("", "", here.path, here.query, ""))
        return HttpResponseClientRedirect(f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': back})}")
    return redirect_to_login(request.get_full_path())


def tenant_page(role: str = Role.VIEWER) -> Callable[[PageView[P]], Callable[..., HttpResponseBase]]:
    """Decorate a page view ``view(request, principal, ...)``: sign-in required, then a tenant
    membership with at least ``role``; anything less is a 403 page, never a hidden 200."""

    def decorator(view: PageView[P]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return _sign_in_first(request)
            principal = current_principal(request)
            if principal is None:
                return forbidden(request, "Your account is not a member of any tenant yet. Ask an administrator.")
            if not principal.at_least(role):
                return forbidden(
                    request,
                    f"This needs the {role} role; you are {principal.role} in {principal.tenant.name}.",
                )
            return view(request, principal, *args, **kwargs)

        return wrapped

    return decorator


# --- tenants -------------------------------------------------------------------------------


@login_required
@require_POST
def switch_tenant(request: HttpRequest) -> HttpResponse:
    tenant_id = request.POST.get("tenant", "")
    memberships = Membership.objects.filter(user=request.user, tenant_id=tenant_id)  # type: ignore[misc]
    membership = memberships.select_related("tenant").first()
    if membership is None:
        return HttpResponseBadRequest("You are not a member of that tenant.")
    request.session[SESSION_TENANT_KEY] = membership.tenant_id
    messages.success(request, f"Now working in {membership.tenant.name} as {membership.role}.")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    return redirect(next_url)


# --- sign-in ---------------------------------------------------------------------------------


def login_locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """django-axes' lockout answer (AXES_LOCKOUT_CALLABLE): the sign-in page saying why and for
    how long, 429, instead of a bare error page; the admin's login gets it too."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    message = (
        f"Too many failed sign-ins for this username from your address. Signing in is blocked for "
        f"{minutes} minute{'s' if minutes != 1 else ''}; try again later or ask an administrator."
    )
    # Unbound: a bound form would validate, i.e. authenticate (and count a failure) again.
    form = AuthenticationForm(request, initial={"username": (credentials or {}).get("username", "")})
    return render(request, "kaireon/login.html", {"form": form, "locked_out": message}, status=429)


urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="kaireon/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tenant/switch/", switch_tenant, name="switch-tenant"),
]
