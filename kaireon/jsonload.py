"""JSON as the project accepts it, from the API and from the pages' JSON text boxes.

Python's ``json`` takes things no column can hold: NUL in a string or key (PostgreSQL refuses it
in text and jsonb), ``NaN`` / ``Infinity`` and numbers like ``1e309`` that read as infinity (not
JSON, and not storable), and nesting deep enough to exhaust the interpreter's stack (a
``RecursionError`` near 1,000 levels, in the decoder or in anything that walks the value later).
``loads`` refuses all of them, naming where in the document the value is.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.conf import settings


class JSONInputError(ValueError):
    """JSON that parses but cannot be accepted; ``path`` says where ("variables.name", "[3]")."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def max_depth() -> int:
    return int(getattr(settings, "JSON_MAX_DEPTH", 64))


def _refuse_constant(name: str) -> Any:
    raise JSONInputError("", f"{name} is not a JSON number; numbers must be finite.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONInputError("", f"The number {text[:40]} is too large; numbers must be finite.")
    return value


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check(value: Any, *, limit: int | None = None) -> None:
    """Raise ``JSONInputError`` for NUL in a string or key, or nesting beyond ``limit`` levels.
    Iterative: the value may be the deep one."""
    limit = max_depth() if limit is None else limit
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise JSONInputError(path, "NUL characters (\\u0000) are not allowed.")
        elif isinstance(item, (dict, list)):
            if depth >= limit:
                raise JSONInputError(path, f"JSON nests deeper than {limit} levels.")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str) and "\x00" in key:
                    raise JSONInputError(path, "NUL characters (\\u0000) are not allowed in keys.")
                stack.append((child, _join(path, key), depth + 1))


def loads(text: str | bytes) -> Any:
    """``json.loads`` refusing what the module's docstring lists (``ValueError``s: a
    ``json.JSONDecodeError`` for malformed text, a ``JSONInputError`` for the rest)."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise JSONInputError("", f"JSON nests deeper than {max_depth()} levels.") from None
    check(value)
    return value
