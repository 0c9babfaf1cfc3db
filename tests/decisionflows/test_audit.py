"""Every write through the API leaves an audit entry naming the actor and the change."""

from __future__ import annotations

from kaireon.models import AuditLog
from kaireon.services import audit_verify
from tests.decisionflows.factories import ChannelFactory, OfferFactory
from tests.decisionflows.helpers import ok


def entries(object_id: str) -> list[tuple[str, str]]:
    return list(AuditLog.objects.filter(object_id=object_id).order_by("id").values_list("action", "object_type"))


def test_channel_create_update_delete_are_audited(editor, admin, tenant):
    channel_id = ok(
        editor.post("/api/v1/channels", {"name": "Email", "channelType": "email", "deliveryMode": "file"}), 201
    )["id"]
    ok(editor.patch(f"/api/v1/channels/{channel_id}", {"status": "inactive"}))
    ok(admin.delete(f"/api/v1/channels/{channel_id}"), 204)
    assert entries(channel_id) == [("create", "channel"), ("update", "channel"), ("delete", "channel")]
    update = AuditLog.objects.get(object_id=channel_id, action="update")
    assert (update.before, update.after) == ({"status": "active"}, {"status": "inactive"})
    assert update.actor_type == "api_key"
    assert update.actor_label.startswith("API key editor key")
    assert audit_verify(tenant=tenant) == []


def test_catalogue_writes_are_audited(editor, admin, tenant):
    offer = OfferFactory.create(tenant=tenant)
    channel = ChannelFactory.create(tenant=tenant)
    offer_id = ok(editor.post("/api/v1/offers", {"key": "gold", "name": "Gold"}), 201)["id"]
    creative_id = ok(
        editor.post("/api/v1/creatives", {"offerId": offer.pk, "channelId": channel.pk, "name": "A", "content": "Hi"}),
        201,
    )["id"]
    policy_id = ok(
        editor.post("/api/v1/contact-policies", {"name": "c", "policyType": "cooldown", "cooldownHours": 5}), 201
    )["id"]
    ok(editor.put(f"/api/v1/offers/{offer_id}", {"key": "gold", "name": "Gold 2"}))
    ok(admin.delete(f"/api/v1/creatives/{creative_id}"), 204)
    ok(admin.delete(f"/api/v1/contact-policies/{policy_id}"), 204)
    assert entries(offer_id) == [("create", "offer"), ("update", "offer")]
    assert entries(creative_id) == [("create", "creative"), ("delete", "creative")]
    assert entries(policy_id) == [("create", "contactpolicy"), ("delete", "contactpolicy")]


def test_flow_create_update_publish_delete_are_audited(editor, admin, tenant, flow_payload):
    flow_id = ok(editor.post("/api/v1/decision-flows", flow_payload), 201)["id"]
    ok(editor.patch(f"/api/v1/decision-flows/{flow_id}", {"status": "active"}))
    version = ok(editor.post(f"/api/v1/decision-flows/{flow_id}/publish"), 201)
    ok(admin.delete(f"/api/v1/decision-flows/{flow_id}"), 204)
    assert entries(flow_id) == [
        ("create", "decisionflow"),
        ("update", "decisionflow"),
        ("publish", "decisionflow"),
        ("delete", "decisionflow"),
    ]
    publish = AuditLog.objects.get(object_id=flow_id, action="publish")
    assert publish.after == {"latest_version": 1, "version_id": version["id"]}
    assert audit_verify(tenant=tenant) == []


def test_a_rejected_write_leaves_no_entry(editor, tenant):
    before = AuditLog.objects.count()
    response = editor.post("/api/v1/decision-flows", {"key": "k", "name": "n", "pipeline": [{"type": "rank"}]})
    assert response.status_code == 400
    assert AuditLog.objects.count() == before
