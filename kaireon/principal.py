"""Who is acting: a tenant, a role in it, and the user or API key behind the request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kaireon.models import ApiKey, Membership, Role, Tenant, role_at_least

if TYPE_CHECKING:
    from django.http import HttpRequest

SESSION_TENANT_KEY = "kaireon_tenant_id"


@dataclass(frozen=True)
class Principal:
    tenant: Tenant
    role: str
    user: Any = None
    api_key: ApiKey | None = None

    def at_least(self, role: str) -> bool:
        return role_at_least(self.role, role)

    @property
    def is_admin(self) -> bool:
        return self.at_least(Role.ADMIN)

    @property
    def is_editor(self) -> bool:
        return self.at_least(Role.EDITOR)

    @property
    def actor_type(self) -> str:
        return "api_key" if self.api_key is not None else "user"

    @property
    def actor_id(self) -> str:
        if self.api_key is not None:
            return self.api_key.pk
        return str(self.user.pk) if self.user is not None else ""

    @property
    def actor_label(self) -> str:
        if self.api_key is not None:
            return f"API key {self.api_key.name} ({self.api_key.prefix})"
        return self.user.get_username() if self.user is not None else "system"


class ApiKeyUser:
    """The ``request.user`` of an API-key request: authenticated, but no Django user."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.username = f"apikey:{api_key.prefix}"

    def get_username(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username


def memberships_for(user: Any) -> list[Membership]:
    # An API key's user (DRF sets it on the request, where the browsable API's template context
    # reads it) has no memberships: the key acts in its own tenant only.
    if not user.is_authenticated or isinstance(user, ApiKeyUser):
        return []
    return list(Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__name"))


def principal_for_session(request: HttpRequest) -> Principal | None:
    """The web session's principal: the tenant the user picked, else their first membership."""
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = memberships_for(user)
    if not memberships:
        return None
    wanted = request.session.get(SESSION_TENANT_KEY)
    chosen = next((m for m in memberships if m.tenant_id == wanted), memberships[0])
    return Principal(tenant=chosen.tenant, role=chosen.role, user=user)
