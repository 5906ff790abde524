"""SQL for lessons and their mentors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.insights import RequestFacts
from bot.domain.lessons import Lesson, LessonCounts
from db.engine import Connection
from db.rows import first_row
from db.timefmt import from_db, opt_from_db, to_db

_SELECT = "SELECT l.*, s.name AS subject_name FROM lessons l JOIN subjects s ON s.id = l.subject_id"


def _lesson(row: Any) -> Lesson:
    return Lesson(
        id=row["id"],
        guild_id=row["guild_id"],
        subject_id=row["subject_id"],
        subject_name=row["subject_name"],
        aspect=row["aspect"],
        started_by=row["started_by"],
        started_at=from_db(row["started_at"]),
        ends_at=opt_from_db(row["ends_at"]),
        ended_at=opt_from_db(row["ended_at"]),
        panel_channel_id=row["panel_channel_id"],
        panel_message_id=row["panel_message_id"],
        prize_due_at=opt_from_db(row["prize_due_at"]),
        prize_decided_at=opt_from_db(row["prize_decided_at"]),
    )


async def open_lesson(conn: Connection, guild_id: int) -> Lesson | None:
    """The class's open lesson, if any."""
    row = await first_row(
        conn, f"{_SELECT} WHERE l.guild_id = ? AND l.ended_at IS NULL", (guild_id,)
    )
    return _lesson(row) if row else None


async def get_lesson(conn: Connection, lesson_id: int) -> Lesson | None:
    """A lesson by id."""
    row = await first_row(conn, f"{_SELECT} WHERE l.id = ?", (lesson_id,))
    return _lesson(row) if row else None


async def last_panel(conn: Connection, guild_id: int) -> tuple[int, int] | None:
    """(channel, message) of the newest help panel a lesson posted in this class."""
    row = await first_row(
        conn,
        "SELECT panel_channel_id, panel_message_id FROM lessons WHERE guild_id = ?"
        " AND panel_message_id IS NOT NULL ORDER BY id DESC LIMIT 1",
        (guild_id,),
    )
    return (int(row[0]), int(row[1])) if row else None


async def insert_lesson(
    conn: Connection,
    *,
    guild_id: int,
    subject_id: int,
    aspect: str | None,
    started_by: int,
    now: datetime,
    ends_at: datetime | None,
) -> int:
    """A new open lesson (``IntegrityError`` when one is already open)."""
    rows = await conn.execute_fetchall(
        "INSERT INTO lessons (guild_id, subject_id, aspect, started_by, started_at, ends_at)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (guild_id, subject_id, aspect, started_by, to_db(now), ends_at and to_db(ends_at)),
    )
    return int(next(iter(rows))[0])


async def add_mentor(conn: Connection, lesson_id: int, user_id: int, badge_id: int | None) -> None:
    """Name a lesson mentor (and the lesson badge given for the lesson, if any)."""
    await conn.execute(
        "INSERT INTO lesson_mentors (lesson_id, user_id, badge_id) VALUES (?, ?, ?)"
        " ON CONFLICT (lesson_id, user_id) DO UPDATE SET badge_id = excluded.badge_id",
        (lesson_id, user_id, badge_id),
    )


async def mentors(conn: Connection, lesson_id: int) -> list[tuple[int, int | None]]:
    """(user id, lesson badge id) of a lesson's mentors, in the order named."""
    return [
        (int(r[0]), r[1])
        for r in await conn.execute_fetchall(
            "SELECT user_id, badge_id FROM lesson_mentors WHERE lesson_id = ? ORDER BY rowid",
            (lesson_id,),
        )
    ]


async def set_panel(conn: Connection, lesson_id: int, channel_id: int, message_id: int) -> None:
    """Remember the help panel the lesson posted or refreshed."""
    await conn.execute(
        "UPDATE lessons SET panel_channel_id = ?, panel_message_id = ? WHERE id = ?",
        (channel_id, message_id, lesson_id),
    )


