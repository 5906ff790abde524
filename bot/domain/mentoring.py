"""Mentor badges and mentor state, as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.text import clean_text

BRIEF_MAX_LENGTH = 1800


@dataclass(frozen=True)
class Badge:
    """A mentor badge for one subject; current while ``ended_at`` is None."""

    id: int
    guild_id: int
    subject_id: int
    subject_name: str
    user_id: int
    granted_by: int
    granted_at: datetime
    expires_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None

    @property
    def current(self) -> bool:
        """Whether the badge is still held."""
        return self.ended_at is None


@dataclass(frozen=True)
class MentorState:
    """A mentor's standing in a class: brief read, availability, concurrent limit."""

    guild_id: int
    user_id: int
    brief_sent_at: datetime | None
    brief_acknowledged_at: datetime | None
    available_until: datetime | None
    session_limit: int

    def available_at(self, now: datetime) -> bool:
        """Whether the mentor said they are available and that has not run out."""
        return self.available_until is not None and self.available_until > now

    @property
    def briefed(self) -> bool:
        """Whether the mentor acknowledged the training brief."""
        return self.brief_acknowledged_at is not None


def clean_brief(text: str) -> str | None:
    """A teacher's brief text, trimmed; empty means "use the default". Raises ValueError."""
    cleaned = clean_text(
        text, what="The brief", max_length=BRIEF_MAX_LENGTH, required=False, multiline=True
    )
    return cleaned or None
