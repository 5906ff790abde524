"""SQL for mentor rounds: the board of waiting requests, and which were taken from it."""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.rounds import BoardEntry
from db.engine import Connection
from db.timefmt import from_db


async def board(
    conn: Connection, guild_id: int, mentor_id: int
) -> tuple[list[BoardEntry], set[str]]:
    """Waiting requests (queued or offered) in the subjects the mentor holds a badge for, not
    their own, and the aspects named on their badges."""
    entries = [
        BoardEntry(int(r[0]), str(r[1]), str(r[2]), r[3], from_db(r[4]))
        for r in await conn.execute_fetchall(
            "SELECT r.id, s.name, r.topic, r.aspect, r.queued_at FROM help_requests r"
            " JOIN subjects s ON s.id = r.subject_id"
            " WHERE r.guild_id = :g AND r.state IN ('queued', 'offered') AND r.student_id <> :u"
            " AND r.subject_id IN (SELECT subject_id FROM badges WHERE guild_id = :g"
            "   AND user_id = :u AND ended_at IS NULL)"
            " ORDER BY r.queued_at, r.id",
            {"g": guild_id, "u": mentor_id},
        )
    ]
    aspects = {
        str(r[0])
        for r in await conn.execute_fetchall(
            "SELECT aspect FROM badges WHERE guild_id = ? AND user_id = ? AND ended_at IS NULL"
            " AND aspect IS NOT NULL",
            (guild_id, mentor_id),
        )
    }
    return entries, aspects


async def mark_taken(conn: Connection, request_id: int) -> None:
    """The request was taken from the board."""
    await conn.execute("UPDATE help_requests SET taken_from_board = 1 WHERE id = ?", (request_id,))


async def taken_from_board(conn: Connection, request_ids: Iterable[int]) -> set[int]:
    """Which of these requests were taken from the board."""
    ids = list(request_ids)[:500]
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    return {
        int(r[0])
        for r in await conn.execute_fetchall(
            f"SELECT id FROM help_requests WHERE taken_from_board = 1 AND id IN ({marks})", ids
        )
    }
