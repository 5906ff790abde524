"""Choosing which mentor to offer a help request to, fairly.

During a lesson, the mentors the teacher chose for it go first. When the request names an aspect
of the subject (e.g. "fractions"), mentors badged for that aspect go next. Within that, the goal is that help spreads across the class: a mentor who has
not recently helped this asker goes first, then whoever has run the fewest sessions this week, then whoever has
been idle longest. The same inputs always give the same answer (user id breaks ties), so
a re-run after a restart offers the request to the same mentor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["MentorCandidate", "choose_mentor", "eligible", "rank_mentors"]


@dataclass(frozen=True)
class MentorCandidate:
    """What matching needs to know about one mentor at the moment a request is routed."""

    user_id: int
    available: bool
    acknowledged_brief: bool
    # Sessions currently offered to or active for this mentor.
    active_sessions: int
    # How many of those the mentor may hold at once (default 1).
    session_limit: int
    # Confirmed + active sessions started this class week.
    sessions_this_week: int
    # End of their last session (or the badge grant time if none); longer idle wins.
    idle_since: datetime
    # Helped this asker within the recent window (last N sessions/days, decided by the caller).
    helped_asker_recently: bool
    # The aspect named on the mentor's badge for this subject (e.g. "fractions"), if any.
    badge_aspect: str | None = None
    # Chosen by the teacher as a mentor of the class's open lesson in this subject.
    in_lesson: bool = False

    def badged_for(self, aspect: str | None) -> bool:
        """Whether the badge names this aspect (case-insensitively); False without an aspect."""
        return (
            aspect is not None
            and self.badge_aspect is not None
            and self.badge_aspect.casefold() == aspect.strip().casefold()
        )

    def __post_init__(self) -> None:
        # Comparing naive and aware datetimes raises mid-sort; fail early with a clear message.
        if self.idle_since.tzinfo is None or self.idle_since.utcoffset() is None:
            raise ValueError("idle_since must be timezone-aware")
        if self.active_sessions < 0 or self.sessions_this_week < 0:
            raise ValueError("session counts cannot be negative")
        if self.session_limit < 0:
            raise ValueError("session_limit cannot be negative")


def eligible(c: MentorCandidate, asker_id: int, excluded: frozenset[int]) -> bool:
    """Whether ``c`` may be offered this request.

    Eligible means: marked available, has acknowledged the mentor brief, is under their
    concurrent-session limit, is not the asker, and is not in ``excluded`` (mentors who
    already passed on this request or let the offer expire).
    """
    return (
        c.available
        and c.acknowledged_brief
        and c.active_sessions < c.session_limit
        and c.user_id != asker_id
        and c.user_id not in excluded
    )


def _fairness_key(c: MentorCandidate) -> tuple[bool, int, datetime, int]:
    # False sorts before True, so mentors new to this asker come first.
    return (c.helped_asker_recently, c.sessions_this_week, c.idle_since, c.user_id)


def _ranking_key(
    aspect: str | None,
) -> Callable[[MentorCandidate], tuple[bool, bool, tuple[bool, int, datetime, int]]]:
    def key(c: MentorCandidate) -> tuple[bool, bool, tuple[bool, int, datetime, int]]:
        # The open lesson's mentors first, then badged for the request's aspect (False sorts
        # first), then fairness.
        return (not c.in_lesson, not c.badged_for(aspect), _fairness_key(c))

    return key


def rank_mentors(
    candidates: Iterable[MentorCandidate],
    asker_id: int,
    excluded: frozenset[int] = frozenset(),
    aspect: str | None = None,
) -> list[MentorCandidate]:
    """Eligible candidates, best first.

    Order: mentors of the class's open lesson in the subject, then mentors badged for the
    request's ``aspect`` (when one is named), then mentors who have
    NOT helped this asker recently (so help spreads across classmates), then fewest sessions this
    week, then idle longest (earliest ``idle_since``), then lowest ``user_id`` so the result is
    deterministic.
    """
    return sorted(
        (c for c in candidates if eligible(c, asker_id, excluded)),
        key=_ranking_key(aspect),
    )


def choose_mentor(
    candidates: Iterable[MentorCandidate],
    asker_id: int,
    excluded: frozenset[int] = frozenset(),
    aspect: str | None = None,
) -> MentorCandidate | None:
    """The mentor to offer the request to next, or ``None`` if nobody is eligible."""
    eligible_ones = [c for c in candidates if eligible(c, asker_id, excluded)]
    return min(eligible_ones, key=_ranking_key(aspect), default=None)
