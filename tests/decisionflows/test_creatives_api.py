from __future__ import annotations

from decisionflows.models import Creative
from tests.decisionflows.factories import ChannelFactory, CreativeFactory, OfferFactory
from tests.decisionflows.helpers import error, ok

PATH = "/api/v1/creatives"


def test_create_creative_lists_its_tokens(editor, tenant, tier_attribute):
    offer, channel = OfferFactory.create(tenant=tenant), ChannelFactory.create(tenant=tenant)
    body = ok(
        editor.post(
            PATH,
            {
                "offerId": offer.pk,
                "channelId": channel.pk,
                "name": "Variant A",
                "subject": '{{customer.first_name | "Hello"}}, a {{customer.tier}} offer',
                "content": "{{offer.name}} for {{customer.first_name}}: {{offer.business_value}}",
            },
        ),
        201,
    )
    assert body["id"].startswith("cr_")
    assert (body["offerId"], body["channelId"], body["status"]) == (offer.pk, channel.pk, "active")
    assert body["tokens"] == ["customer.first_name", "customer.tier", "offer.name", "offer.business_value"]


def test_creative_with_another_tenants_offer_or_channel_is_rejected(editor, tenant, other_tenant):
    foreign_offer, foreign_channel = (
        OfferFactory.create(tenant=other_tenant),
        ChannelFactory.create(tenant=other_tenant),
    )
    offer, channel = OfferFactory.create(tenant=tenant), ChannelFactory.create(tenant=tenant)
    assert error(editor.post(PATH, {"offerId": foreign_offer.pk, "channelId": channel.pk, "name": "x"})) == (
        f"offerId: No offer with id '{foreign_offer.pk}' in this tenant."
    )
    assert error(editor.post(PATH, {"offerId": offer.pk, "channelId": foreign_channel.pk, "name": "x"})) == (
        f"channelId: No channel with id '{foreign_channel.pk}' in this tenant."
    )
    creative = CreativeFactory.create(tenant=tenant)
    assert error(editor.patch(f"{PATH}/{creative.pk}", {"channelId": foreign_channel.pk})).startswith(
        "channelId: No channel"
    )
    assert not Creative.objects.filter(offer=foreign_offer).exists()


def test_unknown_or_malformed_tokens_are_rejected_naming_the_token(editor, tenant):
    offer, channel = OfferFactory.create(tenant=tenant), ChannelFactory.create(tenant=tenant)
    base = {"offerId": offer.pk, "channelId": channel.pk, "name": "x"}
    assert error(editor.post(PATH, {**base, "content": "Hi {{customer.nickname}}"})) == (
        "content: unknown personalization token {{customer.nickname}}: no field customer.nickname"
    )
    assert error(editor.post(PATH, {**base, "subject": "{{customer.first name}}"})).startswith(
        "subject: malformed personalization token {{customer.first name}}"
    )
    # customer.tier is known only once the schema has the attribute
    assert error(editor.post(PATH, {**base, "content": "{{customer.tier}}"})).startswith(
        "content: unknown personalization token"
    )


def test_creative_names_are_unique_per_offer_and_channel(editor, tenant):
    creative = CreativeFactory.create(tenant=tenant, name="A")
    same = {"offerId": creative.offer_id, "channelId": creative.channel_id, "name": "A"}
    assert error(editor.post(PATH, same)) == "name: The offer already has a creative named 'A' on this channel."
    other_channel = ChannelFactory.create(tenant=tenant)
    ok(editor.post(PATH, {**same, "channelId": other_channel.pk}), 201)


def test_creatives_filter_by_offer_and_channel(viewer, tenant):
    first = CreativeFactory.create(tenant=tenant)
    second = CreativeFactory.create(tenant=tenant, offer=first.offer)
    third = CreativeFactory.create(tenant=tenant, channel=first.channel)

    def ids(query: str) -> set[str]:
        return {item["id"] for item in ok(viewer.get(f"{PATH}?{query}"))["creatives"]}

    assert ids(f"offerId={first.offer_id}") == {first.pk, second.pk}
    assert ids(f"channelId={first.channel_id}") == {first.pk, third.pk}
    assert ids(f"offerId={first.offer_id}&channelId={first.channel_id}") == {first.pk}
