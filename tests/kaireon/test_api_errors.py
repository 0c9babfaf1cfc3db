"""Odd input at the edges of every endpoint: query-string integers, unknown paths."""

from __future__ import annotations

import uuid

import pytest

from kaireon.pagination import query_int


@pytest.mark.parametrize(("raw", "value"), [("0", 0), ("42", 42), ("9" * 18, int("9" * 18))])
def test_query_int_reads_ascii_digits_that_fit_a_bigint(raw, value):
    assert query_int(raw) == value


@pytest.mark.parametrize("raw", ["", "-1", "1.5", "²", "١٢", "٣", "9" * 19, " 1", "0x10"])
def test_query_int_refuses_everything_else(raw):
    assert query_int(raw) is None


@pytest.mark.parametrize("param", ["limit", "offset"])
@pytest.mark.parametrize("raw", ["²", "١٢", "9" * 30])
def test_lists_answer_400_naming_the_parameter_for_odd_digits(viewer, param, raw):
    response = viewer.get("/api/v1/runs", {param: raw})
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [param]


def test_unknown_api_paths_answer_404_in_the_api_error_shape(viewer):
    for path in ("/api/v1/nothing-here", "/api/v1/runs/", f"/api/v1/journeys/runs/{uuid.uuid4().hex}x"):
        response = viewer.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"status": 404, "error": f"No API endpoint at {path}.", "code": "not_found"}


def test_createapikey_with_zero_days_makes_a_key_that_is_already_expired(tenant, anonymous):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    arguments = ["--tenant", tenant.slug, "--role", "viewer", "--name", "zero", "--expires-in-days", "0"]
    call_command("createapikey", *arguments, stdout=out)
    assert anonymous.get("/api/v1/tenants", HTTP_X_API_KEY=out.getvalue().strip()).status_code == 401
