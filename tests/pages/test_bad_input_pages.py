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


HUGE = "99999999999999999999999"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"policy_type": "frequency_cap", "max_count": HUGE, "period": "day"}, "max_count", "2,147,483,647"),
        ({"policy_type": "cooldown", "cooldown_hours": HUGE}, "cooldown_hours", "Must be an integer from 1 to 87,600"),
        ({"policy_type": "cooldown", "cooldown_hours": str(2**31 - 1)}, "cooldown_hours", "from 1 to 87,600"),
    ],
)
def test_policy_form_refuses_absurd_limits_stating_the_range(client_as, tenant, changes, field, message):
    from decisionflows.models import ContactPolicy

    response = client_as(tenant, Role.EDITOR).post(
        "/catalogue/policies/new/", {"name": "Odd", "status": "active", "scope": "global", **changes}
    )
    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert not ContactPolicy.objects.exists()


@pytest.mark.parametrize("field", ["max_total_per_run", "max_per_offer", "max_per_channel"])
def test_campaign_form_refuses_absurd_caps_stating_the_range(client_as, tenant, field):
    from campaigns.models import Campaign
    from tests.pages.test_campaigns_form import form_data
    from tests.runs.conftest import build_catalogue

    response = client_as(tenant, Role.EDITOR).post(
        "/campaigns/new/", form_data(build_catalogue(tenant), **{field: HUGE})
    )
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [f"Must be an integer from 1 to 2,147,483,647 (got {HUGE})."]
    assert not Campaign.objects.exists()


NAME_FORMS = [
    "/segments/new/",
    "/runs/new/",
    "/campaigns/new/",
    "/catalogue/offers/new/",
    "/catalogue/channels/new/",
    "/catalogue/policies/new/",
    "/catalogue/flows/new/",
    "/journeys/new/",
]


@pytest.mark.parametrize("path", NAME_FORMS)
def test_forms_refuse_names_with_control_characters_beside_the_field(client_as, tenant, path):
    response = client_as(tenant, Role.ADMIN).post(path, {"name": "Spring\x07sale"})
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["Names cannot contain control characters (found U+0007)."]
