"""SQL for the shout-out outbox: awards whose public shout-out is still to be posted."""

from __future__ import annotations

from datetime import datetime

from bot.domain.shoutouts import Award
from db.awards import award_from_row
from db.engine import Connection
from db.rows import LastInsertedId, execute_later
from db.timefmt import to_db


async def enqueue(
    conn: Connection,
    award_id: int | LastInsertedId,
    guild_id: int,
    channel_id: int,
    now: datetime,
) -> None:
    """Queue an award's shout-out (call it in the award's own transaction; it goes to the
    database with the transaction's next statement or its COMMIT). ``award_id`` may be
    :data:`db.rows.LAST_INSERTED_ID` right after the award's own deferred INSERT; the outbox's
    key is the award's id, so the next statement still sees that id as the last one inserted."""
    if isinstance(award_id, LastInsertedId):
        await execute_later(
            conn,
            "INSERT INTO shout_out_outbox (award_id, guild_id, channel_id, queued_at)"
            f" VALUES ({award_id.sql}, ?, ?, ?)",
            (guild_id, channel_id, to_db(now)),
        )
        return
    await execute_later(
        conn,
        "INSERT INTO shout_out_outbox (award_id, guild_id, channel_id, queued_at)"
        " VALUES (?, ?, ?, ?)",
        (award_id, guild_id, channel_id, to_db(now)),
    )


async def channels_waiting(conn: Connection) -> list[int]:
    """Channels with at least one shout-out to post or posted message to correct."""
    return [
        int(row[0])
        for row in await conn.execute_fetchall(
            "SELECT channel_id FROM shout_out_outbox UNION SELECT channel_id FROM shout_out_corrections"
        )
    ]


async def enqueue_correction(
    conn: Connection, channel_id: int, message_id: int, guild_id: int, now: datetime
) -> None:
    """Queue a posted message for correction (an award in it was undone or replaced)."""
    await execute_later(
        conn,
        "INSERT INTO shout_out_corrections (channel_id, message_id, guild_id, queued_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (channel_id, message_id) DO NOTHING",
        (channel_id, message_id, guild_id, to_db(now)),
    )


async def corrections_waiting(conn: Connection, channel_id: int) -> list[tuple[int, int]]:
    """``(message_id, guild_id)`` of the channel's posted messages still to correct."""
    rows = await conn.execute_fetchall(
        "SELECT message_id, guild_id FROM shout_out_corrections WHERE channel_id = ?"
        " ORDER BY message_id",
        (channel_id,),
    )
    return [(int(row[0]), int(row[1])) for row in rows]


async def correction_done(conn: Connection, channel_id: int, message_id: int) -> None:
    """The message now says what stands."""
    await conn.execute(
        "DELETE FROM shout_out_corrections WHERE channel_id = ? AND message_id = ?",
        (channel_id, message_id),
    )


async def drop_withdrawn(conn: Connection, channel_id: int) -> None:
    """Forget waiting shout-outs of awards undone (or replaced) before they were posted (inside
    a transaction: it goes to the database with the next statement or the COMMIT)."""
    await execute_later(
        conn,
        "DELETE FROM shout_out_outbox WHERE channel_id = ? AND award_id IN"
        " (SELECT id FROM awards WHERE undone_at IS NOT NULL)",
        (channel_id,),
    )


async def waiting(conn: Connection, channel_id: int) -> list[Award]:
    """Awards still standing whose shout-out waits for ``channel_id``, oldest first."""
    rows = await conn.execute_fetchall(
        "SELECT a.* FROM shout_out_outbox o JOIN awards a ON a.id = o.award_id"
        " WHERE o.channel_id = ? AND a.undone_at IS NULL ORDER BY o.award_id",
        (channel_id,),
    )
    return [award_from_row(row) for row in rows]


async def mark_posted(
    conn: Connection, award_ids: list[int], channel_id: int, message_id: int
) -> None:
    """Record the message that carried these shout-outs and take them off the outbox (inside a
    transaction: one statement each, going to the database with the next statement or the
    COMMIT; a message carries at most a few dozen)."""
    if not award_ids:  # ``IN ()`` is not SQL PostgreSQL accepts
        return
    marks = ", ".join("?" for _ in award_ids)
    await execute_later(
        conn,
        f"UPDATE awards SET channel_id = ?, message_id = ? WHERE id IN ({marks})",
        (channel_id, message_id, *award_ids),
    )
    await execute_later(
        conn, f"DELETE FROM shout_out_outbox WHERE award_id IN ({marks})", tuple(award_ids)
    )


async def in_message(conn: Connection, channel_id: int, message_id: int) -> list[Award]:
    """Every award (standing or not) whose shout-out is in one posted message, in order."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM awards WHERE message_id = ? AND channel_id = ? ORDER BY id",
        (message_id, channel_id),
    )
    return [award_from_row(row) for row in rows]
