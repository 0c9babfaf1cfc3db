from __future__ import annotations

from typing import Any

import pytest

from decisionflows.models import Channel
from decisionflows.selectors import batch_channels
from tests.decisionflows.factories import ChannelFactory, ContactPolicyFactory, CreativeFactory
from tests.decisionflows.helpers import error, ok

PATH = "/api/v1/channels"


def test_create_channel_answers_the_resource(editor, tenant):
    body = ok(
        editor.post(PATH, {"name": "Email", "channelType": "email", "deliveryMode": "file", "description": "Weekly"}),
        201,
    )
    assert body["id"].startswith("ch_")
    assert body["batchCompatible"] is True
    assert body["status"] == "active"
    assert body["providerConfig"] == {}
    assert body["createdAt"].endswith("Z")
    assert Channel.objects.get(pk=body["id"]).tenant == tenant


@pytest.mark.parametrize(("mode", "batch"), [("api", False), ("file", True), ("integration", True), ("manual", True)])
def test_batch_compatible_follows_delivery_mode(editor, tenant, mode, batch):
    config = {"webhookUrl": "https://hooks.example.com/in"} if mode == "integration" else {}
    body = ok(
        editor.post(PATH, {"name": mode, "channelType": "push", "deliveryMode": mode, "providerConfig": config}), 201
    )
    assert body["batchCompatible"] is batch
    assert Channel.objects.get(pk=body["id"]).batch_compatible is batch
    assert Channel.objects.filter(tenant=tenant).batch_compatible().exists() is batch


def test_batch_channels_selector_keeps_active_batch_channels_of_the_tenant(tenant, other_tenant):
    keep = ChannelFactory.create(tenant=tenant, delivery_mode="manual")
    ChannelFactory.create(tenant=tenant, delivery_mode="api")
    ChannelFactory.create(tenant=tenant, delivery_mode="file", status="inactive")
    ChannelFactory.create(tenant=other_tenant, delivery_mode="file")
    assert list(batch_channels(tenant=tenant)) == [keep]


def test_integration_channel_needs_an_http_webhook_url(editor):
    base = {"name": "CRM", "channelType": "webhook", "deliveryMode": "integration"}
    assert error(editor.post(PATH, base)) == (
        "providerConfig.webhookUrl: required for integration delivery: the http(s) URL deliveries go to"
    )
    assert error(editor.post(PATH, {**base, "providerConfig": {"webhookUrl": "ftp://example.com/x"}})) == (
        "providerConfig.webhookUrl: must be an http(s) URL (got 'ftp://example.com/x')"
    )
    assert "must be an http(s) URL" in error(editor.post(PATH, {**base, "providerConfig": {"webhookUrl": 12}}))
    assert error(editor.post(PATH, {**base, "providerConfig": ["x"]})) == "providerConfig: must be an object"


def test_provider_config_is_stored_and_answered_verbatim(editor):
    config = {
        "webhookUrl": "https://crm.example.com/hook",
        "API_KEY": "k",
        "headers": {"X-Tenant-Id": "7", "snake_key": 1},
    }
    body = ok(
        editor.post(
            PATH, {"name": "CRM", "channelType": "webhook", "deliveryMode": "integration", "providerConfig": config}
        ),
        201,
    )
    assert body["providerConfig"] == config
    assert Channel.objects.get(pk=body["id"]).provider_config == config


def test_patch_is_validated_on_the_merged_channel(editor, tenant):
    channel = ChannelFactory.create(tenant=tenant, delivery_mode="file")
    assert error(editor.patch(f"{PATH}/{channel.pk}", {"deliveryMode": "integration"})).startswith(
        "providerConfig.webhookUrl: required"
    )
    body = ok(
        editor.patch(
            f"{PATH}/{channel.pk}",
            {"deliveryMode": "integration", "providerConfig": {"webhookUrl": "http://x.example/h"}},
        )
    )
    assert body["deliveryMode"] == "integration"


