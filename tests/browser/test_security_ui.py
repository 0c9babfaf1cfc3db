"""Pages under the Content-Security-Policy in a real browser (the page fixture fails a test on
any CSP refusal): the API docs from the project's own static files, the progress bars' widths,
the friendly 404."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from kaireon.models import Role
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_api_docs_render_swagger_ui_offline(live_server, page: Page, screenshot):
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_server.url) else None)
    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".swagger-ui .info .title").get_by_text("Kaireon Runs API").wait_for()
    page.locator(".opblock-tag").first.wait_for()
    screenshot("api-docs")
    assert [url for url in outside if not url.startswith("data:")] == []


def test_the_404_page_is_the_sites_under_the_policy(live_server, tenant, page: Page, screenshot):
    sign_in(page, live_server.url, tenant, Role.VIEWER)
    response = page.goto(f"{live_server.url}/no-such-page/")
    assert response is not None
    assert response.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    assert page.locator(".topbar").is_visible()  # the site's layout and its stylesheet applied
    screenshot("not-found")
