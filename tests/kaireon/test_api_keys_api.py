from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kaireon.models import ApiKey, AuditLog

pytestmark = pytest.mark.django_db


def test_admin_creates_key_and_sees_secret_once(admin, anonymous, tenant):
    response = admin.post("/api/v1/api-keys", {"name": "Integration", "role": "editor"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["role"] == "editor"
    assert body["key"].startswith(body["prefix"] + "_")
    assert response["Location"].endswith(f"/api/v1/api-keys/{body['id']}")

    detail = admin.get(f"/api/v1/api-keys/{body['id']}").json()
    assert "key" not in detail
    assert detail["isActive"] is True

    # The new key works, with its own role.
    assert anonymous.get("/api/v1/tenants", HTTP_X_API_KEY=body["key"]).status_code == 200
    assert anonymous.get("/api/v1/api-keys", HTTP_X_API_KEY=body["key"]).status_code == 403


@pytest.mark.parametrize("actor", ["viewer", "editor"])
def test_key_management_requires_admin(request, actor):
    client = request.getfixturevalue(actor)
    assert client.get("/api/v1/api-keys").status_code == 403
    response = client.post("/api/v1/api-keys", {"name": "x", "role": "viewer"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"].startswith("This action requires the admin role")


def test_create_rejects_bad_role_and_past_expiry(admin):
    response = admin.post("/api/v1/api-keys", {"name": "x", "role": "owner"}, format="json")
    assert response.status_code == 400
    assert "role" in response.json()["fields"]

    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = admin.post("/api/v1/api-keys", {"name": "x", "expiresAt": past}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"expiresAt": ["Must be in the future."]}
    assert response.json()["error"] == "expiresAt: Must be in the future."


def test_revoke_then_key_is_refused_and_audited(admin, anonymous, tenant):
    created = admin.post("/api/v1/api-keys", {"name": "temp", "role": "viewer"}, format="json").json()
    response = admin.post(f"/api/v1/api-keys/{created['id']}/revoke", {"reason": "leaked in a ticket"}, format="json")
    assert response.status_code == 200
    assert response.json()["isActive"] is False
    assert anonymous.get("/api/v1/tenants", HTTP_X_API_KEY=created["key"]).status_code == 401
    entry = AuditLog.objects.get(object_id=created["id"], action="revoke")
    assert entry.reason == "leaked in a ticket"


def test_delete_revokes_instead_of_removing(admin):
    created = admin.post("/api/v1/api-keys", {"name": "temp"}, format="json").json()
    assert admin.delete(f"/api/v1/api-keys/{created['id']}").status_code == 204
    assert ApiKey.objects.get(pk=created["id"]).revoked_at is not None


def test_other_tenants_keys_are_404(admin, outsider):
    created = admin.post("/api/v1/api-keys", {"name": "mine"}, format="json").json()
    assert outsider.get(f"/api/v1/api-keys/{created['id']}").status_code == 404
    assert outsider.post(f"/api/v1/api-keys/{created['id']}/revoke", {}, format="json").status_code == 404
    assert outsider.delete(f"/api/v1/api-keys/{created['id']}").status_code == 404
    assert created["id"] not in {k["id"] for k in outsider.get("/api/v1/api-keys").json()["apiKeys"]}


def test_list_query_count_does_not_grow_with_keys(admin, tenant, django_assert_num_queries):
    for i in range(5):
        admin.post("/api/v1/api-keys", {"name": f"k{i}"}, format="json")
    # auth lookup, count, page (created_by joined)
    with django_assert_num_queries(3):
        response = admin.get("/api/v1/api-keys")
    assert response.json()["total"] == 6  # the five and the admin's own key


def test_pagination_limits(admin):
    for i in range(3):
        admin.post("/api/v1/api-keys", {"name": f"k{i}"}, format="json")
    page = admin.get("/api/v1/api-keys?limit=2&offset=1").json()
    assert page["total"] == 4
    assert len(page["apiKeys"]) == 2
    assert admin.get("/api/v1/api-keys?limit=1000").status_code == 200
    bad = admin.get("/api/v1/api-keys?limit=0")
    assert bad.status_code == 400
    assert bad.json()["fields"] == {"limit": ["Must be an integer from 1 to 200."]}
    assert admin.get("/api/v1/api-keys?offset=-1").status_code == 400


def test_createapikey_command_prints_only_the_key(tenant, anonymous):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("createapikey", "--tenant", "acme", "--role", "editor", "--name", "cli", stdout=out)
    raw = out.getvalue().strip()
    assert raw.startswith("kr_")
    assert "\n" not in raw
    key = ApiKey.objects.get(name="cli")
    assert key.role == "editor"
    assert raw.startswith(key.prefix)
    assert anonymous.get("/api/v1/tenants", HTTP_X_API_KEY=raw).status_code == 200


def test_createapikey_command_rejects_unknown_tenant(db):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="No tenant with slug 'nope'"):
        call_command("createapikey", "--tenant", "nope", "--role", "editor", "--name", "cli")
