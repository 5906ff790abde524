"""The privacy registry: for every table, how a person's rows are exported, deleted or anonymised.

One :class:`TableEntry` per table in the schema, in the order deletion must run (children before
the rows they point at). A table with no personal data still has an entry (with no steps), so
:func:`unregistered_tables` can tell a newly added table apart from one that was thought about:
a test fails until every table is registered.

Adding a table: write its entry here (``person_columns`` = every column that can hold a Discord
user id; ``export`` = what the person gets in `/privacy export`; ``erase`` = the statements that
delete or anonymise their rows; ``retention`` = what ages out after ``privacy.retention_days``).

SQL parameters: ``:g`` the class (guild) id, ``:u`` the person's user id, ``:anon`` the anonymous
placeholder (:data:`ANONYMOUS_ID`), ``:cutoff`` the retention cut-off instant.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from db.dialect import schema_tables_sql
from db.engine import Connection, engine_of_connection
from db.rows import first_row
from db.timefmt import to_db

# Discord never gives out snowflake 0: it stands for "a classmate who asked for their data to be
# deleted" in the records other people keep (a mentor's confirmed session keeps its credit).
ANONYMOUS_ID = 0

Effect = Literal["deleted", "anonymised"]
_OPEN_STATES = "('queued', 'offered', 'active')"
_CLOSED_STATES = "('resolved', 'cancelled', 'expired')"


@dataclass(frozen=True)
class Step:
    """One statement of a deletion or retention run, described in words a student understands."""

    effect: Effect
    what: str
    sql: str


@dataclass(frozen=True)
class TableEntry:
    """How one table treats a person's data."""

    table: str
    person_columns: tuple[str, ...] = ()
    # (section name in the export, SELECT returning only the person's own data: no other ids)
    export: tuple[tuple[str, str], ...] = ()
    erase: tuple[Step, ...] = ()
    retention: tuple[Step, ...] = ()
    # (label for /privacy show, SELECT COUNT(*) ...)
    shown: tuple[tuple[str, str], ...] = ()


_IN_CLASS_REQUESTS = "request_id IN (SELECT id FROM help_requests WHERE guild_id = :g)"

