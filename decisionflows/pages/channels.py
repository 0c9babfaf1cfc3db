"""Channels: the list, create, edit and delete."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from decisionflows import selectors, services
from decisionflows.forms import ChannelForm
from decisionflows.models import Channel
from decisionflows.pages.common import delete, posted, rows_page, save
from kaireon.models import Role
from kaireon.pages import tenant_page
from kaireon.principal import Principal


def _channel_or_404(principal: Principal, channel_id: str) -> Channel:
    return get_object_or_404(selectors.channels_for(tenant=principal.tenant), pk=channel_id)


@tenant_page()
@require_GET
def channel_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    context = {
        "section": "channels",
        "can_create": principal.is_editor,
        "can_delete": principal.is_admin,
        **rows_page(request, selectors.channel_list(tenant=principal.tenant)),
    }
    return render(request, "decisionflows/channel_list.html", context)


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def channel_create(request: HttpRequest, principal: Principal) -> HttpResponse:
    tenant = principal.tenant
    form = ChannelForm(posted(request))
    if request.method == "POST":
        channel = save(form, lambda data: services.channel_create(tenant=tenant, actor=principal, data=data))
        if channel is not None:
            messages.success(request, f"Channel “{channel.name}” created.")
            return redirect("decisionflows:channel-list")
    return render(request, "decisionflows/channel_form.html", {"section": "channels", "form": form, "channel": None})


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, principal: Principal, channel_id: str) -> HttpResponse:
    tenant = principal.tenant
    channel = _channel_or_404(principal, channel_id)
    if request.method == "POST":
        form = ChannelForm(request.POST)
        saved = save(
            form, lambda data: services.channel_update(tenant=tenant, actor=principal, instance=channel, data=data)
        )
        if saved is not None:
            messages.success(request, f"Channel “{saved.name}” saved.")
            return redirect("decisionflows:channel-list")
        channel.refresh_from_db()
    else:
        form = ChannelForm(initial=ChannelForm.initial_from(channel))
    context = {"section": "channels", "form": form, "channel": channel, "can_delete": principal.is_admin}
    return render(request, "decisionflows/channel_form.html", context)


@tenant_page(Role.ADMIN)
@require_POST
def channel_delete(request: HttpRequest, principal: Principal, channel_id: str) -> HttpResponse:
    channel = _channel_or_404(principal, channel_id)
    return delete(
        request,
        delete=lambda: services.channel_delete(tenant=principal.tenant, actor=principal, instance=channel),
        what="channel",
        name=channel.name,
        done="decisionflows:channel-list",
        back="decisionflows:channel-list",
    )
