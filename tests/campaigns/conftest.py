"""Campaign tests build on the runs tests' bank catalogue (a runnable flow, two segments with
views, batch channels) and add campaigns made through the service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from campaigns import services
from campaigns.models import Campaign
from kaireon.principal import Principal
from tests.runs.conftest import Catalogue, build_catalogue

MakeCampaign = Callable[..., Campaign]


@pytest.fixture
def catalogue(tenant: Any) -> Catalogue:
    return build_catalogue(tenant, customers=30)


@pytest.fixture
def make_campaign(catalogue: Catalogue, system_actor: Principal) -> MakeCampaign:
    def make(**data: Any) -> Campaign:
        body = {"decision_flow_id": catalogue.flow.pk, "segment_id": catalogue.everyone.pk, **data}
        return services.campaign_create(tenant=catalogue.tenant, actor=system_actor, data=body)

    return make


@pytest.fixture
def campaign(make_campaign: MakeCampaign) -> Campaign:
    return make_campaign(name="Weekly High-Value Campaign")


@pytest.fixture
def warm(editor: APIClient, viewer: APIClient, admin: APIClient, outsider: APIClient) -> None:
    """Use every key once, so later requests skip the last-used write and query counts are stable."""
    for client in (editor, viewer, admin, outsider):
        client.get("/api/v1/campaigns")
