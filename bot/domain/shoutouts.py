"""Awards, shout-outs and the weekly post's timing: pure rules, no Discord and no SQL.

The weekly post's own timing (``is_post_due``, ``next_post_time``...) lives in
:mod:`bot.domain.weeks`; this module adds what recognition needs on top of it: the day-before
tutor-of-the-week suggestion, the "class set up after this week's post time" rule, and the
cleaning of an award's reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.points import AwardKind
from bot.domain.text import clean_text
from bot.domain.weeks import (
    Weekday,
    is_post_due,
    local_to_utc,
    next_post_time,
    post_time_in_week,
    week_key,
)

__all__ = [
    "LEADERBOARD_TOP",
    "MAX_REASON_LENGTH",
    "POST_TOP_MENTORS",
    "UNDO_WINDOW",
    "Award",
    "PostKind",
    "SuggestionSlot",
    "award_week",
    "clean_reason",
    "suggestion_slot",
    "suggestion_weekday",
    "weekly_post_due",
]

MAX_REASON_LENGTH = 200
# `/award undo` reaches back this far: long enough to fix a mistake noticed next lesson, short
# enough that last month's praise is not quietly taken back.
UNDO_WINDOW = timedelta(days=7)
LEADERBOARD_TOP = 10
POST_TOP_MENTORS = 5


class PostKind(StrEnum):
    """What a row in ``weekly_posts`` records: the class's post, or the teacher's suggestion."""

    LEADERBOARD = "leaderboard"
    SUGGESTION = "suggestion"


@dataclass(frozen=True)
class Award:
    """An award a teacher gave (kept after an undo, with ``undone_at`` set)."""

    id: int
    guild_id: int
    user_id: int
    kind: AwardKind
    reason: str
    points: int
    private: bool
    week_key: str
    awarded_by: int
    awarded_at: datetime
    undone_at: datetime | None
    channel_id: int | None
    message_id: int | None

    @property
    def active(self) -> bool:
        """Whether the award still counts (it was not undone or replaced)."""
        return self.undone_at is None


def award_week(given_at: datetime, zone: ZoneInfo) -> str:
    """The class week an award belongs to: the local week in which it was given.

    The one rule for `/award give` and the suggestion's one-click award alike, so one tutor of
    the week per class week means one, whichever way it was given.
    """
    return week_key(given_at, zone)


def clean_reason(raw: str | None) -> str:
    """An award's reason on one line, at most 200 characters; raises ValueError if longer."""
    return clean_text(raw, what="The reason", max_length=MAX_REASON_LENGTH, required=False)


def suggestion_weekday(post_weekday: int) -> int:
    """The weekday of the tutor-of-the-week suggestion: the day before the weekly post."""
    return (post_weekday - 1) % 7


@dataclass(frozen=True)
class SuggestionSlot:
    """The next weekly post and the suggestion that goes out the day before it."""

    post_at: datetime
    suggest_at: datetime
    week_key: str  # the week of the post the suggestion prepares (its award counts for it)

    def open_at(self, now: datetime) -> bool:
        """Whether ``now`` lies between the suggestion time and the post it prepares."""
        return self.suggest_at <= now < self.post_at


def suggestion_slot(now: datetime, tz: ZoneInfo, weekday: int, at: time) -> SuggestionSlot:
    """The next post strictly after ``now`` and its suggestion time (same local time, a day before).

    A suggestion is only worth sending while its post is still ahead: once the post is out the
    next slot is a week away, so a late suggestion is never sent.
    """
    post_at = next_post_time(now, tz, Weekday(weekday), at)
    post_day = post_at.astimezone(tz).date()
    suggest_at = local_to_utc(post_day - timedelta(days=1), at, tz)
    return SuggestionSlot(post_at=post_at, suggest_at=suggest_at, week_key=week_key(post_at, tz))


def weekly_post_due(
    now: datetime,
    tz: ZoneInfo,
    weekday: int,
    at: time,
    *,
    posted_this_week: bool,
    configured_at: datetime | None,
) -> bool:
    """Whether this week's post should go out now (catch-up rule of ``is_post_due``).

    A class set up after this week's post time gets its first post next week rather than an
    immediate, empty one; a schedule *moved* to an earlier time this week still catches up,
    because the class was configured before.
    """
    last = week_key(now, tz) if posted_this_week else None
    if not is_post_due(now, tz, Weekday(weekday), at, last):
        return False
    return configured_at is None or configured_at <= post_time_in_week(
        now, tz, Weekday(weekday), at
    )