REGISTRY: tuple[TableEntry, ...] = (
    TableEntry(
        "ledger",
        person_columns=("user_id", "created_by"),
        export=(
            (
                "points",
                "SELECT l.points, l.reason, s.name AS subject, l.created_at FROM ledger l"
                " LEFT JOIN subjects s ON s.id = l.subject_id"
                " WHERE l.guild_id = :g AND l.user_id = :u ORDER BY l.id",
            ),
        ),
        erase=(
            Step(
                "deleted",
                "points entries",
                "DELETE FROM ledger WHERE guild_id = :g AND user_id = :u",
            ),
            Step(
                "anonymised",
                "points entries given to others",
                "UPDATE ledger SET created_by = NULL WHERE guild_id = :g AND created_by = :u",
            ),
        ),
        shown=(
            ("points entries", "SELECT COUNT(*) FROM ledger WHERE guild_id = :g AND user_id = :u"),
        ),
    ),
    TableEntry(
        # The leaderboard's running totals, kept by a trigger from the ledger: the student's
        # rows go with their ledger entries, so totals still equal the ledger's sums.
        "point_totals",
        person_columns=("user_id",),
        erase=(
            Step(
                "deleted",
                "leaderboard totals",
                "DELETE FROM point_totals WHERE guild_id = :g AND user_id = :u",
            ),
        ),
    ),
    TableEntry(
        "awards",
        person_columns=("user_id", "awarded_by", "undone_by"),
        export=(
            (
                "awards",
                "SELECT kind, reason, points, private, week_key, awarded_at, undone_at"
                " FROM awards WHERE guild_id = :g AND user_id = :u ORDER BY id",
            ),
        ),
        erase=(
            Step("deleted", "awards", "DELETE FROM awards WHERE guild_id = :g AND user_id = :u"),
            Step(
                "anonymised",
                "awards given",
                "UPDATE awards SET awarded_by = :anon WHERE guild_id = :g AND awarded_by = :u",
            ),
            Step(
                "anonymised",
                "awards taken back",
                "UPDATE awards SET undone_by = NULL WHERE guild_id = :g AND undone_by = :u",
            ),
        ),
        shown=(
            (
                "awards",
                "SELECT COUNT(*) FROM awards WHERE guild_id = :g AND user_id = :u"
                " AND undone_at IS NULL",
            ),
        ),
    ),
    TableEntry(
        "help_offers",
        person_columns=("mentor_id",),
        export=(
            (
                "help_offers_to_you",
                "SELECT o.request_id, o.offered_at, o.outcome, o.decided_at FROM help_offers o"
                " JOIN help_requests h ON h.id = o.request_id"
                " WHERE h.guild_id = :g AND o.mentor_id = :u ORDER BY o.id",
            ),
        ),
        erase=(
            Step(
                "deleted",
                "help offers received as a mentor",
                f"DELETE FROM help_offers WHERE mentor_id = :u AND {_IN_CLASS_REQUESTS}",
            ),
        ),
        retention=(
            Step(
                "deleted",
                "help offers",
                "DELETE FROM help_offers WHERE outcome IS NOT NULL AND decided_at < :cutoff",
            ),
        ),
    ),
    TableEntry(
        "help_events",
        person_columns=("actor_id",),
        export=(
            (
                "help_request_steps_you_took",
                "SELECT e.request_id, e.from_state, e.to_state, e.at FROM help_events e"
                " JOIN help_requests h ON h.id = e.request_id"
                " WHERE h.guild_id = :g AND e.actor_id = :u ORDER BY e.id",
            ),
        ),
        erase=(
            Step(
                "anonymised",
                "steps taken in help requests",
                f"UPDATE help_events SET actor_id = NULL WHERE actor_id = :u AND {_IN_CLASS_REQUESTS}",
            ),
        ),
        retention=(
            Step(
                "deleted",
                "help-request history",
                "DELETE FROM help_events WHERE at < :cutoff AND request_id IN"
                f" (SELECT id FROM help_requests WHERE state IN {_CLOSED_STATES})",
            ),
        ),
    ),
    TableEntry(
        # A mentor's private note after a session: the mentor's words about the student's help.
        "session_debriefs",
        person_columns=("mentor_id",),
        export=(
            (
                "session_debriefs_written",
                "SELECT d.text, d.created_at FROM session_debriefs d"
                " JOIN help_requests h ON h.id = d.request_id"
                " WHERE h.guild_id = :g AND d.mentor_id = :u ORDER BY d.created_at",
            ),
        ),
        erase=(
            Step(
                "deleted",
                "notes you wrote after helping",
                "DELETE FROM session_debriefs WHERE mentor_id = :u AND request_id IN"
                " (SELECT id FROM help_requests WHERE guild_id = :g)",
            ),
            Step(
                "deleted",
                "mentors' notes about sessions that helped you",
                "DELETE FROM session_debriefs WHERE request_id IN"
                " (SELECT id FROM help_requests WHERE guild_id = :g AND student_id = :u)",
            ),
        ),
        retention=(
            Step(
                "deleted",
                "mentors' notes after sessions",
                "DELETE FROM session_debriefs WHERE created_at < :cutoff",
            ),
        ),
        shown=(
            (
                "notes written after helping",
                "SELECT COUNT(*) FROM session_debriefs WHERE mentor_id = :u AND request_id IN"
                " (SELECT id FROM help_requests WHERE guild_id = :g)",
            ),
        ),
    ),
    TableEntry(
        # How sure a student felt before and after a session (self-reported): theirs alone.
        "help_confidence",
        export=(
            (
                "confidence",
                "SELECT c.request_id, c.before, c.after, c.before_at, c.after_at"
                " FROM help_confidence c JOIN help_requests h ON h.id = c.request_id"
                " WHERE h.guild_id = :g AND h.student_id = :u ORDER BY c.request_id",
            ),
        ),
        erase=(
            Step(
                "deleted",
                "how sure you felt before and after help",
                "DELETE FROM help_confidence WHERE request_id IN"
                " (SELECT id FROM help_requests WHERE guild_id = :g AND student_id = :u)",
            ),
        ),
        retention=(
            Step(
                "deleted",
                "confidence answers",
                "DELETE FROM help_confidence WHERE COALESCE(after_at, before_at) < :cutoff",
            ),
        ),
        shown=(
            (
                "confidence answers",
                "SELECT COUNT(*) FROM help_confidence c JOIN help_requests h"
                " ON h.id = c.request_id WHERE h.guild_id = :g AND h.student_id = :u",
            ),
        ),
    ),
    TableEntry(
        "scores",
        person_columns=("user_id", "recorded_by"),
        export=(
            (
                "scores",
                "SELECT su.name AS subject, a.name AS assessment, a.aspect, sc.score,"
                " sc.out_of, sc.taken_on FROM scores sc"
                " JOIN assessments a ON a.id = sc.assessment_id"
                " JOIN subjects su ON su.id = sc.subject_id"
                " WHERE sc.guild_id = :g AND sc.user_id = :u ORDER BY sc.taken_on, sc.id",
            ),
        ),
        erase=(
            Step(
                "deleted", "quiz scores", "DELETE FROM scores WHERE guild_id = :g AND user_id = :u"
            ),
            Step(
                "anonymised",
                "scores recorded as a teacher",
                "UPDATE scores SET recorded_by = :anon WHERE guild_id = :g AND recorded_by = :u",
            ),
        ),
        retention=(
            Step(
                "deleted",
                "quiz scores",
                "DELETE FROM scores WHERE taken_on < substr(:cutoff, 1, 10)",
            ),
        ),
        shown=(
            ("quiz scores", "SELECT COUNT(*) FROM scores WHERE guild_id = :g AND user_id = :u"),
        ),
    ),
    TableEntry(
        # Discord actions the help desk carried out (or still must). A finished one is only a
        # record; an unfinished one belongs to an open request, which blocks a deletion anyway.
        "help_outbox",
        erase=(
            Step(
                "deleted",
                "finished Discord deliveries about your help requests",
                "DELETE FROM help_outbox WHERE done_at IS NOT NULL AND (request_id IN"
                " (SELECT id FROM help_requests WHERE guild_id = :g"
                " AND (student_id = :u OR mentor_id = :u))"
                " OR (json_extract(payload, '$.user_id') = :u AND request_id IN"
                " (SELECT id FROM help_requests WHERE guild_id = :g)))",
            ),
        ),
        retention=(
            Step(
                "deleted",
                "finished Discord deliveries",
                "DELETE FROM help_outbox WHERE done_at IS NOT NULL AND done_at < :cutoff",
            ),
        ),
    ),
    TableEntry(
        "help_requests",
        person_columns=("student_id", "mentor_id", "closed_by"),
        export=(
            (
                "help_requests_you_made",
                "SELECT h.id, s.name AS subject, h.topic, h.state, h.created_at, h.closed_at,"
                " h.close_reason, h.rating FROM help_requests h JOIN subjects s"
                " ON s.id = h.subject_id WHERE h.guild_id = :g AND h.student_id = :u"
                " ORDER BY h.id",
            ),
            (
                "sessions_you_gave",
                "SELECT h.id, s.name AS subject, h.state, h.accepted_at, h.closed_at,"
                " h.close_reason, h.rating FROM help_requests h JOIN subjects s"
                " ON s.id = h.subject_id WHERE h.guild_id = :g AND h.mentor_id = :u"
                " ORDER BY h.id",
            ),
        ),
        erase=(
            Step(
                "deleted",
                "help requests made (no mentor was credited for them)",
                "DELETE FROM help_requests WHERE guild_id = :g AND student_id = :u AND id NOT IN"
                " (SELECT session_id FROM ledger WHERE reason = 'session'"
                " AND session_id IS NOT NULL)",
            ),
            Step(
                "anonymised",
                "help sessions received (the mentor keeps the credit; the name and topic "
                "are removed)",
                "UPDATE help_requests SET student_id = :anon, topic = '',"
                " closed_by = CASE WHEN closed_by = :u THEN NULL ELSE closed_by END"
                " WHERE guild_id = :g AND student_id = :u",
            ),
            Step(
                "anonymised",
                "help sessions given (classmates' records stay, without the name)",
                "UPDATE help_requests SET mentor_id = :anon,"
                " closed_by = CASE WHEN closed_by = :u THEN NULL ELSE closed_by END"
                " WHERE guild_id = :g AND mentor_id = :u",
            ),
            Step(
                "anonymised",
                "help requests closed",
                "UPDATE help_requests SET closed_by = NULL WHERE guild_id = :g AND closed_by = :u",
            ),
        ),
        retention=(
            Step(
                "anonymised",
                "old help requests (topic removed, no longer linked to the student)",
                "UPDATE help_requests SET topic = '', student_id = :anon, closed_by = NULL"
                f" WHERE state IN {_CLOSED_STATES} AND COALESCE(closed_at, created_at) < :cutoff"
                " AND (topic <> '' OR student_id <> :anon OR closed_by IS NOT NULL)",
            ),
        ),
        shown=(
            (
                "help requests made",
                "SELECT COUNT(*) FROM help_requests WHERE guild_id = :g AND student_id = :u",
            ),
            (
                "help sessions received (confirmed)",
                "SELECT COUNT(*) FROM help_requests WHERE guild_id = :g AND student_id = :u"
                " AND state = 'resolved'",
            ),
            (
                "help sessions given (confirmed)",
                "SELECT COUNT(*) FROM help_requests WHERE guild_id = :g AND mentor_id = :u"
                " AND state = 'resolved'",
            ),
        ),
    ),
    TableEntry(
        "badges",
        person_columns=("user_id", "granted_by", "ended_by"),
        export=(
            (
                "mentor_badges",
                "SELECT s.name AS subject, b.granted_at, b.expires_at, b.ended_at, b.end_reason"
                " FROM badges b JOIN subjects s ON s.id = b.subject_id"
                " WHERE b.guild_id = :g AND b.user_id = :u ORDER BY b.id",
            ),
        ),
        erase=(
            Step(
                "deleted",
                "mentor badges",
                "DELETE FROM badges WHERE guild_id = :g AND user_id = :u",
            ),
            Step(
                "anonymised",
                "badges granted",
                "UPDATE badges SET granted_by = :anon WHERE guild_id = :g AND granted_by = :u",
            ),
            Step(
                "anonymised",
                "badges ended",
                "UPDATE badges SET ended_by = NULL WHERE guild_id = :g AND ended_by = :u",
            ),
        ),
        shown=(
            (
                "mentor badges (current and past)",
                "SELECT COUNT(*) FROM badges WHERE guild_id = :g AND user_id = :u",
            ),
        ),
    ),
    TableEntry(
        "mentors",
        person_columns=("user_id",),
        export=(
            (
                "mentor_settings",
                "SELECT brief_sent_at, brief_acknowledged_at, available_until, session_limit,"
                " created_at FROM mentors WHERE guild_id = :g AND user_id = :u",
            ),
        ),
        erase=(
            Step(
                "deleted",
                "mentor settings (brief read, availability)",
                "DELETE FROM mentors WHERE guild_id = :g AND user_id = :u",
            ),
        ),
    ),
    TableEntry(
        "weekly_posts",
        person_columns=("suggested_user_id",),
        export=(
            (
                "tutor_of_the_week_suggestions",
                "SELECT week_key FROM weekly_posts WHERE guild_id = :g AND suggested_user_id = :u"
                " ORDER BY week_key",
            ),
        ),
        erase=(
            Step(
                "anonymised",
                "tutor-of-the-week suggestions (posts already sent stay as they are)",
                "UPDATE weekly_posts SET suggested_user_id = NULL"
                " WHERE guild_id = :g AND suggested_user_id = :u",
            ),
        ),
    ),
    TableEntry(
        "letter_templates",
        person_columns=("updated_by",),
        erase=(
            Step(
                "anonymised",
                "the letter template last changed",
                "UPDATE letter_templates SET updated_by = NULL WHERE guild_id = :g"
                " AND updated_by = :u",
            ),
        ),
    ),
    TableEntry(
        "classes",
        person_columns=("configured_by",),
        export=(
            (
                "class_set_up_by_you",
                "SELECT configured_at FROM classes WHERE guild_id = :g AND configured_by = :u",
            ),
        ),
        erase=(
            Step(
                "anonymised",
                "the class set-up",
                "UPDATE classes SET configured_by = NULL WHERE guild_id = :g"
                " AND configured_by = :u",
            ),
        ),
    ),
    TableEntry(
        "privacy_audit",
        person_columns=("teacher_id",),
        erase=(
            Step(
                "anonymised",
                "privacy requests made as a teacher",
                "UPDATE privacy_audit SET teacher_id = NULL WHERE guild_id = :g"
                " AND teacher_id = :u",
            ),
        ),
    ),
    TableEntry(
        # A lesson mentor's answers to the mentor meeting: theirs, read only by the teacher.
        "meeting_answers",
        person_columns=("user_id",),
        export=(
            (
                "mentor_meeting_answers",
                "SELECT s.name AS subject, l.aspect, a.hard, a.helped, a.answered_at"
                " FROM meeting_answers a JOIN lessons l ON l.id = a.lesson_id"
                " JOIN subjects s ON s.id = l.subject_id"
                " WHERE l.guild_id = :g AND a.user_id = :u ORDER BY a.answered_at",
            ),
        ),
        erase=(
            Step(
                "deleted",
                "mentor meeting answers",
                "DELETE FROM meeting_answers WHERE user_id = :u AND lesson_id IN"
                " (SELECT id FROM lessons WHERE guild_id = :g)",
            ),
        ),
        retention=(
            Step(
                "deleted",
                "mentor meeting answers",
                "DELETE FROM meeting_answers WHERE answered_at < :cutoff",
            ),
        ),
        shown=(
            (
                "mentor meeting answers",
                "SELECT COUNT(*) FROM meeting_answers WHERE user_id = :u AND lesson_id IN"
                " (SELECT id FROM lessons WHERE guild_id = :g)",
            ),
        ),
    ),
    TableEntry(
        # Lesson prizes name a mentor and a classmate (or a group's members).
        "lesson_prizes",
        person_columns=("mentor_id", "mentee_id"),
        export=(
            (
                "lesson_prizes",
                "SELECT p.kind, s.name AS subject, l.ended_at, p.gain FROM lesson_prizes p"
                " JOIN lessons l ON l.id = p.lesson_id JOIN subjects s ON s.id = l.subject_id"
                " WHERE l.guild_id = :g AND (p.mentor_id = :u OR p.mentee_id = :u)"
                " ORDER BY l.id",
            ),
        ),
        erase=(
            Step(
                "deleted",
                "lesson prizes",
                "DELETE FROM lesson_prizes WHERE (mentor_id = :u OR mentee_id = :u)"
                " AND lesson_id IN (SELECT id FROM lessons WHERE guild_id = :g)",
            ),
        ),
    ),
    TableEntry(
        # A lesson's mentors: who the teacher chose (the lesson badge itself lives in badges).
        "lesson_mentors",
        person_columns=("user_id",),
        export=(
            (
                "lessons_mentored",
                "SELECT s.name AS subject, l.aspect, l.started_at, l.ended_at"
                " FROM lesson_mentors m JOIN lessons l ON l.id = m.lesson_id"
                " JOIN subjects s ON s.id = l.subject_id"
                " WHERE l.guild_id = :g AND m.user_id = :u ORDER BY l.id",
            ),
        ),
        erase=(
            Step(
                "deleted",
                "lessons you mentored in",
                "DELETE FROM lesson_mentors WHERE user_id = :u AND lesson_id IN"
                " (SELECT id FROM lessons WHERE guild_id = :g)",
            ),
        ),
        shown=(
            (
                "lessons mentored",
                "SELECT COUNT(*) FROM lesson_mentors WHERE user_id = :u AND lesson_id IN"
                " (SELECT id FROM lessons WHERE guild_id = :g)",
            ),
        ),
    ),
    TableEntry(
        # A lesson names the teacher who started or ended it; nothing about students.
        "lessons",
        person_columns=("started_by", "ended_by"),
        erase=(
            Step(
                "anonymised",
                "lessons started as a teacher",
                "UPDATE lessons SET started_by = NULL WHERE guild_id = :g AND started_by = :u",
            ),
            Step(
                "anonymised",
                "lessons ended as a teacher",
                "UPDATE lessons SET ended_by = NULL WHERE guild_id = :g AND ended_by = :u",
            ),
        ),
    ),
    TableEntry(
        # A class goal names the teacher who set it; the figures are the class's, not a person's.
        "goals",
        person_columns=("set_by",),
        erase=(
            Step(
                "anonymised",
                "class goals set as a teacher",
                "UPDATE goals SET set_by = NULL WHERE guild_id = :g AND set_by = :u",
            ),
        ),
    ),
    TableEntry(
        "projector_links",
        person_columns=("created_by", "revoked_by"),
        erase=(
            Step(
                "anonymised",
                "projector links made",
                "UPDATE projector_links SET created_by = NULL WHERE guild_id = :g"
                " AND created_by = :u",
            ),
            Step(
                "anonymised",
                "projector links revoked",
                "UPDATE projector_links SET revoked_by = NULL WHERE guild_id = :g"
                " AND revoked_by = :u",
            ),
        ),
    ),
    # No personal data: subject names and the bot's own bookkeeping. Waiting shout-outs point at
    # an award (deleting the award deletes its row) and corrections at a posted message.
    TableEntry("shout_out_outbox"),
    TableEntry("assessments"),  # a quiz's name and aspect, no person
    TableEntry("shout_out_corrections"),
    TableEntry("queue_notices"),  # a count per subject, never who waits
    TableEntry("interaction_claims"),  # interaction ids only, gone after 15 minutes
    TableEntry("subjects"),
    TableEntry("bot_meta"),
)