async def end_lesson(
    conn: Connection,
    lesson_id: int,
    now: datetime,
    by: int | None,
    prize_due_at: datetime,
) -> bool:
    """Close an open lesson (its prizes due at ``prize_due_at``); False if it had already
    ended (the conditional update lost)."""
    cur = await conn.execute(
        "UPDATE lessons SET ended_at = ?, ended_by = ?, celebration = 'pending',"
        " prize_due_at = ? WHERE id = ? AND ended_at IS NULL",
        (to_db(now), by, to_db(prize_due_at), lesson_id),
    )
    return cur.rowcount == 1


async def claim_prize_decision(conn: Connection, lesson_id: int, now: datetime) -> bool:
    """Decide an ended lesson's prizes: True for the one caller that wins the conditional update
    (a deadline, the teacher and a quiz import racing, in any process), which also queues the
    prize post."""
    cur = await conn.execute(
        "UPDATE lessons SET prize_decided_at = ?, prize_post = 'pending'"
        " WHERE id = ? AND ended_at IS NOT NULL AND prize_decided_at IS NULL",
        (to_db(now), lesson_id),
    )
    return cur.rowcount == 1


async def waiting_prizes(conn: Connection) -> list[Lesson]:
    """Ended lessons whose prizes wait for the quiz, to rebuild their deadlines at start-up."""
    rows = await conn.execute_fetchall(
        f"{_SELECT} WHERE l.ended_at IS NOT NULL AND l.prize_decided_at IS NULL"
        " ORDER BY l.prize_due_at"
    )
    return [_lesson(r) for r in rows]


async def waiting_prize(conn: Connection, guild_id: int) -> Lesson | None:
    """The class's ended lesson whose prizes still wait for the quiz, if any (the newest)."""
    rows = await conn.execute_fetchall(
        f"{_SELECT} WHERE l.guild_id = ? AND l.ended_at IS NOT NULL"
        " AND l.prize_decided_at IS NULL ORDER BY l.id DESC LIMIT 1",
        (guild_id,),
    )
    return next((_lesson(r) for r in rows), None)


async def quiz_recorded_after_end(conn: Connection, lesson: Lesson) -> bool:
    """Whether a score for the lesson's subject was recorded after it ended, within its window."""
    assert lesson.ended_at is not None and lesson.prize_due_at is not None
    rows = await conn.execute_fetchall(
        "SELECT 1 FROM scores WHERE guild_id = ? AND subject_id = ?"
        " AND recorded_at > ? AND recorded_at <= ? LIMIT 1",
        (lesson.guild_id, lesson.subject_id, to_db(lesson.ended_at), to_db(lesson.prize_due_at)),
    )
    return bool(list(rows))


async def pending_prize_posts(conn: Connection) -> list[Lesson]:
    """Lessons whose decided prizes still have to be posted."""
    rows = await conn.execute_fetchall(f"{_SELECT} WHERE l.prize_post = 'pending' ORDER BY l.id")
    return [_lesson(r) for r in rows]


async def is_prize_post_pending(conn: Connection, lesson_id: int) -> bool:
    """Whether the lesson's decided prizes still have to be posted."""
    rows = await conn.execute_fetchall(
        "SELECT 1 FROM lessons WHERE id = ? AND prize_post = 'pending'", (lesson_id,)
    )
    return bool(list(rows))


async def mark_prize_posted(conn: Connection, lesson_id: int, message_id: int | None) -> bool:
    """The decided prizes went out (in their own post, or in the celebration): never again."""
    cur = await conn.execute(
        "UPDATE lessons SET prize_post = 'posted', prize_message_id = ?"
        " WHERE id = ? AND prize_post = 'pending'",
        (message_id, lesson_id),
    )
    return cur.rowcount == 1


async def ending_lessons(conn: Connection) -> list[Lesson]:
    """Every open lesson with an end time, to rebuild the timers at start-up."""
    return [
        _lesson(r)
        for r in await conn.execute_fetchall(
            f"{_SELECT} WHERE l.ended_at IS NULL AND l.ends_at IS NOT NULL ORDER BY l.ends_at"
        )
    ]


