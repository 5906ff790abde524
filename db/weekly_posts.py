"""SQL for the weekly posts already claimed or sent, and the week's help-session facts.

A row is claimed (inserted) *before* a post is sent: its primary key (class, week, kind) is what
makes a post go out at most once per week, whatever restarts or double-fired jobs happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.points import MentorWeekStats
from bot.domain.shoutouts import PostKind
from db.engine import Connection
from db.rows import first_row
from db.timefmt import opt_from_db, to_db


@dataclass(frozen=True)
class WeeklyPostRecord:
    """One claimed post (or suggestion) of one class's week."""

    guild_id: int
    week_key: str
    kind: PostKind
    claimed_at: datetime
    sent_at: datetime | None
    channel_id: int | None
    message_id: int | None
    suggested_user_id: int | None
    awarded_at: datetime | None


async def claim(
    conn: Connection,
    guild_id: int,
    week_key: str,
    kind: PostKind,
    now: datetime,
    *,
    suggested_user_id: int | None = None,
) -> bool:
    """Claim a week's post; ``False`` if it was already claimed (then do not send it)."""
    cur = await conn.execute(
        "INSERT INTO weekly_posts (guild_id, week_key, kind, claimed_at, suggested_user_id)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, week_key, kind) DO NOTHING",
        (guild_id, week_key, kind.value, to_db(now), suggested_user_id),
    )
    return cur.rowcount == 1


async def release(conn: Connection, guild_id: int, week_key: str, kind: PostKind) -> bool:
    """Give up a claim whose post Discord refused, so it can be tried again; never a sent one."""
    cur = await conn.execute(
        "DELETE FROM weekly_posts WHERE guild_id = ? AND week_key = ? AND kind = ?"
        " AND sent_at IS NULL",
        (guild_id, week_key, kind.value),
    )
    return cur.rowcount == 1


async def mark_sent(
    conn: Connection,
    guild_id: int,
    week_key: str,
    kind: PostKind,
    *,
    channel_id: int,
    message_id: int,
    now: datetime,
) -> None:
    """Record where a claimed post went."""
    await conn.execute(
        "UPDATE weekly_posts SET sent_at = ?, channel_id = ?, message_id = ?"
        " WHERE guild_id = ? AND week_key = ? AND kind = ?",
        (to_db(now), channel_id, message_id, guild_id, week_key, kind.value),
    )


async def get(
    conn: Connection, guild_id: int, week_key: str, kind: PostKind
) -> WeeklyPostRecord | None:
    """A week's claimed post, if any."""
    row = await first_row(
        conn,
        "SELECT * FROM weekly_posts WHERE guild_id = ? AND week_key = ? AND kind = ?",
        (guild_id, week_key, kind.value),
    )
    if row is None:
        return None
    claimed_at = opt_from_db(row["claimed_at"])
    assert claimed_at is not None
    return WeeklyPostRecord(
        guild_id=row["guild_id"],
        week_key=row["week_key"],
        kind=PostKind(row["kind"]),
        claimed_at=claimed_at,
        sent_at=opt_from_db(row["sent_at"]),
        channel_id=row["channel_id"],
        message_id=row["message_id"],
        suggested_user_id=row["suggested_user_id"],
        awarded_at=opt_from_db(row["awarded_at"]),
    )


async def mark_suggestion_used(
    conn: Connection, guild_id: int, week_key: str, user_id: int, now: datetime
) -> bool:
    """Mark a suggestion's one-click award as used; ``False`` if it already was (one winner)."""
    cur = await conn.execute(
        "UPDATE weekly_posts SET awarded_at = ? WHERE guild_id = ? AND week_key = ?"
        " AND kind = 'suggestion' AND suggested_user_id = ? AND awarded_at IS NULL",
        (to_db(now), guild_id, week_key, user_id),
    )
    return cur.rowcount == 1


# A confirmed session: resolved by the student's confirmation, with a rating and a mentor.
_CONFIRMED = (
    "state = 'resolved' AND rating IS NOT NULL AND mentor_id IS NOT NULL"
    " AND guild_id = ? AND closed_at >= ? AND closed_at < ?"
)


async def confirmed_session_count(
    conn: Connection, guild_id: int, start: datetime, end: datetime
) -> int:
    """How many help sessions the class confirmed in ``[start, end)``."""
    row = await first_row(
        conn,
        f"SELECT COUNT(*) FROM help_requests WHERE {_CONFIRMED}",
        (guild_id, to_db(start), to_db(end)),
    )
    return int(row[0]) if row else 0


async def mentor_week_stats(
    conn: Connection, guild_id: int, start: datetime, end: datetime
) -> list[MentorWeekStats]:
    """Per mentor: confirmed sessions, average rating and distinct classmates helped."""
    rows = await conn.execute_fetchall(
        "SELECT mentor_id, COUNT(*), AVG(rating), COUNT(DISTINCT student_id)"
        f" FROM help_requests WHERE {_CONFIRMED} GROUP BY mentor_id",
        (guild_id, to_db(start), to_db(end)),
    )
    return [
        MentorWeekStats(
            user_id=int(row[0]),
            confirmed_sessions=int(row[1]),
            average_rating=None if row[2] is None else float(row[2]),
            distinct_mentees=int(row[3]),
        )
        for row in rows
    ]


async def pair_prize_enabled(conn: Connection, guild_id: int) -> bool:
    """Whether the teacher asked for the biggest-gains pair in the weekly post."""
    rows = list(
        await conn.execute_fetchall(
            "SELECT weekly_pair_prize FROM classes WHERE guild_id = ?", (guild_id,)
        )
    )
    return bool(rows and rows[0][0])


async def set_pair_prize(conn: Connection, guild_id: int, enabled: bool) -> None:
    """Turn the weekly post's pair prize on or off."""
    await conn.execute(
        "UPDATE classes SET weekly_pair_prize = ? WHERE guild_id = ?", (int(enabled), guild_id)
    )
