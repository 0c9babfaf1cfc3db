from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from kaireon.models import AuditLog, Tenant
from kaireon.services import audit_record, audit_verify

pytestmark = pytest.mark.django_db


def _record_three(tenant: Tenant, actor) -> list[AuditLog]:
    return [
        audit_record(
            tenant=tenant,
            actor=actor,
            action=action,
            object_type="offer",
            object_id="off_1",
            before={"n": i},
            after={"n": i + 1},
            reason=f"step {i}",
        )
        for i, action in enumerate(["create", "update", "delete"])
    ]


def test_entries_chain_each_to_the_previous(tenant, system_actor):
    first, second, third = _record_three(tenant, system_actor)
    # The tenant's creation is not audited by the factory, so the chain starts here.
    assert first.prev_hash == ""
    assert second.prev_hash == first.entry_hash
    assert third.prev_hash == second.entry_hash
    assert audit_verify(tenant=tenant) == []
    assert third.actor_label == "system"
    assert third.actor_type == "user"


def test_altered_row_is_detected(tenant, system_actor):
    _, second, _ = _record_three(tenant, system_actor)
    AuditLog.objects.filter(pk=second.pk).update(after={"n": 999})
    problems = audit_verify(tenant=tenant)
    assert problems == [f"entry {second.pk}: content does not match its hash (row was altered)"]


def test_deleted_row_is_detected(tenant, system_actor):
    _first, second, third = _record_three(tenant, system_actor)
    AuditLog.objects.filter(pk=second.pk).delete()
    problems = audit_verify(tenant=tenant)
    assert problems == [f"entry {third.pk}: previous hash does not match entry before it (missing or altered row)"]


def test_truncated_tail_is_detected(tenant, system_actor):
    _, _, third = _record_three(tenant, system_actor)
    AuditLog.objects.filter(pk=third.pk).delete()
    assert audit_verify(tenant=tenant) == ["the newest entries are missing: the chain ends before the recorded head"]


def test_chains_are_per_tenant(tenant, other_tenant, system_actor):
    _record_three(tenant, system_actor)
    other = audit_record(tenant=other_tenant, actor=None, action="create", object_type="offer", object_id="x")
    assert other.prev_hash == ""
    assert other.actor_type == "system"
    assert audit_verify(tenant=other_tenant) == []


def test_verify_audit_command_fails_on_a_tampered_row(tenant, other_tenant, system_actor):
    entries = _record_three(tenant, system_actor)
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "acme: chain intact" in out.getvalue()

    AuditLog.objects.filter(pk=entries[0].pk).update(reason="nothing to see")
    out = StringIO()
    with pytest.raises(CommandError, match="1 tenant chain"):
        call_command("verify_audit", stdout=out)
    assert "acme: chain broken" in out.getvalue()
    assert "globex: chain intact" in out.getvalue()


def test_api_writes_are_audited_with_the_key_as_actor(admin, tenant):
    created = admin.post("/api/v1/api-keys", {"name": "audited", "role": "viewer"}, format="json").json()
    entry = AuditLog.objects.get(object_id=created["id"], action="create")
    assert entry.actor_type == "api_key"
    assert entry.actor_label.startswith("API key admin key")
    assert entry.after is not None
    assert entry.after["name"] == "audited"
    assert "key_hash" not in entry.after


def test_audit_log_api_is_admin_only_and_tenant_scoped(admin, editor, viewer, outsider, tenant, system_actor):
    entry = _record_three(tenant, system_actor)[0]
    listing = admin.get("/api/v1/audit-logs?objectType=offer&action=update").json()
    assert listing["total"] == 1
    assert listing["auditLogs"][0]["action"] == "update"
    assert listing["auditLogs"][0]["before"] == {"n": 1}
    assert admin.get(f"/api/v1/audit-logs/{entry.pk}").json()["entryHash"] == entry.entry_hash
    assert editor.get("/api/v1/audit-logs").status_code == 403
    assert viewer.get("/api/v1/audit-logs").status_code == 403
    assert outsider.get(f"/api/v1/audit-logs/{entry.pk}").status_code == 404
    # read-only resource
    assert admin.delete(f"/api/v1/audit-logs/{entry.pk}").status_code == 405


def test_audit_snapshots_are_camel_case_but_data_keys_stay_as_written(admin, tenant, system_actor):
    entry = audit_record(
        tenant=tenant,
        actor=system_actor,
        action="update",
        object_type="customer",
        object_id="42",
        before={"first_name": "Ann", "attributes": {"shoe_size": 41}, "volume_constraints": {"max_per_offer": 3}},
        after={"first_name": "Anna", "attributes": {"shoe_size": 42, "loyalty_tier": "gold"}, "variables": {"a_b": 1}},
    )
    body = admin.get(f"/api/v1/audit-logs/{entry.pk}").json()
    assert body["before"] == {
        "firstName": "Ann",
        "attributes": {"shoe_size": 41},
        "volumeConstraints": {"maxPerOffer": 3},
    }
    assert body["after"] == {
        "firstName": "Anna",
        "attributes": {"shoe_size": 42, "loyalty_tier": "gold"},
        "variables": {"a_b": 1},
    }
    # output only: the stored entry (and its hash) keep the model's names
    entry.refresh_from_db()
    assert entry.before == {
        "first_name": "Ann",
        "attributes": {"shoe_size": 41},
        "volume_constraints": {"max_per_offer": 3},
    }
    assert audit_verify(tenant=tenant) == []


def test_audit_of_a_campaign_update_reads_like_the_campaigns_api(admin, editor, tenant):
    from tests.runs.conftest import build_catalogue

    catalogue = build_catalogue(tenant, customers=3)
    body = {"decisionFlowId": catalogue.flow.pk, "segmentId": catalogue.everyone.pk}
    campaign = editor.post("/api/v1/campaigns", body, format="json").json()
    change = {"scheduleType": "daily", "volumeConstraints": {"maxTotalPerRun": 10}}
    assert editor.patch(f"/api/v1/campaigns/{campaign['id']}", change, format="json").status_code == 200
    listing = admin.get(f"/api/v1/audit-logs?objectId={campaign['id']}&action=update").json()
    (entry,) = listing["auditLogs"]
    assert entry["before"] == {"scheduleType": "manual", "volumeConstraints": None}
    assert entry["after"] == {"scheduleType": "daily", "volumeConstraints": {"maxTotalPerRun": 10}}
