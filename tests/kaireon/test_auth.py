from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from kaireon.authentication import key_with_tenant
from kaireon.models import ApiKey, Role, Tenant
from kaireon.services import api_key_create, api_key_revoke, hash_key

pytestmark = pytest.mark.django_db


def test_x_api_key_header_authenticates(tenant):
    _, raw = api_key_create(tenant=tenant, actor=None, name="ci", role=Role.VIEWER)
    client = APIClient()
    response = client.get("/api/v1/tenants", HTTP_X_API_KEY=raw)
    assert response.status_code == 200
    assert response.json()["tenants"][0]["id"] == tenant.pk


def test_bearer_header_authenticates(tenant):
    _, raw = api_key_create(tenant=tenant, actor=None, name="ci", role=Role.VIEWER)
    response = APIClient().get("/api/v1/tenants", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert response.json()["tenants"][0]["role"] == "viewer"


def test_no_credentials_is_401_with_challenge(anonymous):
    response = anonymous.get("/api/v1/tenants")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == "not_authenticated"


def test_unknown_key_is_401(anonymous, tenant):
    response = anonymous.get("/api/v1/tenants", HTTP_X_API_KEY="kr_deadbeef_nope")
    assert response.status_code == 401
    assert response.json()["error"] == "Invalid API key."


def test_revoked_key_is_401(tenant):
    key, raw = api_key_create(tenant=tenant, actor=None, name="ci", role=Role.ADMIN)
    api_key_revoke(tenant=tenant, actor=None, key=key)
    response = APIClient().get("/api/v1/tenants", HTTP_X_API_KEY=raw)
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]


def test_expired_key_is_401(tenant):
    key, raw = api_key_create(tenant=tenant, actor=None, name="ci", role=Role.ADMIN)
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = APIClient().get("/api/v1/tenants", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401
    assert "expired" in response.json()["error"]


def test_key_is_stored_hashed_and_records_last_use(tenant):
    key, raw = api_key_create(tenant=tenant, actor=None, name="ci", role=Role.VIEWER)
    assert raw.startswith(key.prefix + "_")
    assert raw not in {key.key_hash, key.prefix}
    assert not ApiKey.objects.filter(key_hash=raw).exists()
    assert key.last_used_at is None
    APIClient().get("/api/v1/tenants", HTTP_X_API_KEY=raw)
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_key_lookup_reads_the_key_and_its_tenant_as_the_orm_does(tenant, other_tenant):
    expires = timezone.now() + timedelta(days=3)
    key, raw = api_key_create(tenant=tenant, actor=None, name="ci", role=Role.EDITOR, expires_at=expires)
    api_key_create(tenant=other_tenant, actor=None, name="theirs", role=Role.VIEWER)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    found = key_with_tenant(hash_key(raw))
    expected = ApiKey.objects.select_related("tenant").get(pk=key.pk)
    assert found is not None
    for field in ApiKey._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
    for field in Tenant._meta.concrete_fields:
        assert getattr(found.tenant, field.attname) == getattr(expected.tenant, field.attname), field.name
    # typed as the ORM types them (SQLite sends datetimes as text)
    assert found.expires_at == expires
    assert found.created_at.tzinfo is not None
    assert key_with_tenant(hash_key(raw + "x")) is None


def test_session_user_acts_in_the_tenant_picked_with_the_switcher(client, tenant, other_tenant):
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory.create(username="mia")
    MembershipFactory.create(user=user, tenant=tenant, role=Role.VIEWER)
    MembershipFactory.create(user=user, tenant=other_tenant, role=Role.ADMIN)
    client.force_login(user)

    first = client.get("/api/v1/tenants").json()
    assert {t["slug"]: t["role"] for t in first["tenants"]} == {"acme": "viewer", "globex": "admin"}
    # Acme Bank sorts first, so it is the default; audit logs need admin there.
    assert client.get("/api/v1/audit-logs").status_code == 403

    response = client.post("/tenant/switch/", {"tenant": other_tenant.pk, "next": "/"})
    assert response.status_code == 302
    assert client.get("/api/v1/audit-logs").status_code == 200


def test_switching_to_a_tenant_without_membership_is_refused(client, tenant, other_tenant):
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory.create(username="noah")
    MembershipFactory.create(user=user, tenant=tenant, role=Role.ADMIN)
    client.force_login(user)
    response = client.post("/tenant/switch/", {"tenant": other_tenant.pk})
    assert response.status_code == 400


def test_signed_in_user_without_membership_is_403(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory.create(username="loner"))
    response = client.get("/api/v1/tenants")
    assert response.status_code == 403
    assert response.json()["error"] == "You are not a member of any tenant."
