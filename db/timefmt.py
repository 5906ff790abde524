"""How instants are stored: ISO-8601 text in UTC with a fixed width, so text order is time order."""

from __future__ import annotations

from datetime import UTC, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def to_db(instant: datetime) -> str:
    """An aware datetime as sortable UTC text, e.g. '2026-11-20T15:00:00.000000Z'."""
    if instant.tzinfo is None:
        raise ValueError("refusing to store a naive datetime")
    return instant.astimezone(UTC).strftime(_FORMAT)


def from_db(text: str) -> datetime:
    """The aware UTC datetime stored by :func:`to_db`."""
    if len(text) == 27 and text[-1] == "Z":
        # What to_db writes: fromisoformat reads it as aware UTC ~100x faster than strptime,
        # which showed in every request read on the help flow's hot path.
        return datetime.fromisoformat(text)
    return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)  # anything else: strict


def opt_from_db(text: str | None) -> datetime | None:
    """Like :func:`from_db`, passing ``None`` through."""
    return None if text is None else from_db(text)
