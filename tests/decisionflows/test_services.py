"""Services called directly, as the runs app and management commands will."""

from __future__ import annotations

import pytest

from decisionflows import services
from decisionflows.models import DecisionFlow
from kaireon.errors import ValidationError
from tests.decisionflows.factories import ChannelFactory, CreativeFactory, DecisionFlowFactory, OfferFactory


def test_creative_create_refuses_another_tenants_offer(tenant, other_tenant, system_actor):
    with pytest.raises(ValidationError) as info:
        services.creative_create(
            tenant=tenant,
            actor=system_actor,
            data={
                "offer": OfferFactory.create(tenant=other_tenant),
                "channel": ChannelFactory.create(tenant=tenant),
                "name": "x",
            },
        )
    assert list(info.value.by_field()) == ["offer_id"]


def test_contact_policy_create_refuses_another_tenants_channel(tenant, other_tenant, system_actor):
    data = {
        "name": "p",
        "policy_type": "frequency_cap",
        "max_count": 1,
        "period": "day",
        "scope": "channel",
        "channel": ChannelFactory.create(tenant=other_tenant),
    }
    with pytest.raises(ValidationError) as info:
        services.contact_policy_create(tenant=tenant, actor=system_actor, data=data)
    assert list(info.value.by_field()) == ["channel_id"]


def test_creative_update_checks_the_merged_creative(tenant, system_actor):
    creative = CreativeFactory.create(tenant=tenant)
    with pytest.raises(ValidationError) as info:
        services.creative_update(
            tenant=tenant, actor=system_actor, instance=creative, data={"content": "{{offer.nope}}"}
        )
    assert info.value.by_field() == {"content": ["unknown personalization token {{offer.nope}}: no field offer.nope"]}
    creative.refresh_from_db()
    assert creative.content == "Discover {{offer.name}}."


def test_publish_numbers_versions_per_flow(tenant, system_actor):
    first, second = DecisionFlowFactory.create(tenant=tenant), DecisionFlowFactory.create(tenant=tenant)
    numbers = [
        services.decision_flow_publish(tenant=tenant, actor=system_actor, flow=flow).version
        for flow in (first, first, second, first)
    ]
    assert numbers == [1, 2, 1, 3]
    assert DecisionFlow.objects.get(pk=first.pk).latest_version == 3
    assert first.latest_version == 3  # the caller's instance is kept current


def test_publish_by_the_system_is_labelled(tenant):
    version = services.decision_flow_publish(tenant=tenant, actor=None, flow=DecisionFlowFactory.create(tenant=tenant))
    assert version.published_by == "system"
