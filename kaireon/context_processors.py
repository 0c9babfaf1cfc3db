from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from kaireon.principal import memberships_for


def tenancy(request: HttpRequest) -> dict[str, Any]:
    principal = getattr(request, "principal", None)
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {
        "principal": principal if principal else None,
        "memberships": lambda: memberships_for(request.user),
    }
