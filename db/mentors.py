"""SQL for mentor badges, mentor state, and the facts matching needs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.matching import MentorCandidate
from bot.domain.mentoring import Badge, MentorState
from db.engine import Connection
from db.rows import first_row
from db.timefmt import from_db, opt_from_db, to_db

_BADGE_SELECT = (
    "SELECT b.*, s.name AS subject_name FROM badges b JOIN subjects s ON s.id = b.subject_id"
)


def _badge(row: Any) -> Badge:
    return Badge(
        id=row["id"],
        guild_id=row["guild_id"],
        subject_id=row["subject_id"],
        subject_name=row["subject_name"],
        user_id=row["user_id"],
        granted_by=row["granted_by"],
        granted_at=from_db(row["granted_at"]),
        expires_at=opt_from_db(row["expires_at"]),
        ended_at=opt_from_db(row["ended_at"]),
        end_reason=row["end_reason"],
        aspect=row["aspect"],
    )


async def current_badge(conn: Connection, subject_id: int, user_id: int) -> Badge | None:
    """The badge a student holds now for a subject, if any."""
    row = await first_row(
        conn,
        f"{_BADGE_SELECT} WHERE b.subject_id = ? AND b.user_id = ? AND b.ended_at IS NULL",
        (subject_id, user_id),
    )
    return _badge(row) if row else None


async def get_badge(conn: Connection, badge_id: int) -> Badge | None:
    """A badge by id."""
    row = await first_row(conn, f"{_BADGE_SELECT} WHERE b.id = ?", (badge_id,))
    return _badge(row) if row else None


async def insert_badge(
    conn: Connection,
    *,
    guild_id: int,
    subject_id: int,
    user_id: int,
    granted_by: int,
    now: datetime,
    expires_at: datetime | None,
    aspect: str | None = None,
) -> int:
    """Record a new current badge; returns its id."""
    row = await first_row(
        conn,
        "INSERT INTO badges (guild_id, subject_id, user_id, granted_by, granted_at, expires_at,"
        " aspect) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            guild_id,
            subject_id,
            user_id,
            granted_by,
            to_db(now),
            expires_at and to_db(expires_at),
            aspect,
        ),
    )
    assert row is not None
    return int(row[0])


async def set_badge_expiry(conn: Connection, badge_id: int, expires_at: datetime | None) -> None:
    """Change when a current badge ends (a re-grant with another `until`)."""
    await conn.execute(
        "UPDATE badges SET expires_at = ? WHERE id = ? AND ended_at IS NULL",
        (expires_at and to_db(expires_at), badge_id),
    )


async def set_badge_aspect(conn: Connection, badge_id: int, aspect: str) -> None:
    """Name the aspect a current badge is for (a re-grant with ``aspect:``)."""
    await conn.execute(
        "UPDATE badges SET aspect = ? WHERE id = ? AND ended_at IS NULL", (aspect, badge_id)
    )


async def badge_colour(conn: Connection, guild_id: int) -> int | None:
    """The colour of the class's badge roles (None if the class is unknown)."""
    row = await first_row(conn, "SELECT badge_colour FROM classes WHERE guild_id = ?", (guild_id,))
    return int(row[0]) if row else None


async def set_badge_colour(conn: Connection, guild_id: int, colour: int) -> None:
    """Change the colour of the class's badge roles."""
    await conn.execute("UPDATE classes SET badge_colour = ? WHERE guild_id = ?", (colour, guild_id))


async def end_badge(
    conn: Connection, badge_id: int, *, now: datetime, by: int | None, reason: str
) -> bool:
    """End a current badge; False if it had already ended (so only one ender wins)."""
    cur = await conn.execute(
        "UPDATE badges SET ended_at = ?, ended_by = ?, end_reason = ?"
        " WHERE id = ? AND ended_at IS NULL",
        (to_db(now), by, reason, badge_id),
    )
    return cur.rowcount == 1


async def user_badges(conn: Connection, guild_id: int, user_id: int) -> list[Badge]:
    """A student's badges in a class, current first, newest first."""
    return [
        _badge(row)
        for row in await conn.execute_fetchall(
            f"{_BADGE_SELECT} WHERE b.guild_id = ? AND b.user_id = ?"
            " ORDER BY b.ended_at IS NOT NULL, b.granted_at DESC",
            (guild_id, user_id),
        )
    ]


