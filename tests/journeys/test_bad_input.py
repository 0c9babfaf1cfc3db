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


@pytest.mark.parametrize(("wait", "message"), [
    ({"duration": 10**400}, "duration must be a number of seconds above 0 and at most 600,000,000"),
    ({"duration": 99999999999999999999999}, "duration must be a number of seconds above 0 and at most 600,000,000"),
    ({"ticks": 99999999999999999999999}, "ticks must be an integer from 1 to 10,000,000"),
])  # fmt: skip
def test_absurd_wait_durations_are_a_400_stating_the_range(editor, wait, message, settings):
    settings.JOURNEYS_TICK_SECONDS = 60
    steps = [{"id": "pause", "type": "wait", **wait, "next": "done"}, {"id": "done", "type": "end"}]
    plan_id = editor.post("/api/v1/journeys", {"key": "w", "name": "W", "steps": steps}, format="json").json()["id"]
    response = editor.post(f"/api/v1/journeys/{plan_id}/publish")
    assert response.status_code == 400, response.content
    assert response.json()["fields"] == {"steps": [f'steps[0] (id "pause"): {message}']}
