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
