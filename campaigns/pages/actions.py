"""The buttons of a campaign's page: run it now, change its status, delete it, resend a run's
failed deliveries. Each answers with a flash message and a redirect."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from campaigns import deliveries, services
from campaigns.forms import error_text
from campaigns.models import CampaignStatus
from campaigns.pages._shared import STATUS_ACTIONS, campaign_or_404, campaign_run_or_404
from kaireon.errors import Conflict, DomainError
from kaireon.models import Role
from kaireon.pages import tenant_page
from kaireon.principal import Principal


@tenant_page(Role.EDITOR)
@require_POST
def campaign_trigger(request: HttpRequest, principal: Principal, campaign_id: str) -> HttpResponse:
    campaign = campaign_or_404(principal, campaign_id)
    try:
        campaign_run = services.campaign_trigger(
            tenant=principal.tenant, actor=principal, campaign=campaign, triggered_by="manual"
        )
    except Conflict as exc:
        messages.error(request, exc.message)
    except DomainError as exc:
        messages.error(request, f"The campaign could not run: {error_text(exc)}")
    else:
        messages.success(request, f"Run #{campaign_run.run_number} created; it starts as soon as a worker picks it up.")
    return redirect("campaigns:detail", campaign_id=campaign.pk)


@tenant_page(Role.EDITOR)
@require_POST
def campaign_set_status(request: HttpRequest, principal: Principal, campaign_id: str) -> HttpResponse:
    campaign = campaign_or_404(principal, campaign_id)
    status = request.POST.get("status", "")
    if status not in CampaignStatus.values:
        messages.error(request, "Unknown status.")
        return redirect("campaigns:detail", campaign_id=campaign.pk)
    try:
        updated = services.campaign_update(
            tenant=principal.tenant, actor=principal, instance=campaign, data={"status": status}
        )
    except DomainError as exc:
        messages.error(request, f"The status was not changed: {error_text(exc)}")
    else:
        label = STATUS_ACTIONS[CampaignStatus(status)][1]
        messages.success(request, f"Campaign “{updated.name}” is now {status}. {label}")
    return redirect("campaigns:detail", campaign_id=campaign.pk)


@tenant_page(Role.ADMIN)
@require_POST
def campaign_delete(request: HttpRequest, principal: Principal, campaign_id: str) -> HttpResponse:
    campaign = campaign_or_404(principal, campaign_id)
    try:
        services.campaign_delete(tenant=principal.tenant, actor=principal, instance=campaign)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("campaigns:detail", campaign_id=campaign.pk)
    messages.success(request, f"Campaign “{campaign.name}” and its runs were deleted.")
    return redirect("campaigns:list")


@tenant_page(Role.EDITOR)
@require_POST
def campaign_run_retry(request: HttpRequest, principal: Principal, campaign_id: str, crun_id: str) -> HttpResponse:
    """Resend only the failed deliveries of one campaign run (as the API's retry-deliveries)."""
    campaign = campaign_or_404(principal, campaign_id)
    campaign_run = campaign_run_or_404(campaign, crun_id)
    try:
        deliveries.deliveries_retry(tenant=principal.tenant, actor=principal, campaign_run=campaign_run)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        count = campaign_run.deliveries_failed
        noun = "delivery" if count == 1 else "deliveries"
        messages.success(request, f"Resending {count} failed {noun} of run #{campaign_run.run_number}.")
    return redirect("campaigns:detail", campaign_id=campaign.pk)
