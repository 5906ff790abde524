"""Points, the leaderboard and the tutor-of-the-week suggestion.

Points live in an append-only ledger of ``(user, delta, reason)`` rows; a total is the
plain sum of a user's deltas. Nothing is ever edited or deleted: undoing an award appends
a negative entry with reason ``UNDO`` (pointing at the entry it reverses), so the history
a teacher sees always explains the total.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "AWARD_LABELS",
    "DEFAULT_AWARD_POINTS",
    "GOOD_RATING",
    "GOOD_RATING_BONUS",
    "MAX_AWARD_POINTS",
    "MIN_AWARD_POINTS",
    "SESSION_BASE_POINTS",
    "AwardKind",
    "LedgerReason",
    "MentorWeekStats",
    "RankedEntry",
    "award_points",
    "leaderboard_view",
    "ledger_totals",
    "rank_totals",
    "session_points",
    "suggest_tutor_of_week",
    "tutor_score",
    "undo_delta",
]


class AwardKind(StrEnum):
    """Kinds of award a teacher can give."""

    GOLD_STAR = "gold_star"
    TUTOR_OF_THE_WEEK = "tutor_of_the_week"
    EFFORT = "effort"
    CUSTOM = "custom"


AWARD_LABELS: Mapping[AwardKind, str] = MappingProxyType(
    {
        AwardKind.GOLD_STAR: "Gold star ⭐",
        AwardKind.TUTOR_OF_THE_WEEK: "Tutor of the week 🏆",
        AwardKind.EFFORT: "Effort 💪",
        AwardKind.CUSTOM: "Custom award",
    }
)

DEFAULT_AWARD_POINTS: Mapping[AwardKind, int] = MappingProxyType(
    {
        AwardKind.GOLD_STAR: 5,
        AwardKind.TUTOR_OF_THE_WEEK: 20,
        AwardKind.EFFORT: 3,
        AwardKind.CUSTOM: 5,
    }
)

MIN_AWARD_POINTS = 1
MAX_AWARD_POINTS = 50

SESSION_BASE_POINTS = 10
GOOD_RATING = 4
GOOD_RATING_BONUS = 5


class LedgerReason(StrEnum):
    """Why a ledger entry exists.

    ``UNDO`` entries reverse an earlier entry (usually an award) by appending its negation;
    the original stays in the ledger.
    """

    SESSION = "session"
    AWARD = "award"
    GOAL = "goal"
    # The mentor/mentee pair with the biggest gain in a lesson (a prize of its own kind).
    GAINS_PAIR = "gains_pair"
    UNDO = "undo"


def award_points(kind: AwardKind, points: int | None = None) -> int:
    """Points for an award: ``points`` if given (1 to 50), else the default for ``kind``."""
    if points is None:
        return DEFAULT_AWARD_POINTS[kind]
    # bool is an int subclass; "True points" is a caller bug, not 1 point.
    if isinstance(points, bool) or not MIN_AWARD_POINTS <= points <= MAX_AWARD_POINTS:
        raise ValueError(
            f"An award is worth {MIN_AWARD_POINTS} to {MAX_AWARD_POINTS} points; got {points}."
        )
    return points


def session_points(rating: int) -> int:
    """Points a mentor earns for a confirmed session rated ``rating`` (1 to 5 stars).

    Every confirmed session earns the base; a good rating (4 or 5) adds a bonus. A low
    rating never costs points, so students can rate honestly without punishing a classmate.
    """
    if isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ValueError(f"A rating is 1 to 5 stars; got {rating}.")
    return SESSION_BASE_POINTS + (GOOD_RATING_BONUS if rating >= GOOD_RATING else 0)


def undo_delta(original_delta: int) -> int:
    """The delta of the ``UNDO`` entry that reverses an entry of ``original_delta``."""
    return -original_delta


def ledger_totals(entries: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Sum ledger ``(user_id, delta)`` entries into a total per user (zero totals included)."""
    totals: defaultdict[int, int] = defaultdict(int)
    for user_id, delta in entries:
        totals[user_id] += delta
    return dict(totals)


@dataclass(frozen=True)
class RankedEntry:
    """One leaderboard line."""

    rank: int
    user_id: int
    points: int


def rank_totals(totals: Mapping[int, int]) -> list[RankedEntry]:
    """Rank users by points, highest first, with standard competition ranking (1, 2, 2, 4).

    Users on equal points share a rank and are listed by ``user_id`` so the display is
    stable. Users with zero or negative totals are left off the leaderboard.
    """
    ordered = sorted(
        ((user_id, points) for user_id, points in totals.items() if points > 0),
        key=lambda item: (-item[1], item[0]),
    )
    ranked: list[RankedEntry] = []
    for position, (user_id, points) in enumerate(ordered, start=1):
        same_as_previous = bool(ranked) and ranked[-1].points == points
        rank = ranked[-1].rank if same_as_previous else position
        ranked.append(RankedEntry(rank=rank, user_id=user_id, points=points))
    return ranked


def leaderboard_view(
    ranked: Sequence[RankedEntry],
    caller_id: int,
    top: int = 10,
) -> tuple[list[RankedEntry], RankedEntry | None]:
    """The first ``top`` lines, plus the caller's own line if they are not among them.

    The second element is ``None`` when the caller is already shown or has no points.
    """
    if top < 0:
        raise ValueError("top cannot be negative")
    shown = list(ranked[:top])
    if any(entry.user_id == caller_id for entry in shown):
        return shown, None
    own = next((entry for entry in ranked if entry.user_id == caller_id), None)
    return shown, own


@dataclass(frozen=True)
class MentorWeekStats:
    """A mentor's week, as needed for the tutor-of-the-week suggestion."""

    user_id: int
    confirmed_sessions: int
    average_rating: float | None
    distinct_mentees: int


def tutor_score(stats: MentorWeekStats) -> float:
    """3 x confirmed sessions + 2 x distinct mentees + average rating (0 if unrated)."""
    rating = stats.average_rating if stats.average_rating is not None else 0.0
    return 3 * stats.confirmed_sessions + 2 * stats.distinct_mentees + rating


def suggest_tutor_of_week(stats: Iterable[MentorWeekStats]) -> MentorWeekStats | None:
    """Suggest a tutor of the week for the teacher to confirm, or ``None`` if nobody mentored.

    Only mentors with at least one confirmed session qualify. The score
    (``tutor_score``) rewards confirmed sessions most, then *distinct* mentees, so
    helping many different classmates beats helping the same friend repeatedly; the
    average rating only nudges, so one enthusiastic rating can't decide it. Ties go to
    more distinct mentees, then the lower user id (deterministic).
    """
    qualifying = [s for s in stats if s.confirmed_sessions >= 1]
    if not qualifying:
        return None
    return min(qualifying, key=lambda s: (-tutor_score(s), -s.distinct_mentees, s.user_id))
