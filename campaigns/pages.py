"""Web pages of campaigns: the list, the create/edit form with its schedule builder and live
next-occurrences preview, the detail with its run history (live while a run goes), the trigger,
status and delete actions, result-file downloads, retrying failed deliveries, and the agents'
work queue of manual-channel deliveries.

Thin: reads go through campaigns.selectors, changes through campaigns.services (and
campaigns.deliveries for the delivery actions); ``tenant_page`` refuses what the role may not do
(403) and scopes to the tenant (another tenant's campaign or work item is a 404)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaigns import deliveries, files, schedules, selectors, services
from campaigns.forms import CampaignFilters, CampaignForm, WorkQueueFilters, error_text, schedule_from
from campaigns.models import (
    Campaign,
    CampaignFile,
    CampaignRun,
    CampaignStatus,
    DeliveryStatus,
    FileStatus,
    ScheduleType,
)
from decisionflows.models import Channel, DeliveryMode
from kaireon.errors import Conflict, DomainError, NotFound
from kaireon.models import Role
from kaireon.pages import STOP_POLLING, tenant_page
from kaireon.paging import page_context
from kaireon.principal import Principal
from runs.models import ACTIVE_STATUSES, RunStatus

app_name = "campaigns"

CAMPAIGNS_PER_PAGE = 25
WORK_ITEMS_PER_PAGE = 50
PREVIEW_COUNT = 5
# The run history polls while a run goes, and for a short while after it finished: the file and
# the deliveries are written by tasks that start when the run ends.
POLL_SECONDS = 2
FOLLOW_UP = timedelta(minutes=3)
# The status buttons of the detail page: the target status, its button label, its note.
STATUS_ACTIONS = {
    CampaignStatus.ACTIVE: ("Activate", "Scheduled runs will start automatically."),
    CampaignStatus.PAUSED: ("Pause", "No scheduled runs until it is activated again."),
    CampaignStatus.ARCHIVED: ("Archive", "Retired: kept for history, it can no longer run."),
    CampaignStatus.DRAFT: ("Restore as draft", "Back to draft, to edit and activate again."),
}


def _campaign_or_404(principal: Principal, campaign_id: str) -> Campaign:
    return get_object_or_404(selectors.campaigns_for(tenant=principal.tenant), pk=campaign_id)


def _campaign_run_or_404(campaign: Campaign, crun_id: str) -> CampaignRun:
    return get_object_or_404(selectors.campaign_runs().filter(campaign=campaign), pk=crun_id)


# --- list ----------------------------------------------------------------------------------


@tenant_page()
@require_GET
def campaign_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    filters = CampaignFilters(request.GET)
    campaigns = filters.apply(selectors.campaigns_for(tenant=principal.tenant))
    context: dict[str, Any] = {
        **page_context(request, campaigns, CAMPAIGNS_PER_PAGE, "campaigns"),
        "filters": filters,
        "statuses": CampaignStatus.choices,
        "can_create": principal.is_editor,
    }
    return render(request, "campaigns/list.html", context)


# --- create / edit ---------------------------------------------------------------------------


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
            except (DomainError, DjangoValidationError) as exc:
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
    campaign = _campaign_or_404(principal, campaign_id)
    return _form_page(request, principal, instance=campaign)


@tenant_page(Role.EDITOR)
@require_POST
def schedule_preview(request: HttpRequest, principal: Principal) -> HttpResponse:
    """The form's live "next occurrences" (htmx, as the schedule fields change)."""
    context = {**_preview_context(request.POST), "status": request.POST.get("status", "")}
    return render(request, "campaigns/_schedule_preview.html", context)


# --- detail --------------------------------------------------------------------------------


@dataclass
class HistoryRow:
    """One campaign run as the history table shows it."""

    campaign_run: CampaignRun
    status: str
    file: CampaignFile | None
    summary: dict[str, Any]
    constraints: dict[str, Any]
    can_retry: bool
    following: bool  # still moving: the page keeps polling


