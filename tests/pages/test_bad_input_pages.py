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


@pytest.mark.parametrize("path", ["/runs/?q=a%00b", "/segments/?q=%00", "/customers/?q=x&by=%00", "/runs/run_%00/"])
def test_nul_in_a_page_query_string_or_path_is_a_plain_400(client_as, tenant, path):
    response = client_as(tenant, Role.VIEWER).get(path)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert "NUL character" in response.content.decode()


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ('{"field": "tier", "operator": "eq", "value": "a\\u0000"}', "value: NUL characters"),
        ('{"field\\u0000": "tier"}', "NUL characters (\\u0000) are not allowed in keys."),
        ('{"all": ' + "[" * 900 + "]" * 900 + "}", "JSON nests deeper than 64 levels."),
        ('{"field": "age", "operator": "gte", "value": 1e309}', "too large; numbers must be finite."),
        ('{"field": "age", "operator": "gte", "value": NaN}', "NaN is not a JSON number"),
    ],
)
@pytest.mark.parametrize("form", ["segment", "run"])
def test_json_boxes_refuse_nul_deep_nesting_and_non_finite_numbers_beside_the_field(
    client_as, tenant, form, filters, message
):
    editor = client_as(tenant, Role.EDITOR)
    if form == "segment":
        response = editor.post("/segments/new/", {"name": "Odd", "filters": filters})
    else:
        response = editor.post("/runs/new/", {"audience": "filter", "filters": filters})
    assert response.status_code == 200
    errors = response.context["form"].errors["filters"]
    assert message in errors[0], errors
