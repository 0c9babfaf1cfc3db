"""Offer pages: the list (search, filters, pagination, creative counts without N+1), the detail
with its creatives and personalization preview, and creating, editing and deleting offers and
creatives through the services."""

from __future__ import annotations

import re

import pytest

from decisionflows import services as df
from decisionflows.models import Creative, Offer
from kaireon.models import AuditLog, Role
from tests.decisionflows.factories import CreativeFactory, OfferFactory
from tests.pages.catalogue_fixtures import cap_policy, field_errors, rich_flow, text_of

pytestmark = pytest.mark.django_db


def offer_keys(page: str) -> list[str]:
    return re.findall(r'<tr class="offer-row" data-offer-key="([^"]+)"', page)


def creative_counts(page: str) -> dict[str, int]:
    rows = re.findall(r'data-offer-key="([^"]+)".*?data-creatives="(\d+)"', page, flags=re.S)
    return {key: int(count) for key, count in rows}


# --- list ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "can_create"), [(Role.VIEWER, False), (Role.EDITOR, True), (Role.ADMIN, True)])
def test_list_shows_offers_with_creative_counts(client_as, tenant, catalogue, role, can_create):
    response = client_as(tenant, role).get("/catalogue/offers/")
    assert response.status_code == 200
    page = response.content.decode()
    assert offer_keys(page) == ["insurance", "savings", "loan", "gold-card"]  # newest first
    assert creative_counts(page) == {"insurance": 1, "savings": 2, "loan": 2, "gold-card": 2}
    assert "Gold Card" in page
    assert 'class="badge badge-ok status-active"' in page
    assert ('href="/catalogue/offers/new/"' in page) is can_create


def test_search_by_name_or_key_and_filter_by_category_and_status(as_viewer, catalogue):
    OfferFactory.create(
        tenant=catalogue.tenant, key="travel-card", name="Travel Card", category="cards", status="draft"
    )
    assert offer_keys(as_viewer.get("/catalogue/offers/?q=card").content.decode()) == ["travel-card", "gold-card"]
    assert offer_keys(as_viewer.get("/catalogue/offers/?q=LOAN").content.decode()) == ["loan"]
    assert offer_keys(as_viewer.get("/catalogue/offers/?category=cards").content.decode()) == ["travel-card"]
    assert offer_keys(as_viewer.get("/catalogue/offers/?status=draft").content.decode()) == ["travel-card"]
    assert offer_keys(as_viewer.get("/catalogue/offers/?category=retail&q=sav").content.decode()) == ["savings"]
    # the category filter offers the tenant's categories
    page = as_viewer.get("/catalogue/offers/").content.decode()
    assert '<option value="cards">cards</option>' in page
    assert '<option value="retail">retail</option>' in page
    empty = as_viewer.get("/catalogue/offers/?q=nothing-like-it").content.decode()
    assert "No offers match these filters" in empty
    # unknown status values are ignored
    assert len(offer_keys(as_viewer.get("/catalogue/offers/?status=bogus").content.decode())) == 5


def test_list_paginates(as_viewer, tenant):
    OfferFactory.create_batch(30, tenant=tenant)
    first = as_viewer.get("/catalogue/offers/").content.decode()
    assert len(offer_keys(first)) == 25
    assert "Showing <strong>1\N{EN DASH}25</strong> of <strong>30</strong>" in first
    second = as_viewer.get("/catalogue/offers/?page=2").content.decode()
    assert len(offer_keys(second)) == 5
    assert set(offer_keys(first)).isdisjoint(offer_keys(second))


def test_empty_list_invites_editors(as_editor, as_viewer, tenant):
    assert "No offers yet" in as_editor.get("/catalogue/offers/").content.decode()
    assert (
        'class="btn btn-primary" href="/catalogue/offers/new/"' in as_editor.get("/catalogue/offers/").content.decode()
    )
    assert 'href="/catalogue/offers/new/"' not in as_viewer.get("/catalogue/offers/").content.decode()


def test_other_tenants_offers_are_not_listed(as_outsider, catalogue):
    assert offer_keys(as_outsider.get("/catalogue/offers/").content.decode()) == []