async def current_badges(
    conn: Connection, guild_id: int, subject_id: int | None = None
) -> list[Badge]:
    """Current badges in a class (optionally one subject's), by subject then grant time."""
    query = f"{_BADGE_SELECT} WHERE b.guild_id = ? AND b.ended_at IS NULL AND s.removed_at IS NULL"
    params: tuple[int, ...] = (guild_id,)
    if subject_id is not None:
        query += " AND b.subject_id = ?"
        params += (subject_id,)
    return [
        _badge(row)
        for row in await conn.execute_fetchall(query + " ORDER BY s.name, b.granted_at", params)
    ]


async def expiring_badges(conn: Connection) -> list[Badge]:
    """Every current lesson badge (with an end time), for rebuilding timers at start-up."""
    return [
        _badge(row)
        for row in await conn.execute_fetchall(
            f"{_BADGE_SELECT} WHERE b.ended_at IS NULL AND b.expires_at IS NOT NULL"
        )
    ]


def _mentor(row: Any) -> MentorState:
    return MentorState(
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        brief_sent_at=opt_from_db(row["brief_sent_at"]),
        brief_acknowledged_at=opt_from_db(row["brief_acknowledged_at"]),
        available_until=opt_from_db(row["available_until"]),
        session_limit=row["session_limit"],
    )


async def ensure_mentor(
    conn: Connection, guild_id: int, user_id: int, *, now: datetime, session_limit: int
) -> MentorState:
    """The mentor's state, created on their first badge."""
    await conn.execute(
        "INSERT INTO mentors (guild_id, user_id, session_limit, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (guild_id, user_id) DO NOTHING",
        (guild_id, user_id, session_limit, to_db(now)),
    )
    state = await get_mentor(conn, guild_id, user_id)
    assert state is not None
    return state


