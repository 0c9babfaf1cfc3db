"""Customer attribute values checked against the tenant's schema.

One set of rules for every way in: the API and JSON imports give JSON values (``coerce_json``),
CSV imports give text (``coerce_text``). Values are stored as JSON numbers, booleans and strings;
dates as ``YYYY-MM-DD`` strings, which sort and compare as dates (segments/sql.py relies on it).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

from kaireon.validators import INT64_MAX, INT64_MIN, in_range, range_message
from segments.models import AttributeType

MAX_STRING_LENGTH = 1000
# Built-in columns and names the API and the import read themselves: an attribute may not use them.
RESERVED_NAMES = frozenset(
    {
        "id",
        "external_id",
        "email",
        "first_name",
        "last_name",
        "phone",
        "suppressed",
        "unsubscribed",
        "attributes",
        "created_at",
        "updated_at",
        "tenant",
        "tenant_id",
    }
)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INTEGER_TEXT = re.compile(r"^[+-]?\d+$")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


class AttributeValueError(ValueError):
    """A value that does not fit its attribute; the message is for people."""


def _string(value: str) -> str:
    if "\x00" in value:
        raise AttributeValueError("must not contain NUL characters")
    if len(value) > MAX_STRING_LENGTH:
        raise AttributeValueError(f"at most {MAX_STRING_LENGTH} characters")
    return value


def _date(value: str) -> str:
    if not _DATE.match(value):
        raise AttributeValueError(f"expected a date as YYYY-MM-DD, got {value!r}")
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise AttributeValueError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def parse_bool_text(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise AttributeValueError(f"expected true or false, got {text!r}")


def _integer(value: int) -> int:
    """Integer attributes are compared as 64-bit integers (SQL casts, numpy arrays)."""
    if not in_range(value, INT64_MIN, INT64_MAX):
        raise AttributeValueError(range_message(INT64_MIN, INT64_MAX, got=value))
    return value


def _finite(value: int | float, given: Any) -> int | float:
    """Number attributes are compared as doubles: beyond ±1.8e308 is infinity there."""
    if not math.isfinite(value if isinstance(value, float) else _as_float(value)):
        raise AttributeValueError(f"expected a finite number, got {given!r}")
    return value


def _as_float(value: int) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf


def coerce_json(value: Any, type_: str) -> Any:
    """A JSON value as stored for an attribute of ``type_``; raises ``AttributeValueError``."""
    if type_ == AttributeType.BOOLEAN:
        if isinstance(value, bool):
            return value
        raise AttributeValueError(f"expected true or false, got {value!r}")
    if type_ == AttributeType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AttributeValueError(f"expected an integer, got {value!r}")
        if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
            raise AttributeValueError(f"expected an integer, got {value!r}")
        return _integer(int(value))
    if type_ == AttributeType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AttributeValueError(f"expected a number, got {value!r}")
        return _finite(value, value)
    if type_ == AttributeType.DATE:
        if not isinstance(value, str):
            raise AttributeValueError(f"expected a date as YYYY-MM-DD, got {value!r}")
        return _date(value)
    if type_ == AttributeType.STRING:
        if not isinstance(value, str):
            raise AttributeValueError(f"expected a string, got {value!r}")
        return _string(value)
    raise AttributeValueError(f"unknown attribute type {type_!r}")


def coerce_text(text: str, type_: str) -> Any:
    """A CSV cell as stored for an attribute of ``type_`` (the cell is not empty)."""
    if type_ == AttributeType.STRING:
        return _string(text)
    stripped = text.strip()
    if type_ == AttributeType.INTEGER:
        if not _INTEGER_TEXT.match(stripped):
            raise AttributeValueError(f"expected an integer, got {text!r}")
        return _integer(int(stripped))
    if type_ == AttributeType.NUMBER:
        if _INTEGER_TEXT.match(stripped):
            return _finite(int(stripped), text)
        try:
            number = float(stripped)
        except ValueError:
            raise AttributeValueError(f"expected a number, got {text!r}") from None
        return _finite(number, text)
    if type_ == AttributeType.BOOLEAN:
        return parse_bool_text(stripped)
    if type_ == AttributeType.DATE:
        return _date(stripped)
    raise AttributeValueError(f"unknown attribute type {type_!r}")


def validate_attributes(
    values: Mapping[str, Any], schema: Mapping[str, tuple[str, bool]], *, check_required: bool = True
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check a customer's attributes against ``schema`` ({name: (type, required)}).

    Returns the coerced attributes (``None`` values dropped) and the problems as
    {"attributes.<name>": message}; unknown names, wrong types and missing required ones.
    """
    out: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, value in values.items():
        entry = schema.get(name)
        if entry is None:
            problems[f"attributes.{name}"] = "unknown attribute: it is not in the customer schema"
            continue
        if value is None:
            continue
        try:
            out[name] = coerce_json(value, entry[0])
        except AttributeValueError as exc:
            problems[f"attributes.{name}"] = str(exc)
    if check_required:
        for name, (_, required) in schema.items():
            if required and name not in out and f"attributes.{name}" not in problems:
                problems[f"attributes.{name}"] = "required by the customer schema"
    return out, problems
