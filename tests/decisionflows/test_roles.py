"""Who may do what on every endpoint: viewer reads, editor writes, admin deletes, anonymous
gets 401 and another tenant's admin gets 404 (never a hint that the object exists)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from kaireon.models import Tenant
from tests.decisionflows.factories import (
    ChannelFactory,
    ContactHistoryFactory,
    ContactPolicyFactory,
    CreativeFactory,
    DecisionFlowFactory,
    OfferFactory,
)


@dataclass
class Resource:
    path: str
    pk: str
    create: dict[str, Any]
    put: dict[str, Any]
    patch: dict[str, Any]

    @property
    def detail(self) -> str:
        return f"{self.path}/{self.pk}"


def build(name: str, tenant: Tenant) -> Resource:
    body: dict[str, object]
    if name == "channels":
        channel = ChannelFactory.create(tenant=tenant)
        body = {"name": "SMS", "channelType": "sms", "deliveryMode": "file"}
        return Resource("/api/v1/channels", channel.pk, body, {**body, "name": "SMS 2"}, {"status": "inactive"})
    if name == "offers":
        offer = OfferFactory.create(tenant=tenant)
        body = {"key": "gold-card", "name": "Gold card"}
        return Resource("/api/v1/offers", offer.pk, body, {**body, "key": "gold-card-2"}, {"priority": 90})
    if name == "creatives":
        creative = CreativeFactory.create(tenant=tenant)
        body = {"offerId": creative.offer_id, "channelId": creative.channel_id, "name": "Variant B", "content": "Hi"}
        return Resource("/api/v1/creatives", creative.pk, body, {**body, "name": "Variant C"}, {"status": "inactive"})
    if name == "contact-policies":
        policy = ContactPolicyFactory.create(tenant=tenant)
        body = {"name": "Cooldown", "policyType": "cooldown", "cooldownHours": 48}
        return Resource(
            "/api/v1/contact-policies", policy.pk, body, {**body, "name": "Cooldown 2"}, {"status": "inactive"}
        )
    assert name == "decision-flows"
    flow = DecisionFlowFactory.create(tenant=tenant)
    body = {"key": "new-flow", "name": "New flow"}
    return Resource("/api/v1/decision-flows", flow.pk, body, {**body, "key": "new-flow-2"}, {"status": "paused"})


RESOURCES = ["channels", "offers", "creatives", "contact-policies", "decision-flows"]


@pytest.mark.parametrize("name", RESOURCES)
def test_viewer_reads_but_cannot_write(name: str, viewer: APIClient, tenant: Tenant):
    resource = build(name, tenant)
    listed = viewer.get(resource.path)
    assert listed.status_code == 200, listed.content
    assert listed.json()["total"] == 1
    assert viewer.get(resource.detail).status_code == 200
    assert viewer.post(resource.path, resource.create).status_code == 403
    assert viewer.put(resource.detail, resource.put).status_code == 403
    assert viewer.patch(resource.detail, resource.patch).status_code == 403
    assert viewer.delete(resource.detail).status_code == 403


@pytest.mark.parametrize("name", RESOURCES)
def test_editor_creates_and_updates_but_cannot_delete(name: str, editor: APIClient, tenant: Tenant):
    resource = build(name, tenant)
    created = editor.post(resource.path, resource.create)
    assert created.status_code == 201, created.content
    assert created["Location"].endswith(f"{resource.path}/{created.json()['id']}")
    assert editor.put(resource.detail, resource.put).status_code == 200
    patched = editor.patch(resource.detail, resource.patch)
    assert patched.status_code == 200, patched.content
    field, value = next(iter(resource.patch.items()))
    assert patched.json()[field] == value
    denied = editor.delete(resource.detail)
    assert denied.status_code == 403
    assert denied.json()["error"] == "This action requires the admin role; you are editor."


@pytest.mark.parametrize("name", RESOURCES)
def test_admin_deletes(name: str, admin: APIClient, tenant: Tenant):
    resource = build(name, tenant)
    assert admin.delete(resource.detail).status_code == 204
    assert admin.get(resource.detail).status_code == 404


@pytest.mark.parametrize("name", RESOURCES)
def test_anonymous_gets_401(name: str, anonymous: APIClient, tenant: Tenant):
    resource = build(name, tenant)
    assert anonymous.get(resource.path).status_code == 401
    assert anonymous.get(resource.detail).status_code == 401
    assert anonymous.post(resource.path, resource.create).status_code == 401
    assert anonymous.patch(resource.detail, resource.patch).status_code == 401
    assert anonymous.delete(resource.detail).status_code == 401


@pytest.mark.parametrize("name", RESOURCES)
def test_other_tenant_gets_404_and_never_sees_it(name: str, outsider: APIClient, tenant: Tenant):
    resource = build(name, tenant)
    assert outsider.get(resource.path).json()["total"] == 0
    assert outsider.get(resource.detail).status_code == 404
    assert outsider.put(resource.detail, resource.put).status_code == 404
    assert outsider.patch(resource.detail, resource.patch).status_code == 404
    assert outsider.delete(resource.detail).status_code == 404
    assert build(name, tenant).pk  # the object is still there for its own tenant
    assert outsider.get(resource.detail).status_code == 404


def test_publish_and_versions_roles(viewer, editor, admin, anonymous, outsider, tenant):
    flow = DecisionFlowFactory.create(tenant=tenant)
    publish = f"/api/v1/decision-flows/{flow.pk}/publish"
    versions = f"/api/v1/decision-flows/{flow.pk}/versions"
    assert anonymous.post(publish).status_code == 401
    assert viewer.post(publish).status_code == 403
    assert outsider.post(publish).status_code == 404
    assert editor.post(publish).status_code == 201
    assert viewer.get(versions).json()["total"] == 1
    assert viewer.get(f"{versions}/1").status_code == 200
    assert anonymous.get(versions).status_code == 401
    assert outsider.get(versions).status_code == 404
    assert outsider.get(f"{versions}/1").status_code == 404
    # versions are read-only, whatever the role
    for client in (editor, admin):
        assert client.put(f"{versions}/1", {"pipeline": []}).status_code == 405
        assert client.patch(f"{versions}/1", {"pipeline": []}).status_code == 405
        assert client.post(versions, {"pipeline": []}).status_code == 405
    assert admin.delete(f"{versions}/1").status_code == 405
    assert admin.delete(versions).status_code == 405


def test_contact_history_is_read_only(viewer, editor, admin, anonymous, outsider, tenant):
    ContactHistoryFactory.create(tenant=tenant)
    path = "/api/v1/contact-history"
    assert viewer.get(path).json()["total"] == 1
    assert outsider.get(path).json()["total"] == 0
    assert anonymous.get(path).status_code == 401
    assert viewer.post(path, {}).status_code == 403
    assert editor.post(path, {}).status_code == 405
    assert admin.delete(path).status_code == 405
