"""A marketer's audience work in a real browser: create a segment watching the live count,
refresh it after new customers arrive, find a customer and ask for their offers right now,
with the funnel that explains the others."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from decisionflows.models import ContactHistory
from kaireon.models import Role
from segments.models import Customer, Segment
from tests.browser.conftest import sign_in
from tests.runs.conftest import build_catalogue

pytestmark = pytest.mark.browser


def test_segment_with_live_count_refresh_and_recommend_now(live_server, tenant, page: Page, screenshot):
    build_catalogue(tenant, customers=60)
    base = live_server.url
    sign_in(page, base, tenant, Role.EDITOR)
    main_nav = page.get_by_role("navigation", name="Main")

    # --- a new segment, counted as it is typed ---------------------------------------------
    main_nav.get_by_role("link", name="Segments").click()
    page.wait_for_url(f"{base}/segments/")
    page.get_by_role("link", name="New segment").first.click()
    page.wait_for_url(f"{base}/segments/new/")
    assert page.locator("#filter-fields").get_by_text("tier", exact=True).count() == 1
    page.get_by_label("Name").fill("Gold adults")
    golds = Customer.objects.filter(tenant=tenant, attributes__tier="gold", attributes__age__gte=30).count()
    editor = page.get_by_role("textbox", name="Filter (JSON)")
    editor.fill('{"all": [{"field": "tier", "operator": "eq", "value": "gold"}, {"field": "age", "operator": "gte"')
    page.locator("#filters-count .field-error").first.wait_for()  # half-typed: the error, live
    editor.fill(
        '{"all": [{"field": "tier", "operator": "eq", "value": "gold"}, '
        '{"field": "age", "operator": "gte", "value": 30}]}'
    )
    page.locator(f'#filters-count [data-count="{golds}"]').wait_for()
    screenshot("segment-form")
    page.get_by_role("button", name="Create segment").click()
    page.wait_for_url(re.compile(rf"{re.escape(base)}/segments/seg_[0-9a-z]+/$"))
    segment = Segment.objects.get(name="Gold adults")
    assert page.locator("#segment-filter-words").inner_text() == "tier is gold and age ≥ 30"
    assert page.locator("#segment-count").get_attribute("data-count") == str(golds)

    # --- new customers arrive; a refresh counts them -----------------------------------------
    Customer.objects.bulk_create(
        [Customer(tenant=tenant, external_id=f"late{i}", attributes={"tier": "gold", "age": 44}) for i in range(3)]
    )
    page.get_by_role("button", name="Refresh count").click()
    page.get_by_text(f"Segment refreshed: {golds + 3} customers match now.").wait_for()
    assert page.locator("#segment-count").inner_text() == str(golds + 3)
    assert Segment.objects.get(pk=segment.pk).customer_count == golds + 3
    assert page.locator("#segment-sample tbody tr").count() == min(golds + 3, 20)
    screenshot("segment-detail")

    main_nav.get_by_role("link", name="Segments").click()
    page.wait_for_url(f"{base}/segments/")
    row = page.locator(f'tr[data-segment-id="{segment.pk}"]')
    assert row.locator(".filter-words").inner_text() == "tier is gold and age ≥ 30"
    screenshot("segments-list")

    # --- a customer, and their offers right now ----------------------------------------------
    person = (
        Customer.objects.filter(tenant=tenant, suppressed=False, attributes__age__gte=18)
        .exclude(first_name="")
        .order_by("id")
        .first()
    )
    assert person is not None
    main_nav.get_by_role("link", name="Customers").click()
    page.wait_for_url(f"{base}/customers/")
    page.get_by_label("Search", exact=True).fill(person.external_id[:-1])
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r".*/customers/\?q="))
    assert page.locator(".customer-row").count() >= 1
    screenshot("customers-search")
    page.get_by_role("link", name=person.external_id).click()
    page.wait_for_url(f"{base}/customers/{person.pk}/")
    assert page.locator('[data-attribute="tier"]').inner_text() == person.attributes["tier"]

    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    contacts = ContactHistory.objects.count()
    page.get_by_role("button", name="Recommend now").click()
    offers = page.locator("#recommended-offers .reco")
    offers.first.wait_for()
    assert offers.count() == 2
    assert offers.first.get_attribute("data-offer-key") == "gold-card"  # adults get the gold card first
    assert f"Hi {person.first_name}" in page.locator("#recommended-offers").inner_text()  # personalized
    steps = page.locator("#recommend-funnel li")
    assert steps.count() == 5
    assert steps.last.inner_text().split() == ["Returned", "2"]
    dropped = page.locator("#dropped-offers tbody tr")
    assert dropped.count() >= 1
    assert "Home Insurance" in page.locator("#dropped-offers").inner_text()
    assert navigations == []  # swapped in place
    assert ContactHistory.objects.count() == contacts  # a live decision is not a contact
    screenshot("customer-detail")
