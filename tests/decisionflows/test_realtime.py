"""The Recommend API's cached decision contexts (decisionflows.realtime): one query per warm
decision, and never a stale context once a change to what a decision reads has committed."""

from __future__ import annotations

from typing import Any

from decisionflows import services
from decisionflows.models import FlowStatus
from kaireon.models import Tenant
from segments import services as segment_services
from tests.decisionflows.factories import MINIMAL_PIPELINE

# --- the version ------------------------------------------------------------------------------


def test_every_write_to_what_a_decision_reads_changes_the_catalogue_version(tenant, system_actor):
    seen: set[int] = set()

    def changed(by: str) -> None:
        version = Tenant.objects.values_list("catalogue_version", flat=True).get(pk=tenant.pk)
        assert version not in seen, f"{by} left the catalogue version as it was"
        seen.add(version)

    changed("nothing yet")
    kw: dict[str, Any] = {"tenant": tenant, "actor": system_actor}
    fax = services.channel_create(**kw, data={"name": "Fax", "channel_type": "direct_mail", "delivery_mode": "manual"})
    changed("channel_create")
    fax = services.channel_update(**kw, instance=fax, data={"name": "Fax 2"})
    changed("channel_update")
    offer = services.offer_create(**kw, data={"key": "spare", "name": "Spare"})
    changed("offer_create")
    offer = services.offer_update(**kw, instance=offer, data={"name": "Spare 2"})
    changed("offer_update")
    creative = services.creative_create(**kw, data={"offer": offer, "channel": fax, "name": "Spare fax"})
    changed("creative_create")
    creative = services.creative_update(**kw, instance=creative, data={"content": "Hi"})
    changed("creative_update")
    services.creative_delete(**kw, instance=creative)
    changed("creative_delete")
    services.offer_delete(**kw, instance=offer)
    changed("offer_delete")
    services.channel_delete(**kw, instance=fax)
    changed("channel_delete")
    policy = services.contact_policy_create(
        **kw, data={"name": "rest", "policy_type": "cooldown", "cooldown_hours": 24}
    )
    changed("contact_policy_create")
    policy = services.contact_policy_update(**kw, instance=policy, data={"cooldown_hours": 48})
    changed("contact_policy_update")
    services.contact_policy_delete(**kw, instance=policy)
    changed("contact_policy_delete")
    flow = services.decision_flow_create(**kw, data={"key": "nba", "name": "NBA", "pipeline": MINIMAL_PIPELINE})
    changed("decision_flow_create")
    flow = services.decision_flow_update(**kw, instance=flow, data={"status": FlowStatus.ACTIVE})
    changed("decision_flow_update")
    services.decision_flow_publish(**kw, flow=flow)
    changed("decision_flow_publish")
    services.decision_flow_delete(**kw, instance=flow)
    changed("decision_flow_delete")
    vip = segment_services.customer_attribute_create(**kw, data={"name": "vip", "type": "boolean"})
    changed("customer_attribute_create")
    vip = segment_services.customer_attribute_update(**kw, instance=vip, data={"type": "string"})
    changed("customer_attribute_update")
    segment_services.customer_attribute_delete(**kw, instance=vip)
    changed("customer_attribute_delete")
