"""Input checks shared by the API's serializers and filters and the pages' forms, so a value the
database cannot store is refused with a message naming the field instead of failing as a 500.

Each is a plain Django validator (raises ``django.core.exceptions.ValidationError``): DRF runs
Django validators on serializer fields too, and the API's exception handler turns them into the
one error shape.
"""

from __future__ import annotations

import datetime as dt

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