def test_list_query_count_does_not_grow_with_offers(as_viewer, tenant, django_assert_num_queries):
    for _ in range(2):
        CreativeFactory.create(tenant=tenant)
    as_viewer.get("/catalogue/offers/")
    # session, user, membership (principal), count, page (creative counts joined), categories,
    # memberships (switcher)
    with django_assert_num_queries(7):
        as_viewer.get("/catalogue/offers/")
    for _ in range(20):
        CreativeFactory.create_batch(2, tenant=tenant, offer=OfferFactory.create(tenant=tenant))
    with django_assert_num_queries(7):
        response = as_viewer.get("/catalogue/offers/")
    page = response.content.decode()
    assert len(offer_keys(page)) == 22
    assert list(creative_counts(page).values()).count(2) == 20


# --- detail --------------------------------------------------------------------------------


def test_detail_shows_creatives_with_tokens_and_a_personalized_preview(as_viewer, catalogue):
    offer = catalogue.offers["loan"]
    response = as_viewer.get(f"/catalogue/offers/{offer.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert re.findall(r'data-creative-name="([^"]+)"', page) == ["loan on Email", "loan on SMS"]
    # tokens are marked in the template text
    assert '<mark class="df-token">{{customer.first_name | &quot;there&quot;}}</mark>' in page
    assert '<mark class="df-token">{{offer.name}}</mark>' in page
    # the preview is for the tenant's first customer
    text = text_of(page)
    assert "Preview for c00000" in text
    assert "Personal Loan for you" in text
    assert "Eligibility Every customer." in text


def test_preview_for_a_chosen_customer_and_fallback_tokens(as_viewer, catalogue):
    from segments.models import Customer

    offer = catalogue.offers["loan"]
    nameless = Customer.objects.filter(tenant=catalogue.tenant, first_name="").order_by("id").first()
    named = Customer.objects.filter(tenant=catalogue.tenant, first_name="Ben").order_by("id").first()
    assert nameless is not None
    assert named is not None
    text = text_of(as_viewer.get(f"/catalogue/offers/{offer.pk}/?customer={nameless.external_id}").content.decode())
    assert f"Preview for {nameless.external_id} Hi there Personal Loan for you" in text
    text = text_of(as_viewer.get(f"/catalogue/offers/{offer.pk}/?customer={named.external_id}").content.decode())
    assert f"Preview for {named.external_id} Hi Ben" in text
    text = text_of(as_viewer.get(f"/catalogue/offers/{offer.pk}/?customer=nobody").content.decode())
    assert "No customer with externalId “nobody” in this tenant." in text
    assert "Preview for" not in text


def test_detail_puts_eligibility_in_words_and_lists_flows_naming_it(as_viewer, catalogue):
    rich_flow(catalogue)
    gold = as_viewer.get(f"/catalogue/offers/{catalogue.offers['gold-card'].pk}/").content.decode()
    assert "Customers for whom customer age is at least 18" in text_of(gold)
    loan = as_viewer.get(f"/catalogue/offers/{catalogue.offers['loan'].pk}/").content.decode()
    assert re.search(r'<dd id="offer-flows"><a href="/catalogue/flows/df_[^"]+/">Rich flow</a></dd>', loan)


@pytest.mark.parametrize(
    ("role", "can_edit", "can_delete"),
    [(Role.VIEWER, False, False), (Role.EDITOR, True, False), (Role.ADMIN, True, True)],
)
def test_detail_actions_follow_the_role(client_as, tenant, catalogue, role, can_edit, can_delete):
    offer = catalogue.offers["loan"]
    page = client_as(tenant, role).get(f"/catalogue/offers/{offer.pk}/").content.decode()
    assert ('id="edit-offer"' in page) is can_edit
    assert ('id="add-creative"' in page) is can_edit
    assert (f'href="/catalogue/offers/{offer.pk}/creatives/' in page) is can_edit
    assert ('id="delete-offer"' in page) is can_delete
    assert ("Delete creative loan on Email" in page) is can_delete


# --- create and edit -----------------------------------------------------------------------

VALID = {
    "name": "Travel Card",
    "key": "travel-card",
    "category": "cards",
    "status": "active",
    "priority": "70",
    "business_value": "250.50",
    "start_date": "2026-01-01",
    "end_date": "2026-12-31",
    "description": "Miles on every purchase.",
    "eligibility": '{"field": "customer.age", "operator": "gte", "value": 21}',
    "tags": "travel, premium, travel",
}


def test_editor_creates_an_offer_through_the_service(as_editor, catalogue):
    response = as_editor.post("/catalogue/offers/new/", VALID)
    offer = Offer.objects.get(tenant=catalogue.tenant, key="travel-card")
    assert response.status_code == 302
    assert response["Location"] == f"/catalogue/offers/{offer.pk}/"
    assert offer.name == "Travel Card"
    assert offer.priority == 70
    assert str(offer.business_value) == "250.50"
    assert offer.eligibility == {"field": "customer.age", "operator": "gte", "value": 21}
    assert offer.tags == ["travel", "premium"]
    assert AuditLog.objects.filter(tenant=catalogue.tenant, action="create", object_id=offer.pk).exists()
    page = as_editor.get(response["Location"]).content.decode()
    assert "Offer “Travel Card” created." in page


def test_create_form_shows_field_errors_and_writes_nothing(as_editor, catalogue):
    bad = {**VALID, "name": "", "key": "not a slug", "priority": "101", "eligibility": "{nope"}
    response = as_editor.post("/catalogue/offers/new/", bad)
    assert response.status_code == 200
    page = response.content.decode()
    assert field_errors(page, "name") == ["This field is required."]
    assert field_errors(page, "key")[0].startswith("Enter a valid “slug”")
    assert field_errors(page, "priority") == ["Ensure this value is less than or equal to 100."]
    assert field_errors(page, "eligibility")[0].startswith("Not valid JSON: Expecting property name")
    assert 'aria-describedby="key-error key-help"' in page
    assert 'aria-invalid="true"' in page
    assert "The offer was not saved." in page
    assert not Offer.objects.filter(key="travel-card").exists()


def test_an_empty_post_is_refused_field_by_field(as_editor, catalogue):
    page = as_editor.post("/catalogue/offers/new/", {}).content.decode()
    for field in ("name", "key", "status", "priority", "business_value"):
        assert field_errors(page, field) == ["This field is required."], field
    assert Offer.objects.filter(tenant=catalogue.tenant).count() == 4


def test_service_errors_land_beside_their_field(as_editor, catalogue):
    page = as_editor.post("/catalogue/offers/new/", {**VALID, "key": "gold-card"}).content.decode()
    assert field_errors(page, "key") == ["An offer with key 'gold-card' already exists."]
    unknown = '{"all": [{"field": "customer.shoe_size", "operator": "gt", "value": 40}]}'
    page = as_editor.post("/catalogue/offers/new/", {**VALID, "eligibility": unknown}).content.decode()
    [message] = field_errors(page, "eligibility")
    assert message.startswith("all[0].field: unknown field 'customer.shoe_size'")
    page = as_editor.post("/catalogue/offers/new/", {**VALID, "end_date": "2025-01-01"}).content.decode()
    assert field_errors(page, "end_date") == ["Must be on or after the start date."]
    assert not Offer.objects.filter(key="travel-card").exists()


def test_edit_prefills_and_saves(as_editor, catalogue):
    offer = catalogue.offers["gold-card"]
    page = as_editor.get(f"/catalogue/offers/{offer.pk}/edit/").content.decode()
    assert 'value="gold-card"' in page
    assert "&quot;customer.age&quot;" in page  # eligibility as JSON
    response = as_editor.post(
        f"/catalogue/offers/{offer.pk}/edit/",
        {**VALID, "key": "gold-card", "name": "Gold Card Plus", "eligibility": ""},
    )
    assert response.status_code == 302
    offer.refresh_from_db()
    assert offer.name == "Gold Card Plus"
    assert offer.eligibility == {}
    assert AuditLog.objects.filter(tenant=catalogue.tenant, action="update", object_id=offer.pk).exists()


def test_edit_refuses_a_taken_key(as_editor, catalogue):
    offer = catalogue.offers["gold-card"]
    page = as_editor.post(f"/catalogue/offers/{offer.pk}/edit/", {**VALID, "key": "loan"}).content.decode()
    assert field_errors(page, "key") == ["An offer with key 'loan' already exists."]
    offer.refresh_from_db()
    assert offer.key == "gold-card"
    assert offer.name == "Gold Card"


def test_viewers_may_not_create_or_edit(as_viewer, catalogue):
    offer = catalogue.offers["loan"]
    assert as_viewer.post("/catalogue/offers/new/", VALID).status_code == 403
    assert as_viewer.post(f"/catalogue/offers/{offer.pk}/edit/", VALID).status_code == 403
    assert not Offer.objects.filter(key="travel-card").exists()


# --- delete --------------------------------------------------------------------------------


def test_only_admins_delete_offers(as_editor, as_admin, catalogue):
    offer = OfferFactory.create(tenant=catalogue.tenant, key="spare")
    assert as_editor.post(f"/catalogue/offers/{offer.pk}/delete/").status_code == 403
    assert Offer.objects.filter(pk=offer.pk).exists()
    response = as_admin.post(f"/catalogue/offers/{offer.pk}/delete/")
    assert response.status_code == 302
    assert response["Location"] == "/catalogue/offers/"
    assert not Offer.objects.filter(pk=offer.pk).exists()
    assert "Offer “" in as_admin.get("/catalogue/offers/").content.decode()


def test_delete_refused_while_a_flow_names_the_offer(as_admin, catalogue):
    rich_flow(catalogue)
    loan = catalogue.offers["loan"]
    response = as_admin.post(f"/catalogue/offers/{loan.pk}/delete/", follow=True)
    assert Offer.objects.filter(pk=loan.pk).exists()
    assert "used in the pipeline of decision flow(s) rich" in response.content.decode()


def test_delete_refused_while_a_contact_policy_counts_the_offer(as_admin, catalogue):
    savings = catalogue.offers["savings"]
    cap_policy(catalogue, name="Savings cap", scope="offer", channel=None, offer=savings)
    response = as_admin.post(f"/catalogue/offers/{savings.pk}/delete/", follow=True)
    assert Offer.objects.filter(pk=savings.pk).exists()
    assert "This offer is still in use (contact policies refer to it)" in response.content.decode()


def test_delete_of_another_tenants_offer_is_404(as_outsider, catalogue):
    offer = catalogue.offers["insurance"]
    assert as_outsider.post(f"/catalogue/offers/{offer.pk}/delete/").status_code == 404
    assert Offer.objects.filter(pk=offer.pk).exists()


# --- creatives -----------------------------------------------------------------------------

CREATIVE = {
    "name": "Spring SMS",
    "subject": "",
    "content": 'Hello {{customer.first_name | "friend"}}, {{offer.name}} is here. Tier {{customer.tier}}',
    "status": "active",
}


def test_editor_adds_a_creative_from_the_offer_page(as_editor, catalogue):
    offer = catalogue.offers["insurance"]
    page = as_editor.get(f"/catalogue/offers/{offer.pk}/creatives/new/").content.decode()
    # the tenant's channels to choose from
    assert page.count('<option value="ch_') == 4
    response = as_editor.post(f"/catalogue/offers/{offer.pk}/creatives/new/", {**CREATIVE, "channel": catalogue.sms.pk})
    assert response.status_code == 302
    assert response["Location"] == f"/catalogue/offers/{offer.pk}/"
    creative = Creative.objects.get(offer=offer, name="Spring SMS")
    assert creative.channel == catalogue.sms
    assert AuditLog.objects.filter(tenant=catalogue.tenant, action="create", object_id=creative.pk).exists()
    detail = text_of(as_editor.get(response["Location"]).content.decode())
    assert "Creative “Spring SMS” added to Home Insurance." in detail
    assert "Home Insurance is here. Tier" in detail


def test_creative_errors_beside_their_field(as_editor, catalogue):
    offer = catalogue.offers["insurance"]
    url = f"/catalogue/offers/{offer.pk}/creatives/new/"
    page = as_editor.post(url, {**CREATIVE, "channel": ""}).content.decode()
    assert field_errors(page, "channel") == ["This field is required."]
    page = as_editor.post(url, {**CREATIVE, "channel": catalogue.sms.pk, "content": "Hi {{customer.shoe}}"}).content
    assert field_errors(page.decode(), "content") == [
        "unknown personalization token {{customer.shoe}}: no field customer.shoe"
    ]
    page = as_editor.post(url, {**CREATIVE, "channel": catalogue.sms.pk, "subject": "{{customer}}"}).content.decode()
    assert field_errors(page, "subject")[0].startswith("malformed personalization token {{customer}}")
    duplicate = {**CREATIVE, "channel": catalogue.email.pk, "name": "insurance on Email"}
    page = as_editor.post(url, duplicate).content.decode()
    assert field_errors(page, "name") == [
        "The offer already has a creative named 'insurance on Email' on this channel."
    ]
    assert Creative.objects.filter(offer=offer).count() == 1


def test_creative_channel_of_another_tenant_is_refused(as_editor, catalogue, other_tenant):
    from tests.decisionflows.factories import ChannelFactory

    foreign = ChannelFactory.create(tenant=other_tenant)
    offer = catalogue.offers["insurance"]
    page = as_editor.post(
        f"/catalogue/offers/{offer.pk}/creatives/new/", {**CREATIVE, "channel": foreign.pk}
    ).content.decode()
    assert field_errors(page, "channel")[0].startswith("Select a valid choice.")
    assert not Creative.objects.filter(channel=foreign).exists()


def test_edit_and_delete_a_creative(as_editor, as_admin, catalogue):
    offer = catalogue.offers["loan"]
    creative = offer.creatives.get(channel=catalogue.sms)
    url = f"/catalogue/offers/{offer.pk}/creatives/{creative.pk}/"
    assert 'value="loan on SMS"' in as_editor.get(f"{url}edit/").content.decode()
    response = as_editor.post(f"{url}edit/", {**CREATIVE, "channel": catalogue.sms.pk, "name": "Loan text"})
    assert response.status_code == 302
    creative.refresh_from_db()
    assert creative.name == "Loan text"
    assert as_editor.post(f"{url}delete/").status_code == 403
    assert as_admin.post(f"{url}delete/").status_code == 302
    assert not Creative.objects.filter(pk=creative.pk).exists()


def test_creative_of_another_offer_is_404(as_editor, catalogue):
    loan, savings = catalogue.offers["loan"], catalogue.offers["savings"]
    creative = loan.creatives.first()
    assert as_editor.get(f"/catalogue/offers/{savings.pk}/creatives/{creative.pk}/edit/").status_code == 404


def test_viewers_may_not_touch_creatives(as_viewer, catalogue):
    offer = catalogue.offers["loan"]
    creative = offer.creatives.first()
    base = f"/catalogue/offers/{offer.pk}/creatives/"
    assert as_viewer.post(f"{base}new/", {**CREATIVE, "channel": catalogue.sms.pk}).status_code == 403
    assert as_viewer.post(f"{base}{creative.pk}/edit/", {**CREATIVE, "channel": catalogue.sms.pk}).status_code == 403
    assert as_viewer.post(f"{base}{creative.pk}/delete/").status_code == 403
    assert Creative.objects.filter(offer=offer).count() == 2


def test_service_is_the_only_writer(as_editor, catalogue, monkeypatch):
    """The page writes through decisionflows.services: a refusal there is a refusal here."""
    calls = []

    def refusing(**kwargs):
        calls.append(kwargs)
        raise df.ValidationError({"name": "refused by the service"})

    monkeypatch.setattr(df, "offer_create", refusing)
    page = as_editor.post("/catalogue/offers/new/", VALID).content.decode()
    assert field_errors(page, "name") == ["refused by the service"]
    assert calls
    assert calls[0]["actor"].tenant == catalogue.tenant
    assert calls[0]["data"]["key"] == "travel-card"
