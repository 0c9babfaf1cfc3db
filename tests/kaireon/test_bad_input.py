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


CHANNEL = {"name": "Push", "channelType": "push", "deliveryMode": "file"}


def post_text(client, path: str, text: str):
    return client.post(path, text, content_type="application/json")


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("config", "field"),
    [({"sender": "a\u0000b"}, "providerConfig.sender"), ({"send\u0000er": "ab"}, "providerConfig")],
)
def test_nul_in_a_json_string_or_key_is_a_400_naming_where(editor, config, field):
    response = editor.post("/api/v1/channels", {**CHANNEL, "providerConfig": config}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == [field]
    assert "NUL" in response.json()["error"]


@pytest.mark.parametrize("depth", [65, 900, 5000])
def test_json_nested_beyond_the_limit_is_a_400(editor, depth):
    body = '{"name": "Push", "channelType": "push", "deliveryMode": "file", "providerConfig": {"a": %s}}'
    response = post_text(editor, "/api/v1/channels", body % nested(depth))
    assert response.status_code == 400, response.content
    assert "deeper than 64 levels" in response.json()["error"]


def test_json_depth_limit_is_a_setting(editor, settings):
    settings.JSON_MAX_DEPTH = 4
    body = '{"name": "Push", "channelType": "push", "deliveryMode": "file", "providerConfig": {"a": [[[1]]]}}'
    response = post_text(editor, "/api/v1/channels", body)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["providerConfig.a[0][0]"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309", "-1e309"])
def test_non_finite_numbers_in_json_are_a_400(editor, number):
    body = '{"name": "Push", "channelType": "push", "deliveryMode": "file", "providerConfig": {"rate": %s}}'
    response = post_text(editor, "/api/v1/channels", body % number)
    assert response.status_code == 400, response.content
    assert "finite" in response.json()["error"]


def test_json_within_the_limits_is_accepted(editor):
    config = {"sender": "ü ✓", "rate": 1e300, "deep": [[[[{"a": 1}]]]]}
    response = editor.post("/api/v1/channels", {**CHANNEL, "providerConfig": config}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["providerConfig"] == config


@pytest.mark.parametrize("path", ["/api/v1/runs", "/api/v1/offers", "/api/v1/audit-logs", "/api/v1/contact-history"])
def test_nul_in_a_query_string_is_a_400_naming_the_parameter(viewer, path):
    response = viewer.get(f"{path}?q=a%00b")
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "error": "q: NUL characters (%00) are not allowed.",
        "code": "invalid",
        "fields": {"q": ["NUL characters (%00) are not allowed."]},
    }


@pytest.mark.parametrize("path", ["/api/v1/runs/run_%00", "/api/v1/journeys/runs/%00", "/api/v1/offers/a%00b"])
def test_nul_in_an_api_path_is_a_400(viewer, path):
    response = viewer.get(path)
    assert response.status_code == 400
    assert response.json()["error"] == "path: NUL characters (%00) are not allowed."


def _api_views():
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
                yield pattern.callback

    return list(walk(get_resolver().url_patterns))


def test_every_api_view_reads_json_through_the_project_parser():
    from kaireon.parsers import CamelCaseJSONParser

    views = _api_views()
    assert len(views) > 20
    for view in views:
        instance = view.cls(**getattr(view, "initkwargs", {}))
        json_parsers = [p for p in instance.get_parsers() if p.media_type == "application/json"]
        for actions in (getattr(view, "actions", None) or {}).values():
            handler = getattr(view.cls, actions, None)
            parsers = getattr(handler, "kwargs", {}).get("parser_classes", [])
            json_parsers += [p() for p in parsers if p.media_type == "application/json"]
        assert all(isinstance(p, CamelCaseJSONParser) for p in json_parsers), view.cls


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"policyType": "frequency_cap", "period": "day", "maxCount": 99999999999999999999999},
            "maxCount",
            "2,147,483,647",
        ),
        ({"policyType": "cooldown", "cooldownHours": 2**31 - 1}, "cooldownHours", "from 1 to 87,600"),
    ],
)
def test_contact_policy_limits_out_of_range_are_a_400_stating_it(editor, body, field, message):
    response = editor.post("/api/v1/contact-policies", {"name": "Odd", **body}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == [field]
    assert message in response.json()["fields"][field][0]


NAME_ENDPOINTS = [
    "/api/v1/channels",
    "/api/v1/offers",
    "/api/v1/contact-policies",
    "/api/v1/decision-flows",
    "/api/v1/segments",
    "/api/v1/campaigns",
    "/api/v1/journeys",
    "/api/v1/runs",
    "/api/v1/api-keys",
]
BAD_NAMES = ["Spring\u0000sale", "Spring\tsale", "Spring\x1b[31msale", "evil\u202egnp.exe", "Spring\x85sale"]


@pytest.mark.parametrize("path", NAME_ENDPOINTS)
@pytest.mark.parametrize("name", BAD_NAMES)
def test_names_with_control_characters_are_a_400_naming_the_field(client_for, tenant, path, name):
    response = client_for(tenant, Role.ADMIN).post(path, {"name": name}, format="json")
    assert response.status_code == 400, response.content
    messages = response.json()["fields"]["name"]
    expected = "NUL characters" if "\x00" in name else "Names cannot contain control characters (found U+"
    assert any(m.startswith(expected) for m in messages), messages


def test_names_keep_emoji_sequences_and_accents(editor):
    name = "Été 👩\u200d👩\u200d👧 offre"
    response = editor.post("/api/v1/channels", {**CHANNEL, "name": name}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["name"] == name


RESPONSE_ONLY = {"RunCustomerSerializer"}  # documents a response (drf-spectacular), never reads a request


def test_every_writable_name_of_the_api_refuses_control_characters():
    import importlib

    from rest_framework import serializers

    from kaireon.validators import validate_name

    for app in ("kaireon", "segments", "decisionflows", "runs", "campaigns", "journeys"):
        importlib.import_module(f"{app}.serializers")

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    checked = 0
    for cls in set(subclasses(serializers.Serializer)):
        if cls.__module__.split(".")[0] not in (
            "kaireon",
            "segments",
            "decisionflows",
            "runs",
            "campaigns",
            "journeys",
        ):
            continue
        if getattr(cls, "Meta", None) is None and issubclass(cls, serializers.ModelSerializer):
            continue  # the abstract base
        if cls.__name__ in RESPONSE_ONLY:
            continue
        field = cls().fields.get("name")
        if field is None or field.read_only or not isinstance(field, serializers.CharField):
            continue
        assert validate_name in field.validators, cls
        checked += 1
    assert checked >= 10
