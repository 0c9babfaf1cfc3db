"""What the campaign pages share: the tenant-scoped lookups (another tenant's campaign is a
404) and the status changes the detail page offers."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from campaigns import selectors
from campaigns.models import Campaign, CampaignRun, CampaignStatus
from kaireon.principal import Principal

# The schedule's next occurrences shown by the form's preview and the detail page.
PREVIEW_COUNT = 5
# The status buttons of the detail page: the target status, its button label, its note.
STATUS_ACTIONS = {
    CampaignStatus.ACTIVE: ("Activate", "Scheduled runs will start automatically."),
    CampaignStatus.PAUSED: ("Pause", "No scheduled runs until it is activated again."),
    CampaignStatus.ARCHIVED: ("Archive", "Retired: kept for history, it can no longer run."),
    CampaignStatus.DRAFT: ("Restore as draft", "Back to draft, to edit and activate again."),
}


def campaign_or_404(principal: Principal, campaign_id: str) -> Campaign:
    return get_object_or_404(selectors.campaigns_for(tenant=principal.tenant), pk=campaign_id)


def campaign_run_or_404(campaign: Campaign, crun_id: str) -> CampaignRun:
    return get_object_or_404(selectors.campaign_runs_of(campaign=campaign), pk=crun_id)