@dataclass
class StepCount:
    """How many rows one step touched."""

    effect: Effect
    what: str
    rows: int


@dataclass
class Report:
    """What a deletion or retention run did, step by step (steps that touched nothing omitted)."""

    steps: list[StepCount] = field(default_factory=list)

    def of(self, effect: Effect) -> list[StepCount]:
        """The steps with this effect."""
        return [s for s in self.steps if s.effect == effect]

    def as_json(self) -> str:
        """Counts only (no ids), for the audit row."""
        summary: dict[str, dict[str, int]] = {"deleted": {}, "anonymised": {}}
        for step in self.steps:
            bucket = summary[step.effect]
            bucket[step.what] = bucket.get(step.what, 0) + step.rows
        return json.dumps(summary, sort_keys=True)


def entry(table: str) -> TableEntry:
    """The registry entry of a table."""
    for candidate in REGISTRY:
        if candidate.table == table:
            return candidate
    raise KeyError(table)


async def schema_tables(conn: Connection) -> list[str]:
    """Every table in the database (SQLite's own excluded)."""
    return [
        str(row[0])
        for row in await conn.execute_fetchall(schema_tables_sql(engine_of_connection(conn)))
    ]


async def unregistered_tables(conn: Connection) -> list[str]:
    """Tables that exist but have no registry entry: their personal data would be missed."""
    known = {e.table for e in REGISTRY}
    return [t for t in await schema_tables(conn) if t not in known]


