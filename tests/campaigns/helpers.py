from __future__ import annotations

from typing import Any


def ok(response: Any, status: int = 200) -> Any:
    """The JSON body, after checking the status (the body is in the assertion message)."""
    assert response.status_code == status, response.content
    return response.json() if response.content else None


def fields(response: Any, status: int = 400) -> dict[str, list[str]]:
    """The field errors of a 4xx, after checking the status."""
    assert response.status_code == status, response.content
    return dict(response.json().get("fields", {}))
