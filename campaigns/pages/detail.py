"""One campaign's page: its configuration, the schedule's next occurrences, the run history
(polled while a run goes) and the result-file downloads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from campaigns import files, schedules, selectors
from campaigns.models import Campaign, CampaignFile, CampaignRun, CampaignStatus, FileStatus, ScheduleType
from campaigns.pages._shared import PREVIEW_COUNT, STATUS_ACTIONS, campaign_or_404, campaign_run_or_404
from kaireon.pages import STOP_POLLING, tenant_page
from kaireon.principal import Principal
from runs.models import ACTIVE_STATUSES, RunStatus

# The run history polls while a run goes, and for a short while after it finished: the file and
# the deliveries are written by tasks that start when the run ends.
POLL_SECONDS = 2
FOLLOW_UP = timedelta(minutes=3)


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
    campaign = campaign_or_404(principal, campaign_id)
    context = _history_context(principal, campaign)
    context.update(
        {
            "principal": principal,
            "channels": selectors.campaign_channels(tenant=principal.tenant, campaign=campaign),
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
    campaign = campaign_or_404(principal, campaign_id)
    context = _history_context(principal, campaign)
    response = render(request, "campaigns/_history.html", context)
    if not context["polling"]:
        response.status_code = STOP_POLLING
    return response


@tenant_page()
@require_GET
def campaign_run_file(request: HttpRequest, principal: Principal, campaign_id: str, crun_id: str) -> FileResponse:
    """A campaign run's result file (destination download), as the API serves it."""
    campaign = campaign_or_404(principal, campaign_id)
    campaign_run = campaign_run_or_404(campaign, crun_id)
    record = selectors.campaign_run_ready_file(campaign_run=campaign_run)
    if record is None or record.destination != "download":
        raise Http404("This campaign run has no file to download.")
    return files.campaign_file_response(record)
