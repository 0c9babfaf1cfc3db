"""Signing in, the tenant switcher and role-aware navigation, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from kaireon.models import Role
from tests.browser.conftest import sign_in
from tests.factories import MembershipFactory, UserFactory
from tests.runs.conftest import build_catalogue

pytestmark = pytest.mark.browser


def test_sign_in_switch_tenant_and_sign_out(live_server, tenant, other_tenant, page: Page, screenshot):
    build_catalogue(tenant, customers=5)
    base = live_server.url
    page.goto(f"{base}/runs/")
    page.wait_for_url(f"{base}/login/?next=/runs/")
    screenshot("login")
    username = sign_in(page, base, tenant, Role.EDITOR)
    user = UserFactory.create(username=username)
    MembershipFactory.create(user=user, tenant=other_tenant, role=Role.VIEWER)
    page.reload()
    assert page.locator(".role-pill").inner_text() == "Editor"
    assert page.get_by_role("link", name="New run").count() == 1

    page.get_by_label("Tenant").select_option(other_tenant.pk)
    page.get_by_text("Now working in Globex Retail as viewer.").wait_for()
    assert page.locator(".role-pill").inner_text() == "Viewer"
    assert page.get_by_role("link", name="New run").count() == 0  # viewers do not create runs
    assert page.locator('[data-count="customers"]').inner_text() == "0"

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/login/")


def test_keyboard_reaches_the_main_navigation_with_visible_focus(live_server, tenant, page: Page):
    base = live_server.url
    sign_in(page, base, tenant, Role.VIEWER)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")  # the brand, home
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "nav-link is-active"
    assert page.evaluate("document.activeElement.getAttribute('aria-current')") == "page"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible


@pytest.mark.parametrize("width", [1440, 1280, 1024, 800])
def test_every_section_link_can_be_clicked_at_laptop_and_tablet_widths(
    live_server, tenant, page: Page, screenshot, width
):
    """Seven sections, the switcher and the role share the top bar: nothing may cover a link."""
    other = MembershipFactory.create(tenant__name="A tenant with a rather long name", role=Role.VIEWER)
    page.set_viewport_size({"width": width, "height": 800})
    username = sign_in(page, live_server.url, tenant, Role.ADMIN)
    other.user = UserFactory._meta.model.objects.get(username=username)
    other.save()
    page.reload()
    links = page.locator(".mainnav .nav-link")
    names = links.all_inner_texts()
    assert names == ["Dashboard", "Runs", "Catalogue", "Segments", "Customers", "Campaigns", "Journeys"]
    for name in names:
        link = page.locator(".mainnav").get_by_role("link", name=name, exact=True)
        link.scroll_into_view_if_needed()
        link.click(trial=True, timeout=2_000)  # actionable: visible, stable, and receives the click
    assert page.get_by_label("Tenant").is_visible()
    assert page.get_by_role("button", name="Sign out").is_visible()
    screenshot(f"navigation-{width}", full_page=False)
