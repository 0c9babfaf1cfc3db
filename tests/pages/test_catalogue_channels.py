"""Channel pages: the list (type, delivery, batch compatibility, creative counts, provider
configuration) and creating, editing and deleting channels through the services."""

from __future__ import annotations

import re

import pytest

from decisionflows.models import Channel
from kaireon.models import AuditLog, Role
from tests.decisionflows.factories import ChannelFactory, CreativeFactory
from tests.pages.catalogue_fixtures import field_errors, text_of

pytestmark = pytest.mark.django_db


def channel_names(page: str) -> list[str]:
    return re.findall(r'<tr class="channel-row" data-channel-name="([^"]+)"', page)


@pytest.mark.parametrize(
    ("role", "can_edit", "can_delete"),
    [(Role.VIEWER, False, False), (Role.EDITOR, True, False), (Role.ADMIN, True, True)],
)
def test_list_shows_channels_for_every_role(client_as, tenant, catalogue, role, can_edit, can_delete):
    response = client_as(tenant, role).get("/catalogue/channels/")
    assert response.status_code == 200
    page = response.content.decode()
    assert channel_names(page) == ["Call centre", "Email", "SMS", "Web"]
    text = text_of(page)
    assert "Email Email File Yes Active 3" in text  # type, delivery, batch runs, status, creatives
    assert "Web Web API Real-time only Active 1" in text
    assert "http://127.0.0.1:9/hook" in page  # SMS's provider configuration
    assert ('href="/catalogue/channels/new/"' in page) is can_edit
    assert (f'href="/catalogue/channels/{catalogue.email.pk}/edit/"' in page) is can_edit
    assert (f'action="/catalogue/channels/{catalogue.email.pk}/delete/"' in page) is can_delete


def test_list_query_count_does_not_grow_with_channels(as_viewer, tenant, django_assert_num_queries):
    CreativeFactory.create(tenant=tenant)
    as_viewer.get("/catalogue/channels/")
    # session, user, membership (principal), count, page (creative counts joined), switcher
    with django_assert_num_queries(6):
        as_viewer.get("/catalogue/channels/")
    for _ in range(15):
        CreativeFactory.create_batch(2, tenant=tenant, channel=ChannelFactory.create(tenant=tenant))
    with django_assert_num_queries(6):
        response = as_viewer.get("/catalogue/channels/")
    assert len(channel_names(response.content.decode())) == 16  # the first creative's own channel and 15


def test_other_tenants_channels_are_not_listed(as_outsider, catalogue):
    assert channel_names(as_outsider.get("/catalogue/channels/").content.decode()) == []


VALID = {
    "name": "Partner webhook",
    "channel_type": "webhook",
    "delivery_mode": "integration",
    "status": "active",
    "provider_config": '{"webhookUrl": "https://partner.example.com/hook", "retries": 3}',
    "description": "Deliveries to our partner.",
}


def test_editor_creates_a_channel(as_editor, catalogue):
    response = as_editor.post("/catalogue/channels/new/", VALID)
    assert response.status_code == 302
    assert response["Location"] == "/catalogue/channels/"
    channel = Channel.objects.get(tenant=catalogue.tenant, name="Partner webhook")
    assert channel.provider_config == {"webhookUrl": "https://partner.example.com/hook", "retries": 3}
    assert channel.batch_compatible
    assert AuditLog.objects.filter(tenant=catalogue.tenant, action="create", object_id=channel.pk).exists()
    assert "Channel “Partner webhook” created." in as_editor.get("/catalogue/channels/").content.decode()


