"""Row locks on campaigns, their runs and deliveries (the policy: ``kaireon.locks``).

Order: the campaign, then its campaign run, then the Run it starts (``runs.locks``), then its
deliveries in pk order, the tenant's audit chain last. The campaign row serialises everything
that adds a campaign run (a trigger, a schedule slot) or deletes the campaign; a delete keeps
FOR NO KEY UPDATE, as nothing references a campaign without locking it first.
"""

from __future__ import annotations

from django.db.models import QuerySet

from campaigns.models import Campaign, CampaignRun, Delivery
from kaireon.locks import for_update


def campaign_for_update() -> QuerySet[Campaign]:
    """Campaigns locked while edited, rescheduled, triggered, fired or deleted."""
    return for_update(Campaign.objects.all())


def campaign_run_for_update() -> QuerySet[CampaignRun]:
    """Campaign runs locked while their delivery totals and status settle or deliveries retry."""
    return for_update(CampaignRun.objects.all())


def delivery_for_update() -> QuerySet[Delivery]:
    """Deliveries (a manual work item) locked while their status changes."""
    return for_update(Delivery.objects.all())
