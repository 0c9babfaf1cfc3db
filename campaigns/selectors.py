"""Reads of campaigns: the list with its run figures (no N+1), campaign runs with the status of
their Run, the detail page's recent runs, channels and latest results, and the agents' work
queue."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, Count, F, Max, Prefetch, QuerySet, When
from django.db.models.functions import Coalesce

from campaigns.models import Campaign, CampaignFile, CampaignRun, CampaignRunStatus, Delivery, FileStatus
from decisionflows.models import Channel, DeliveryMode
from kaireon.models import Tenant
from runs.models import RunStatus
from runs.selectors import run_customers_page

RECENT_RUNS = 10
MAX_CAMPAIGN_RUNS = 50


def campaign_run_ready_file(*, campaign_run: CampaignRun) -> CampaignFile | None:
    """The campaign run's result file once written (None while pending or failed)."""
    return CampaignFile.objects.filter(campaign_run=campaign_run, status=FileStatus.READY).first()


# What a campaign run's row in a list shows (CampaignRunSerializer): its own columns but the volume
# constraints, its file's, and (through current_status) its Run's status, joined but not loaded.
CAMPAIGN_RUN_LIST_FIELDS = (
    "id",
    "campaign_id",
    "run_number",
    "triggered_by",
    "scheduled_for",
    "status",
    "error",
    "run_id",
    "created_at",
    "deliveries_total",
    "deliveries_sent",
    "deliveries_failed",
    "work_items",
    "deliveries_settled_at",
    "file__status",
    "file__format",
    "file__destination",
    "file__rows",
    "file__checksum",
    "file__error",
    "file__path",
)


def _current_status() -> Case:
    """A campaign run's status: its Run's while it has one (so it follows the run with no hook
    into it), else the stored status (skipped, failed to start)."""
    return Case(
        # failed deliveries make a finished run's campaign run completed_with_errors
        When(status=CampaignRunStatus.COMPLETED_WITH_ERRORS, then=F("status")),
        default=Coalesce(F("run__status"), F("status")),
    )


def campaign_runs(*, with_summaries: bool = False) -> QuerySet[CampaignRun]:
    """Campaign runs with their Run and ``current_status`` (``_current_status``), newest first.
    The runs' summaries (a few kB each) are loaded only when asked for."""
    queryset = (
        CampaignRun.objects.select_related("run", "file")
        .annotate(current_status=_current_status())
        .order_by("-run_number")
    )
    if not with_summaries:
        queryset = queryset.defer("run__summary", "run__error_context")
    return queryset


def campaign_runs_listed(*, campaign: Campaign) -> QuerySet[CampaignRun]:
    """The campaign's runs as their list shows them, newest first: the rows and their files in
    one query, the total from the counters of the tenant's campaign runs (kaireon/listcounts.py)."""
    return (
        CampaignRun.objects.filter(tenant_id=campaign.tenant_id, campaign=campaign)
        .select_related("file")
        .annotate(current_status=_current_status())
        .only(*CAMPAIGN_RUN_LIST_FIELDS)
        .order_by("-run_number")
    )


def campaign_runs_of(*, campaign: Campaign) -> QuerySet[CampaignRun]:
    """The campaign's runs (``campaign_runs``), where a page looks one up by its id."""
    return campaign_runs().filter(campaign=campaign)


def with_run_figures(queryset: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """Campaigns with what the list shows: flow and segment names, run count, last run time and
    the latest campaign run (one prefetch query for the page, whatever its size)."""
    return (
        queryset.select_related("decision_flow", "segment")
        .annotate(run_count=Count("campaign_runs"), last_run_at=Max("campaign_runs__created_at"))
        .prefetch_related(Prefetch("campaign_runs", queryset=campaign_runs()[:1], to_attr="latest_runs"))
        .order_by("-created_at", "-id")
    )


def campaigns_for(*, tenant: Tenant) -> QuerySet[Campaign]:
    return with_run_figures(Campaign.objects.filter(tenant=tenant))


def campaign_recent_runs(campaign: Campaign) -> list[CampaignRun]:
    """The last ``RECENT_RUNS`` campaign runs with their runs (the serializer adds each run's
    summary, names resolved, as GET /runs/{id}/results shows it)."""
    return list(campaign_runs(with_summaries=True).filter(campaign=campaign)[:RECENT_RUNS])


def campaign_channels(*, tenant: Tenant, campaign: Campaign) -> list[Channel]:
    """The channels the campaign's runs are limited to, by name (none: every channel)."""
    return list(Channel.objects.filter(tenant=tenant, pk__in=campaign.channel_ids or []).order_by("name"))


def campaign_latest_results(campaign: Campaign) -> dict[str, Any] | None:
    """The first page of per-customer results of the newest finished run that has results;
    further pages come from GET /api/v1/runs/{runId}/customers?cursor=nextCursor."""
    campaign_run = (
        campaign_runs()
        .filter(campaign=campaign, run__status__in=[RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_ERRORS])
        .select_related("run__tenant")
        .first()
    )
    if campaign_run is None or campaign_run.run is None:
        return None
    customers, next_cursor = run_customers_page(campaign_run.run)
    return {
        "run_id": campaign_run.run.pk,
        "run_number": campaign_run.run_number,
        "customers": customers,
        "next_cursor": next_cursor,
    }


def work_queue(
    *, tenant: Tenant, status: str | None = None, channel_id: str | None = None, with_campaign: bool = False
) -> QuerySet[Delivery]:
    """Manual-channel deliveries of the tenant (agents' work items), oldest first; the
    (tenant, mode, status, channel, id) index serves it. ``with_campaign`` joins each item's
    campaign too (the pages name it)."""
    queryset = Delivery.objects.filter(tenant=tenant, mode=DeliveryMode.MANUAL).select_related(
        "customer", "offer", "channel", "campaign_run__campaign" if with_campaign else "campaign_run"
    )
    if status:
        queryset = queryset.filter(status=status)
    if channel_id:
        queryset = queryset.filter(channel_id=channel_id)
    return queryset.order_by("id")


def work_item(*, tenant: Tenant, item_id: int) -> Delivery:
    """One work item of the tenant with its campaign, as the work queue's row shows it."""
    return work_queue(tenant=tenant, with_campaign=True).get(pk=item_id)


def manual_channels(*, tenant: Tenant) -> QuerySet[Channel]:
    """The tenant's manual channels by name: what the work queue may be filtered by."""
    return Channel.objects.filter(tenant=tenant, delivery_mode=DeliveryMode.MANUAL).order_by("name").only("id", "name")