def _history(principal: Principal, campaign: Campaign) -> tuple[list[HistoryRow], bool]:
    now = timezone.now()
    rows = []
    for campaign_run in selectors.campaign_recent_runs(campaign):
        run = campaign_run.run
        record: CampaignFile | None = getattr(campaign_run, "file", None)
        summary = dict(run.summary or {}) if run is not None else {}
        status = str(campaign_run.current_status)  # type: ignore[attr-defined]
        recently = run is not None and run.completed_at is not None and now - run.completed_at < FOLLOW_UP
        awaiting_file = (
            bool(campaign.file_config)
            and run is not None
            and run.status in (RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_ERRORS)
            and (record is None or record.status == FileStatus.PENDING)
        )
        sending = campaign_run.deliveries_total > 0 and campaign_run.deliveries_settled_at is None
        following = (run is not None and run.status in ACTIVE_STATUSES) or (recently and (awaiting_file or sending))
        rows.append(
            HistoryRow(
                campaign_run=campaign_run,
                status=status,
                file=record,
                summary=summary,
                constraints=summary.get("constraints") or {},
                can_retry=principal.is_editor
                and campaign_run.deliveries_failed > 0
                and campaign_run.deliveries_settled_at is not None,
                following=following,
            )
        )
    return rows, any(row.following for row in rows)


def _status_actions(principal: Principal, campaign: Campaign) -> list[tuple[str, str, str]]:
    """(status, button label, note) of the status changes the detail page offers."""
    if not principal.is_editor:
        return []
    if campaign.status == CampaignStatus.ARCHIVED:
        targets = [CampaignStatus.DRAFT]
    elif campaign.status == CampaignStatus.ACTIVE:
        targets = [CampaignStatus.PAUSED, CampaignStatus.ARCHIVED]
    else:
        targets = [CampaignStatus.ACTIVE, CampaignStatus.ARCHIVED]
    return [(target.value, *STATUS_ACTIONS[target]) for target in targets]


def _history_context(principal: Principal, campaign: Campaign) -> dict[str, Any]:
    rows, polling = _history(principal, campaign)
    return {"campaign": campaign, "history": rows, "polling": polling, "poll_seconds": POLL_SECONDS}


@tenant_page()
@require_GET
def campaign_detail(request: HttpRequest, principal: Principal, campaign_id: str) -> HttpResponse:
    campaign = _campaign_or_404(principal, campaign_id)
    channel_ids = campaign.channel_ids or []
    context = _history_context(principal, campaign)
    context.update(
        {
            "principal": principal,
            "channels": list(Channel.objects.filter(tenant=principal.tenant, pk__in=channel_ids).order_by("name")),
            "slots": schedules.preview(campaign, timezone.now(), count=PREVIEW_COUNT),
            "manual": campaign.schedule_type == ScheduleType.MANUAL,
            "file_columns": files.file_columns(campaign.file_config) if campaign.file_config else [],
            "can_edit": principal.is_editor,
            "can_trigger": principal.is_editor and campaign.status != CampaignStatus.ARCHIVED,
            "can_delete": principal.is_admin,
            "status_actions": _status_actions(principal, campaign),
        }
    )
    return render(request, "campaigns/detail.html", context)


@tenant_page()
@require_GET
def campaign_history(request: HttpRequest, principal: Principal, campaign_id: str) -> HttpResponse:
    """The detail page's run history, polled while a run goes (286 once nothing moves)."""
    campaign = _campaign_or_404(principal, campaign_id)
    context = _history_context(principal, campaign)
    response = render(request, "campaigns/_history.html", context)
    if not context["polling"]:
        response.status_code = STOP_POLLING
    return response


@tenant_page()
@require_GET
def campaign_run_file(request: HttpRequest, principal: Principal, campaign_id: str, crun_id: str) -> FileResponse:
    """A campaign run's result file (destination download), as the API serves it."""
    campaign = _campaign_or_404(principal, campaign_id)
    campaign_run = _campaign_run_or_404(campaign, crun_id)
    record = selectors.campaign_run_ready_file(campaign_run=campaign_run)
    if record is None or record.destination != "download":
        raise Http404("This campaign run has no file to download.")
    return files.campaign_file_response(record)


# --- actions -------------------------------------------------------------------------------


@tenant_page(Role.EDITOR)
@require_POST
def campaign_trigger(request: HttpRequest, principal: Principal, campaign_id: str) -> HttpResponse:
    campaign = _campaign_or_404(principal, campaign_id)
    try:
        campaign_run = services.campaign_trigger(
            tenant=principal.tenant, actor=principal, campaign=campaign, triggered_by="manual"
        )
    except Conflict as exc:
        messages.error(request, exc.message)
    except (DomainError, DjangoValidationError) as exc:
        messages.error(request, f"The campaign could not run: {error_text(exc)}")
    else:
        messages.success(request, f"Run #{campaign_run.run_number} created; it starts as soon as a worker picks it up.")
    return redirect("campaigns:detail", campaign_id=campaign.pk)


