from __future__ import annotations

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from segments.urls import urlpatterns


@pytest.mark.django_db
def test_segments_endpoints_describe_themselves_without_warnings():
    GENERATOR_STATS.reset()
    schema = SchemaGenerator(patterns=urlpatterns).get_schema(request=None, public=True)
    assert not GENERATOR_STATS._warn_cache, list(GENERATOR_STATS._warn_cache)
    assert not GENERATOR_STATS._error_cache, list(GENERATOR_STATS._error_cache)
    paths = schema["paths"]
    assert "/customers/{externalId}" in paths
    assert "multipart/form-data" in paths["/customers/import"]["post"]["requestBody"]["content"]
    assert "202" in paths["/customers/import"]["post"]["responses"]
    assert {"/segments/preview", "/segments/{id}/refresh", "/segments/{id}/customers", "/customer-schema"} <= set(paths)
