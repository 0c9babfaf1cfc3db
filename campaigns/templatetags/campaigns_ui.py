"""Template helpers of the campaign pages: a schedule in words, instants on a zone's wall clock."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django import template

from campaigns.forms import COLUMN_LABELS, WEEKDAYS
from campaigns.models import LAST_WORKING_DAY

register = template.Library()


def ordinal(day: int) -> str:
    """1 → "1st", 2 → "2nd", 11 → "11th", 23 → "23rd"."""
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


@register.filter
def schedule_words(schedule: Any) -> str:
    """A schedule as people say it: "Every Monday at 09:00 Europe/London", "Last working day of
    the month at 18:30 UTC", "Cron 0 */6 * * * (UTC)", "Manual"."""
    kind = getattr(schedule, "schedule_type", "manual")
    zone = getattr(schedule, "schedule_timezone", "") or "UTC"
    at = f"at {getattr(schedule, 'schedule_time', '') or '09:00'} {zone}"
    if kind == "daily":
        return f"Every day {at}"
    if kind == "weekly":
        day = schedule.schedule_day_of_week
        name = WEEKDAYS[day] if isinstance(day, int) and 0 <= day < len(WEEKDAYS) else "week"
        return f"Every {name} {at}"
    if kind == "monthly":
        day_of_month = str(schedule.schedule_day_of_month or "")
        if day_of_month == LAST_WORKING_DAY:
            return f"Last working day of the month {at}"
        if day_of_month.isdigit():
            return f"{ordinal(int(day_of_month))} of the month {at}"
        return f"Monthly {at}"
    if kind == "cron":
        return f"Cron {schedule.schedule_cron or ''} ({zone})"
    return "Manual"


def _zone(name: Any) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(str(name or "UTC"))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


@register.filter
def in_zone(value: datetime | None, zone: Any) -> str:
    """An instant on the wall clock of ``zone``: "Mon 6 Jan 2025, 09:00 GMT"; None → "—"."""
    if value is None:
        return "—"
    local = value.astimezone(_zone(zone))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


@register.filter
def utc_time(value: datetime | None) -> str:
    """An instant in UTC, briefly: "6 Jan, 09:00 UTC"."""
    if value is None:
        return "—"
    utc = value.astimezone(zoneinfo.ZoneInfo("UTC"))
    return f"{utc.day} {utc:%b, %H:%M} UTC"


@register.filter
def column_label(value: Any) -> str:
    return COLUMN_LABELS.get(str(value), str(value))


@register.filter
def constraint_label(value: Any) -> str:
    return {
        "max_total_per_run": "Per run",
        "max_per_offer": "Per offer",
        "max_per_channel": "Per channel",
    }.get(str(value), str(value))


@register.filter
def short_hash(value: Any, length: int = 12) -> str:
    """The start of a checksum, for a table cell (the full value goes in a title)."""
    text = str(value or "")
    return f"{text[: int(length)]}…" if len(text) > int(length) else text
