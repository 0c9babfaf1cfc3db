"""Outbound webhooks without server-side request forgery.

A channel's ``webhookUrl`` is typed by an editor, and the workers that post to it sit inside
the network: without a check an editor could make them POST to the cloud metadata service
(169.254.169.254), the database or Redis on loopback, or any private host. So

- at save, ``webhook_url_refusal`` refuses a URL whose host *is* such an address or name;
- at send, ``webhook_post`` resolves the host and connects to the address it checked
  (requests-hardened's IP filter pins it, so DNS rebinding between check and connect is
  useless), and never follows redirects (a 3xx could point anywhere).

``settings.WEBHOOK_ALLOWED_HOSTS`` (env ``WEBHOOK_ALLOWED_HOSTS``, comma-separated host names,
IP addresses or networks such as ``10.20.0.0/16``; empty by default) lets an operator allow
internal receivers, e.g. ``127.0.0.1`` for local testing. Networks match URLs written with an
IP address; a host name is allowed by listing the name.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import EXTRA_BLOCKED_NET_RANGES, InvalidIPAddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
logger = logging.getLogger(__name__)

# Names of cloud metadata services that may not resolve to a link-local address through every
# resolver (GCP, Azure, AWS, Alibaba, OpenStack), refused by name before any lookup.
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.com",
        "instance-data",
        "instance-data.ec2.internal",
    }
)


# In this order: 127.0.0.1 is private too, but "loopback" says more.
_KINDS = (
    ("loopback", "a loopback address"),
    ("unspecified", "the unspecified address"),
    ("link_local", "a link-local address"),
    ("multicast", "a multicast address"),
    ("reserved", "a reserved address"),
    ("private", "a private address"),
)


class WebhookRefused(Exception):
    """The URL's host is, or resolves to, an address webhooks must not reach."""


def address_refusal(address: IPAddress) -> str | None:
    """Why ``address`` is no place for a webhook, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, what in _KINDS:
        if getattr(address, f"is_{kind}"):
            return f"{address} is {what}"
    if any(address in network for network in EXTRA_BLOCKED_NET_RANGES):
        return f"{address} is a reserved address"
    return None


def _allowed(host: str, address: IPAddress | None) -> bool:
    """Whether the operator allows ``host``: by its name, or, for a URL written with an IP
    address, by a network containing it. A name is never allowed through the network its
    addresses fall in: the connection's own lookup, unchecked, could then go anywhere."""
    for entry in getattr(settings, "WEBHOOK_ALLOWED_HOSTS", ()):
        entry = entry.strip().lower()
        if "/" in entry:
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                logger.warning("WEBHOOK_ALLOWED_HOSTS: %r is not a network; ignored", entry)
                continue
            if address is not None and address in network:
                return True
        elif entry.strip("[]") == host:
            return True
    return False


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def webhook_url_refusal(url: str) -> str | None:
    """Why ``url`` may not be a webhook, judged without any DNS lookup (save time), or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "must be an http(s) URL"
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return "has no host"
    address = _literal(host)
    if _allowed(host, address):
        return None
    if host in METADATA_HOSTS:
        return f"{host} is a cloud metadata service"
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is a loopback name"
    if address is not None:
        return address_refusal(address)
    return None


def resolve_refusal(url: str) -> str | None:
    """Send-time check: the save-time one, then every address the host resolves to."""
    refusal = webhook_url_refusal(url)
    if refusal is not None:
        return refusal
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if _allowed(host, _literal(host)):
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return None  # unresolvable: the request itself fails with a clear connection error
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        refusal = address_refusal(address)
        if refusal is not None:
            return f"{host} resolves to {refusal.removeprefix(f'{address} is ')} ({address})"
    return None


def webhook_post(url: str, body: Any, *, headers: dict[str, str], timeout: float) -> requests.Response:
    """POST ``body`` as JSON to ``url`` without following redirects; raises WebhookRefused
    before connecting when the host is not allowed, requests' exceptions otherwise."""
    refusal = resolve_refusal(url)
    if refusal is not None:
        raise WebhookRefused(f"webhookUrl refused: {refusal}")
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    # The allow-list is the operator's word for an internal receiver: the IP filter would refuse it.
    filtered = not _allowed(host, _literal(host))
    config = Config(
        ip_filter_enable=filtered, ip_filter_allow_loopback_ips=False, never_redirect=True, default_timeout=timeout
    )
    try:
        with HTTPSession(config) as session:
            # No HTTP(S)_PROXY from the environment: a proxy would resolve the host itself,
            # after our check, and the filter would only see the proxy's address.
            session.trust_env = False
            return session.post(url, json=body, headers=headers, timeout=timeout, allow_redirects=False)
    except InvalidIPAddress as exc:
        # resolve_refusal saw a public address, the connection's own lookup a forbidden one.
        raise WebhookRefused(f"webhookUrl refused: {host} resolves to a forbidden address ({exc})") from exc
