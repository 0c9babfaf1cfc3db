"""Web pages of the kaireon app: sign in/out, the tenant switcher and the home page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from kaireon.models import Membership
from kaireon.principal import SESSION_TENANT_KEY


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "kaireon/home.html")


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


urlpatterns = [
    path("", home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="kaireon/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tenant/switch/", switch_tenant, name="switch-tenant"),
]
