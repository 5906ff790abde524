"""SQL for awards (gold stars, tutor of the week...). Their points live in the ledger."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypedDict

from bot.domain.points import AwardKind
from bot.domain.shoutouts import Award
from db.engine import Connection
from db.rows import LAST_INSERTED_ID, LastInsertedId, batches, fetch_later, first_row
from db.timefmt import from_db, opt_from_db, to_db


def award_from_row(row: Any) -> Award:
    """An ``awards`` row as an :class:`Award`."""
    return Award(
        id=row["id"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        kind=AwardKind(row["kind"]),
        reason=row["reason"],
        points=row["points"],
        private=bool(row["private"]),
        week_key=row["week_key"],
        awarded_by=row["awarded_by"],
        awarded_at=from_db(row["awarded_at"]),
        undone_at=opt_from_db(row["undone_at"]),
        channel_id=row["channel_id"],
        message_id=row["message_id"],
    )


_INSERT_AWARD = (
    "INSERT INTO awards (guild_id, user_id, kind, reason, points, private, week_key,"
    " awarded_by, awarded_at, dm_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *"
)


class NewAward(TypedDict):
    """An award as it is given (its ledger entry and shout-out are written beside it)."""

    guild_id: int
    user_id: int
    kind: AwardKind
    reason: str
    points: int
    private: bool
    week_key: str
    awarded_by: int
    awarded_at: datetime


async def insert_award(
    conn: Connection, new: NewAward
) -> tuple[int | LastInsertedId, Callable[[], Award]]:
    """Record an award inside the caller's transaction: returns the id the transaction's later
    statements name it by, and how to get the award once the transaction has committed.

    In a SQLite transaction the INSERT needs no hop of its own: it goes to the database with the
    next statement or the COMMIT, and the statements deferred right after it name the new row by
    :data:`db.rows.LAST_INSERTED_ID`. Elsewhere (PostgreSQL) it runs at once and its id is known.
    """
    values = (
        new["guild_id"],
        new["user_id"],
        new["kind"].value,
        new["reason"],
        new["points"],
        int(new["private"]),
        new["week_key"],
        new["awarded_by"],
        to_db(new["awarded_at"]),
        # The student's DM is owed from this commit on (sent after the teacher's reply).
        "pending" if new["private"] else None,
    )
    if batches(conn):
        rows = await fetch_later(conn, _INSERT_AWARD, values)
        return LAST_INSERTED_ID, lambda: award_from_row(rows[0])
    row = await first_row(conn, _INSERT_AWARD, values)
    assert row is not None
    award = award_from_row(row)
    return award.id, lambda: award


async def pending_dms(conn: Connection) -> list[Award]:
    """Standing private awards whose DM a stop left unsent, oldest first."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM awards WHERE dm_state = 'pending' AND undone_at IS NULL ORDER BY id"
    )
    return [award_from_row(r) for r in rows]


async def mark_dm(conn: Connection, award_id: int, delivered: bool) -> bool:
    """The DM went out (or the student's DMs are closed): never again. False if already marked."""
    cur = await conn.execute(
        "UPDATE awards SET dm_state = ? WHERE id = ? AND dm_state = 'pending'",
        ("sent" if delivered else "failed", award_id),
    )
    return cur.rowcount == 1


async def tutor_of_the_week(conn: Connection, guild_id: int, week_key: str) -> Award | None:
    """The class's current tutor of the week for a week, if one was awarded."""
    row = await first_row(
        conn,
        "SELECT * FROM awards WHERE guild_id = ? AND week_key = ? AND kind = 'tutor_of_the_week'"
        " AND undone_at IS NULL",
        (guild_id, week_key),
    )
    return award_from_row(row) if row else None


async def latest_for_student(
    conn: Connection, guild_id: int, user_id: int, since: datetime
) -> Award | None:
    """The most recent award still standing that a student received at or after ``since``."""
    row = await first_row(
        conn,
        "SELECT * FROM awards WHERE guild_id = ? AND user_id = ? AND undone_at IS NULL"
        " AND awarded_at >= ? ORDER BY awarded_at DESC, id DESC LIMIT 1",
        (guild_id, user_id, to_db(since)),
    )
    return award_from_row(row) if row else None


async def mark_undone(conn: Connection, award_id: int, undone_by: int, now: datetime) -> bool:
    """Mark an award undone; ``False`` if it already was (only one undo can win)."""
    cur = await conn.execute(
        "UPDATE awards SET undone_at = ?, undone_by = ? WHERE id = ? AND undone_at IS NULL",
        (to_db(now), undone_by, award_id),
    )
    return cur.rowcount == 1


async def public_awards_between(
    conn: Connection, guild_id: int, start: datetime, end: datetime
) -> list[Award]:
    """Standing, non-private awards given in ``[start, end)``, oldest first."""
    return [
        award_from_row(row)
        for row in await conn.execute_fetchall(
            "SELECT * FROM awards WHERE guild_id = ? AND undone_at IS NULL AND private = 0"
            " AND awarded_at >= ? AND awarded_at < ? ORDER BY awarded_at, id",
            (guild_id, to_db(start), to_db(end)),
        )
    ]
