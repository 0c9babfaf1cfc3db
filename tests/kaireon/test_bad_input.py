"""Bad input found by fuzzing (issue 10, section 3): a 4xx naming the field, never a 500."""

from __future__ import annotations

import pytest

from kaireon.models import Role

pytestmark = pytest.mark.django_db

DATE_FILTERS = [
    ("/api/v1/runs", "createdBefore"),
    ("/api/v1/runs", "createdAfter"),
    ("/api/v1/audit-logs", "createdBefore"),
    ("/api/v1/journeys/runs", "startedAfter"),
    ("/api/v1/contact-history", "contactedBefore"),
]
# beyond PostgreSQL's ±15:59; in year 10000 once in UTC; before year 1 once in UTC
BAD_DATES = ["3858-06-29T21:26:59+17:07", "9999-12-31T23:30:00-05:00", "0001-01-01T00:10:00+01:00"]


@pytest.mark.parametrize(("path", "param"), DATE_FILTERS)
@pytest.mark.parametrize("value", BAD_DATES)
def test_date_filters_out_of_range_answer_400_naming_the_parameter(client_for, tenant, path, param, value):
    response = client_for(tenant, Role.ADMIN).get(path, {param: value})
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == [param]


@pytest.mark.parametrize(("path", "param"), DATE_FILTERS)
def test_date_filters_accept_real_offsets(client_for, tenant, path, param):
    response = client_for(tenant, Role.ADMIN).get(path, {param: "2026-06-29T21:26:59+14:00"})
    assert response.status_code == 200
