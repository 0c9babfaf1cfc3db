"""The tenants the caller acts in, and a tenant's members (admin)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from kaireon.models import Membership, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def members(tenant):
    users = get_user_model().objects
    Membership.objects.create(user=users.create(username="bo", email="bo@acme.test"), tenant=tenant, role=Role.EDITOR)
    Membership.objects.create(user=users.create(username="al", email="al@acme.test"), tenant=tenant, role=Role.ADMIN)


def test_members_list_has_the_list_shape(admin, tenant, members):
    body = admin.get(f"/api/v1/tenants/{tenant.pk}/members").json()
    assert body["total"] == 2
    assert [(m["username"], m["email"], m["role"]) for m in body["members"]] == [
        ("al", "al@acme.test", "admin"),
        ("bo", "bo@acme.test", "editor"),
    ]
    assert set(body["members"][0]) == {"id", "username", "email", "role", "createdAt"}


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_members_list_needs_the_admin_role_in_the_error_shape(request, tenant, members, role):
    response = request.getfixturevalue(role).get(f"/api/v1/tenants/{tenant.pk}/members")
    assert response.status_code == 403
    assert response.json() == {
        "status": 403,
        "error": "Listing members requires the admin role in this tenant.",
        "code": "permission_denied",
    }


def test_members_of_another_tenant_are_404(outsider, tenant, members):
    assert outsider.get(f"/api/v1/tenants/{tenant.pk}/members").status_code == 404
