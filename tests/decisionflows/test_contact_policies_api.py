from __future__ import annotations

import pytest

from decisionflows.models import ContactPolicy
from tests.decisionflows.factories import ChannelFactory, ContactPolicyFactory, DecisionFlowFactory, OfferFactory
from tests.decisionflows.helpers import error, ok

PATH = "/api/v1/contact-policies"


def test_frequency_cap_defaults_to_global_scope(editor):
    body = ok(
        editor.post(PATH, {"name": "3 a week", "policyType": "frequency_cap", "maxCount": 3, "period": "week"}), 201
    )
    assert body["id"].startswith("cp_")
    assert (body["scope"], body["channelId"], body["offerId"], body["cooldownHours"]) == ("global", None, None, None)


def test_scoped_caps_name_their_channel_or_offer(editor, tenant):
    channel, offer = ChannelFactory.create(tenant=tenant), OfferFactory.create(tenant=tenant)
    cap = {"policyType": "frequency_cap", "maxCount": 1, "period": "day"}
    body = ok(editor.post(PATH, {**cap, "name": "sms", "scope": "channel", "channelId": channel.pk}), 201)
    assert body["channelId"] == channel.pk
    body = ok(editor.post(PATH, {**cap, "name": "offer", "scope": "offer", "offerId": offer.pk}), 201)
    assert body["offerId"] == offer.pk


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"policyType": "frequency_cap", "period": "week"}, "maxCount: required for frequency caps"),
        ({"policyType": "frequency_cap", "maxCount": 2}, "period: required for frequency caps"),
        ({"policyType": "frequency_cap", "maxCount": 0, "period": "week"}, "maxCount: "),
        ({"policyType": "frequency_cap", "maxCount": 2, "period": "year"}, "period: "),
        (
            {"policyType": "frequency_cap", "maxCount": 2, "period": "week", "scope": "channel"},
            "channelId: required when scope is channel",
        ),
        (
            {"policyType": "frequency_cap", "maxCount": 2, "period": "week", "scope": "offer"},
            "offerId: required when scope is offer",
        ),
        ({"policyType": "cooldown"}, "cooldownHours: required for cooldowns"),
        (
            {"policyType": "cooldown", "cooldownHours": 24, "maxCount": 3},
            "maxCount: does not apply to cooldown policies",
        ),
        (
            {"policyType": "suppression"},
            "suppressUnsubscribed: a suppression policy drops unsubscribed and/or suppressed",
        ),
        (
            {"policyType": "suppression", "suppressSuppressed": True, "period": "day"},
            "period: does not apply to suppression",
        ),
        ({"policyType": "limit"}, "policyType: "),
    ],
)
def test_invalid_policies_are_rejected_naming_the_field(editor, payload, expected):
    assert error(editor.post(PATH, {"name": "p", **payload})).startswith(expected)


def test_scope_references_must_belong_to_the_tenant(editor, tenant, other_tenant):
    foreign = ChannelFactory.create(tenant=other_tenant)
    assert (
        error(
            editor.post(
                PATH,
                {
                    "name": "p",
                    "policyType": "frequency_cap",
                    "maxCount": 1,
                    "period": "day",
                    "scope": "channel",
                    "channelId": foreign.pk,
                },
            )
        )
        == f"channelId: No channel with id '{foreign.pk}' in this tenant."
    )


def test_a_channel_on_a_global_cap_is_rejected(editor, tenant):
    channel = ChannelFactory.create(tenant=tenant)
    payload = {"name": "p", "policyType": "frequency_cap", "maxCount": 1, "period": "day", "channelId": channel.pk}
    assert error(editor.post(PATH, payload)) == "channelId: only frequency caps scoped to a channel name one"


def test_suppression_and_cooldown(editor):
    body = ok(editor.post(PATH, {"name": "s", "policyType": "suppression", "suppressUnsubscribed": True}), 201)
    assert (body["suppressUnsubscribed"], body["suppressSuppressed"]) == (True, False)
    body = ok(editor.post(PATH, {"name": "c", "policyType": "cooldown", "cooldownHours": 72}), 201)
    assert (body["cooldownHours"], body["maxCount"], body["period"]) == (72, None, "")


def test_changing_the_type_resets_the_old_types_fields(editor, tenant):
    policy = ContactPolicyFactory.create(tenant=tenant, scope="channel", channel=ChannelFactory.create(tenant=tenant))
    body = ok(editor.patch(f"{PATH}/{policy.pk}", {"policyType": "cooldown", "cooldownHours": 12}))
    assert (body["maxCount"], body["period"], body["scope"], body["channelId"]) == (None, "", "", None)
    policy.refresh_from_db()
    assert policy.channel is None
    assert policy.cooldown_hours == 12


def test_patching_scope_back_to_global_drops_the_channel(editor, tenant):
    policy = ContactPolicyFactory.create(tenant=tenant, scope="channel", channel=ChannelFactory.create(tenant=tenant))
    assert ok(editor.patch(f"{PATH}/{policy.pk}", {"scope": "global"}))["channelId"] is None


def test_contact_policy_filters(viewer, tenant):
    cap = ContactPolicyFactory.create(tenant=tenant, name="Weekly cap")
    cooldown = ContactPolicyFactory.create(
        tenant=tenant,
        name="Cool",
        policy_type="cooldown",
        max_count=None,
        period="",
        scope="",
        cooldown_hours=5,
        status="inactive",
    )

    def ids(query: str) -> list[str]:
        return [item["id"] for item in ok(viewer.get(f"{PATH}?{query}"))["contactPolicies"]]

    assert ids("policyType=cooldown") == [cooldown.pk]
    assert ids("status=active") == [cap.pk]
    assert ids("q=weekly") == [cap.pk]
    assert ids("scope=global") == [cap.pk]


def test_policy_used_by_a_flow_cannot_be_deleted(admin, tenant):
    policy = ContactPolicyFactory.create(tenant=tenant)
    DecisionFlowFactory.create(
        tenant=tenant,
        key="nba",
        pipeline=[
            {"type": "inventory"},
            {"type": "contact_policy", "policy_ids": [policy.pk]},
            {"type": "score"},
            {"type": "rank"},
            {"type": "output"},
        ],
    )
    assert error(admin.delete(f"{PATH}/{policy.pk}"), 409).startswith(
        "This contact policy is used in the pipeline of decision flow(s) nba"
    )
    assert ContactPolicy.objects.filter(pk=policy.pk).exists()
