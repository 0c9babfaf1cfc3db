"""Helpers of the segments services."""

from __future__ import annotations

from typing import Any


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    changed = {k for k in after if before.get(k) != after[k]}
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}