def _params(guild_id: int, user_id: int) -> dict[str, Any]:
    return {"g": guild_id, "u": user_id, "anon": ANONYMOUS_ID}


async def export_sections(
    conn: Connection, guild_id: int, user_id: int
) -> dict[str, list[dict[str, Any]]]:
    """Every export section of every table, as lists of plain dicts."""
    sections: dict[str, list[dict[str, Any]]] = {}
    params = _params(guild_id, user_id)
    for table in REGISTRY:
        for name, sql in table.export:
            sections[name] = [dict(row) for row in await conn.execute_fetchall(sql, params)]
    return sections


async def counts(conn: Connection, guild_id: int, user_id: int) -> list[tuple[str, int]]:
    """(label, how many) for `/privacy show`, in registry order."""
    result = []
    params = _params(guild_id, user_id)
    for table in REGISTRY:
        for label, sql in table.shown:
            row = await first_row(conn, sql, params)
            result.append((label, int(row[0]) if row else 0))
    return result


async def has_data(conn: Connection, guild_id: int, user_id: int) -> bool:
    """Whether any registered column of this class holds the person's id."""
    params = _params(guild_id, user_id)
    for table in REGISTRY:
        for _name, sql in table.export:
            row = await first_row(conn, f"SELECT EXISTS ({sql})", params)
            if row and row[0]:
                return True
    return False


