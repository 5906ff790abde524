"""SQL for the append-only points ledger.

Rows are only ever inserted (triggers refuse UPDATE and DELETE while the class exists); every
total is a ``SUM`` over them. Undoing an award appends a negative ``undo`` row naming the award.
"""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.domain.points import LedgerReason
from db.timefmt import to_db

# The instant an entry counts for in a period: an undo counts when the award it reverses did, so
# taking back last week's award corrects last week rather than costing points this week.
_COUNTS_AT = "COALESCE(a.awarded_at, l.created_at)"


async def add_entry(
    conn: aiosqlite.Connection,
    *,
    guild_id: int,
    user_id: int,
    points: int,
    reason: str,
    created_at: datetime,
    subject_id: int | None = None,
    session_id: int | None = None,
    award_id: int | None = None,
    created_by: int | None = None,
) -> int:
    """Append one entry and return its id.

    A second ``session`` entry for the same session (or a second ``award``/``undo`` entry for
    the same award) raises ``sqlite3.IntegrityError``: nothing is ever counted twice.
    """
    async with conn.execute(
        "INSERT INTO ledger (guild_id, user_id, points, reason, subject_id, session_id,"
        " award_id, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            guild_id,
            user_id,
            points,
            LedgerReason(reason).value,
            subject_id,
            session_id,
            award_id,
            created_by,
            to_db(created_at),
        ),
    ) as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def totals(
    conn: aiosqlite.Connection,
    guild_id: int,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    subject_id: int | None = None,
) -> dict[int, int]:
    """Points per user in ``[start, end)`` (``None`` = unbounded), optionally for one subject.

    With a subject only entries tied to it count, i.e. confirmed sessions: awards have no subject.
    """
    clauses = ["l.guild_id = ?"]
    params: list[object] = [guild_id]
    if start is not None:
        # An entry is never written before the award it counts for, so this extra bound is
        # always true for entries in the period, and lets SQLite use the (guild, time) index.
        clauses.append(f"l.created_at >= ? AND {_COUNTS_AT} >= ?")
        params.extend([to_db(start), to_db(start)])
    if end is not None:
        clauses.append(f"{_COUNTS_AT} < ?")
        params.append(to_db(end))
    if subject_id is not None:
        clauses.append("l.subject_id = ?")
        params.append(subject_id)
    async with conn.execute(
        "SELECT l.user_id, SUM(l.points) FROM ledger l LEFT JOIN awards a ON a.id = l.award_id"
        f" WHERE {' AND '.join(clauses)} GROUP BY l.user_id",
        params,
    ) as cur:
        return {int(row[0]): int(row[1]) for row in await cur.fetchall()}
