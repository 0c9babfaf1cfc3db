"""The campaign create/edit form with its schedule builder and the live next-occurrences
preview (htmx, and a no-script "update preview" button)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from campaigns import schedules, services
from campaigns.forms import CampaignForm, schedule_from
from campaigns.models import Campaign, CampaignStatus, ScheduleType
from campaigns.pages._shared import PREVIEW_COUNT, campaign_or_404
from kaireon.errors import DomainError
from kaireon.models import Role
from kaireon.pages import tenant_page
from kaireon.principal import Principal


def _preview_context(params: Any) -> dict[str, Any]:
    """The next occurrences of the schedule in ``params`` (the form's fields), or its errors."""
    schedule, errors = schedule_from(params)
    context: dict[str, Any] = {"preview_errors": [m for ms in errors.values() for m in ms]}
    if schedule is not None:
        context["schedule"] = schedule
        context["slots"] = schedules.preview(schedule, timezone.now(), count=PREVIEW_COUNT)
        context["manual"] = schedule.schedule_type == ScheduleType.MANUAL
    return context


def _form_params(form: CampaignForm) -> dict[str, Any]:
    return {name: form.value_of(name) for name in form.fields if name.startswith("schedule_")}


def _initial_from(form_fields: dict[str, forms.Field], data: QueryDict) -> dict[str, Any]:
    """Unbound initial values from a posted form (the no-script "update preview" button shows
    the preview without validating, so no error is shown for a half-filled form)."""
    initial: dict[str, Any] = {}
    for name, field in form_fields.items():
        if isinstance(field, forms.MultipleChoiceField):
            initial[name] = data.getlist(name)
        elif isinstance(field, forms.BooleanField):
            initial[name] = bool(data.get(name))
        elif name in data:
            initial[name] = data.get(name)
    return initial


def _form_page(request: HttpRequest, principal: Principal, *, instance: Campaign | None = None) -> HttpResponse:
    tenant = principal.tenant
    if request.method == "POST" and "_preview" in request.POST:
        initial = _initial_from(CampaignForm.base_fields, request.POST)
        form = CampaignForm(tenant=tenant, instance=instance, initial=initial)
    elif request.method == "POST":
        form = CampaignForm(request.POST, tenant=tenant, instance=instance)
        if form.is_valid():
            try:
                if instance is None:
                    campaign = services.campaign_create(tenant=tenant, actor=principal, data=form.service_data())
                else:
                    campaign = services.campaign_update(
                        tenant=tenant, actor=principal, instance=instance, data=form.service_data()
                    )
            except DomainError as exc:
                form.add_service_error(exc)
            else:
                verb = "created" if instance is None else "saved"
                messages.success(request, f"Campaign “{campaign.name}” {verb}.")
                return redirect("campaigns:detail", campaign_id=campaign.pk)
    else:
        form = CampaignForm(tenant=tenant, instance=instance)
    context: dict[str, Any] = {
        "form": form,
        "campaign": instance,
        "weekday_choices": form.fields["schedule_day_of_week"].choices,  # type: ignore[attr-defined]
        "day_of_month_choices": form.fields["schedule_day_of_month"].choices,  # type: ignore[attr-defined]
        "schedule_types": ScheduleType.choices,
        "statuses": CampaignStatus.choices,
        **_preview_context(_form_params(form)),
    }
    return render(request, "campaigns/form.html", context)


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest, principal: Principal) -> HttpResponse:
    return _form_page(request, principal)


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, principal: Principal, campaign_id: str) -> HttpResponse:
    campaign = campaign_or_404(principal, campaign_id)
    return _form_page(request, principal, instance=campaign)


@tenant_page(Role.EDITOR)
@require_POST
def schedule_preview(request: HttpRequest, principal: Principal) -> HttpResponse:
    """The form's live "next occurrences" (htmx, as the schedule fields change)."""
    context = {**_preview_context(request.POST), "status": request.POST.get("status", "")}
    return render(request, "campaigns/_schedule_preview.html", context)