async def open_help_requests(conn: Connection, guild_id: int, user_id: int) -> int:
    """Open requests the person asked or is mentoring (deletion waits until they are closed)."""
    row = await first_row(
        conn,
        f"SELECT COUNT(*) FROM help_requests WHERE guild_id = :g AND state IN {_OPEN_STATES}"
        " AND (student_id = :u OR mentor_id = :u)",
        _params(guild_id, user_id),
    )
    return int(row[0]) if row else 0


async def current_badge_role_ids(conn: Connection, guild_id: int, user_id: int) -> list[int]:
    """Badge roles the person currently holds (to take off Discord before deleting)."""
    return [
        int(row[0])
        for row in await conn.execute_fetchall(
            "SELECT DISTINCT s.role_id FROM badges b JOIN subjects s ON s.id = b.subject_id"
            " WHERE b.guild_id = ? AND b.user_id = ? AND b.ended_at IS NULL"
            " AND s.role_id IS NOT NULL",
            (guild_id, user_id),
        )
    ]


async def _run_steps(
    conn: Connection, steps: Iterable[Step], params: dict[str, Any], report: Report
) -> None:
    for step in steps:
        cur = await conn.execute(step.sql, params)
        if cur.rowcount > 0:
            report.steps.append(StepCount(step.effect, step.what, cur.rowcount))
        await cur.close()