def test_channel_names_are_unique_per_tenant(editor, outsider, tenant):
    ChannelFactory.create(tenant=tenant, name="Email")
    body = {"name": "Email", "channelType": "email", "deliveryMode": "file"}
    assert error(editor.post(PATH, body)) == "name: A channel named 'Email' already exists."
    ok(outsider.post(PATH, body), 201)


def test_unknown_choices_are_rejected(editor):
    message = error(editor.post(PATH, {"name": "Fax", "channelType": "fax", "deliveryMode": "file"}))
    assert message.startswith("channelType: ")


def test_channel_filters(viewer, tenant):
    email = ChannelFactory.create(tenant=tenant, name="Email main", channel_type="email", delivery_mode="file")
    sms = ChannelFactory.create(tenant=tenant, name="SMS", channel_type="sms", delivery_mode="api", status="inactive")

    def ids(query: str) -> list[str]:
        return [item["id"] for item in ok(viewer.get(f"{PATH}?{query}"))["channels"]]

    assert ids("channelType=sms") == [sms.pk]
    assert ids("deliveryMode=file") == [email.pk]
    assert ids("batchCompatible=true") == [email.pk]
    assert ids("batchCompatible=false") == [sms.pk]
    assert ids("status=inactive") == [sms.pk]
    assert ids("q=main") == [email.pk]
    assert ids("") == [sms.pk, email.pk]  # newest first
    assert error(viewer.get(f"{PATH}?channelType=fax")).startswith("channelType: ")


def test_channel_in_use_cannot_be_deleted(admin, tenant):
    creative = CreativeFactory.create(tenant=tenant)
    response = admin.delete(f"{PATH}/{creative.channel_id}")
    assert error(response, 409) == "This object is still in use and cannot be deleted."
    policy = ContactPolicyFactory.create(tenant=tenant, scope="channel", channel=ChannelFactory.create(tenant=tenant))
    assert admin.delete(f"{PATH}/{policy.channel_id}").status_code == 409
    assert Channel.objects.filter(pk__in=[creative.channel_id, policy.channel_id]).count() == 2


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://127.0.0.1:5432/", "127.0.0.1 is a loopback address"),
        ("http://localhost:6379/", "localhost is a loopback name"),
        ("http://10.0.0.1/hook", "10.0.0.1 is a private address"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata.google.internal is a cloud metadata service"),
        ("http://[::ffff:127.0.0.1]/", "127.0.0.1 is a loopback address"),
        ("http://0.0.0.0:8000/", "0.0.0.0 is the unspecified address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
    ],
)
def test_webhook_urls_into_the_internal_network_are_refused(editor, tenant, settings, url, reason):
    settings.WEBHOOK_ALLOWED_HOSTS = []  # the production default
    body: dict[str, Any] = {"name": "CRM", "channelType": "webhook", "deliveryMode": "integration"}
    body["providerConfig"] = {"webhookUrl": url}
    assert error(editor.post(PATH, body)) == f"providerConfig.webhookUrl: not allowed: {reason}"
    channel = ChannelFactory.create(tenant=tenant, delivery_mode="file")
    patch = {"deliveryMode": "integration", "providerConfig": {"webhookUrl": url}}
    assert error(editor.patch(f"{PATH}/{channel.pk}", patch)).startswith("providerConfig.webhookUrl: not allowed")
    assert not Channel.objects.filter(delivery_mode="integration").exists()


def test_the_allow_list_lets_an_internal_webhook_through(editor, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["10.20.0.0/16", "localhost"]
    for url in ("http://10.20.3.4/hook", "http://localhost:9000/hook"):
        body: dict[str, Any] = {"name": url, "channelType": "webhook", "deliveryMode": "integration"}
        body["providerConfig"] = {"webhookUrl": url}
        ok(editor.post(PATH, body), 201)
    refused: dict[str, Any] = {"name": "x", "channelType": "webhook", "deliveryMode": "integration"}
    refused["providerConfig"] = {"webhookUrl": "http://10.21.0.1/hook"}
    assert error(editor.post(PATH, refused)).startswith("providerConfig.webhookUrl: not allowed")
