"""SQL for the teacher dashboard and the projector view: read-only summaries and projector links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from db.engine import Connection
from db.privacy import ANONYMOUS_ID
from db.rows import first_row
from db.timefmt import from_db, to_db

_WAITING = "('queued', 'offered')"


@dataclass(frozen=True)
class WaitingRequest:
    """A request nobody is helping with yet: its subject and since when it waits (no name)."""

    subject: str
    queued_at: datetime


@dataclass(frozen=True)
class MentorActivity:
    """A mentor's confirmed sessions in a period."""

    user_id: int
    sessions: int
    rated: int
    rating_total: int
    classmates: int  # distinct classmates helped

    @property
    def average_rating(self) -> float | None:
        """The mean rating, or ``None`` when no session was rated."""
        return self.rating_total / self.rated if self.rated else None


@dataclass(frozen=True)
class SubjectDemand:
    """How much help a subject needed in a period."""

    subject: str
    requests: int
    confirmed: int


@dataclass(frozen=True)
class LedgerLine:
    """One entry of the points ledger."""

    user_id: int
    points: int
    reason: str
    subject: str | None
    created_at: datetime


async def confirmed_sessions(
    conn: Connection, guild_id: int, start: datetime, end: datetime
) -> int:
    """Sessions the student confirmed, closed in ``[start, end)``."""
    row = await first_row(
        conn,
        "SELECT COUNT(*) FROM help_requests WHERE guild_id = ? AND state = 'resolved'"
        " AND closed_at >= ? AND closed_at < ?",
        (guild_id, to_db(start), to_db(end)),
    )
    return int(row[0]) if row else 0


async def waiting_requests(conn: Connection, guild_id: int) -> list[WaitingRequest]:
    """Requests waiting for a mentor (queued, or offered and not yet accepted), oldest first."""
    return [
        WaitingRequest(str(r[0]), from_db(r[1]))
        for r in await conn.execute_fetchall(
            "SELECT s.name, h.queued_at FROM help_requests h JOIN subjects s ON s.id = h.subject_id"
            f" WHERE h.guild_id = ? AND h.state IN {_WAITING} ORDER BY h.queued_at",
            (guild_id,),
        )
    ]


async def available_mentors(
    conn: Connection, guild_id: int, now: datetime
) -> dict[int, tuple[str, ...]]:
    """Mentors available right now, with the subjects they hold a current badge for."""
    rows = await conn.execute_fetchall(
        "SELECT m.user_id, GROUP_CONCAT(DISTINCT s.name) FROM mentors m"
        " JOIN badges b ON b.guild_id = m.guild_id AND b.user_id = m.user_id"
        " AND b.ended_at IS NULL JOIN subjects s ON s.id = b.subject_id"
        " WHERE m.guild_id = ? AND m.available_until > ? GROUP BY m.user_id",
        (guild_id, to_db(now)),
    )
    return {
        int(r[0]): tuple(sorted(str(r[1]).split(","), key=str.casefold)) if r[1] else ()
        for r in rows
    }


async def mentor_activity(
    conn: Connection, guild_id: int, start: datetime | None, end: datetime | None
) -> list[MentorActivity]:
    """Per mentor: confirmed sessions closed in the window, ratings, classmates helped."""
    where, params = _window("closed_at", start, end)
    return [
        MentorActivity(int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]))
        for r in await conn.execute_fetchall(
            "SELECT mentor_id, COUNT(*), COUNT(rating), COALESCE(SUM(rating), 0),"
            " COUNT(DISTINCT NULLIF(student_id, ?)) FROM help_requests"
            " WHERE guild_id = ? AND state = 'resolved' AND mentor_id IS NOT NULL"
            f" AND mentor_id <> ?{where} GROUP BY mentor_id ORDER BY COUNT(*) DESC, mentor_id",
            [ANONYMOUS_ID, guild_id, ANONYMOUS_ID, *params],
        )
    ]


async def subject_demand(
    conn: Connection, guild_id: int, start: datetime | None, end: datetime | None
) -> list[SubjectDemand]:
    """Per subject: requests made in the window and how many ended in a confirmed session."""
    where, params = _window("h.created_at", start, end)
    return [
        SubjectDemand(str(r[0]), int(r[1]), int(r[2] or 0))
        for r in await conn.execute_fetchall(
            "SELECT s.name, COUNT(*), SUM(CASE WHEN h.state = 'resolved' THEN 1 ELSE 0 END) FROM help_requests h"
            f" JOIN subjects s ON s.id = h.subject_id WHERE h.guild_id = ?{where}"
            " GROUP BY s.id ORDER BY COUNT(*) DESC, s.name",
            [guild_id, *params],
        )
    ]


async def recent_topics(
    conn: Connection, guild_id: int, since: datetime | None, limit: int = 200
) -> list[tuple[str, str]]:
    """(subject, topic) of requests since ``since`` that named a topic, newest first; no names."""
    where, params = _window("h.created_at", since, None)
    return [
        (str(r[0]), str(r[1]))
        for r in await conn.execute_fetchall(
            "SELECT s.name, h.topic FROM help_requests h JOIN subjects s ON s.id = h.subject_id"
            f" WHERE h.guild_id = ? AND h.topic <> ''{where} ORDER BY h.created_at DESC LIMIT ?",
            [guild_id, *params, limit],
        )
    ]


