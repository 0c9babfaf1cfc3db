"""Bad input in journey requests (issue 10, section 3): a 400 naming where, never a 500."""

from __future__ import annotations

import pytest

from tests.journeys.conftest import reachable_customers

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"utm": "mail\u0000"}, "variables.utm"),
        ({"ut\u0000m": "mail"}, "variables"),
        ({"a": [["\u0000"]]}, "variables.a[0][0]"),
    ],
)
def test_nul_in_journey_variables_is_a_400_naming_where(editor, tenant, welcome, variables, field):
    contact = reachable_customers(tenant, 1)[0]
    body = {"contactId": contact.external_id, "variables": variables}
    response = editor.post(f"/api/v1/journeys/{welcome.pk}/runs", body, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == [field]
    assert not welcome.runs.exists()
