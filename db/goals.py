"""SQL for class goals and the figures they count."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.goals import Goal, GoalMetric, GoalState
from db.engine import Connection
from db.rows import first_row
from db.timefmt import from_db, opt_from_db, to_db


def _goal(row: Any) -> Goal:
    return Goal(
        id=row["id"],
        guild_id=row["guild_id"],
        metric=GoalMetric(row["metric"]),
        target=float(row["target"]),
        reward=row["reward"],
        deadline=opt_from_db(row["deadline"]),
        set_by=row["set_by"],
        set_at=from_db(row["set_at"]),
        state=GoalState(row["state"]),
        closed_at=opt_from_db(row["closed_at"]),
    )


async def insert_goal(
    conn: Connection,
    *,
    guild_id: int,
    metric: GoalMetric,
    target: float,
    reward: str,
    deadline: datetime | None,
    set_by: int,
    now: datetime,
) -> int:
    """A new open goal (``IntegrityError`` when the class already has one)."""
    rows = await conn.execute_fetchall(
        "INSERT INTO goals (guild_id, metric, target, reward, deadline, set_by, set_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (guild_id, metric.value, target, reward, deadline and to_db(deadline), set_by, to_db(now)),
    )
    return int(next(iter(rows))[0])


async def open_goal(conn: Connection, guild_id: int) -> Goal | None:
    """The class's open goal, if any (one hop: it runs after every award and session)."""
    row = await first_row(
        conn, "SELECT * FROM goals WHERE guild_id = ? AND state = 'open'", (guild_id,)
    )
    return _goal(row) if row else None


async def get_goal(conn: Connection, goal_id: int) -> Goal | None:
    """A goal by id."""
    row = await first_row(conn, "SELECT * FROM goals WHERE id = ?", (goal_id,))
    return _goal(row) if row else None


async def close_goal(
    conn: Connection,
    goal_id: int,
    state: GoalState,
    now: datetime,
    value: float | None,
    *,
    post: bool,
) -> bool:
    """Close an open goal; only the first closer wins (its post, if any, is now pending)."""
    cur = await conn.execute(
        "UPDATE goals SET state = ?, closed_at = ?, final_value = ?, post = ?"
        " WHERE id = ? AND state = 'open'",
        (state.value, to_db(now), value, "pending" if post else None, goal_id),
    )
    return cur.rowcount == 1


async def pending_posts(conn: Connection) -> list[tuple[Goal, float | None]]:
    """Closed goals whose post has not gone out, with the figure they closed at."""
    return [
        (_goal(r), r["final_value"])
        for r in await conn.execute_fetchall(
            "SELECT * FROM goals WHERE post = 'pending' ORDER BY id"
        )
    ]


async def pending_post(conn: Connection, goal_id: int) -> tuple[Goal, float | None] | None:
    """One goal whose post is pending, or None if it went out already."""
    row = await first_row(conn, "SELECT * FROM goals WHERE id = ? AND post = 'pending'", (goal_id,))
    return (_goal(row), row["final_value"]) if row else None


async def mark_posted(conn: Connection, goal_id: int, message_id: int | None) -> bool:
    """The goal's post went out (only the first marker wins)."""
    cur = await conn.execute(
        "UPDATE goals SET post = 'posted', message_id = ? WHERE id = ? AND post = 'pending'",
        (message_id, goal_id),
    )
    return cur.rowcount == 1


async def open_goals(conn: Connection) -> list[Goal]:
    """Every open goal (deadline timers and the sweep at start-up)."""
    return [
        _goal(r)
        for r in await conn.execute_fetchall("SELECT * FROM goals WHERE state = 'open' ORDER BY id")
    ]


async def sessions_since(conn: Connection, guild_id: int, since: datetime) -> int:
    """Help sessions confirmed since ``since``."""
    row = await first_row(
        conn,
        "SELECT COUNT(*) FROM help_requests WHERE guild_id = ? AND state = 'resolved'"
        " AND closed_at >= ?",
        (guild_id, to_db(since)),
    )
    return int(row[0]) if row else 0


async def students_helped_since(conn: Connection, guild_id: int, since: datetime) -> int:
    """Different students whose help session was confirmed since ``since``."""
    row = await first_row(
        conn,
        "SELECT COUNT(DISTINCT student_id) FROM help_requests WHERE guild_id = ?"
        " AND state = 'resolved' AND closed_at >= ?",
        (guild_id, to_db(since)),
    )
    return int(row[0]) if row else 0


async def stars_since(conn: Connection, guild_id: int, since: datetime) -> int:
    """Gold stars given (and not taken back) since ``since``."""
    row = await first_row(
        conn,
        "SELECT COUNT(*) FROM awards WHERE guild_id = ? AND kind = 'gold_star'"
        " AND undone_at IS NULL AND awarded_at >= ?",
        (guild_id, to_db(since)),
    )
    return int(row[0]) if row else 0
