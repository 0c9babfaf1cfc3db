"""Login throttling (django-axes): failures are counted per username and address, the login
page says why it refuses, the admin's login is covered, API keys are not affected."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from kaireon.models import Role
from kaireon.services import api_key_create
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"


@pytest.fixture
def alice(tenant):
    user = UserFactory.create(username="alice", is_staff=True, is_superuser=True)
    MembershipFactory.create(user=user, tenant=tenant, role=Role.EDITOR)
    return user


def sign_in(client: Client, username: str, password: str, path: str = "/login/", address: str = "203.0.113.7"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_then_the_right_one_does_not_sign_in(alice):
    client = Client()
    for _ in range(30):
        assert sign_in(client, "alice", "guess").status_code in (200, 429)
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert not signed_in(client)
    page = response.content.decode()
    assert "Too many failed sign-ins for this username from your address" in page
    assert "blocked for 15 minutes" in page
    assert 'name="password"' in page  # the sign-in page itself, not a bare error page
    assert 'value="alice"' in page


def test_the_lock_starts_at_the_configured_limit(alice):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "alice", "guess").status_code == 200
    assert sign_in(client, "alice", PASSWORD).status_code == 302  # one short of the limit
    assert signed_in(client)


def test_the_lock_holds_one_username_from_one_address(alice, tenant):
    bob = UserFactory.create(username="bob")
    MembershipFactory.create(user=bob, tenant=tenant, role=Role.VIEWER)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(), "alice", "guess")
    assert sign_in(Client(), "alice", PASSWORD).status_code == 429
    assert sign_in(Client(), "alice", PASSWORD, address="198.51.100.9").status_code == 302
    assert sign_in(Client(), "bob", PASSWORD).status_code == 302


def test_the_lock_ends_after_the_cool_off(alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(), "alice", "guess")
    assert sign_in(Client(), "alice", PASSWORD).status_code == 429
    settings.AXES_COOLOFF_TIME = timedelta(seconds=0)
    assert sign_in(Client(), "alice", PASSWORD).status_code == 302


def test_the_admin_login_is_throttled_too(alice):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "alice", "guess", path="/admin/login/")
    response = sign_in(client, "alice", PASSWORD, path="/admin/login/")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert not signed_in(client)


def test_api_keys_still_work_from_a_locked_out_address(alice, tenant):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(), "alice", "guess")
    _, raw = api_key_create(tenant=tenant, actor=None, name="ci", role=Role.VIEWER)
    response = APIClient().get("/api/v1/tenants", HTTP_X_API_KEY=raw, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 200
    bad = APIClient().get("/api/v1/tenants", HTTP_X_API_KEY="kr_deadbeef_nope", REMOTE_ADDR="203.0.113.7")
    assert bad.status_code == 401  # a wrong key is the API's 401, not a lockout


def test_defaults_are_five_failures_and_fifteen_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
