"""The agents' work queue: recommendations on manual channels, oldest first, each marked done
in place (htmx swaps its row) or, without script, through a redirect back to the queue."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from campaigns import deliveries, selectors
from campaigns.forms import WorkQueueFilters
from campaigns.models import DeliveryStatus
from kaireon.errors import Conflict, NotFound
from kaireon.models import Role
from kaireon.pages import tenant_page
from kaireon.paging import page_context
from kaireon.principal import Principal

WORK_ITEMS_PER_PAGE = 50


@tenant_page()
@require_GET
def work_queue(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Recommendations on manual channels, for agents to act on, oldest first."""
    tenant = principal.tenant
    filters = WorkQueueFilters(request.GET)
    items = selectors.work_queue(
        tenant=tenant, status=filters.status, channel_id=filters.channel or None, with_campaign=True
    )
    context: dict[str, Any] = {
        **page_context(request, items, WORK_ITEMS_PER_PAGE, "items"),
        "filters": filters,
        "statuses": [(DeliveryStatus.PENDING, "To do"), (DeliveryStatus.DONE, "Done")],
        "channel_options": selectors.manual_channels(tenant=tenant),
        "can_mark_done": principal.is_editor,
    }
    return render(request, "campaigns/work_queue.html", context)


def _back_to_queue(request: HttpRequest) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/campaigns/work-queue/"


@tenant_page(Role.EDITOR)
@require_POST
def work_item_done(request: HttpRequest, principal: Principal, item_id: int) -> HttpResponse:
    """Mark a work item done: htmx swaps its row; without script, back to the queue."""
    try:
        item = deliveries.work_item_done(tenant=principal.tenant, actor=principal, delivery_id=item_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    except Conflict as exc:
        if request.htmx:  # type: ignore[attr-defined]
            item = selectors.work_item(tenant=principal.tenant, item_id=item_id)
            return render(
                request, "campaigns/_work_item.html", {"item": item, "can_mark_done": True, "error": exc.message}
            )
        messages.error(request, exc.message)
        return redirect(_back_to_queue(request))
    if request.htmx:  # type: ignore[attr-defined]
        item = selectors.work_item(tenant=principal.tenant, item_id=item.pk)
        return render(request, "campaigns/_work_item.html", {"item": item, "can_mark_done": True, "just_done": True})
    messages.success(request, f"Work item {item.pk} marked done.")
    return redirect(_back_to_queue(request))
