from __future__ import annotations

from pathlib import Path

import pytest

from kaireon.models import Tenant
from segments.models import AttributeType, CustomerAttribute
from tests.segments.factories import CustomerAttributeFactory


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Uploads of one test stay in its own directory (a worker process started later reads it too)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("MEDIA_ROOT", str(settings.MEDIA_ROOT))
    return settings.MEDIA_ROOT


@pytest.fixture
def schema(tenant: Tenant) -> dict[str, CustomerAttribute]:
    """A schema with one attribute of every type; ``tier`` is required."""
    specs = {
        "age": AttributeType.INTEGER,
        "score": AttributeType.NUMBER,
        "vip": AttributeType.BOOLEAN,
        "birthday": AttributeType.DATE,
        "tier": AttributeType.STRING,
    }
    return {
        name: CustomerAttributeFactory.create(tenant=tenant, name=name, type=type_, required=name == "tier")
        for name, type_ in specs.items()
    }
