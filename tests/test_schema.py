from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from openapi_spec_validator import validate

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory, django_db_blocker: Any) -> dict[str, Any]:
    target = tmp_path_factory.mktemp("schema") / "schema.yaml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--file", str(target))
    loaded: dict[str, Any] = yaml.safe_load(target.read_text())
    return loaded


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


@pytest.mark.django_db
def test_openapi_schema_is_valid_without_warnings(tmp_path: Path):
    target = tmp_path / "schema.yaml"
    # --fail-on-warn turns every drf-spectacular warning (untyped field, unknown serializer...) into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["BearerAuth"]["scheme"] == "bearer"
    assert "/api/v1/api-keys" in schema["paths"]
    listing = schema["paths"]["/api/v1/api-keys"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listing["$ref"].endswith("PaginatedApiKeyList")
    paginated = schema["components"]["schemas"]["PaginatedApiKeyList"]
    assert set(paginated["properties"]) == {"apiKeys", "total"}


def test_schema_and_docs_are_served(client, db):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_schema_validates_with_openapi_spec_validator(schema):
    validate(schema)  # raises on the first problem (e.g. a path parameter the path does not have)


def test_path_parameters_are_those_of_the_path(schema):
    for method, path, operation in operations(schema):
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        in_path = {part[1:-1] for part in path.split("/") if part.startswith("{")}
        assert declared == in_path, (method, path)


def test_every_operation_documents_its_4xx_answers_with_the_error_shape(schema):
    error = "#/components/schemas/ErrorResponse"
    assert set(schema["components"]["schemas"]["ErrorResponse"]["required"]) == {"status", "error", "code"}
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        expected = {"401", "403"}
        if method != "GET":
            expected |= {"400", "404", "409"}
        if "{" in path:
            expected.add("404")
        assert expected <= set(responses), (method, path, sorted(responses))
        for code in responses:
            if code.startswith("4") and code in expected:
                assert responses[code]["content"]["application/json"]["schema"]["$ref"] == error, (method, path, code)


def test_list_filters_document_their_400(schema):
    assert "400" in schema["paths"]["/api/v1/runs"]["get"]["responses"]
    # the UUID pattern (docs/api-contract.md §5.3)
    assert "400" in schema["paths"]["/api/v1/public/journeys/runs/{runId}"]["get"]["responses"]


def test_api_key_created_by_is_nullable(schema):
    created_by = schema["components"]["schemas"]["ApiKey"]["properties"]["createdBy"]
    assert created_by["nullable"] is True


def test_members_list_is_described_as_answered(schema):
    response = schema["paths"]["/api/v1/tenants/{id}/members"]["get"]["responses"]["200"]
    ref = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    listing = schema["components"]["schemas"][ref]
    assert set(listing["properties"]) == {"members", "total"}
    assert listing["properties"]["members"]["type"] == "array"


def test_every_201_documents_its_location_header(schema):
    created = [(m, p, o) for m, p, o in operations(schema) if "201" in o["responses"]]
    assert len(created) > 10
    for method, path, operation in created:
        assert "Location" in operation["responses"]["201"]["headers"], (method, path)


def test_a_cancelled_runs_results_document_their_409(schema: dict[str, Any]) -> None:
    for path in ("/api/v1/runs/{id}/customers", "/api/v1/runs/{id}/export"):
        assert "409" in schema["paths"][path]["get"]["responses"], path
    assert "409" not in schema["paths"]["/api/v1/runs/{id}"]["get"]["responses"]
