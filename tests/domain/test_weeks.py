"""Class weeks, periods and the weekly post schedule across time zones and DST."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.weeks import (
    TERM_FALLBACK_WEEKS,
    Period,
    Weekday,
    is_post_due,
    local_day_end,
    local_to_utc,
    next_post_time,
    period_bounds,
    post_time_in_week,
    week_bounds,
    week_key,
    week_start,
)

ZONES = [
    "Europe/London",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Pacific/Auckland",
    "UTC",
]

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
AUCKLAND = ZoneInfo("Pacific/Auckland")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def sample_instants(year: int = 2026) -> list[datetime]:
    # Every 7h37m over a year hits every weekday, every hour and both DST changes.
    start, step = utc(year, 1, 1), timedelta(hours=7, minutes=37)
    return [start + i * step for i in range(int(timedelta(days=366) / step))]


@pytest.mark.parametrize("zone", ZONES)
def test_every_instant_falls_in_a_week_starting_local_monday_midnight(zone: str) -> None:
    tz = ZoneInfo(zone)
    for instant in sample_instants():
        start, end = week_bounds(instant, tz)
        assert start <= instant < end
        assert start == week_start(instant, tz)
        local_start = start.astimezone(tz)
        assert local_start.weekday() == Weekday.MONDAY
        assert local_start.time() == time(0)
        assert local_start.date().isoformat() == week_key(instant, tz)
        assert hours(end - start) in (167, 168, 169)
        assert start.tzinfo is UTC
        assert end.tzinfo is UTC


@pytest.mark.parametrize("zone", ZONES)
def test_consecutive_weeks_tile_without_gaps(zone: str) -> None:
    tz = ZoneInfo(zone)
    _, end = week_bounds(utc(2026, 1, 1), tz)
    for _ in range(60):
        next_start, next_end = week_bounds(end, tz)
        assert next_start == end
        end = next_end


@pytest.mark.parametrize(
    ("zone", "inside", "monday", "length"),
    [
        ("Europe/London", utc(2026, 3, 29, 12), "2026-03-23", 167),
        ("Europe/London", utc(2026, 10, 25, 12), "2026-10-19", 169),
        ("America/New_York", utc(2026, 3, 8, 12), "2026-03-02", 167),
        ("America/New_York", utc(2026, 11, 1, 12), "2026-10-26", 169),
        ("Australia/Sydney", utc(2026, 4, 5, 0), "2026-03-30", 169),
        ("Australia/Sydney", utc(2026, 10, 4, 0), "2026-09-28", 167),
        ("Pacific/Auckland", utc(2026, 4, 5, 0), "2026-03-30", 169),
        ("Pacific/Auckland", utc(2026, 9, 27, 0), "2026-09-21", 167),
        ("Asia/Kolkata", utc(2026, 3, 29, 12), "2026-03-23", 168),
        ("UTC", utc(2026, 3, 29, 12), "2026-03-23", 168),
    ],
)
def test_dst_weeks_are_167_or_169_hours(
    zone: str, inside: datetime, monday: str, length: int
) -> None:
    tz = ZoneInfo(zone)
    start, end = week_bounds(inside, tz)
    assert week_key(inside, tz) == monday
    assert hours(end - start) == length
    assert end.astimezone(tz).replace(tzinfo=None) == datetime.fromisoformat(monday) + timedelta(
        days=7
    )


def test_week_start_known_values() -> None:
    # London spring-forward week starts in GMT; the next one starts in BST (an hour earlier UTC).
    assert week_start(utc(2026, 3, 29, 12), LONDON) == utc(2026, 3, 23, 0)
    assert week_start(utc(2026, 3, 31, 12), LONDON) == utc(2026, 3, 29, 23)
    # Auckland is ahead of UTC: local Monday 00:00 NZDT is Sunday 11:00 UTC.
    assert week_start(utc(2026, 11, 18), AUCKLAND) == utc(2026, 11, 15, 11)


def test_week_key_depends_on_the_class_zone() -> None:
    # Sunday noon UTC is already Monday 01:00 in Auckland but still Sunday in New York.
    sunday_noon_utc = utc(2026, 11, 15, 12)
    assert week_key(sunday_noon_utc, AUCKLAND) == "2026-11-16"
    assert week_key(sunday_noon_utc, NEW_YORK) == "2026-11-09"


def test_non_utc_aware_input_gives_same_answer() -> None:
    instant = utc(2026, 11, 16, 9)
    as_sydney = instant.astimezone(SYDNEY)
    assert week_bounds(as_sydney, LONDON) == week_bounds(instant, LONDON)


@pytest.mark.parametrize(
    "call",
    [
        lambda naive: week_start(naive, LONDON),
        lambda naive: week_bounds(naive, LONDON),
        lambda naive: week_key(naive, LONDON),
        lambda naive: period_bounds(Period.ALL_TIME, naive, LONDON),
        lambda naive: post_time_in_week(naive, LONDON, Weekday.MONDAY, time(9)),
        lambda naive: next_post_time(naive, LONDON, Weekday.MONDAY, time(9)),
        lambda naive: is_post_due(naive, LONDON, Weekday.MONDAY, time(9), None),
        lambda naive: local_day_end(naive, LONDON),
    ],
)
def test_naive_datetimes_are_rejected(call: Callable[[datetime], object]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(datetime(2026, 11, 16, 9))


# --- local wall times on DST days ---------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "at", "expected"),
    [
        # Spring-forward gaps: the first valid instant after, i.e. when the clocks jump.
        ("Europe/London", date(2026, 3, 29), time(1, 30), utc(2026, 3, 29, 1)),
        ("America/New_York", date(2026, 3, 8), time(2, 30), utc(2026, 3, 8, 7)),
        ("Australia/Sydney", date(2026, 10, 4), time(2, 15), utc(2026, 10, 3, 16)),
        ("Pacific/Auckland", date(2026, 9, 27), time(2, 0), utc(2026, 9, 26, 14)),
        # Ambiguous fall-back times: the first occurrence (still on summer time).
        ("Europe/London", date(2026, 10, 25), time(1, 30), utc(2026, 10, 25, 0, 30)),
        ("America/New_York", date(2026, 11, 1), time(1, 30), utc(2026, 11, 1, 5, 30)),
        ("Australia/Sydney", date(2026, 4, 5), time(2, 30), utc(2026, 4, 4, 15, 30)),
        # Ordinary times.
        ("Asia/Kolkata", date(2026, 3, 29), time(9, 0), utc(2026, 3, 29, 3, 30)),
        ("UTC", date(2026, 3, 29), time(1, 30), utc(2026, 3, 29, 1, 30)),
    ],
)
def test_local_to_utc_resolves_gaps_and_folds(
    zone: str, day: date, at: time, expected: datetime
) -> None:
    assert local_to_utc(day, at, ZoneInfo(zone)) == expected


def test_local_to_utc_rejects_aware_time() -> None:
    with pytest.raises(ValueError, match="naive wall-clock"):
        local_to_utc(date(2026, 1, 5), time(9, tzinfo=UTC), LONDON)


# --- periods --------------------------------------------------------------------------------


def test_this_and_last_week_across_spring_forward() -> None:
    now = utc(2026, 4, 1, 12)  # Wednesday after London went to BST
    assert period_bounds(Period.THIS_WEEK, now, LONDON) == (
        utc(2026, 3, 29, 23),
        utc(2026, 4, 5, 23),
    )
    start, end = period_bounds(Period.LAST_WEEK, now, LONDON)
    assert (start, end) == (utc(2026, 3, 23, 0), utc(2026, 3, 29, 23))
    assert start is not None
    assert end is not None
    assert hours(end - start) == 167


@pytest.mark.parametrize("zone", ZONES)
def test_last_week_ends_where_this_week_starts(zone: str) -> None:
    tz = ZoneInfo(zone)
    for now in sample_instants()[::20]:
        this_start, _ = period_bounds(Period.THIS_WEEK, now, tz)
        last_start, last_end = period_bounds(Period.LAST_WEEK, now, tz)
        assert last_end == this_start
        assert last_start is not None
        assert week_key(last_start, tz) != week_key(now, tz)


def test_month_is_the_local_calendar_month() -> None:
    # 23:30 UTC on 31 March is already 1 April in London (BST): April counts.
    now = utc(2026, 3, 31, 23, 30)
    assert period_bounds(Period.MONTH, now, LONDON) == (utc(2026, 3, 31, 23), utc(2026, 4, 30, 23))
    assert period_bounds(Period.MONTH, utc(2026, 12, 15), NEW_YORK) == (
        utc(2026, 12, 1, 5),
        utc(2027, 1, 1, 5),
    )


def test_term_with_a_configured_start() -> None:
    start, end = period_bounds(Period.TERM, utc(2026, 11, 18), LONDON, term_start=date(2026, 9, 3))
    assert start == utc(2026, 9, 2, 23)  # local midnight, BST
    assert end is None


def test_term_without_a_start_is_the_last_13_local_weeks() -> None:
    now = utc(2026, 11, 18, 12)  # Wednesday; this week starts Monday 16 Nov
    start, end = period_bounds(Period.TERM, now, LONDON)
    assert end is None
    assert start is not None
    assert week_key(start, LONDON) == "2026-08-24"
    assert start.astimezone(LONDON).replace(tzinfo=None) == datetime(2026, 8, 24)
    assert (date(2026, 11, 16) - date(2026, 8, 24)).days == 7 * (TERM_FALLBACK_WEEKS - 1)


def test_all_time_is_unbounded() -> None:
    assert period_bounds(Period.ALL_TIME, utc(2026, 11, 18), LONDON) == (None, None)


# --- the weekly post ------------------------------------------------------------------------

MONDAY_9 = (Weekday.MONDAY, time(9))


@pytest.mark.parametrize("zone", ZONES)
def test_post_time_is_local_weekday_and_time(zone: str) -> None:
    tz = ZoneInfo(zone)
    for instant in sample_instants()[::5]:
        post = post_time_in_week(instant, tz, Weekday.FRIDAY, time(15, 30))
        local = post.astimezone(tz)
        assert (local.weekday(), local.time()) == (Weekday.FRIDAY, time(15, 30))
        assert week_key(post, tz) == week_key(instant, tz)


def test_post_is_due_once_after_post_time() -> None:
    before = utc(2026, 11, 16, 8, 59)  # London is on GMT in November
    at = utc(2026, 11, 16, 9)
    assert not is_post_due(before, LONDON, *MONDAY_9, last_posted_week_key="2026-11-09")
    assert is_post_due(at, LONDON, *MONDAY_9, last_posted_week_key="2026-11-09")
    assert is_post_due(at, LONDON, *MONDAY_9, last_posted_week_key=None)
    # Once recorded for this week, it is not due again, however often the job runs.
    for later in (at, utc(2026, 11, 18, 12), utc(2026, 11, 22, 23, 59)):
        assert not is_post_due(later, LONDON, *MONDAY_9, last_posted_week_key="2026-11-16")


def test_post_catches_up_after_downtime_in_the_same_week() -> None:
    # Bot was down Monday morning, back on Sunday evening: still posts for this week.
    back = utc(2026, 11, 22, 23, 59)
    assert is_post_due(back, LONDON, *MONDAY_9, last_posted_week_key="2026-11-09")


def test_missed_week_is_not_posted_late_next_week() -> None:
    # Down all week of 16 Nov; back Monday 23 Nov before 09:00: last week's post is skipped,
    # and this week's is not due until 09:00.
    back = utc(2026, 11, 23, 7)
    assert not is_post_due(back, LONDON, *MONDAY_9, last_posted_week_key="2026-11-09")
    assert is_post_due(utc(2026, 11, 23, 9), LONDON, *MONDAY_9, last_posted_week_key="2026-11-09")


def test_post_due_uses_the_class_zone() -> None:
    # Monday 09:00 in Auckland (NZDT, UTC+13) is Sunday 20:00 UTC.
    assert not is_post_due(
        utc(2026, 11, 15, 19, 59), AUCKLAND, *MONDAY_9, last_posted_week_key=None
    )
    assert is_post_due(utc(2026, 11, 15, 20), AUCKLAND, *MONDAY_9, last_posted_week_key=None)


def test_post_time_in_spring_forward_gap_moves_to_the_jump() -> None:
    # A Sunday 01:30 post in London on 29 March 2026 doesn't exist; it goes out at 02:00 BST.
    post = post_time_in_week(utc(2026, 3, 25), LONDON, Weekday.SUNDAY, time(1, 30))
    assert post == utc(2026, 3, 29, 1)
    assert not is_post_due(
        utc(2026, 3, 29, 0, 59), LONDON, Weekday.SUNDAY, time(1, 30), last_posted_week_key=None
    )
    assert is_post_due(
        utc(2026, 3, 29, 1), LONDON, Weekday.SUNDAY, time(1, 30), last_posted_week_key=None
    )


def test_ambiguous_post_time_goes_out_on_first_occurrence_only() -> None:
    # New York, Sunday 1 Nov 2026, 01:30 happens twice; post at the first (EDT, 05:30 UTC).
    post = post_time_in_week(utc(2026, 10, 28), NEW_YORK, Weekday.SUNDAY, time(1, 30))
    assert post == utc(2026, 11, 1, 5, 30)
    assert is_post_due(
        post, NEW_YORK, Weekday.SUNDAY, time(1, 30), last_posted_week_key="2026-10-19"
    )
    assert not is_post_due(
        utc(2026, 11, 1, 6, 30),  # the second 01:30 (EST)
        NEW_YORK,
        Weekday.SUNDAY,
        time(1, 30),
        last_posted_week_key="2026-10-26",  # recorded at the first 01:30
    )


@pytest.mark.parametrize("zone", ZONES)
def test_next_post_time_is_strictly_after_now(zone: str) -> None:
    tz = ZoneInfo(zone)
    for now in sample_instants()[::3]:
        nxt = next_post_time(now, tz, Weekday.WEDNESDAY, time(12))
        assert nxt > now
        assert nxt - now <= timedelta(days=7, hours=1)
        local = nxt.astimezone(tz)
        assert (local.weekday(), local.time()) == (Weekday.WEDNESDAY, time(12))


def test_next_post_time_at_exact_post_time_is_next_week() -> None:
    at = utc(2026, 11, 16, 9)
    assert next_post_time(at, LONDON, *MONDAY_9) == utc(2026, 11, 23, 9)
    assert next_post_time(at - timedelta(seconds=1), LONDON, *MONDAY_9) == at


def test_next_post_time_crosses_dst_in_local_time() -> None:
    # Monday 09:00 London: 09:00 GMT before the change, 09:00 BST (08:00 UTC) after it.
    assert next_post_time(utc(2026, 3, 23, 10), LONDON, *MONDAY_9) == utc(2026, 3, 30, 8)


# --- end of today -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        ("Europe/London", utc(2026, 3, 28, 12), utc(2026, 3, 29, 0)),
        ("Europe/London", utc(2026, 3, 29, 12), utc(2026, 3, 29, 23)),  # now on BST
        ("America/New_York", utc(2026, 11, 1, 3), utc(2026, 11, 1, 4)),  # 23:00 EDT Sat
        ("America/New_York", utc(2026, 11, 1, 12), utc(2026, 11, 2, 5)),  # 25-hour day
        ("Australia/Sydney", utc(2026, 4, 4, 14), utc(2026, 4, 5, 14)),  # 01:00 on a 25-hour day
        ("Asia/Kolkata", utc(2026, 6, 1, 20), utc(2026, 6, 2, 18, 30)),
        ("UTC", utc(2026, 6, 1, 23, 59), utc(2026, 6, 2)),
        # Chile skips local midnight on 6 Sept 2026: the day ends when clocks jump to 01:00.
        ("America/Santiago", utc(2026, 9, 5, 20), utc(2026, 9, 6, 4)),
    ],
)
def test_local_day_end(zone: str, now: datetime, expected: datetime) -> None:
    assert local_day_end(now, ZoneInfo(zone)) == expected


@pytest.mark.parametrize("zone", ZONES)
def test_local_day_end_is_next_local_midnight(zone: str) -> None:
    tz = ZoneInfo(zone)
    for now in sample_instants()[::7]:
        end = local_day_end(now, tz)
        assert now < end <= now + timedelta(hours=25)
        assert end.astimezone(tz).time() == time(0)
        assert end.astimezone(tz).date() == now.astimezone(tz).date() + timedelta(days=1)