async def ledger_history(conn: Connection, guild_id: int, limit: int = 100) -> list[LedgerLine]:
    """The newest ledger entries of a class."""
    return [
        LedgerLine(int(r[0]), int(r[1]), str(r[2]), r[3], from_db(r[4]))
        for r in await conn.execute_fetchall(
            "SELECT l.user_id, l.points, l.reason, s.name, l.created_at FROM ledger l"
            " LEFT JOIN subjects s ON s.id = l.subject_id WHERE l.guild_id = ?"
            " ORDER BY l.id DESC LIMIT ?",
            (guild_id, limit),
        )
    ]


@dataclass(frozen=True)
class AspectResult:
    """How the class did on one aspect of a subject (assessments that name it)."""

    subject: str
    aspect: str
    scores: int
    average_percent: float


async def aspect_results(
    conn: Connection, guild_id: int, first: date | None, last: date | None
) -> list[AspectResult]:
    """Average score per (subject, aspect) for assessments taken on local days in the range,
    weakest first (only assessments recorded with an aspect count)."""
    clauses, params = "", []
    if first is not None:
        clauses += " AND sc.taken_on >= ?"
        params.append(first.isoformat())
    if last is not None:
        clauses += " AND sc.taken_on <= ?"
        params.append(last.isoformat())
    return [
        AspectResult(str(r[0]), str(r[1]), int(r[2]), float(r[3]))
        for r in await conn.execute_fetchall(
            "SELECT s.name, a.aspect, COUNT(*), AVG(sc.score * 100.0 / sc.out_of) FROM scores sc"
            " JOIN assessments a ON a.id = sc.assessment_id JOIN subjects s ON s.id = sc.subject_id"
            f" WHERE sc.guild_id = ? AND a.aspect IS NOT NULL{clauses}"
            " GROUP BY s.id, a.aspect ORDER BY AVG(sc.score * 100.0 / sc.out_of), s.name, a.aspect NULLS FIRST",
            [guild_id, *params],
        )
    ]


async def aspect_requests(
    conn: Connection, guild_id: int, start: datetime | None, end: datetime | None
) -> list[tuple[str, str, int]]:
    """(subject, aspect, requests) for help requests that named an aspect, most asked first."""
    where, params = _window("h.created_at", start, end)
    return [
        (str(r[0]), str(r[1]), int(r[2]))
        for r in await conn.execute_fetchall(
            "SELECT s.name, h.aspect, COUNT(*) FROM help_requests h JOIN subjects s"
            f" ON s.id = h.subject_id WHERE h.guild_id = ? AND h.aspect IS NOT NULL{where}"
            " GROUP BY s.id, h.aspect ORDER BY COUNT(*) DESC, s.name, h.aspect NULLS FIRST",
            [guild_id, *params],
        )
    ]


async def scores_version(conn: Connection, guild_id: int) -> str:
    """Changes whenever a class's scores or term dates change (a score added, re-recorded or
    removed): lets the projector skip recomputing gains after unrelated commits."""
    row = await first_row(
        conn,
        "SELECT COUNT(*), COALESCE(MAX(recorded_at), ''), COALESCE(SUM(score), 0),"
        " (SELECT COALESCE(term_start, '') || COALESCE(term_end, '') FROM classes"
        "  WHERE guild_id = :g) FROM scores WHERE guild_id = :g",
        {"g": guild_id},
    )
    return "|".join(str(value) for value in row) if row else ""


async def requests_version(conn: Connection, guild_id: int) -> str:
    """Changes whenever a class's help requests or mentors' debrief notes change (a new request,
    a step in one, a rating, a note, a privacy deletion)."""
    row = await first_row(
        conn,
        "SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(SUM(CASE WHEN state = 'resolved' THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(rating), 0), COALESCE(SUM(length(topic)), 0),"
        " (SELECT COUNT(*) FROM session_debriefs d JOIN help_requests r ON r.id = d.request_id"
        "  WHERE r.guild_id = :g) FROM help_requests WHERE guild_id = :g",
        {"g": guild_id},
    )
    return "|".join(str(value) for value in row) if row else ""


# -- projector links ---------------------------------------------------------------------------
async def replace_projector_link(
    conn: Connection, guild_id: int, token_hash: str, by: int, now: datetime
) -> int:
    """Revoke the class's live link (if any) and store a new one; returns how many were revoked."""
    revoked = await revoke_projector_links(conn, guild_id, by, now)
    await conn.execute(
        "INSERT INTO projector_links (guild_id, token_hash, created_by, created_at)"
        " VALUES (?, ?, ?, ?)",
        (guild_id, token_hash, by, to_db(now)),
    )
    return revoked


async def revoke_projector_links(conn: Connection, guild_id: int, by: int, now: datetime) -> int:
    """Revoke the class's live projector link; returns how many were live (0 or 1)."""
    cur = await conn.execute(
        "UPDATE projector_links SET revoked_at = ?, revoked_by = ?"
        " WHERE guild_id = ? AND revoked_at IS NULL",
        (to_db(now), by, guild_id),
    )
    return cur.rowcount


async def projector_class(conn: Connection, token_hash: str) -> int | None:
    """The class a live projector link shows, or ``None`` (unknown or revoked)."""
    row = await first_row(
        conn,
        "SELECT guild_id FROM projector_links WHERE token_hash = ? AND revoked_at IS NULL",
        (token_hash,),
    )
    return int(row[0]) if row else None


def _window(column: str, start: datetime | None, end: datetime | None) -> tuple[str, list[object]]:
    clauses: list[str] = []
    params: list[object] = []
    if start is not None:
        clauses.append(f" AND {column} >= ?")
        params.append(to_db(start))
    if end is not None:
        clauses.append(f" AND {column} < ?")
        params.append(to_db(end))
    return "".join(clauses), params
