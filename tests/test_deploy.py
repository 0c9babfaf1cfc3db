"""Production settings: the secret key, HTTPS, the Content-Security-Policy, the API docs served
from the project, friendly error pages, and `check --deploy` under the documented environment
(docker-compose.yml) and the local one of `make run` (Makefile)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.test import RequestFactory
from django.views.defaults import server_error

ROOT = Path(settings.BASE_DIR)
KEY = "k" * 20 + "-test-only-secret-key-with-enough-entropy-1234567890"


def compose_env() -> dict[str, str]:
    """The web service's environment in docker-compose.yml, ``${X:-default}`` as its default."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    values: dict[str, str] = {}
    for name, raw in compose["services"]["web"]["environment"].items():
        text = str(raw)
        if text.startswith("${") and ":?" in text:
            continue  # required, no default: the test provides it
        values[name] = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text)
    return values


def make_run_env() -> dict[str, str]:
    """The exports of the Makefile's local targets (run, web, worker, beat)."""
    found = re.findall(r"^\$\(LOCAL_TARGETS\): export (\w+) \?= (.*)$", (ROOT / "Makefile").read_text(), re.M)
    return {name: value for name, value in found if not value.startswith("$(")}


def django(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run manage.py (or ``-c code``) in a fresh interpreter with only ``env`` on top of PATH."""
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "KAIREON_VAR_DIR")}
    command = [sys.executable, "manage.py", *args] if args else [sys.executable, "-c", code]
    return subprocess.run(  # noqa: S603  (our own interpreter and manage.py)
        command,
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
    )


SETTINGS = (
    "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup(); "
    "from django.conf import settings as s; "
    "print(repr((s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
    "s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER)))"
)


def test_without_debug_a_missing_secret_key_refuses_to_start():
    result = django(SETTINGS, {"DEBUG": "0"})
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_check_deploy_is_clean_under_the_documented_production_env():
    env = {**compose_env(), "SECRET_KEY": KEY}
    assert env["DEBUG"] == "0"
    result = django("", env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_production_env_turns_https_on_from_the_environment():
    result = django(SETTINGS, {**compose_env(), "SECRET_KEY": KEY})
    assert result.stdout.strip() == repr((False, True, True, True, 31536000, ("HTTP_X_FORWARDED_PROTO", "https")))


def test_make_run_is_debug_off_over_plain_http():
    env = make_run_env()
    assert env["DEBUG"] == "0"
    result = django(SETTINGS, {**env, "SECRET_KEY": KEY})
    assert result.stdout.strip() == repr((False, False, False, False, 31536000, None)), result.stderr


def test_make_run_key_is_generated_once_and_private(tmp_path):
    script = [sys.executable, str(ROOT / "scripts" / "local_secret_key.py")]
    env = {**os.environ, "KAIREON_VAR_DIR": str(tmp_path)}
    first = subprocess.run(script, env=env, capture_output=True, text=True, check=True).stdout  # noqa: S603
    second = subprocess.run(script, env=env, capture_output=True, text=True, check=True).stdout  # noqa: S603
    assert first == second
    assert len(first) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


# --- in the test process (DEBUG is off under pytest-django) ---------------------------------


def test_pages_carry_a_self_only_content_security_policy(client):
    policy = client.get("/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"


def test_api_docs_load_nothing_from_another_host(client, db):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "cdn.jsdelivr.net" not in html
    assert not re.findall(r"(?:src|href)=\"(?:https?:)?//", html)
    sources = re.findall(r"<script src=\"([^\"]+)\"", html)
    assert any("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in src for src in sources)
    assert "<script>" not in html  # the init script is a file too: no inline script for the CSP
    assert "<style>" not in html
    init = next(src for src in sources if "script=" in src)
    script = client.get(init.replace("&amp;", "&"))
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()
    assert not re.findall(r"https?://", script.content.decode())


def test_unknown_page_is_the_friendly_404_without_the_routes(client, db):
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    html = page.content.decode()
    assert "Page not found" in html
    assert "css/app.css" in html  # the site's look
    assert "URLconf" not in html
    assert "api/v1/" not in html


def test_500_page_renders_without_context_processors_or_database():
    # no db fixture: a query here would raise instead of rendering
    response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in html
    assert "css/app.css" in html


@pytest.mark.parametrize("path", ["/login/", "/healthz"])
def test_plain_pages_still_answer_with_debug_off(client, db, path):
    assert client.get(path).status_code in (200, 503)
