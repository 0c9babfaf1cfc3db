"""The agents' work queue: manual-channel deliveries, oldest first, filtered by status and
channel, paginated; editors mark items done (htmx swaps the row; without script, a redirect)."""

from __future__ import annotations

import re

import pytest

from campaigns.models import Delivery, DeliveryStatus
from campaigns.pages import work_queue
from decisionflows import services as df
from kaireon.models import Role
from tests.pages.campaigns_fixtures import actor, break_webhook, execute, make_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(catalogue):
    """Work items of one campaign run on the call-centre channel (the gold tier: fewer than a page)."""
    campaign = make_campaign(
        catalogue, name="Call list", segment_id=catalogue.gold.pk, channel_ids=[catalogue.call_centre.pk]
    )
    campaign_run = execute(campaign, deliver=True)
    queue = Delivery.objects.filter(campaign_run=campaign_run, mode="manual").order_by("id")
    assert queue.count() > 3
    return list(queue)


def item_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr class="work-item" id="item-(\d+)"', html)]


@pytest.mark.parametrize(("role", "can_mark"), [(Role.VIEWER, False), (Role.EDITOR, True), (Role.ADMIN, True)])
def test_queue_renders_for_every_role(client_as, tenant, items, role, can_mark):
    response = client_as(tenant, role).get("/campaigns/work-queue/")
    assert response.status_code == 200
    html = response.content.decode()
    assert item_ids(html) == [item.pk for item in items]  # oldest first
    first = items[0]
    assert first.customer.external_id in html
    assert "Savings Account" in html  # the only offer on the call-centre channel
    assert "Call list" in html
    assert "run #1" in html
    assert ("Mark done" in html) is can_mark


def test_filters_by_status_and_channel(as_editor, items, catalogue):
    as_editor.post(f"/campaigns/work-queue/{items[0].pk}/done/")
    assert item_ids(as_editor.get("/campaigns/work-queue/?status=done").content.decode()) == [items[0].pk]
    assert item_ids(as_editor.get("/campaigns/work-queue/").content.decode()) == [i.pk for i in items[1:]]
    by_channel = as_editor.get(f"/campaigns/work-queue/?channel={catalogue.call_centre.pk}").content.decode()
    assert len(item_ids(by_channel)) == len(items) - 1
    other = df.channel_create(
        tenant=catalogue.tenant,
        actor=actor(catalogue),
        data={"name": "Branch", "channel_type": "direct_mail", "delivery_mode": "manual", "provider_config": {}},
    )
    html = as_editor.get(f"/campaigns/work-queue/?channel={other.pk}").content.decode()
    assert item_ids(html) == []
    assert "Nothing to do" in html
    assert f'<option value="{other.pk}" selected>Branch</option>' in html
    assert f'value="{catalogue.sms.pk}"' not in html  # integration channels are not queues
    # an unknown status is read as the default
    assert len(item_ids(as_editor.get("/campaigns/work-queue/?status=sent").content.decode())) == len(items) - 1


def test_marking_done_with_htmx_swaps_the_row(as_editor, items):
    item = items[1]
    response = as_editor.post(f"/campaigns/work-queue/{item.pk}/done/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith(f'<tr class="work-item" id="item-{item.pk}" data-status="done">')
    assert "by editor-acme" in html
    item.refresh_from_db()
    assert (item.status, item.done_by) == (DeliveryStatus.DONE, "editor-acme")
    # again: already done, the row says so
    again = as_editor.post(f"/campaigns/work-queue/{item.pk}/done/", HTTP_HX_REQUEST="true").content.decode()
    assert "only pending items can be marked done" in again


def test_marking_done_without_script_goes_back_to_the_filtered_queue(as_editor, items, catalogue):
    back = f"/campaigns/work-queue/?channel={catalogue.call_centre.pk}"
    response = as_editor.post(f"/campaigns/work-queue/{items[0].pk}/done/", {"next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    assert f"Work item {items[0].pk} marked done." in as_editor.get(back).content.decode()
    response = as_editor.post(f"/campaigns/work-queue/{items[0].pk}/done/", {"next": "https://evil.example/"})
    assert response["Location"] == "/campaigns/work-queue/"


def test_viewer_cannot_mark_done_and_another_tenant_gets_404(as_viewer, as_outsider, items):
    item = items[0]
    assert as_viewer.post(f"/campaigns/work-queue/{item.pk}/done/").status_code == 403
    assert as_outsider.post(f"/campaigns/work-queue/{item.pk}/done/").status_code == 404
    assert item_ids(as_outsider.get("/campaigns/work-queue/").content.decode()) == []
    item.refresh_from_db()
    assert item.status == DeliveryStatus.PENDING


def test_an_integration_delivery_is_not_a_work_item(as_editor, catalogue):
    break_webhook(catalogue)
    execute(make_campaign(catalogue, segment_id=catalogue.gold.pk, channel_ids=[catalogue.sms.pk]), deliver=True)
    sms = Delivery.objects.filter(mode="integration").first()
    assert sms is not None
    assert as_editor.post(f"/campaigns/work-queue/{sms.pk}/done/").status_code == 404


def test_paginates(as_viewer, items, monkeypatch):
    monkeypatch.setattr(work_queue, "WORK_ITEMS_PER_PAGE", 2)
    first = as_viewer.get("/campaigns/work-queue/").content.decode()
    assert item_ids(first) == [items[0].pk, items[1].pk]
    assert f"of <strong>{len(items)}</strong>" in first
    second = as_viewer.get("/campaigns/work-queue/?page=2").content.decode()
    assert item_ids(second) == [items[2].pk, items[3].pk]


def test_queue_query_count_does_not_grow_with_items(as_viewer, items, catalogue, django_assert_num_queries):
    as_viewer.get("/campaigns/work-queue/")
    # session, user, membership, count, page (customer, offer, channel, campaign run and
    # campaign joined), channel choices, memberships (switcher)
    with django_assert_num_queries(7):
        response = as_viewer.get("/campaigns/work-queue/")
    count = len(item_ids(response.content.decode()))
    execute(
        make_campaign(catalogue, segment_id=catalogue.gold.pk, channel_ids=[catalogue.call_centre.pk]), deliver=True
    )
    with django_assert_num_queries(7):
        response = as_viewer.get("/campaigns/work-queue/")
    assert len(item_ids(response.content.decode())) > count
