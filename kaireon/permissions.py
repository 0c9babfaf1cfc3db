from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from kaireon.models import ROLE_RANK, Role
from kaireon.principal import Principal


def required_role(request: Request, view: Any) -> str:
    """Reads need viewer, writes editor, deletes admin; a view may raise any of them.

    ``minimum_role`` raises the floor for the whole view (key management: admin);
    ``action_roles`` names the role of one action (``{"publish": Role.EDITOR}``).
    """
    action_roles: dict[str, str] = getattr(view, "action_roles", {})
    action = getattr(view, "action", None)
    if action in action_roles:
        role = action_roles[action]
    elif request.method in SAFE_METHODS:
        role = Role.VIEWER
    elif request.method == "DELETE":
        role = Role.ADMIN
    else:
        role = Role.EDITOR
    floor = getattr(view, "minimum_role", None)
    if floor is not None:
        role = max(Role(role), Role(floor), key=ROLE_RANK.__getitem__)
    return role


class RolePermission(BasePermission):
    message = "Your role does not allow this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.auth
        if not isinstance(principal, Principal):
            if request.user is not None and getattr(request.user, "is_authenticated", False):
                self.message = "You are not a member of any tenant."
            return False
        needed = required_role(request, view)
        if not principal.at_least(needed):
            self.message = f"This action requires the {needed} role; you are {principal.role}."
            return False
        return True
