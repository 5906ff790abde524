"""The suggestion's timing, the first-week rule and award reasons, across zones and DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.shoutouts import (
    MAX_REASON_LENGTH,
    clean_reason,
    suggestion_slot,
    suggestion_weekday,
    weekly_post_due,
)
from bot.domain.weeks import Weekday, post_time_in_week, week_key

ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def year_of_instants() -> list[datetime]:
    start, step = utc(2026, 1, 1), timedelta(hours=5, minutes=11)
    return [start + i * step for i in range(int(timedelta(days=366) / step))]


@pytest.mark.parametrize("weekday", list(Weekday))
def test_suggestion_is_the_day_before(weekday: Weekday) -> None:
    assert (suggestion_weekday(weekday) + 1) % 7 == weekday


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(("weekday", "at"), [(4, time(15, 0)), (0, time(9, 30)), (6, time(0, 0))])
def test_suggestion_slot_is_the_same_local_time_a_day_before_the_next_post(
    zone: str, weekday: int, at: time
) -> None:
    tz = ZoneInfo(zone)
    for now in year_of_instants():
        slot = suggestion_slot(now, tz, weekday, at)
        assert now < slot.post_at  # always the post still ahead
        post_local, suggest_local = slot.post_at.astimezone(tz), slot.suggest_at.astimezone(tz)
        assert post_local.weekday() == weekday
        assert suggest_local.date() == post_local.date() - timedelta(days=1)
        assert suggest_local.time() == post_local.time() == at  # these times exist on DST days
        assert slot.week_key == week_key(slot.post_at, tz)
        # Across a DST change the gap is 23 or 25 hours of real time, never a wall-clock shift.
        assert slot.post_at - slot.suggest_at in (
            timedelta(hours=23),
            timedelta(hours=24),
            timedelta(hours=25),
        )


def test_suggestion_before_a_post_on_the_day_the_clocks_change() -> None:
    # London leaves summer time at 02:00 on Sunday 2026-10-25: Saturday 09:00 is BST (08:00 UTC),
    # Sunday 09:00 is GMT (09:00 UTC).
    london = ZoneInfo("Europe/London")
    slot = suggestion_slot(utc(2026, 10, 23, 12), london, Weekday.SUNDAY, time(9, 0))
    assert slot.suggest_at == utc(2026, 10, 24, 8)
    assert slot.post_at == utc(2026, 10, 25, 9)
    assert slot.post_at - slot.suggest_at == timedelta(hours=25)
    assert slot.week_key == "2026-10-19"
    assert not slot.open_at(utc(2026, 10, 24, 7, 59))
    assert slot.open_at(utc(2026, 10, 24, 8))


@pytest.mark.parametrize("zone", ZONES)
def test_post_due_from_its_local_time_until_the_week_ends(zone: str) -> None:
    tz = ZoneInfo(zone)
    now = utc(2026, 3, 25, 12)  # a week with DST changes in London and New York nearby
    post = post_time_in_week(now, tz, Weekday.FRIDAY, time(15, 0))
    configured = post - timedelta(days=10)
    due = {
        offset: weekly_post_due(
            post + offset,
            tz,
            Weekday.FRIDAY,
            time(15, 0),
            posted_this_week=False,
            configured_at=configured,
        )
        for offset in (timedelta(minutes=-1), timedelta(0), timedelta(days=2))
    }
    assert due == {timedelta(minutes=-1): False, timedelta(0): True, timedelta(days=2): True}
    assert not weekly_post_due(
        post, tz, Weekday.FRIDAY, time(15, 0), posted_this_week=True, configured_at=configured
    )


def test_a_class_set_up_after_the_post_time_waits_for_next_week() -> None:
    tz = ZoneInfo("Europe/London")
    post = utc(2026, 11, 20, 15)
    assert not weekly_post_due(
        post + timedelta(hours=2),
        tz,
        Weekday.FRIDAY,
        time(15, 0),
        posted_this_week=False,
        configured_at=post + timedelta(hours=1),
    )
    assert weekly_post_due(
        post + timedelta(hours=2),
        tz,
        Weekday.FRIDAY,
        time(15, 0),
        posted_this_week=False,
        configured_at=post - timedelta(hours=1),
    )


def test_reasons_are_one_line_and_at_most_200_characters() -> None:
    assert clean_reason("  Helped \n three   classmates ") == "Helped three classmates"
    assert clean_reason(None) == ""
    assert clean_reason("x" * MAX_REASON_LENGTH) == "x" * MAX_REASON_LENGTH
    with pytest.raises(ValueError, match="at most 200"):
        clean_reason("x" * (MAX_REASON_LENGTH + 1))
