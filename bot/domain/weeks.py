"""Weeks, periods and the weekly post schedule, computed in the class's time zone.

A class week runs from local Monday 00:00 to the next local Monday 00:00. Because the
boundaries are local wall-clock times, a week that contains a DST change is 167 or 169
hours long. Every datetime going in must be timezone-aware; every datetime coming out
is in UTC, which is what the database stores.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import IntEnum, StrEnum
from zoneinfo import ZoneInfo

__all__ = [
    "TERM_FALLBACK_WEEKS",
    "Period",
    "Weekday",
    "is_post_due",
    "local_day_end",
    "local_to_utc",
    "next_post_time",
    "period_bounds",
    "post_time_in_week",
    "week_bounds",
    "week_key",
    "week_start",
]

# Without a configured term start, "this term" means the current week plus the 12 before
# it: a quarter of a year, always starting on a local Monday, easy to explain to a teacher.
TERM_FALLBACK_WEEKS = 13


class Weekday(IntEnum):
    """Day of the week, numbered like ``date.weekday()`` (Monday is 0)."""

    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


class Period(StrEnum):
    """A leaderboard / report window."""

    THIS_WEEK = "this_week"
    LAST_WEEK = "last_week"
    MONTH = "month"
    TERM = "term"
    ALL_TIME = "all_time"


def _require_aware(value: datetime, name: str = "instant") -> None:
    # A naive datetime would silently be read as the server's local time: refuse it.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")


def _local_date(instant: datetime, tz: ZoneInfo) -> date:
    _require_aware(instant)
    return instant.astimezone(tz).date()


def _local_monday(instant: datetime, tz: ZoneInfo) -> date:
    day = _local_date(instant, tz)
    return day - timedelta(days=day.weekday())


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """Return the UTC instant of the local wall-clock time ``at`` on ``day`` in ``tz``.

    DST edge cases are resolved predictably:
    * a time that does not exist (the spring-forward gap) maps to the first valid instant
      after it, i.e. the moment the clocks jump (01:30 in London on 2026-03-29 -> 02:00 BST);
    * an ambiguous time (the fall-back hour) maps to its first occurrence (``fold=0``).

    ``at`` must be a naive wall-clock time; it is interpreted in ``tz``.
    """
    if at.tzinfo is not None:
        raise ValueError("'at' must be a naive wall-clock time; it is read in the class time zone")
    wall = datetime.combine(day, at.replace(fold=0), tzinfo=tz)
    candidate = wall.astimezone(UTC)
    # If the round trip lands on the same wall time, the time exists (fold=0 = first occurrence).
    if candidate.astimezone(tz).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return candidate
    return _gap_end(wall, tz)


def _gap_end(wall: datetime, tz: ZoneInfo) -> datetime:
    """UTC instant at which the clocks jumped over the nonexistent local time ``wall``."""
    # In a gap, fold=1 reads the wall time with the new (larger) offset, giving an instant
    # before the transition; fold=0 uses the old offset, giving one after it.
    before = wall.replace(fold=1).astimezone(UTC)
    after = wall.replace(fold=0).astimezone(UTC)
    new_offset = wall.replace(fold=1).utcoffset()
    # zoneinfo doesn't expose transition instants, so binary-search the whole second at which
    # the offset changes (tz transitions always fall on whole seconds).
    lo, hi = 0, int((after - before).total_seconds())
    while lo < hi:
        mid = (lo + hi) // 2
        if (before + timedelta(seconds=mid)).astimezone(tz).utcoffset() == new_offset:
            hi = mid
        else:
            lo = mid + 1
    return before + timedelta(seconds=lo)


def week_start(instant: datetime, tz: ZoneInfo) -> datetime:
    """UTC instant of local Monday 00:00 of the week containing ``instant``."""
    return local_to_utc(_local_monday(instant, tz), time(0), tz)


def week_bounds(instant: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC ``(start, end)`` of the week containing ``instant``; ``end`` is exclusive.

    ``end - start`` is 168 hours, or 167/169 hours in a week with a DST change.
    """
    monday = _local_monday(instant, tz)
    return local_to_utc(monday, time(0), tz), local_to_utc(monday + timedelta(days=7), time(0), tz)