async def _open_audit(
    conn: Connection,
    guild_id: int,
    action: str,
    requested_by: str,
    teacher_id: int | None,
    now: datetime,
) -> int:
    row = await first_row(
        conn,
        "INSERT INTO privacy_audit (guild_id, action, requested_by, teacher_id, started_at)"
        " VALUES (?, ?, ?, ?, ?) RETURNING id",
        (guild_id, action, requested_by, teacher_id, to_db(now)),
    )
    assert row is not None
    return int(row[0])


async def _close_audit(conn: Connection, audit_id: int, report: Report, now: datetime) -> None:
    await conn.execute(
        "UPDATE privacy_audit SET finished_at = ?, summary = ? WHERE id = ?",
        (to_db(now), report.as_json(), audit_id),
    )


async def erase_student(
    conn: Connection,
    guild_id: int,
    user_id: int,
    *,
    requested_by: Literal["student", "teacher", "operator"],
    teacher_id: int | None,
    now: datetime,
) -> Report:
    """Delete or anonymise every row holding the person's id in this class (caller's transaction).

    The audit row opened first is what lets the ledger's triggers accept the deletion (see
    migration 0010); it is closed before the transaction commits, so the ledger is append-only
    again for everyone else.
    """
    audit_id = await _open_audit(conn, guild_id, "erase_student", requested_by, teacher_id, now)
    report = Report()
    params = _params(guild_id, user_id)
    for table in REGISTRY:
        await _run_steps(conn, table.erase, params, report)
    await _close_audit(conn, audit_id, report, now)
    return report