@tenant_page(Role.EDITOR)
@require_POST
def campaign_set_status(request: HttpRequest, principal: Principal, campaign_id: str) -> HttpResponse:
    campaign = _campaign_or_404(principal, campaign_id)
    status = request.POST.get("status", "")
    if status not in CampaignStatus.values:
        messages.error(request, "Unknown status.")
        return redirect("campaigns:detail", campaign_id=campaign.pk)
    try:
        updated = services.campaign_update(
            tenant=principal.tenant, actor=principal, instance=campaign, data={"status": status}
        )
    except (DomainError, DjangoValidationError) as exc:
        messages.error(request, f"The status was not changed: {error_text(exc)}")
    else:
        label = STATUS_ACTIONS[CampaignStatus(status)][1]
        messages.success(request, f"Campaign “{updated.name}” is now {status}. {label}")
    return redirect("campaigns:detail", campaign_id=campaign.pk)


@tenant_page(Role.ADMIN)
@require_POST
def campaign_delete(request: HttpRequest, principal: Principal, campaign_id: str) -> HttpResponse:
    campaign = _campaign_or_404(principal, campaign_id)
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
    campaign = _campaign_or_404(principal, campaign_id)
    campaign_run = _campaign_run_or_404(campaign, crun_id)
    try:
        deliveries.deliveries_retry(tenant=principal.tenant, actor=principal, campaign_run=campaign_run)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        count = campaign_run.deliveries_failed
        noun = "delivery" if count == 1 else "deliveries"
        messages.success(request, f"Resending {count} failed {noun} of run #{campaign_run.run_number}.")
    return redirect("campaigns:detail", campaign_id=campaign.pk)


# --- work queue ----------------------------------------------------------------------------


@tenant_page()
@require_GET
def work_queue(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Recommendations on manual channels, for agents to act on, oldest first."""
    tenant = principal.tenant
    filters = WorkQueueFilters(request.GET)
    items = selectors.work_queue(tenant=tenant, status=filters.status, channel_id=filters.channel or None)
    context: dict[str, Any] = {
        **page_context(request, items.select_related("campaign_run__campaign"), WORK_ITEMS_PER_PAGE, "items"),
        "filters": filters,
        "statuses": [(DeliveryStatus.PENDING, "To do"), (DeliveryStatus.DONE, "Done")],
        "channel_options": Channel.objects.filter(tenant=tenant, delivery_mode=DeliveryMode.MANUAL)
        .order_by("name")
        .only("id", "name"),
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
            item = (
                selectors.work_queue(tenant=principal.tenant).select_related("campaign_run__campaign").get(pk=item_id)
            )
            return render(
                request, "campaigns/_work_item.html", {"item": item, "can_mark_done": True, "error": exc.message}
            )
        messages.error(request, exc.message)
        return redirect(_back_to_queue(request))
    if request.htmx:  # type: ignore[attr-defined]
        item = selectors.work_queue(tenant=principal.tenant).select_related("campaign_run__campaign").get(pk=item.pk)
        return render(request, "campaigns/_work_item.html", {"item": item, "can_mark_done": True, "just_done": True})
    messages.success(request, f"Work item {item.pk} marked done.")
    return redirect(_back_to_queue(request))


urlpatterns = [
    path("campaigns/", campaign_list, name="list"),
    path("campaigns/new/", campaign_new, name="new"),
    path("campaigns/schedule-preview/", schedule_preview, name="schedule-preview"),
    path("campaigns/work-queue/", work_queue, name="work-queue"),
    path("campaigns/work-queue/<int:item_id>/done/", work_item_done, name="work-item-done"),
    path("campaigns/<str:campaign_id>/", campaign_detail, name="detail"),
    path("campaigns/<str:campaign_id>/edit/", campaign_edit, name="edit"),
    path("campaigns/<str:campaign_id>/history/", campaign_history, name="history"),
    path("campaigns/<str:campaign_id>/trigger/", campaign_trigger, name="trigger"),
    path("campaigns/<str:campaign_id>/status/", campaign_set_status, name="status"),
    path("campaigns/<str:campaign_id>/delete/", campaign_delete, name="delete"),
    path("campaigns/<str:campaign_id>/runs/<str:crun_id>/file/", campaign_run_file, name="run-file"),
    path("campaigns/<str:campaign_id>/runs/<str:crun_id>/retry/", campaign_run_retry, name="run-retry"),
]