async def counts(conn: Connection, lesson: Lesson, until: datetime | None = None) -> LessonCounts:
    """Requests filed for the lesson's subject during it, sessions confirmed, students helped."""
    end = to_db(until or lesson.ended_at or datetime.max.replace(tzinfo=lesson.started_at.tzinfo))
    row = await first_row(
        conn,
        "SELECT COUNT(*),"
        " COALESCE(SUM(CASE WHEN state = 'resolved' THEN 1 ELSE 0 END), 0),"
        " COUNT(DISTINCT CASE WHEN state = 'resolved' THEN student_id END)"
        " FROM help_requests WHERE guild_id = ? AND subject_id = ?"
        " AND created_at >= ? AND created_at <= ?",
        (lesson.guild_id, lesson.subject_id, to_db(lesson.started_at), end),
    )
    assert row is not None
    return LessonCounts(int(row[0]), int(row[1]), int(row[2]))


async def pending_celebrations(conn: Connection) -> list[Lesson]:
    """Ended lessons whose celebration post has not gone out yet."""
    return [
        _lesson(r)
        for r in await conn.execute_fetchall(
            f"{_SELECT} WHERE l.celebration = 'pending' ORDER BY l.id"
        )
    ]


async def is_celebration_pending(conn: Connection, lesson_id: int) -> bool:
    """Whether the lesson's celebration still has to be posted."""
    return (
        await first_row(
            conn, "SELECT 1 FROM lessons WHERE id = ? AND celebration = 'pending'", (lesson_id,)
        )
        is not None
    )


async def mark_celebrated(conn: Connection, lesson_id: int, message_id: int | None) -> bool:
    """The celebration went out (conditional: only the first marker wins)."""
    cur = await conn.execute(
        "UPDATE lessons SET celebration = 'posted', celebration_message_id = ?"
        " WHERE id = ? AND celebration = 'pending'",
        (message_id, lesson_id),
    )
    return cur.rowcount == 1


async def delete_lesson(conn: Connection, lesson_id: int) -> None:
    """Remove a lesson that never really started (its mentors go with it)."""
    await conn.execute("DELETE FROM lessons WHERE id = ?", (lesson_id,))


async def lesson_sessions(
    conn: Connection, lesson: Lesson, until: datetime
) -> list[tuple[int, int, datetime]]:
    """(student, mentor, accepted at) of the sessions confirmed in the lesson's subject during it."""
    return [
        (int(r[0]), int(r[1]), from_db(r[2]))
        for r in await conn.execute_fetchall(
            "SELECT student_id, mentor_id, accepted_at FROM help_requests"
            " WHERE guild_id = ? AND subject_id = ? AND state = 'resolved' AND mentor_id IS NOT NULL"
            " AND accepted_at >= ? AND accepted_at <= ? ORDER BY accepted_at",
            (lesson.guild_id, lesson.subject_id, to_db(lesson.started_at), to_db(until)),
        )
    ]


async def lesson_assessment(
    conn: Connection, lesson: Lesson, until: datetime
) -> tuple[int, str] | None:
    """(id, name) of the assessment whose scores were recorded during the lesson, newest first."""
    row = await first_row(
        conn,
        "SELECT a.id, a.name FROM scores s JOIN assessments a ON a.id = s.assessment_id"
        " WHERE s.guild_id = ? AND s.subject_id = ? AND s.recorded_at BETWEEN ? AND ?"
        " ORDER BY s.recorded_at DESC, s.id DESC LIMIT 1",
        (lesson.guild_id, lesson.subject_id, to_db(lesson.started_at), to_db(until)),
    )
    return (int(row[0]), str(row[1])) if row else None


async def assessment_percents(conn: Connection, assessment_id: int) -> dict[int, float]:
    """Each student's percentage on one assessment."""
    return {
        int(r[0]): float(r[1])
        for r in await conn.execute_fetchall(
            "SELECT user_id, 100.0 * score / out_of FROM scores WHERE assessment_id = ?",
            (assessment_id,),
        )
    }


async def add_prize(
    conn: Connection,
    lesson_id: int,
    kind: str,
    mentor_id: int,
    mentee_id: int,
    gain: float | None,
) -> None:
    """Record one prize row (a pair, or one member of a winning group)."""
    await conn.execute(
        "INSERT INTO lesson_prizes (lesson_id, kind, mentor_id, mentee_id, gain)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (lesson_id, kind, mentor_id, mentee_id, gain),
    )


