"""Mentor rounds: the live board of waiting requests a mentor can take. No Discord, no SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

BOARD_SIZE = 5  # one row of Take buttons


@dataclass(frozen=True)
class BoardEntry:
    """A waiting request as the board shows it: never the student's name."""

    request_id: int
    subject_name: str
    topic: str
    aspect: str | None
    waiting_since: datetime


def board_order(entries: list[BoardEntry], aspects: set[str]) -> list[BoardEntry]:
    """The mentor's own aspects first, then whoever has waited longest (fair for the rest)."""
    wanted = {a.casefold() for a in aspects}
    return sorted(
        entries,
        key=lambda e: (
            not (e.aspect is not None and e.aspect.casefold() in wanted),
            e.waiting_since,
            e.request_id,
        ),
    )
