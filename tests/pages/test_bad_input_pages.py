"""Bad input on the web pages (issue 10, section 3): an error beside the field, never a 500."""

from __future__ import annotations

import pytest

from kaireon.models import Role
from tests.kaireon.test_bad_input import BAD_DATES

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", BAD_DATES)
def test_journey_runs_page_shows_an_out_of_range_date_beside_its_field(client_as, tenant, value):
    response = client_as(tenant, Role.VIEWER).get("/journeys/runs/", {"started_before": value})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"started_before"}
