"""``?format=json`` answers JSON on every API endpoint, while the run export keeps its own
``?format=csv|json`` (kaireon.negotiation)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

# What a browser sends: HTML first, so without ?format=json it gets the browsable API.
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize("path", ["/api/v1/runs", "/api/v1/campaigns", "/api/v1/journeys", "/api/v1/tenants"])
def test_format_json_answers_json(viewer, path):
    response = viewer.get(path, {"format": "json"}, HTTP_ACCEPT=BROWSER)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "total" in response.json()


def test_format_json_on_an_error_answers_the_json_error(viewer):
    response = viewer.get("/api/v1/runs/run_missing", {"format": "json"}, HTTP_ACCEPT=BROWSER)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# The run export's own ?format=csv|json|xml: tests/runs/test_api.py::test_export_csv_and_json_lines_hold_every_row.


def test_a_browser_with_an_api_key_gets_the_browsable_api(viewer):
    response = viewer.get("/api/v1/runs", HTTP_ACCEPT=BROWSER)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
