from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from kaireon.models import ApiKey, Tenant
from kaireon.principal import ApiKeyUser, Principal, principal_for_session
from kaireon.services import hash_key

# last_used_at is written at most this often per key, so a busy key costs no write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


Converters = list[tuple[Any, list[Callable[..., Any]]]]


@functools.cache
def _key_statement(vendor: str) -> tuple[str, Converters]:
    """The key-and-tenant query of ``vendor``, and each column's converters (its backend's and
    its field's, as the ORM applies them: SQLite's datetimes arrive as text)."""
    quote = connection.ops.quote_name
    columns: list[str] = []
    converters: Converters = []
    for alias, model in (("k", ApiKey), ("t", Tenant)):
        for field in model._meta.concrete_fields:
            column = field.get_col(alias)
            columns.append(f"{alias}.{quote(str(field.column))}")
            converters.append(
                (column, [*connection.ops.get_db_converters(column), *column.get_db_converters(connection)])
            )
    statement = (
        f"SELECT {', '.join(columns)} FROM {quote(ApiKey._meta.db_table)} k "  # noqa: S608  (the models' names)
        f"JOIN {quote(Tenant._meta.db_table)} t ON t.{quote('id')} = k.{quote('tenant_id')} "
        f"WHERE k.{quote('key_hash')} = %s"
    )
    return statement, converters


def _converted(row: Sequence[Any], converters: Converters) -> list[Any]:
    values = list(row)
    for index, (column, functions) in enumerate(converters):
        for convert in functions:
            values[index] = convert(values[index], column, connection)
    return values


def key_with_tenant(key_hash: str) -> ApiKey | None:
    """The API key with this hash, its tenant attached, in one query written out: the same
    ``select_related`` query through the ORM spends ~1 ms of CPU compiling on every API request,
    ten times the query itself."""
    statement, converters = _key_statement(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(statement, [key_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    values = _converted(row, converters)
    key_fields = [field.attname for field in ApiKey._meta.concrete_fields]
    key = ApiKey.from_db(connection.alias, key_fields, values[: len(key_fields)])
    tenant_fields = [field.attname for field in Tenant._meta.concrete_fields]
    key.tenant = Tenant.from_db(connection.alias, tenant_fields, values[len(key_fields) :])
    return key


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
        key = key_with_tenant(hash_key(raw))
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
