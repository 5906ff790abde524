"""Reading the short time phrases teachers and students type.

``parse_until`` turns the "until" of a lesson badge ("end of today", "14:30", "3pm",
"45m", "1h30m") into a UTC instant; ``parse_hours`` turns the duration of
``/available on`` ("2h", "90m") into a ``timedelta``. Errors are ``InvalidDuration``,
whose message is written for the person who typed the phrase.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.weeks import local_day_end, local_to_utc

__all__ = [
    "MAX_AVAILABLE",
    "MAX_INPUT_LENGTH",
    "MAX_UNTIL_AHEAD",
    "MIN_DURATION",
    "InvalidDuration",
    "parse_duration",
    "parse_hours",
    "parse_until",
]

MAX_INPUT_LENGTH = 40
MIN_DURATION = timedelta(minutes=5)
MAX_UNTIL_AHEAD = timedelta(days=14)
MAX_AVAILABLE = timedelta(hours=12)

_UNTIL_HINT = "Try 'end of today', '14:30' or '45m'."
_HOURS_HINT = "Try '2h', '90m' or '1h30m'."

_END_OF_TODAY = frozenset({"end of today", "today", "eod", "end of day", "end of the day"})

_CLOCK_24H = re.compile(r"^(?P<hour>\d{1,2}):(?P<minute>\d{2})$")
_CLOCK_12H = re.compile(r"^(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<half>am|pm)$")
# Each part is optional but at least one must be present (checked in code). A bare number
# means minutes, so "45" and "1h30" both read naturally.
_DURATION = re.compile(
    r"^(?:(?P<days>\d+)\s*(?:d|days?)\s*)?"
    r"(?:(?P<hours>\d+(?:\.\d+)?)\s*(?:h|hrs?|hours?)\s*)?"
    r"(?:(?P<minutes>\d+)\s*(?:m|mins?|minutes?)?)?$"
)
_LEADING_WORDS = re.compile(r"^(?:in|for)\s+")


class InvalidDuration(ValueError):
    """A time phrase that could not be read or is out of range; ``str()`` is user-facing."""


def _normalise(text: str, hint: str) -> str:
    if len(text) > MAX_INPUT_LENGTH:
        raise InvalidDuration(
            f"That's too long to be a time (max {MAX_INPUT_LENGTH} characters). {hint}"
        )
    cleaned = " ".join(text.strip().lower().split())
    # "in 45 minutes" / "for 2h" read the same as "45 minutes" / "2h".
    cleaned = _LEADING_WORDS.sub("", cleaned)
    cleaned = cleaned.replace(" and ", " ").replace(",", " ").strip()
    if not cleaned:
        raise InvalidDuration(f"Please say how long. {hint}")
    return cleaned


def _unreadable(text: str, hint: str) -> InvalidDuration:
    # Keep the echo short and free of backticks so it renders cleanly in a chat message.
    shown = text.strip().replace("`", "'")[:MAX_INPUT_LENGTH]
    return InvalidDuration(f"I couldn't read '{shown}'. {hint}")


def _match_duration(cleaned: str) -> timedelta | None:
    match = _DURATION.match(cleaned)
    if match is None or not any(match.group(g) for g in ("days", "hours", "minutes")):
        return None
    days = int(match.group("days") or 0)
    hours = float(match.group("hours") or 0)
    minutes = int(match.group("minutes") or 0)
    # Compute in whole seconds and cap before building a timedelta: a 40-digit number
    # would overflow timedelta, and anything that large is out of range anyway.
    seconds = days * 86_400 + round(hours * 3600) + minutes * 60
    return timedelta(seconds=min(seconds, 10 * 365 * 86_400))


def parse_duration(text: str, minimum: timedelta, maximum: timedelta, hint: str) -> timedelta:
    """Parse a length of time such as "45", "45m", "90 minutes", "2h", "1.5h" or "1h30m".

    Raises ``InvalidDuration`` if unreadable or outside ``[minimum, maximum]``.
    """
    cleaned = _normalise(text, hint)
    delta = _match_duration(cleaned)
    if delta is None:
        raise _unreadable(text, hint)
    _check_range(delta, minimum, maximum)
    return delta


def _describe(delta: timedelta) -> str:
    total_minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(total_minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days and not rest:
        return f"{days} day" + ("s" if days != 1 else "")
    if hours and not minutes and not days:
        return f"{hours} hour" + ("s" if hours != 1 else "")
    return f"{total_minutes} minutes"


def _check_range(delta: timedelta, minimum: timedelta, maximum: timedelta) -> None:
    if delta < minimum:
        raise InvalidDuration(f"That's too short: pick at least {_describe(minimum)}.")
    if delta > maximum:
        raise InvalidDuration(f"That's too long: pick at most {_describe(maximum)}.")


def _match_clock(cleaned: str) -> time | None:
    match = _CLOCK_24H.match(cleaned)
    if match is not None:
        hour, minute = int(match.group("hour")), int(match.group("minute"))
    else:
        match = _CLOCK_12H.match(cleaned)
        if match is None:
            return None
        hour, minute = int(match.group("hour")), int(match.group("minute") or 0)
        if not 1 <= hour <= 12:
            return None
        # 12am is midnight and 12pm is noon; other pm hours add 12.
        hour = hour % 12 + (12 if match.group("half") == "pm" else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def parse_until(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """Parse when a lesson badge should end, returning a UTC instant.

    Accepted:
    * "end of today" / "today" / "eod": the next local midnight;
    * a local clock time today: "14:30" (24 h), "3pm", "3:30pm" - an error if already past;
    * a length of time from now: "45", "45m", "45 min", "90 minutes", "2h", "2 hours",
      "1h30m", "1.5h", "2d". Lengths are real elapsed time, so "2h" is two hours even
      across a DST change.

    The result must be at least 5 minutes and at most 14 days after ``now``; otherwise, or
    if the text can't be read, ``InvalidDuration`` is raised with a readable message.
    ``now`` must be timezone-aware (``ValueError`` otherwise - a programming error).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    cleaned = _normalise(text, _UNTIL_HINT)

    if cleaned in _END_OF_TODAY:
        end = local_day_end(now, tz)
        if end - now < MIN_DURATION:
            raise InvalidDuration("Today ends in less than 5 minutes. Try '1h' or a time tomorrow.")
        return end

    clock = _match_clock(cleaned)
    if clock is not None:
        at = local_to_utc(now.astimezone(tz).date(), clock, tz)
        shown = clock.strftime("%H:%M")
        if at <= now:
            raise InvalidDuration(
                f"{shown} has already passed today. Try a later time or 'end of today'."
            )
        if at - now < MIN_DURATION:
            raise InvalidDuration(f"{shown} is less than 5 minutes away. Pick a later time.")
        return at

    delta = _match_duration(cleaned)
    if delta is None:
        raise _unreadable(text, _UNTIL_HINT)
    _check_range(delta, MIN_DURATION, MAX_UNTIL_AHEAD)
    return now + delta


def parse_hours(text: str) -> timedelta:
    """Parse how long a mentor is available for ("2h", "90m", "1h30m"): 5 minutes to 12 hours.

    Raises ``InvalidDuration`` with a readable message otherwise.
    """
    return parse_duration(text, MIN_DURATION, MAX_AVAILABLE, _HOURS_HINT)
