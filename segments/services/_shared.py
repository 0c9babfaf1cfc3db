"""Helpers of the segments services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import exceptions


def invalid(problems: Mapping[str, str]) -> exceptions.ValidationError:
    """A 400 naming each field; ``attributes.<name>`` nests so the name is reported as it is."""
    detail: dict[str, Any] = {}
    for key, message in problems.items():
        head, _, rest = key.partition(".")
        if head == "attributes" and rest:
            detail.setdefault("attributes", {})[rest] = [message]
        else:
            detail[key] = [message]
    return exceptions.ValidationError(detail)


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    changed = {k for k in after if before.get(k) != after[k]}
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}
