"""Absurd integers in a campaign's caps (issue 10, section 3): a 400 stating the allowed range,
never stored as another number."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign
from tests.campaigns.helpers import fields

pytestmark = pytest.mark.django_db

HUGE = 99999999999999999999999


@pytest.mark.parametrize("key", ["maxTotalPerRun", "maxPerOffer", "maxPerChannel"])
@pytest.mark.parametrize("value", [HUGE, 2**31, 0])
def test_volume_caps_outside_the_range_are_a_400_stating_it(editor, catalogue, key, value):
    body = {"decisionFlowId": catalogue.flow.pk, "segmentId": catalogue.everyone.pk, "volumeConstraints": {key: value}}
    response = editor.post("/api/v1/campaigns", body, format="json")
    assert fields(response) == {
        f"volumeConstraints.{key}": [f"Must be an integer from 1 to 2,147,483,647 (got {value})."]
    }
    assert not Campaign.objects.exists()


def test_the_largest_volume_cap_is_kept_exactly(editor, catalogue):
    body = {"decisionFlowId": catalogue.flow.pk, "segmentId": catalogue.everyone.pk}
    response = editor.post(
        "/api/v1/campaigns", {**body, "volumeConstraints": {"maxPerOffer": 2**31 - 1}}, format="json"
    )
    assert response.status_code == 201, response.content
    assert editor.get(response["Location"]).json()["volumeConstraints"] == {"maxPerOffer": 2**31 - 1}