async def get_mentor(conn: Connection, guild_id: int, user_id: int) -> MentorState | None:
    """A mentor's state, if they ever held a badge in the class."""
    row = await first_row(
        conn, "SELECT * FROM mentors WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    return _mentor(row) if row else None


async def mark_brief_sent(conn: Connection, guild_id: int, user_id: int, now: datetime) -> None:
    """Remember that the brief went out, so it is not sent again on the next badge."""
    await conn.execute(
        "UPDATE mentors SET brief_sent_at = ? WHERE guild_id = ? AND user_id = ?",
        (to_db(now), guild_id, user_id),
    )


async def acknowledge_brief(conn: Connection, guild_id: int, user_id: int, now: datetime) -> bool:
    """Record "I've read this"; False if it was already acknowledged."""
    cur = await conn.execute(
        "UPDATE mentors SET brief_acknowledged_at = ?"
        " WHERE guild_id = ? AND user_id = ? AND brief_acknowledged_at IS NULL",
        (to_db(now), guild_id, user_id),
    )
    return cur.rowcount == 1


async def set_available_until(
    conn: Connection, guild_id: int, user_id: int, until: datetime | None
) -> None:
    """Switch availability on until a time, or off (None)."""
    await conn.execute(
        "UPDATE mentors SET available_until = ? WHERE guild_id = ? AND user_id = ?",
        (until and to_db(until), guild_id, user_id),
    )


# What fair matching weighs for each current badge holder ``m``/``b`` of a subject; params
# :student, :week_start and :recent. Shared with the ask's one read (db/help_requests.py).
CANDIDATE_COLUMNS = """
       m.user_id AS user_id, m.available_until AS available_until,
       m.brief_acknowledged_at AS brief_acknowledged_at, m.session_limit AS session_limit,
       b.granted_at AS granted_at, b.aspect AS aspect,
       (SELECT COUNT(*) FROM help_requests r INDEXED BY help_requests_mentor_open
         WHERE r.guild_id = m.guild_id AND r.mentor_id = m.user_id
           AND r.state IN ('offered', 'active')) AS active_sessions,
       (SELECT COUNT(*) FROM help_requests r
         WHERE r.guild_id = m.guild_id AND r.mentor_id = m.user_id
           AND r.accepted_at >= :week_start
           AND r.state IN ('active', 'resolved')) AS sessions_this_week,
       (SELECT MAX(r.closed_at) FROM help_requests r
         INDEXED BY help_requests_mentor_last_end
         WHERE r.guild_id = m.guild_id AND r.mentor_id = m.user_id
           AND r.accepted_at IS NOT NULL) AS last_session_end,
       EXISTS (SELECT 1 FROM help_requests r
         WHERE r.guild_id = m.guild_id AND r.mentor_id = m.user_id
           AND r.student_id = :student AND r.accepted_at >= :recent) AS helped_recently,
       EXISTS (SELECT 1 FROM lessons l
         JOIN lesson_mentors lm ON lm.lesson_id = l.id AND lm.user_id = m.user_id
         WHERE l.guild_id = m.guild_id AND l.subject_id = b.subject_id
           AND l.ended_at IS NULL) AS in_lesson"""


_CANDIDATE_FIELDS = (
    "user_id",
    "available_until",
    "brief_acknowledged_at",
    "active_sessions",
    "session_limit",
    "sessions_this_week",
    "last_session_end",
    "granted_at",
    "helped_recently",
    "aspect",
    "in_lesson",
)


def candidates(rows: Sequence[Any], now: datetime) -> list[MentorCandidate]:
    """Matching candidates from rows with :data:`CANDIDATE_COLUMNS` (rows without a mentor,
    as a LEFT JOIN gives, are skipped).

    Every ask reads all of its subject's mentors, so this runs per candidate per ask: the
    columns are found by name once per query (a row's lookup by name compares every column's
    name), and ``now`` is formatted once.
    """
    if not rows:
        return []
    where = {name: n for n, name in enumerate(rows[0].keys())}
    user, until, brief, active, limit, week, last_end, granted, helped, aspect, lesson = (
        where[name] for name in _CANDIDATE_FIELDS
    )
    now_db = to_db(now)
    return [
        MentorCandidate(
            user_id=row[user],
            available=row[until] is not None and row[until] > now_db,
            acknowledged_brief=row[brief] is not None,
            active_sessions=row[active],
            session_limit=row[limit],
            sessions_this_week=row[week],
            idle_since=from_db(max(filter(None, (row[last_end], row[granted])))),
            helped_asker_recently=bool(row[helped]),
            badge_aspect=row[aspect],
            in_lesson=bool(row[lesson]),
        )
        for row in rows
        if row[user] is not None
    ]


async def mentor_candidates(
    conn: Connection,
    *,
    guild_id: int,
    subject_id: int,
    student_id: int,
    now: datetime,
    week_start: datetime,
    recent_since: datetime,
) -> list[MentorCandidate]:
    """Everyone holding a current badge for the subject, with what fair matching weighs.

    One query: a hop to the database thread per candidate would add up while a student waits.
    Each per-mentor figure reads an index bounded by what it counts (open sessions, this week's,
    recent ones; one seek for the last session's end), so the cost does not grow with history.
    """
    rows = await conn.execute_fetchall(
        f"SELECT {CANDIDATE_COLUMNS}"
        " FROM badges b JOIN mentors m ON m.guild_id = b.guild_id AND m.user_id = b.user_id"
        " WHERE b.guild_id = :guild AND b.subject_id = :subject AND b.ended_at IS NULL",
        {
            "guild": guild_id,
            "subject": subject_id,
            "student": student_id,
            "week_start": to_db(week_start),
            "recent": to_db(recent_since),
        },
    )
    return candidates(list(rows), now)


async def help_counts(conn: Connection, guild_id: int, user_id: int) -> tuple[int, int]:
    """(sessions given as mentor, sessions received as student) that were confirmed."""
    row = await first_row(
        conn,
        "SELECT"
        " (SELECT COUNT(*) FROM help_requests WHERE guild_id = :g AND mentor_id = :u"
        "   AND state = 'resolved'),"
        " (SELECT COUNT(*) FROM help_requests WHERE guild_id = :g AND student_id = :u"
        "   AND state = 'resolved')",
        {"g": guild_id, "u": user_id},
    )
    assert row is not None
    return int(row[0]), int(row[1])


async def award_summary(
    conn: Connection, guild_id: int, user_id: int, *, include_private: bool
) -> list[tuple[str, int]]:
    """(award kind, how many) for a student's awards that were not undone."""
    query = (
        "SELECT kind, COUNT(*) FROM awards WHERE guild_id = ? AND user_id = ? AND undone_at IS NULL"
    )
    if not include_private:
        query += " AND private = 0"
    return [
        (str(row[0]), int(row[1]))
        for row in await conn.execute_fetchall(
            query + " GROUP BY kind ORDER BY kind", (guild_id, user_id)
        )
    ]


async def badges_for_role(conn: Connection, guild_id: int, role_id: int) -> list[Badge]:
    """Current badges whose subject's badge role is ``role_id``."""
    return [
        _badge(row)
        for row in await conn.execute_fetchall(
            f"{_BADGE_SELECT} WHERE b.guild_id = ? AND s.role_id = ? AND b.ended_at IS NULL",
            (guild_id, role_id),
        )
    ]


async def mentor_states(conn: Connection, guild_id: int) -> dict[int, MentorState]:
    """Every mentor's state in a class, by user id."""
    return {
        row["user_id"]: _mentor(row)
        for row in await conn.execute_fetchall(
            "SELECT * FROM mentors WHERE guild_id = ?", (guild_id,)
        )
    }
