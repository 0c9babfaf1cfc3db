from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command


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
