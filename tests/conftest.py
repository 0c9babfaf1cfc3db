"""Three actors in every API test (after healthchecks' alice/bob/charlie):

- ``editor``: an editor of ``tenant``; ``viewer``: a viewer of the same tenant;
- ``admin``: an admin of ``tenant``; ``outsider``: an admin of ``other_tenant``, who must get 404s.

Each is an ``APIClient`` authenticated with a real API key of that role.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from kaireon.models import Role, Tenant
from kaireon.principal import Principal
from kaireon.services import api_key_create
from tests.factories import TenantFactory

ClientFor = Callable[..., APIClient]


@pytest.fixture
def tenant(db: None) -> Tenant:
    return TenantFactory.create(slug="acme", name="Acme Bank")


@pytest.fixture
def other_tenant(db: None) -> Tenant:
    return TenantFactory.create(slug="globex", name="Globex Retail")


@pytest.fixture
def client_for(db: None) -> ClientFor:
    def make(tenant: Tenant, role: str = Role.EDITOR) -> APIClient:
        _, raw = api_key_create(tenant=tenant, actor=None, name=f"{role} key", role=role)
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=raw)
        client.raw_key = raw  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture
def editor(client_for: ClientFor, tenant: Tenant) -> APIClient:
    return client_for(tenant, Role.EDITOR)


@pytest.fixture
def viewer(client_for: ClientFor, tenant: Tenant) -> APIClient:
    return client_for(tenant, Role.VIEWER)


@pytest.fixture
def admin(client_for: ClientFor, tenant: Tenant) -> APIClient:
    return client_for(tenant, Role.ADMIN)


@pytest.fixture
def outsider(client_for: ClientFor, other_tenant: Tenant) -> APIClient:
    return client_for(other_tenant, Role.ADMIN)


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def system_actor(tenant: Tenant) -> Principal:
    """An admin principal of ``tenant`` for calling services directly."""
    return Principal(tenant=tenant, role=Role.ADMIN)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    """Users are created by the hundred here: hash their passwords with a cheap hasher (Django's
    advice for test suites) instead of PBKDF2's million rounds. Login itself is unchanged."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _webhooks_may_reach_loopback(settings: Any) -> None:
    """The suite's webhook receivers listen on 127.0.0.1, which production refuses
    (kaireon.webhooks); tests of that refusal set ``settings.WEBHOOK_ALLOWED_HOSTS = []``."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]


pytest_plugins = ["tests.worker"]
