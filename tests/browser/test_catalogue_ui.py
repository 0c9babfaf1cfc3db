"""The catalogue in a real browser: an editor creates an offer (after an error shown beside its
field) and gives it a personalized creative; then publishes a decision flow drawn node by node.
Screenshots of the main catalogue pages go to test-output/screenshots/catalogue-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from decisionflows.models import Creative, DecisionFlowVersion, Offer
from kaireon.models import Role
from tests.browser.conftest import sign_in
from tests.pages.catalogue_fixtures import rich_flow
from tests.runs.conftest import build_catalogue

pytestmark = pytest.mark.browser


def test_editor_creates_an_offer_with_a_creative(live_server, tenant, page: Page, screenshot):
    catalogue = build_catalogue(tenant, customers=5)
    base = live_server.url
    sign_in(page, base, tenant, Role.EDITOR)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalogue").click()
    page.wait_for_url(f"{base}/catalogue/")
    assert page.locator('[data-count="offers"]').inner_text() == "4"
    page.get_by_role("navigation", name="Catalogue").get_by_role("link", name="Offers").click()
    page.wait_for_url(f"{base}/catalogue/offers/")
    assert page.locator(".offer-row").count() == 4
    screenshot("catalogue-offers")

    # --- a new offer: an error first, beside its field --------------------------------------
    page.get_by_role("link", name="New offer").click()
    page.get_by_label("Name").fill("Travel Card")
    page.get_by_label("Key").fill("gold-card")  # taken
    page.get_by_label("Category").fill("cards")
    page.get_by_label("Status").select_option("active")
    page.get_by_label("Eligibility").fill('{"field": "customer.age", "operator": "gte", "value": 21}')
    page.get_by_role("button", name="Create offer").click()
    expect(page.locator("#key-error")).to_have_text("An offer with key 'gold-card' already exists.")
    assert "key-error" in (page.get_by_label("Key").get_attribute("aria-describedby") or "")
    assert page.get_by_label("Name").input_value() == "Travel Card"  # what was typed is kept
    page.get_by_label("Key").fill("travel-card")
    page.get_by_role("button", name="Create offer").click()
    page.wait_for_url(re.compile(rf"{re.escape(base)}/catalogue/offers/off_[0-9a-z]+/$"))
    offer = Offer.objects.get(tenant=tenant, key="travel-card")
    expect(page.get_by_text("Offer “Travel Card” created.")).to_be_visible()
    expect(page.get_by_text("Customers for whom customer age is at least 21")).to_be_visible()

    # --- its creative, personalized ---------------------------------------------------------
    page.get_by_role("link", name="Add creative").first.click()
    page.get_by_label("Channel", exact=True).select_option(catalogue.email.pk)
    page.get_by_label("Name").fill("Travel email")
    page.get_by_label("Subject").fill('Pack your bags, {{customer.first_name | "traveller"}}')
    page.get_by_label("Content").fill("{{offer.name}}: miles on every purchase.")
    page.get_by_role("button", name="Add creative").click()
    page.wait_for_url(f"{base}/catalogue/offers/{offer.pk}/")
    creative = Creative.objects.get(offer=offer)
    assert creative.channel == catalogue.email
    card = page.locator(f"#creative-{creative.pk}")
    expect(card.locator("mark.df-token").first).to_have_text('{{customer.first_name | "traveller"}}')
    preview = card.locator(".df-preview")
    expect(preview).to_contain_text("Travel Card: miles on every purchase.")
    assert "{{" not in preview.inner_text()
    screenshot("catalogue-offer-detail")


def test_editor_publishes_a_flow_and_reads_channels_and_policies(live_server, tenant, page: Page, screenshot):
    catalogue = build_catalogue(tenant, customers=5)
    flow = rich_flow(catalogue, publish=False)
    base = live_server.url
    sign_in(page, base, tenant, Role.EDITOR)

    page.goto(f"{base}/catalogue/flows/")
    page.get_by_role("link", name="Rich flow").click()
    page.wait_for_url(f"{base}/catalogue/flows/{flow.pk}/")
    types = [node.get_attribute("data-node-type") for node in page.locator(".df-node").all()]
    assert types == ["inventory", "qualify", "contact_policy", "score", "rank", "output"]
    expect(page.get_by_role("heading", name="Step 4: Score")).to_be_visible()
    expect(page.locator("#unpublished-note")).to_contain_text("never been published")
    assert page.locator("#start-run").count() == 0

    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Version 1 of “Rich flow” published.")).to_be_visible()
    assert DecisionFlowVersion.objects.filter(flow=flow, version=1).exists()
    expect(page.locator("#versions-table .version-row")).to_have_count(1)
    expect(page.locator("#flow-version")).to_have_text("Published version 1")
    start = page.get_by_role("link", name="Start a run with this flow")
    assert start.get_attribute("href") == f"/runs/new/?decision_flow={flow.pk}"
    screenshot("catalogue-flow-detail")

    page.get_by_role("navigation", name="Catalogue").get_by_role("link", name="Channels").click()
    page.wait_for_url(f"{base}/catalogue/channels/")
    expect(page.locator(".channel-row")).to_have_count(4)
    screenshot("catalogue-channels")

    page.get_by_role("navigation", name="Catalogue").get_by_role("link", name="Contact policies").click()
    page.wait_for_url(f"{base}/catalogue/policies/")
    expect(page.locator('.policy-row[data-policy-name="Two emails a week"] .policy-words')).to_have_text(
        "At most 2 contacts per week on Email"
    )
    screenshot("catalogue-policies")

    # the policy form shows the settings of the chosen kind only
    page.get_by_role("link", name="New contact policy").click()
    expect(page.get_by_label("At most", exact=True)).to_be_visible()
    expect(page.get_by_label("Cooldown in hours")).to_be_hidden()
    expect(page.get_by_label("Channel", exact=True)).to_be_hidden()  # counted across everything by default
    page.get_by_label("Counted").select_option("channel")
    expect(page.get_by_label("Channel", exact=True)).to_be_visible()
    page.locator("#id_policy_type_cooldown").check()
    expect(page.get_by_label("At most", exact=True)).to_be_hidden()
    expect(page.get_by_label("Cooldown in hours")).to_be_visible()
