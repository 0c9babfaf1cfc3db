"""Next occurrences: pure functions, no database. Times are written as the local wall clock of
the campaign's zone and checked in UTC."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from campaigns.schedules import last_working_day, latest_occurrence, next_occurrence, preview, resolve_local

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


@dataclass
class Schedule:
    schedule_type: str = "daily"
    schedule_day_of_week: int | None = None
    schedule_day_of_month: str | None = None
    schedule_time: str = "09:00"
    schedule_timezone: str = "UTC"
    schedule_cron: str | None = None


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_manual_has_no_occurrence():
    assert next_occurrence(Schedule(schedule_type="manual"), utc(2025, 1, 1)) is None
    assert preview(Schedule(schedule_type="manual"), utc(2025, 1, 1)) == []


def test_daily_is_today_before_the_time_and_tomorrow_after_it():
    schedule = Schedule(schedule_time="09:00")
    assert next_occurrence(schedule, utc(2025, 1, 1, 8, 59)) == utc(2025, 1, 1, 9, 0)
    # strictly after: the slot itself is not its own next occurrence
    assert next_occurrence(schedule, utc(2025, 1, 1, 9, 0)) == utc(2025, 1, 2, 9, 0)


def test_naive_after_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_occurrence(Schedule(), datetime(2025, 1, 1))


def test_daily_follows_the_zone_offset_in_winter_and_summer():
    schedule = Schedule(schedule_time="09:00", schedule_timezone="America/New_York")
    assert next_occurrence(schedule, utc(2025, 1, 15)) == utc(2025, 1, 15, 14, 0)  # EST, UTC-5
    assert next_occurrence(schedule, utc(2025, 7, 15)) == utc(2025, 7, 15, 13, 0)  # EDT, UTC-4


@pytest.mark.parametrize(
    ("zone", "day_before", "gap_end_utc", "next_day_utc"),
    [
        # 2025-03-09 02:00 EST → 03:00 EDT: 02:30 does not exist
        ("America/New_York", utc(2025, 3, 8, 12), utc(2025, 3, 9, 7, 0), utc(2025, 3, 10, 6, 30)),
        # 2025-03-30 02:00 CET → 03:00 CEST
        ("Europe/Berlin", utc(2025, 3, 29, 12), utc(2025, 3, 30, 1, 0), utc(2025, 3, 31, 0, 30)),
    ],
)
def test_spring_forward_gap_runs_once_at_the_end_of_the_gap(zone, day_before, gap_end_utc, next_day_utc):
    schedule = Schedule(schedule_time="02:30", schedule_timezone=zone)
    slots = preview(schedule, day_before, count=2)
    assert slots == [gap_end_utc, next_day_utc]
    assert slots[0].astimezone(ZoneInfo(zone)).strftime("%H:%M") == "03:00"
    # nothing else on the day of the gap
    assert next_occurrence(schedule, gap_end_utc) == next_day_utc


@pytest.mark.parametrize(
    ("zone", "wall", "day_before", "first_utc", "next_day_utc"),
    [
        # 2025-11-02 02:00 EDT → 01:00 EST: 01:30 happens twice (05:30 and 06:30 UTC)
        ("America/New_York", "01:30", utc(2025, 11, 1, 12), utc(2025, 11, 2, 5, 30), utc(2025, 11, 3, 6, 30)),
        # 2025-10-26 03:00 CEST → 02:00 CET: 02:30 happens twice (00:30 and 01:30 UTC)
        ("Europe/Berlin", "02:30", utc(2025, 10, 25, 12), utc(2025, 10, 26, 0, 30), utc(2025, 10, 27, 1, 30)),
    ],
)
def test_fall_back_fold_runs_once_at_the_first_occurrence(zone, wall, day_before, first_utc, next_day_utc):
    schedule = Schedule(schedule_time=wall, schedule_timezone=zone)
    assert preview(schedule, day_before, count=2) == [first_utc, next_day_utc]
    # asked from between the two occurrences, the second one is not a slot
    assert next_occurrence(schedule, first_utc + timedelta(minutes=30)) == next_day_utc


def test_resolve_local_of_ordinary_gap_and_fold_times():
    assert resolve_local(datetime(2025, 6, 1, 9, 0), BERLIN) == utc(2025, 6, 1, 7, 0)
    assert resolve_local(datetime(2025, 3, 9, 2, 30), NEW_YORK) == utc(2025, 3, 9, 7, 0)
    assert resolve_local(datetime(2025, 11, 2, 1, 30), NEW_YORK) == utc(2025, 11, 2, 5, 30)


@pytest.mark.parametrize(
    ("day_of_week", "expected"),
    [(0, date(2025, 1, 5)), (1, date(2025, 1, 6)), (3, date(2025, 1, 8)), (6, date(2025, 1, 4))],
)
def test_weekly_day_zero_is_sunday(day_of_week, expected):
    # 2025-01-01 is a Wednesday (3); at 10:00 its 09:00 slot has passed
    schedule = Schedule(schedule_type="weekly", schedule_day_of_week=day_of_week)
    slot = next_occurrence(schedule, utc(2025, 1, 1, 10, 0))
    assert slot == datetime.combine(expected, datetime.min.time(), UTC).replace(hour=9)


def test_weekly_in_a_zone_uses_the_local_day():
    # Monday 09:00 in New York; from Sunday 23:00 UTC (Sunday 18:00 local)
    schedule = Schedule(schedule_type="weekly", schedule_day_of_week=1, schedule_timezone="America/New_York")
    assert next_occurrence(schedule, utc(2025, 1, 5, 23, 0)) == utc(2025, 1, 6, 14, 0)


def test_monthly_day_28_runs_in_february_and_every_month():
    schedule = Schedule(schedule_type="monthly", schedule_day_of_month="28")
    assert preview(schedule, utc(2025, 2, 10), count=3) == [
        utc(2025, 2, 28, 9),
        utc(2025, 3, 28, 9),
        utc(2025, 4, 28, 9),
    ]


def test_monthly_day_one_rolls_into_the_next_year():
    schedule = Schedule(schedule_type="monthly", schedule_day_of_month="1")
    assert next_occurrence(schedule, utc(2025, 12, 1, 10)) == utc(2026, 1, 1, 9)


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2025, 5, date(2025, 5, 30)),  # 31 May 2025 is a Saturday
        (2025, 8, date(2025, 8, 29)),  # 31 August 2025 is a Sunday
        (2025, 11, date(2025, 11, 28)),  # 30 November 2025 is a Sunday
        (2025, 12, date(2025, 12, 31)),  # a Wednesday: the last day itself
        (2024, 2, date(2024, 2, 29)),  # leap year, a Thursday
    ],
)
def test_last_working_day_is_the_last_monday_to_friday(year, month, expected):
    assert last_working_day(year, month) == expected


def test_monthly_last_working_day_skips_a_weekend_month_end():
    schedule = Schedule(schedule_type="monthly", schedule_day_of_month="last_working_day", schedule_time="17:30")
    assert preview(schedule, utc(2025, 5, 1), count=2) == [utc(2025, 5, 30, 17, 30), utc(2025, 6, 30, 17, 30)]


def test_monthly_last_working_day_in_a_zone():
    schedule = Schedule(
        schedule_type="monthly", schedule_day_of_month="last_working_day", schedule_timezone="Europe/Berlin"
    )
    # 30 Nov 2025 is a Sunday: Friday 28th, 09:00 CET = 08:00 UTC
    assert next_occurrence(schedule, utc(2025, 11, 1)) == utc(2025, 11, 28, 8, 0)


def test_cron_is_evaluated_in_the_zone():
    schedule = Schedule(schedule_type="cron", schedule_cron="0 9 * * 1", schedule_timezone="America/New_York")
    # Mondays 09:00 New York: EST in January, EDT in July
    assert next_occurrence(schedule, utc(2025, 1, 1)) == utc(2025, 1, 6, 14, 0)
    assert next_occurrence(schedule, utc(2025, 7, 1)) == utc(2025, 7, 7, 13, 0)


def test_cron_in_berlin_every_quarter_hour():
    schedule = Schedule(schedule_type="cron", schedule_cron="*/15 * * * *", schedule_timezone="Europe/Berlin")
    assert preview(schedule, utc(2025, 1, 1, 10, 5), count=3) == [
        utc(2025, 1, 1, 10, 15),
        utc(2025, 1, 1, 10, 30),
        utc(2025, 1, 1, 10, 45),
    ]


def test_cron_spring_forward_gap_runs_once_at_the_end_of_the_gap():
    schedule = Schedule(schedule_type="cron", schedule_cron="30 2 * * *", schedule_timezone="America/New_York")
    assert preview(schedule, utc(2025, 3, 8, 12), count=2) == [utc(2025, 3, 9, 7, 0), utc(2025, 3, 10, 6, 30)]


def test_cron_through_a_gap_and_a_fold_gives_each_instant_once():
    schedule = Schedule(schedule_type="cron", schedule_cron="*/30 * * * *", schedule_timezone="America/New_York")
    spring = preview(schedule, utc(2025, 3, 9, 6, 0), count=4)
    # 01:30 EST, then 02:00 and 02:30 do not exist (both → 03:00 EDT, once), then 03:30 EDT
    assert spring == [utc(2025, 3, 9, 6, 30), utc(2025, 3, 9, 7, 0), utc(2025, 3, 9, 7, 30), utc(2025, 3, 9, 8, 0)]
    fall = preview(schedule, utc(2025, 11, 2, 4, 45), count=4)
    # 01:00 and 01:30 EDT; the repeated 01:00 and 01:30 EST are not slots; then 02:00 EST
    assert fall == [utc(2025, 11, 2, 5, 0), utc(2025, 11, 2, 5, 30), utc(2025, 11, 2, 7, 0), utc(2025, 11, 2, 7, 30)]


def test_cron_that_never_matches_has_no_occurrence():
    schedule = Schedule(schedule_type="cron", schedule_cron="0 0 30 2 *")
    assert next_occurrence(schedule, utc(2025, 1, 1)) is None


def test_preview_gives_five_increasing_slots():
    schedule = Schedule(schedule_type="weekly", schedule_day_of_week=5, schedule_timezone="Europe/Berlin")
    slots = preview(schedule, utc(2025, 3, 20))
    assert len(slots) == 5
    assert slots == sorted(slots)
    assert all(b - a in (timedelta(days=7), timedelta(days=7, hours=-1)) for a, b in itertools.pairwise(slots))
    assert all(slot.astimezone(BERLIN).strftime("%a %H:%M") == "Fri 09:00" for slot in slots)


def test_latest_occurrence_after_a_long_outage_is_the_most_recent_slot():
    schedule = Schedule(schedule_type="cron", schedule_cron="* * * * *")
    # a minutely schedule, 30 days down: one lookback window, not 43,200 steps
    assert latest_occurrence(schedule, first=utc(2025, 1, 1), until=utc(2025, 1, 31, 12, 0, 30)) == utc(
        2025, 1, 31, 12, 0
    )
    daily = Schedule()
    assert latest_occurrence(daily, first=utc(2025, 1, 1, 9), until=utc(2025, 3, 1, 8)) == utc(2025, 2, 28, 9)
    assert latest_occurrence(daily, first=utc(2025, 1, 1, 9), until=utc(2025, 1, 1, 10)) == utc(2025, 1, 1, 9)