async def prizes(conn: Connection, lesson_id: int) -> list[tuple[str, int, int, float | None]]:
    """(kind, mentor, mentee or member, gain) of a lesson's prizes."""
    return [
        (str(r[0]), int(r[1]), int(r[2]), r[3])
        for r in await conn.execute_fetchall(
            "SELECT kind, mentor_id, mentee_id, gain FROM lesson_prizes WHERE lesson_id = ?"
            " ORDER BY kind, gain DESC NULLS LAST, mentor_id, rowid",
            (lesson_id,),
        )
    ]


async def is_mentor(conn: Connection, lesson_id: int, user_id: int) -> bool:
    """Whether the person is one of the lesson's mentors."""
    return (
        await first_row(
            conn,
            "SELECT 1 FROM lesson_mentors WHERE lesson_id = ? AND user_id = ?",
            (lesson_id, user_id),
        )
        is not None
    )


async def save_answers(
    conn: Connection, lesson_id: int, user_id: int, hard: str, helped: str, now: datetime
) -> None:
    """A lesson mentor's meeting answers (answering again replaces them)."""
    await conn.execute(
        "INSERT INTO meeting_answers (lesson_id, user_id, hard, helped, answered_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (lesson_id, user_id) DO UPDATE SET"
        " hard = excluded.hard, helped = excluded.helped, answered_at = excluded.answered_at",
        (lesson_id, user_id, hard, helped, to_db(now)),
    )


async def answers(conn: Connection, lesson_id: int) -> list[tuple[int, str, str]]:
    """(mentor, what was hard, what helped) of a lesson's meeting, in answer order."""
    return [
        (int(r[0]), str(r[1]), str(r[2]))
        for r in await conn.execute_fetchall(
            "SELECT user_id, hard, helped FROM meeting_answers WHERE lesson_id = ?"
            " ORDER BY answered_at, user_id",
            (lesson_id,),
        )
    ]


async def latest_lesson(conn: Connection, guild_id: int) -> Lesson | None:
    """The class's open lesson, or else the one that ended last."""
    row = await first_row(
        conn,
        f"{_SELECT} WHERE l.guild_id = ? ORDER BY l.ended_at IS NOT NULL, l.id DESC LIMIT 1",
        (guild_id,),
    )
    return _lesson(row) if row else None


async def save_debrief(
    conn: Connection, request_id: int, mentor_id: int, text: str, now: datetime
) -> bool:
    """A mentor's note after a session; False if one was already written (one per session)."""
    cur = await conn.execute(
        "INSERT INTO session_debriefs (request_id, mentor_id, text, created_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (request_id, mentor_id, text, to_db(now)),
    )
    return cur.rowcount == 1


async def request_facts(
    conn: Connection,
    guild_id: int,
    subject_id: int,
    since: datetime | None,
    until: datetime | None,
) -> list[RequestFacts]:
    """A subject's help requests filed in a window, with any mentor's note (no student ids)."""
    return [
        RequestFacts(
            topic=r[0],
            aspect=r[1],
            state=r[2],
            created_at=from_db(r[3]),
            accepted_at=opt_from_db(r[4]),
            rating=r[5],
            debrief=r[6],
        )
        for r in await conn.execute_fetchall(
            "SELECT h.topic, h.aspect, h.state, h.created_at, h.accepted_at, h.rating, d.text"
            " FROM help_requests h LEFT JOIN session_debriefs d ON d.request_id = h.id"
            " WHERE h.guild_id = ? AND h.subject_id = ?"
            " AND (CAST(? AS TEXT) IS NULL OR h.created_at >= ?)"
            " AND (CAST(? AS TEXT) IS NULL OR h.created_at < ?)"
            " ORDER BY h.created_at",
            (
                guild_id,
                subject_id,
                *(2 * [since and to_db(since)]),
                *(2 * [until and to_db(until)]),
            ),
        )
    ]
