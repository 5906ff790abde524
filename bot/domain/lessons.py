"""Lessons: what one is, and reading the teacher's list of lesson mentors. No Discord, no SQL."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.gains import Gain, PublicGains, ScorePoint, chronological

MAX_LESSON_MENTORS = 10
PAIR_PRIZE_POINTS = 10  # each person of a winning pair ("biggest gains pair" in the ledger)
# Gains are shown to one decimal: pairs that look equal are equal (ties share the prize).
TIE_TOLERANCE = 0.05
_MENTION = re.compile(r"<@!?(\d{15,21})>")


@dataclass(frozen=True)
class Lesson:
    """A lesson: one subject (and aspect) with chosen mentors, open until it ends."""

    id: int
    guild_id: int
    subject_id: int
    subject_name: str
    aspect: str | None
    started_by: int | None
    started_at: datetime
    ends_at: datetime | None
    ended_at: datetime | None
    panel_channel_id: int | None = None
    panel_message_id: int | None = None
    # Set when it ends: quizzes recorded until then count for its prizes (the quiz window).
    prize_due_at: datetime | None = None
    prize_decided_at: datetime | None = None

    @property
    def open(self) -> bool:
        """Still running."""
        return self.ended_at is None

    @property
    def prize_waiting(self) -> bool:
        """Ended, with its prizes still waiting for the quiz (decided at ``prize_due_at``)."""
        return self.ended_at is not None and self.prize_decided_at is None

    @property
    def topic(self) -> str:
        """ "Math" or "Math (fractions)"."""
        return f"{self.subject_name} ({self.aspect})" if self.aspect else self.subject_name


@dataclass(frozen=True)
class LessonCounts:
    """What happened in a lesson so far: requests filed, sessions confirmed, students helped."""

    requests: int
    sessions: int
    students_helped: int


def parse_mentions(text: str) -> list[int]:
    """The user ids mentioned in ``text`` ("@Alice @Bob"), in order, without repeats.

    Raises ``ValueError`` when the text names nobody or anything other than mentions and
    separators, so a typo is never silently dropped.
    """
    ids: list[int] = []
    for match in _MENTION.finditer(text):
        uid = int(match.group(1))
        if uid not in ids:
            ids.append(uid)
    leftover = _MENTION.sub(" ", text).replace(",", " ").strip()
    if leftover:
        raise ValueError(
            "List the lesson's mentors as mentions, e.g. `@Alice @Bob` "
            f"(I couldn't read {leftover[:40]!r})."
        )
    if not ids:
        raise ValueError("Name at least one mentor, e.g. `@Alice @Bob`.")
    if len(ids) > MAX_LESSON_MENTORS:
        raise ValueError(f"A lesson can have at most {MAX_LESSON_MENTORS} mentors.")
    return ids


@dataclass(frozen=True)
class PairPrize:
    """A mentor and mentee who won the "biggest gains" prize, and their gain in points."""

    mentor_id: int
    mentee_id: int
    gain: float


@dataclass(frozen=True)
class Celebration:
    """What the end-of-lesson post says; public, so counts and praise only, never who asked."""

    lesson: Lesson
    counts: LessonCounts
    mentors: list[int]
    assessment: str | None = None  # the lesson's quiz, when the teacher recorded one
    pair_prizes: list[PairPrize] = field(default_factory=list)
    most_correct: list[list[int]] = field(default_factory=list)  # each group: mentor first
    points: int = PAIR_PRIZE_POINTS
    gains: PublicGains | None = None  # into the lesson's assessment: gains only, improvers only
    goal_line: str | None = None
    # The prizes wait for the quiz until then (the post says so instead of naming a winner).
    prize_due_at: datetime | None = None


@dataclass(frozen=True)
class PrizeNews:
    """The post that follows a celebration once the prizes waiting for the quiz are decided."""

    lesson: Lesson
    assessment: str | None  # the quiz that decided them; None when no scores were recorded
    pair_prizes: list[PairPrize] = field(default_factory=list)
    most_correct: list[list[int]] = field(default_factory=list)
    points: int = PAIR_PRIZE_POINTS
    gains: PublicGains | None = None  # the quiz's gains chart, when the celebration had none


def pair_winners(pairs: Iterable[tuple[int, int, float]]) -> list[PairPrize]:
    """The pair(s) with the biggest positive gain; ties share. Nobody wins without a rise."""
    ranked = sorted(pairs, key=lambda p: (-p[2], p[0], p[1]))
    if not ranked or ranked[0][2] <= 0:
        return []
    best = ranked[0][2]
    return [PairPrize(m, s, g) for m, s, g in ranked if best - g <= TIE_TOLERANCE]


def most_correct_groups(
    groups: Mapping[int, Iterable[int]], percent: Mapping[int, float]
) -> list[list[int]]:
    """The group(s) (a mentor and the classmates they helped) with the highest combined score.

    Combined = the members' mean percentage on the lesson's assessment, so a bigger group does
    not win by size; a group needs at least two members who took it. Ties share.
    """
    scored: list[tuple[float, list[int]]] = []
    for mentor, mentees in groups.items():
        members = [mentor, *sorted(set(mentees) - {mentor})]
        took = [percent[m] for m in members if m in percent]
        if len(took) >= 2:
            scored.append((sum(took) / len(took), [m for m in members if m in percent]))
    if not scored:
        return []
    best = max(score for score, _ in scored)
    return sorted(
        (members for score, members in scored if best - score <= TIE_TOLERANCE),
        key=lambda members: members[0],
    )


def assessment_gains(points: Iterable[ScorePoint], assessment: str) -> list[Gain]:
    """Each student's gain into ``assessment``: from their previous result in the subject."""
    by_user: dict[int, list[ScorePoint]] = {}
    for p in chronological(points):
        by_user.setdefault(p.user_id, []).append(p)
    gains = []
    for user_points in by_user.values():
        for index, point in enumerate(user_points):
            if point.assessment.casefold() == assessment.casefold() and index > 0:
                gains.append(Gain(point.user_id, user_points[index - 1], point))
    gains.sort(key=lambda g: (-g.points, g.user_id))
    return gains
