from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from kaireon.models import Tenant
from segments.models import CustomerAttribute


@pytest.fixture
def warm(editor: APIClient, viewer: APIClient, admin: APIClient, outsider: APIClient) -> None:
    """Use every key once, so later requests skip the last-used write and query counts are stable."""
    for client in (editor, viewer, admin, outsider):
        client.get("/api/v1/channels")


@pytest.fixture
def tier_attribute(tenant: Tenant) -> CustomerAttribute:
    """A schema attribute, so rules and tokens may name ``customer.tier``."""
    return CustomerAttribute.objects.create(tenant=tenant, name="tier", type="string", label="Tier")


@pytest.fixture
def flow_payload() -> dict[str, object]:
    return {
        "key": "cards-nba",
        "name": "Cards NBA",
        "pipeline": [{"type": "inventory"}, {"type": "score"}, {"type": "rank"}, {"type": "output"}],
    }
