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
    # A topic within the subject the mentor is strong in, e.g. "fractions" (matching prefers it).
    aspect: str | None = None

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


DEFAULT_BADGE_COLOUR = 0x2ECC71  # green, like the pens that set a mentor's input apart in class


def parse_colour(text: str) -> int:
    """A colour as '#2ecc71', '2ECC71' or a name from :data:`COLOUR_NAMES`. Raises ValueError."""
    cleaned = text.strip().casefold()
    if cleaned in COLOUR_NAMES:
        return COLOUR_NAMES[cleaned]
    digits = cleaned.removeprefix("#").removeprefix("0x")
    if len(digits) != 6 or any(ch not in "0123456789abcdef" for ch in digits):
        raise ValueError(
            "Write the colour as a hex code like `#2ecc71`, or a name: "
            + ", ".join(sorted(COLOUR_NAMES))
            + "."
        )
    return int(digits, 16)


COLOUR_NAMES = {
    "green": DEFAULT_BADGE_COLOUR,
    "blue": 0x0072B2,
    "orange": 0xE69F00,
    "purple": 0x9B59B6,
    "teal": 0x009E73,
    "red": 0xD55E00,
}
