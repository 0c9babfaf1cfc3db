from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from kaireon.models import ApiKey
from kaireon.principal import ApiKeyUser, Principal, principal_for_session
from kaireon.services import hash_key

# last_used_at is written at most this often per key, so a busy key costs no write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def key_from_headers(request: Request) -> str | None:
    raw = request.META.get("HTTP_X_API_KEY")
    if raw:
        return raw.strip()
    auth = authentication.get_authorization_header(request).decode("latin-1")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``X-API-Key: <key>`` or ``Authorization: Bearer <key>``; unknown, revoked or expired → 401."""

    www_authenticate_realm = "api"

    def authenticate(self, request: Request) -> tuple[Any, Principal] | None:
        raw = key_from_headers(request)
        if raw is None:
            return None
        key = ApiKey.objects.select_related("tenant").filter(key_hash=hash_key(raw)).first()
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        now = timezone.now()
        if key.expires_at is not None and key.expires_at <= now:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
        return ApiKeyUser(key), Principal(tenant=key.tenant, role=key.role, api_key=key)

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{self.www_authenticate_realm}"'


class TenantSessionAuthentication(authentication.SessionAuthentication):
    """A signed-in browser session, acting in the tenant picked with the switcher."""

    def authenticate(self, request: Request) -> tuple[Any, Principal | None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user, _ = result
        return user, principal_for_session(request._request)
