"""kaireon.webhooks: what a webhook may reach, judged without a network."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from typing import Any

import pytest

from kaireon.webhooks import resolve_refusal, webhook_url_refusal


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/",
        "http://[::1]:6379/",
        "http://127.8.9.10/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",
        "http://240.0.0.1/",
        "http://metadata.google.internal./",
        "http://api.localhost/",
    ],
)
def test_internal_addresses_and_names_are_refused(settings, url):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    assert webhook_url_refusal(url) is not None


def test_public_hosts_pass_without_a_lookup(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    assert webhook_url_refusal("https://hooks.example.com/in") is None
    assert webhook_url_refusal("http://93.184.216.34/in") is None


def test_the_allow_list_is_empty_unless_configured():
    env = {k: v for k, v in os.environ.items() if k != "WEBHOOK_ALLOWED_HOSTS"}
    code = "from config import settings; print(settings.WEBHOOK_ALLOWED_HOSTS)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)  # noqa: S603  (our own interpreter, fixed code)
    assert out.stdout.strip() == "[]"


def test_networks_allow_ip_urls_but_not_names_resolving_into_them(settings, monkeypatch):
    settings.WEBHOOK_ALLOWED_HOSTS = ["10.20.0.0/16", "not-a-network/99", "hooks.internal"]

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.20.3.4", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert resolve_refusal("http://10.20.3.4/hook") is None
    assert resolve_refusal("http://hooks.internal/hook") is None  # listed by name
    # not listed: the connection's own lookup could answer anything
    assert resolve_refusal("http://other.internal/hook") == ("other.internal resolves to a private address (10.20.3.4)")
