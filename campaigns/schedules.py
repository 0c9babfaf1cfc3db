"""When a campaign runs next: pure functions of its schedule fields and an instant.

Every schedule is evaluated on the wall clock of the campaign's IANA zone and answered in UTC.
DST: a local time that does not exist (the spring-forward gap) runs once, at the first valid
instant after the gap (02:30 → 03:00 in America/New_York and Europe/Berlin); a local time that
happens twice (the fall-back fold) runs once, at its first occurrence (fold=0).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from croniter import croniter
from croniter.croniter import CroniterBadDateError

LAST_WORKING_DAY = "last_working_day"
# Candidate days looked at before giving up: a monthly schedule matches within 31 days, and the
# day-skipping zones (Pacific/Apia, 2011) lose one day at most.
_MAX_DAYS = 64
# Cron matches looked at before giving up: a "* * * * *" schedule can land up to 60 of them in a
# one-hour gap, all resolving to the same instant.
_MAX_CRON_MATCHES = 2_000


class ScheduleLike(Protocol):
    schedule_type: str
    schedule_day_of_week: int | None
    schedule_day_of_month: str | None
    schedule_time: str
    schedule_timezone: str
    schedule_cron: str | None


def resolve_local(naive: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time in ``zone``: a time in a gap gives the end of the
    gap, a time in a fold its first occurrence."""
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return first
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first  # ambiguous: fold=0 is the earlier instant
    # Nonexistent: fold=1 reads it with the offset after the transition (an instant before the
    # gap), fold=0 with the offset before it (an instant after); the transition lies between.
    before, after = min(first, second), max(first, second)
    offset_after = after.astimezone(zone).utcoffset()
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        if middle.astimezone(zone).utcoffset() == offset_after:
            after = middle
        else:
            before = middle
    return after.replace(microsecond=0)


def last_working_day(year: int, month: int) -> date:
    """The last Monday-Friday of the month."""
    day = (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
    while day.weekday() >= 5:  # Saturday, Sunday
        day -= timedelta(days=1)
    return day


def _day_matches(schedule: ScheduleLike, day: date) -> bool:
    if schedule.schedule_type == "daily":
        return True
    if schedule.schedule_type == "weekly":
        return (day.weekday() + 1) % 7 == schedule.schedule_day_of_week  # 0 = Sunday
    if schedule.schedule_type == "monthly":
        if schedule.schedule_day_of_month == LAST_WORKING_DAY:
            return day == last_working_day(day.year, day.month)
        return str(day.day) == schedule.schedule_day_of_month
    raise ValueError(f"not a calendar schedule: {schedule.schedule_type}")


def _calendar_next(schedule: ScheduleLike, after: datetime, zone: ZoneInfo) -> datetime | None:
    hour, minute = (int(part) for part in schedule.schedule_time.split(":"))
    at = time(hour, minute)
    # From the day before: a slot resolved across a gap may land on the next local day.
    day = after.astimezone(zone).date() - timedelta(days=1)
    for _ in range(_MAX_DAYS):
        if _day_matches(schedule, day):
            instant = resolve_local(datetime.combine(day, at), zone)
            if instant > after:
                return instant
        day += timedelta(days=1)
    return None


def _cron_next(schedule: ScheduleLike, after: datetime, zone: ZoneInfo) -> datetime | None:
    # croniter walks naive wall-clock times; each match is resolved like a calendar slot, so the
    # gap and fold rules are the same. Matches resolving to an instant not after ``after`` (the
    # rest of a gap, the second half of a fold) are passed over: each instant runs once.
    start = after.astimezone(zone).replace(tzinfo=None) - timedelta(minutes=1)
    matches = croniter(schedule.schedule_cron or "", start)
    try:
        for _ in range(_MAX_CRON_MATCHES):
            instant = resolve_local(matches.get_next(datetime), zone)
            if instant > after:
                return instant
    except CroniterBadDateError:  # an expression that never matches (e.g. 30 February)
        return None
    return None


def next_occurrence(schedule: ScheduleLike, after: datetime) -> datetime | None:
    """The first slot strictly after ``after`` (aware), in UTC; None for manual schedules."""
    if schedule.schedule_type == "manual":
        return None
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    zone = ZoneInfo(schedule.schedule_timezone or "UTC")
    if schedule.schedule_type == "cron":
        return _cron_next(schedule, after, zone)
    return _calendar_next(schedule, after, zone)


def occurrences(schedule: ScheduleLike, after: datetime) -> Iterator[datetime]:
    slot = next_occurrence(schedule, after)
    while slot is not None:
        yield slot
        slot = next_occurrence(schedule, slot)


def preview(schedule: ScheduleLike, after: datetime, count: int = 5) -> list[datetime]:
    """The next ``count`` slots after ``after``, in UTC (empty for manual schedules)."""
    slots = []
    for slot in occurrences(schedule, after):
        slots.append(slot)
        if len(slots) == count:
            break
    return slots


# Windows tried, shortest first, when looking for the latest slot before an instant: most
# schedules find it in the first window that holds one, so a minutely cron after a week's
# outage walks an hour of slots, not a week of them.
_LOOKBACK = (timedelta(hours=1), timedelta(days=1), timedelta(days=32), timedelta(days=400))


def latest_occurrence(schedule: ScheduleLike, *, first: datetime, until: datetime) -> datetime:
    """The last slot in [first, until], where ``first`` is a slot (the one that fell due)."""
    slot = first
    for window in _LOOKBACK:
        start = until - window
        if start <= slot:
            break
        candidate = next_occurrence(schedule, start)
        if candidate is not None and candidate <= until:
            slot = max(slot, candidate)
            break
    while (following := next_occurrence(schedule, slot)) is not None and following <= until:
        slot = following
    return slot
