"""SQL for the teacher's reports: letters home, the gradebook export and the letter template."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.points import AwardKind
from db.engine import Connection
from db.privacy import ANONYMOUS_ID
from db.rows import first_row
from db.timefmt import from_db, to_db


@dataclass(frozen=True)
class MentoringStats:
    """A mentor's confirmed sessions in a period."""

    sessions_given: int
    rating_total: int
    rated: int
    subjects: tuple[str, ...]

    @property
    def average_rating(self) -> float | None:
        """The mean rating students gave, or ``None`` if none was rated."""
        return self.rating_total / self.rated if self.rated else None


@dataclass(frozen=True)
class AwardRow:
    """An award that stands (not undone)."""

    user_id: int
    kind: AwardKind
    reason: str
    points: int
    private: bool
    awarded_at: datetime


@dataclass(frozen=True)
class LetterTemplate:
    """A class's greeting and sign-off for letters home."""

    greeting: str
    sign_off: str


def _window(column: str, start: datetime | None, end: datetime | None) -> tuple[str, list[object]]:
    clauses: list[str] = []
    params: list[object] = []
    if start is not None:
        clauses.append(f"{column} >= ?")
        params.append(to_db(start))
    if end is not None:
        clauses.append(f"{column} < ?")
        params.append(to_db(end))
    return "".join(f" AND {c}" for c in clauses), params


async def mentoring_stats(
    conn: Connection, guild_id: int, start: datetime | None, end: datetime | None
) -> dict[int, MentoringStats]:
    """Per mentor: confirmed sessions closed in ``[start, end)``, ratings and subjects."""
    where, params = _window("h.closed_at", start, end)
    rows = await conn.execute_fetchall(
        "SELECT h.mentor_id, COUNT(*), COALESCE(SUM(h.rating), 0), COUNT(h.rating),"
        " GROUP_CONCAT(DISTINCT s.name) FROM help_requests h JOIN subjects s"
        " ON s.id = h.subject_id WHERE h.guild_id = ? AND h.state = 'resolved'"
        f" AND h.mentor_id IS NOT NULL AND h.mentor_id <> ?{where} GROUP BY h.mentor_id",
        [guild_id, ANONYMOUS_ID, *params],
    )
    return {
        int(row[0]): MentoringStats(
            sessions_given=int(row[1]),
            rating_total=int(row[2]),
            rated=int(row[3]),
            subjects=tuple(sorted(str(row[4]).split(","), key=str.casefold)) if row[4] else (),
        )
        for row in rows
    }


async def sessions_received(
    conn: Connection, guild_id: int, start: datetime | None, end: datetime | None
) -> dict[int, int]:
    """Per student: confirmed sessions they received, closed in ``[start, end)``."""
    where, params = _window("closed_at", start, end)
    return {
        int(row[0]): int(row[1])
        for row in await conn.execute_fetchall(
            "SELECT student_id, COUNT(*) FROM help_requests WHERE guild_id = ? AND state = 'resolved'"
            f" AND student_id <> ?{where} GROUP BY student_id",
            [guild_id, ANONYMOUS_ID, *params],
        )
    }


async def awards_between(
    conn: Connection,
    guild_id: int,
    start: datetime | None,
    end: datetime | None,
    user_id: int | None = None,
) -> list[AwardRow]:
    """Awards that stand, given in ``[start, end)``, oldest first (optionally one student's)."""
    where, params = _window("awarded_at", start, end)
    if user_id is not None:
        where += " AND user_id = ?"
        params.append(user_id)
    return [
        AwardRow(
            user_id=int(row[0]),
            kind=AwardKind(row[1]),
            reason=str(row[2]),
            points=int(row[3]),
            private=bool(row[4]),
            awarded_at=from_db(row[5]),
        )
        for row in await conn.execute_fetchall(
            "SELECT user_id, kind, reason, points, private, awarded_at FROM awards"
            f" WHERE guild_id = ? AND undone_at IS NULL{where} ORDER BY awarded_at, id",
            [guild_id, *params],
        )
    ]


async def class_members_with_records(conn: Connection, guild_id: int) -> set[int]:
    """Everyone the class has a record of: mentors, students who asked, award winners."""
    found = {
        int(row[0])
        for row in await conn.execute_fetchall(
            "SELECT user_id FROM ledger WHERE guild_id = :g"
            " UNION SELECT student_id FROM help_requests WHERE guild_id = :g"
            " UNION SELECT mentor_id FROM help_requests WHERE guild_id = :g AND mentor_id IS NOT NULL"
            " UNION SELECT user_id FROM awards WHERE guild_id = :g"
            " UNION SELECT user_id FROM badges WHERE guild_id = :g",
            {"g": guild_id},
        )
    }
    found.discard(ANONYMOUS_ID)
    return found


async def get_letter_template(conn: Connection, guild_id: int) -> LetterTemplate | None:
    """The class's own greeting and sign-off, if a teacher set them."""
    row = await first_row(
        conn, "SELECT greeting, sign_off FROM letter_templates WHERE guild_id = ?", (guild_id,)
    )
    return LetterTemplate(str(row[0]), str(row[1])) if row else None


async def set_letter_template(
    conn: Connection,
    guild_id: int,
    template: LetterTemplate,
    teacher_id: int,
    now: datetime,
) -> None:
    """Store the class's greeting and sign-off (replacing the previous ones)."""
    await conn.execute(
        "INSERT INTO letter_templates (guild_id, greeting, sign_off, updated_by, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET greeting = excluded.greeting,"
        " sign_off = excluded.sign_off, updated_by = excluded.updated_by,"
        " updated_at = excluded.updated_at",
        (guild_id, template.greeting, template.sign_off, teacher_id, to_db(now)),
    )
