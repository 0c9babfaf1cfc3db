"""Odd input at the edges of every endpoint: query-string integers, unknown paths."""

from __future__ import annotations

import re
import uuid

import pytest

from kaireon.paging import query_int


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


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options"])
@pytest.mark.parametrize("credentials", ["api_key", "session", "none"])
def test_unknown_api_paths_answer_the_json_404_for_every_method(tenant, editor, method, credentials):
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from kaireon.models import Membership, Role

    client = APIClient(enforce_csrf_checks=True)  # as a real caller: no CSRF token
    if credentials == "api_key":
        client.credentials(HTTP_X_API_KEY=editor.raw_key)
    elif credentials == "session":
        user = get_user_model().objects.create(username="marketer")
        Membership.objects.create(user=user, tenant=tenant, role=Role.EDITOR)
        client.force_login(user)
    response = getattr(client, method)("/api/v1/nothing-here", {"name": "x"}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": 404, "error": "No API endpoint at /api/v1/nothing-here.", "code": "not_found"}


def test_the_unknown_path_404_has_the_shape_of_every_other_404(viewer):
    known = viewer.get("/api/v1/runs/run_missing").json()
    unknown = viewer.get("/api/v1/nothing-here").json()
    assert set(unknown) == set(known) == {"status", "error", "code"}
    assert (unknown["status"], unknown["code"]) == (known["status"], known["code"])


def test_createapikey_with_zero_days_makes_a_key_that_is_already_expired(tenant, anonymous):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    arguments = ["--tenant", tenant.slug, "--role", "viewer", "--name", "zero", "--expires-in-days", "0"]
    call_command("createapikey", *arguments, stdout=out)
    assert anonymous.get("/api/v1/tenants", HTTP_X_API_KEY=out.getvalue().strip()).status_code == 401


def test_options_on_every_api_path_answers_without_a_server_error(admin):
    """OPTIONS (DRF's metadata) describes each endpoint; one without a serializer answered 500."""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    assert len(paths) > 50
    failed = {}
    for path in paths:
        url = re.sub(r"\{[^}]+\}", "x", path)
        status = admin.options(url).status_code
        if status >= 500:
            failed[url] = status
    assert failed == {}