def week_key(instant: datetime, tz: ZoneInfo) -> str:
    """ISO date of the local Monday of the week containing ``instant``, e.g. ``"2026-11-16"``.

    Stored to remember that the weekly post went out for this week (exactly once).
    """
    return _local_monday(instant, tz).isoformat()


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month_start(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def period_bounds(
    period: Period,
    now: datetime,
    tz: ZoneInfo,
    term_start: date | None = None,
) -> tuple[datetime | None, datetime | None]:
    """UTC ``(start, end)`` of ``period`` as seen at ``now``; ``None`` means unbounded.

    * THIS_WEEK: this local Monday 00:00 to next Monday 00:00.
    * LAST_WEEK: the previous local week, ending where this week starts.
    * MONTH: the local calendar month containing ``now`` (1st 00:00 to next 1st 00:00).
    * TERM: from local midnight of ``term_start`` with no end. Without a ``term_start`` the
      term is the last ``TERM_FALLBACK_WEEKS`` (13) local weeks: it starts on the Monday 12
      weeks before this week's Monday. A ``term_start`` in the future still gives that start
      (so the window is empty) rather than guessing another term.
    * ALL_TIME: ``(None, None)``.

    ``end`` is exclusive.
    """
    _require_aware(now, "now")
    if period is Period.THIS_WEEK:
        return week_bounds(now, tz)
    if period is Period.LAST_WEEK:
        monday = _local_monday(now, tz)
        return (
            local_to_utc(monday - timedelta(days=7), time(0), tz),
            local_to_utc(monday, time(0), tz),
        )
    if period is Period.MONTH:
        today = _local_date(now, tz)
        return (
            local_to_utc(_month_start(today), time(0), tz),
            local_to_utc(_next_month_start(today), time(0), tz),
        )
    if period is Period.TERM:
        if term_start is None:
            first_monday = _local_monday(now, tz) - timedelta(weeks=TERM_FALLBACK_WEEKS - 1)
            return local_to_utc(first_monday, time(0), tz), None
        return local_to_utc(term_start, time(0), tz), None
    if period is Period.ALL_TIME:
        return None, None
    raise ValueError(f"unknown period {period!r}")


def _post_time_for_monday(monday: date, tz: ZoneInfo, weekday: Weekday, at: time) -> datetime:
    if not 0 <= int(weekday) <= 6:
        raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
    return local_to_utc(monday + timedelta(days=int(weekday)), at, tz)


def post_time_in_week(instant: datetime, tz: ZoneInfo, weekday: Weekday, at: time) -> datetime:
    """UTC instant of the weekly post (local ``weekday`` at ``at``) in the week of ``instant``.

    A post time inside a DST gap moves to the moment the clocks jump; an ambiguous one uses
    its first occurrence (see ``local_to_utc``).
    """
    return _post_time_for_monday(_local_monday(instant, tz), tz, weekday, at)


def next_post_time(now: datetime, tz: ZoneInfo, weekday: Weekday, at: time) -> datetime:
    """The next weekly post time strictly after ``now`` (this week's or next week's), in UTC."""
    monday = _local_monday(now, tz)
    this_week = _post_time_for_monday(monday, tz, weekday, at)
    if this_week > now:
        return this_week
    return _post_time_for_monday(monday + timedelta(days=7), tz, weekday, at)


def is_post_due(
    now: datetime,
    tz: ZoneInfo,
    weekday: Weekday,
    at: time,
    last_posted_week_key: str | None,
) -> bool:
    """True when this week's post should go out now.

    That is: this week's post time has passed (``now`` is at or after it) and this week's
    key is not the last one posted. This is the catch-up rule after downtime: if the bot was
    offline at the post time it still posts when it comes back later the same week, but a
    week that has already ended is never posted late, and a week is never posted twice.
    """
    _require_aware(now, "now")
    if now < post_time_in_week(now, tz, weekday, at):
        return False
    return week_key(now, tz) != last_posted_week_key


def local_day_end(now: datetime, tz: ZoneInfo) -> datetime:
    """UTC instant of the next local midnight after ``now`` (the end of "today").

    If that midnight is skipped by a DST change, it is the first instant of the next day.
    """
    return local_to_utc(_local_date(now, tz) + timedelta(days=1), time(0), tz)
