"""Lessons: what one is, and reading the teacher's list of lesson mentors. No Discord, no SQL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

MAX_LESSON_MENTORS = 10
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

    @property
    def open(self) -> bool:
        """Still running."""
        return self.ended_at is None

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
class Celebration:
    """What the end-of-lesson post says; public, so counts and praise only, never who asked."""

    lesson: Lesson
    counts: LessonCounts
    mentors: list[int]