async def apply_retention(conn: Connection, cutoff: datetime, now: datetime) -> Report:
    """Age out what is older than ``cutoff`` in every class (caller's transaction); audited."""
    report = Report()
    params = {"cutoff": to_db(cutoff), "anon": ANONYMOUS_ID}
    for table in REGISTRY:
        await _run_steps(conn, table.retention, params, report)
    if report.steps:
        # One audit row for the run across all classes: guild_id 0 stands for "every class".
        audit_id = await _open_audit(conn, 0, "retention", "retention", None, now)
        await _close_audit(conn, audit_id, report, now)
    return report


async def classes_left_before(conn: Connection, cutoff: datetime) -> list[int]:
    """Classes whose server removed the bot before ``cutoff`` (and did not invite it back)."""
    return [
        int(row[0])
        for row in await conn.execute_fetchall(
            "SELECT guild_id FROM classes WHERE left_at IS NOT NULL AND left_at < ? ORDER BY guild_id",
            (to_db(cutoff),),
        )
    ]


async def delete_class(conn: Connection, guild_id: int, requested_by: str, now: datetime) -> bool:
    """Delete a class and everything in it (foreign keys cascade); audited. False if not found."""
    cur = await conn.execute("DELETE FROM classes WHERE guild_id = ?", (guild_id,))
    deleted = cur.rowcount > 0
    await cur.close()
    if deleted:
        # The audit outlives the class, but not the names of the teachers who asked.
        await conn.execute(
            "UPDATE privacy_audit SET teacher_id = NULL WHERE guild_id = ?", (guild_id,)
        )
        report = Report([StepCount("deleted", "class", 1)])
        audit_id = await _open_audit(conn, guild_id, "class_deleted", requested_by, None, now)
        await _close_audit(conn, audit_id, report, now)
    return deleted


async def rows_mentioning(conn: Connection, user_id: int) -> dict[str, int]:
    """For checks: rows of any table where any registered person column holds ``user_id``."""
    found: dict[str, int] = {}
    for table in REGISTRY:
        for column in table.person_columns:
            row = await first_row(
                conn, f"SELECT COUNT(*) FROM {table.table} WHERE {column} = ?", (user_id,)
            )
            if row and row[0]:
                found[f"{table.table}.{column}"] = int(row[0])
    return found
