"""Input checks shared by the API's serializers and filters and the pages' forms, so a value the
database cannot store is refused with a message naming the field instead of failing as a 500.

Each is a plain Django validator (raises ``django.core.exceptions.ValidationError``): DRF runs
Django validators on serializer fields too, and the API's exception handler turns them into the
one error shape.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError

# PostgreSQL's timestamptz accepts UTC offsets up to ±15:59 (TZ_MAX_OFFSET); beyond it the query
# fails. Real zones stay within -12:00..+14:00, so nothing legitimate is refused.
MAX_UTC_OFFSET = dt.timedelta(hours=15, minutes=59)


def validate_datetime(value: dt.datetime | None) -> None:
    """A datetime PostgreSQL can compare with: an offset within ±15:59 and an instant that still
    exists in UTC (``9999-12-31T23:00-05:00`` is in year 10000 there, beyond Python's dates)."""
    if value is None:
        return
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValidationError("The UTC offset must be between -15:59 and +15:59.", code="invalid")
    try:
        value.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise ValidationError("This date and time is out of range.", code="invalid") from None


# Bidirectional embeddings, overrides and isolates reorder what is shown around them; other
# format characters (the zero-width joiner of emoji sequences) are left alone.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def control_characters(text: str) -> list[str]:
    """The control characters of ``text`` (NUL, newlines, tabs, DEL, C1, bidi overrides), as
    ``U+0000``."""
    return sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) == "Cc" or c in _BIDI_CONTROLS})


def validate_name(value: Any) -> None:
    """A name shown in lists, menus, files and logs: printable characters only. Control characters
    hide or rewrite what is around them (bidi overrides, NUL, line breaks in a CSV or a log)."""
    if not isinstance(value, str):
        return
    found = control_characters(value)
    if found:
        raise ValidationError(
            "Names cannot contain control characters (found %(found)s).",
            code="invalid",
            params={"found": ", ".join(found)},
        )


# Bounds of the integer columns (PostgreSQL integer / bigint), and of integers kept in JSON that
# reach such a column or a Python int → numpy int64 conversion.
INT32_MAX = 2**31 - 1
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
COLUMN_RANGES = {
    "SmallIntegerField": (-(2**15), 2**15 - 1),
    "PositiveSmallIntegerField": (0, 2**15 - 1),
    "IntegerField": (-(2**31), INT32_MAX),
    "PositiveIntegerField": (0, INT32_MAX),
    "BigIntegerField": (INT64_MIN, INT64_MAX),
    "PositiveBigIntegerField": (0, INT64_MAX),
}


def in_range(value: Any, minimum: int, maximum: int) -> bool:
    """``value`` is an integer (not a bool) from ``minimum`` to ``maximum``."""
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= maximum


def range_message(minimum: int, maximum: int, got: Any = None) -> str:
    """The error for a value out of ``in_range``, stating the range (and the value, when given)."""
    return f"Must be an integer from {minimum:,} to {maximum:,}" + (f" (got {got!r})." if got is not None else ".")
