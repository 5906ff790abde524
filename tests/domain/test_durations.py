"""Reading lesson-badge "until" phrases and /available durations."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.durations import InvalidDuration, parse_hours, parse_until

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
# Wednesday 18 Nov 2026, 10:00 in London (GMT, so local == UTC).
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def london(hour: int, minute: int = 0, day: int = 18) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=LONDON).astimezone(UTC)


@pytest.mark.parametrize("text", ["end of today", "today", "eod", "EOD", "  End  of   Today "])
def test_end_of_today_is_next_local_midnight(text: str) -> None:
    assert parse_until(text, NOW, LONDON) == london(0, day=19)


def test_end_of_today_in_class_zone_not_utc() -> None:
    # 03:00 UTC on 18 Nov is 22:00 on the 17th in New York: today ends at 05:00 UTC.
    now = datetime(2026, 11, 18, 3, tzinfo=UTC)
    assert parse_until("today", now, NEW_YORK) == datetime(2026, 11, 18, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14:30", london(14, 30)),
        ("23:05 ", london(23, 5)),
        ("9:05pm", london(21, 5)),
        ("23:59", london(23, 59)),
        ("3pm", london(15)),
        ("3:30pm", london(15, 30)),
        ("3:30 PM", london(15, 30)),
        ("11am", london(11)),
        ("12pm", london(12)),
    ],
)
def test_clock_time_today(text: str, expected: datetime) -> None:
    assert parse_until(text, NOW, LONDON) == expected


def test_clock_time_is_read_in_the_class_zone() -> None:
    # 10:00 UTC is 05:00 in New York; "14:30" means 14:30 EST = 19:30 UTC.
    assert parse_until("14:30", NOW, NEW_YORK) == datetime(2026, 11, 18, 19, 30, tzinfo=UTC)


@pytest.mark.parametrize("text", ["09:30", "9:30", "9am", "10:00", "12am"])
def test_clock_time_already_past_is_refused(text: str) -> None:
    with pytest.raises(InvalidDuration, match="already passed today"):
        parse_until(text, NOW, LONDON)


def test_clock_time_less_than_five_minutes_away_is_refused() -> None:
    with pytest.raises(InvalidDuration, match="less than 5 minutes"):
        parse_until("10:04", NOW, LONDON)
    assert parse_until("10:05", NOW, LONDON) == london(10, 5)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("45", 45),
        ("45m", 45),
        ("45 min", 45),
        ("45 mins", 45),
        ("90 minutes", 90),
        ("2h", 120),
        ("2 hours", 120),
        ("1 hour", 60),
        ("1h30m", 90),
        ("1h 30m", 90),
        ("1h30", 90),
        ("1 hour and 30 minutes", 90),
        ("1.5h", 90),
        ("in 45 minutes", 45),
        ("2d", 2 * 24 * 60),
        ("5m", 5),
        ("336h", 14 * 24 * 60),
    ],
)
def test_lengths_from_now(text: str, minutes: int) -> None:
    assert parse_until(text, NOW, LONDON) == NOW + timedelta(minutes=minutes)


def test_result_is_utc() -> None:
    result = parse_until("45m", NOW.astimezone(NEW_YORK), LONDON)
    assert result.utcoffset() == timedelta(0)
    assert result == NOW + timedelta(minutes=45)


def test_length_is_elapsed_time_across_dst() -> None:
    # 00:30 BST on the London fall-back night: "2h" is two real hours, 01:30 GMT.
    now = datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    assert parse_until("2h", now, LONDON) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize("text", ["4m", "4", "0", "0h"])
def test_under_five_minutes_is_refused(text: str) -> None:
    with pytest.raises(InvalidDuration, match="at least 5 minutes"):
        parse_until(text, NOW, LONDON)


@pytest.mark.parametrize("text", ["337h", "15d", "20161", "99999999999999999999999999999999h"])
def test_over_fourteen_days_is_refused(text: str) -> None:
    with pytest.raises(InvalidDuration, match="at most 14 days"):
        parse_until(text, NOW, LONDON)


def test_end_of_today_just_before_midnight_is_refused() -> None:
    late = london(23, 57)
    with pytest.raises(InvalidDuration, match="less than 5 minutes"):
        parse_until("end of today", late, LONDON)


@pytest.mark.parametrize(
    "text", ["tomorrow", "soon", "25:00", "14:60", "13pm", "0am", "h", "m", "-5m", "1h-30m", "2w"]
)
def test_unreadable_text_gets_a_helpful_message(text: str) -> None:
    with pytest.raises(InvalidDuration) as info:
        parse_until(text, NOW, LONDON)
    message = str(info.value)
    assert message == f"I couldn't read '{text}'. Try 'end of today', '14:30' or '45m'."


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text(text: str) -> None:
    with pytest.raises(InvalidDuration, match="Please say how long"):
        parse_until(text, NOW, LONDON)


def test_input_over_40_characters_is_refused() -> None:
    with pytest.raises(InvalidDuration, match="too long to be a time"):
        parse_until("1" * 41, NOW, LONDON)
    # Exactly 40 characters is read normally.
    assert parse_until("45 minutes".ljust(40), NOW, LONDON) == NOW + timedelta(minutes=45)


def test_invalid_duration_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_until("nonsense", NOW, LONDON)


def test_naive_now_is_a_programming_error_not_a_user_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware") as info:
        parse_until("45m", datetime(2026, 11, 18, 10), LONDON)
    assert not isinstance(info.value, InvalidDuration)


# --- /available on [duration] -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", timedelta(hours=2)),
        ("90m", timedelta(minutes=90)),
        ("1h30m", timedelta(minutes=90)),
        ("45", timedelta(minutes=45)),
        ("5m", timedelta(minutes=5)),
        ("12h", timedelta(hours=12)),
        ("for 3 hours", timedelta(hours=3)),
    ],
)
def test_parse_hours(text: str, expected: timedelta) -> None:
    assert parse_hours(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("4m", "at least 5 minutes"),
        ("12h1m", "at most 12 hours"),
        ("1d", "at most 12 hours"),
        ("later", "I couldn't read 'later'. Try '2h', '90m' or '1h30m'."),
        ("3pm", "I couldn't read '3pm'"),  # a clock time is not a length
    ],
)
def test_parse_hours_refusals(text: str, message: str) -> None:
    with pytest.raises(InvalidDuration, match=re.escape(message)):
        parse_hours(text)