def test_provider_config_is_validated_json_and_by_the_service(as_editor, catalogue):
    page = as_editor.post("/catalogue/channels/new/", {**VALID, "provider_config": "[1, 2"}).content.decode()
    assert field_errors(page, "provider_config")[0].startswith("Not valid JSON")
    page = as_editor.post("/catalogue/channels/new/", {**VALID, "provider_config": "[1, 2]"}).content.decode()
    assert field_errors(page, "provider_config") == [
        'The provider configuration must be a JSON object, such as {"webhookUrl": "https://…"}.'
    ]
    page = as_editor.post("/catalogue/channels/new/", {**VALID, "provider_config": ""}).content.decode()
    assert field_errors(page, "provider_config") == [
        "webhookUrl: required for integration delivery: the http(s) URL deliveries go to"
    ]
    page = as_editor.post(
        "/catalogue/channels/new/", {**VALID, "provider_config": '{"webhookUrl": "ftp://x"}'}
    ).content.decode()
    assert field_errors(page, "provider_config") == ["webhookUrl: must be an http(s) URL (got 'ftp://x')"]
    page = as_editor.post(
        "/catalogue/channels/new/", {**VALID, "provider_config": '{"webhookUrl": "http://169.254.169.254/latest/"}'}
    ).content.decode()
    assert field_errors(page, "provider_config") == ["webhookUrl: not allowed: 169.254.169.254 is a link-local address"]
    assert 'aria-describedby="provider_config-error provider_config-help"' in page
    page = as_editor.post("/catalogue/channels/new/", {**VALID, "name": "Email"}).content.decode()
    assert field_errors(page, "name") == ["A channel named 'Email' already exists."]
    page = as_editor.post("/catalogue/channels/new/", {**VALID, "channel_type": "pigeon"}).content.decode()
    assert field_errors(page, "channel_type")[0].startswith("Select a valid choice.")
    assert not Channel.objects.filter(name="Partner webhook").exists()


def test_file_channel_needs_no_config(as_editor, catalogue):
    response = as_editor.post(
        "/catalogue/channels/new/", {**VALID, "delivery_mode": "file", "provider_config": "", "channel_type": "email"}
    )
    assert response.status_code == 302
    assert Channel.objects.get(name="Partner webhook").provider_config == {}


def test_edit_prefills_and_saves(as_editor, catalogue):
    sms = catalogue.sms
    page = as_editor.get(f"/catalogue/channels/{sms.pk}/edit/").content.decode()
    assert 'value="SMS"' in page
    assert "&quot;webhookUrl&quot;: &quot;http://127.0.0.1:9/hook&quot;" in page
    assert '<option value="integration" selected>' in page
    response = as_editor.post(
        f"/catalogue/channels/{sms.pk}/edit/",
        {**VALID, "name": "SMS", "channel_type": "sms", "status": "inactive"},
    )
    assert response.status_code == 302
    sms.refresh_from_db()
    assert sms.status == "inactive"
    assert sms.provider_config["webhookUrl"] == "https://partner.example.com/hook"


def test_viewers_may_not_create_or_edit(as_viewer, catalogue):
    assert as_viewer.get("/catalogue/channels/new/").status_code == 403
    assert as_viewer.post("/catalogue/channels/new/", VALID).status_code == 403
    assert as_viewer.post(f"/catalogue/channels/{catalogue.web.pk}/edit/", VALID).status_code == 403
    assert not Channel.objects.filter(name="Partner webhook").exists()


def test_only_admins_delete_and_a_channel_in_use_stays(as_editor, as_admin, catalogue):
    spare = ChannelFactory.create(tenant=catalogue.tenant, name="Spare")
    assert as_editor.post(f"/catalogue/channels/{spare.pk}/delete/").status_code == 403
    assert Channel.objects.filter(pk=spare.pk).exists()
    assert as_admin.post(f"/catalogue/channels/{spare.pk}/delete/").status_code == 302
    assert not Channel.objects.filter(pk=spare.pk).exists()
    response = as_admin.post(f"/catalogue/channels/{catalogue.email.pk}/delete/", follow=True)
    assert Channel.objects.filter(pk=catalogue.email.pk).exists()
    assert "This channel is still in use (creatives refer to it) and cannot be deleted." in response.content.decode()


def test_another_tenants_channel_is_404(as_outsider, catalogue):
    assert as_outsider.get(f"/catalogue/channels/{catalogue.web.pk}/edit/").status_code == 404
    assert as_outsider.post(f"/catalogue/channels/{catalogue.web.pk}/delete/").status_code == 404
    assert Channel.objects.filter(pk=catalogue.web.pk).exists()
