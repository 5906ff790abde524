"""SQL for the mentors channel's live queue notices (one message per class and subject)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.engine import Connection
from db.rows import first_row
from db.timefmt import to_db


@dataclass(frozen=True)
class QueueNoticeState:
    """How many wait for a subject now, and the message that shows it (if one is live)."""

    guild_id: int
    subject_id: int
    subject_name: str
    waiting: int
    channel_id: int | None
    message_id: int | None
    shown: int | None  # the count the message says now


async def state(conn: Connection, guild_id: int, subject_id: int) -> QueueNoticeState | None:
    """The subject's line and its notice; ``None`` when the subject is gone."""
    row = await first_row(
        conn,
        "SELECT s.name,"
        " (SELECT COUNT(*) FROM help_requests r WHERE r.guild_id = s.guild_id"
        "  AND r.subject_id = s.id AND r.state = 'queued'),"
        " n.channel_id, n.message_id, n.waiting"
        " FROM subjects s LEFT JOIN queue_notices n"
        " ON n.guild_id = s.guild_id AND n.subject_id = s.id"
        " WHERE s.guild_id = ? AND s.id = ?",
        (guild_id, subject_id),
    )
    if row is None:
        return None
    return QueueNoticeState(guild_id, subject_id, str(row[0]), int(row[1]), row[2], row[3], row[4])


async def posted(
    conn: Connection,
    guild_id: int,
    subject_id: int,
    channel_id: int,
    message_id: int,
    waiting: int,
    now: datetime,
) -> None:
    """A new notice message went out (it replaces any the class had for the subject)."""
    await conn.execute(
        "INSERT INTO queue_notices (guild_id, subject_id, channel_id, message_id, waiting,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, subject_id) DO UPDATE SET"
        " channel_id = excluded.channel_id, message_id = excluded.message_id,"
        " waiting = excluded.waiting, updated_at = excluded.updated_at",
        (guild_id, subject_id, channel_id, message_id, waiting, to_db(now)),
    )


async def shown(
    conn: Connection, guild_id: int, subject_id: int, waiting: int, now: datetime
) -> None:
    """The live notice was edited to show ``waiting``."""
    await conn.execute(
        "UPDATE queue_notices SET waiting = ?, updated_at = ? WHERE guild_id = ? AND subject_id = ?",
        (waiting, to_db(now), guild_id, subject_id),
    )


async def closed(conn: Connection, guild_id: int, subject_id: int) -> None:
    """Nobody waits any more: the next one in line gets a fresh notice."""
    await conn.execute(
        "DELETE FROM queue_notices WHERE guild_id = ? AND subject_id = ?", (guild_id, subject_id)
    )


async def to_refresh(conn: Connection) -> list[tuple[int, int]]:
    """(class, subject) pairs with a live notice or someone waiting (refreshed at start-up)."""
    return [
        (int(row[0]), int(row[1]))
        for row in await conn.execute_fetchall(
            "SELECT guild_id, subject_id FROM queue_notices"
            " UNION SELECT guild_id, subject_id FROM help_requests WHERE state = 'queued'"
            " ORDER BY 1, 2"
        )
    ]
