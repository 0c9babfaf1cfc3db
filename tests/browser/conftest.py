"""Playwright (sync API) driving Chromium against pytest-django's ``live_server``.

Chromium comes from ``CHROMIUM_PATH``, else Debian's ``/usr/bin/chromium`` (``make browser``
provides one). Screenshots go to ``test-output/screenshots/`` for a reviewer to look at.

Playwright's sync API keeps an asyncio loop marked as running in this thread while it is
started, and Django refuses ORM calls from "async context" then; the browser therefore lives
for this package only, and the tests that use it allow those calls (they are plain sync code).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from kaireon.models import Tenant
from tests.factories import MembershipFactory, UserFactory

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}  # the laptop the UI is designed down to
PASSWORD = "browser-pass-123"
SCREENSHOTS = Path(settings.BASE_DIR) / "test-output" / "screenshots"


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(f"no Chromium at {path}: run `make browser`, or set CHROMIUM_PATH")
    return path


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # for as long as Playwright's loop runs
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    # Every browser test also checks the Content-Security-Policy (config/settings.py): a refused
    # script, style or request is a console error that Chromium words like this.
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    yield page
    context.close()
    assert refused == [], "the Content-Security-Policy refused something on this page"


@pytest.fixture
def screenshot(page: Page) -> Callable[..., Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str, *, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


def sign_in(page: Page, base_url: str, tenant: Tenant, role: str) -> str:
    """Create a user of ``tenant`` with ``role`` and sign in through the login page."""
    username = f"{role}-{tenant.slug}"
    user = UserFactory.create(username=username)
    user.set_password(PASSWORD)
    user.save()
    MembershipFactory.create(user=user, tenant=tenant, role=role)
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")
    return username
