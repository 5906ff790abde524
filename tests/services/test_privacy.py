"""Privacy, letters and the gradebook at the service level, against a real SQLite file."""

from __future__ import annotations

import csv
import gzip
import io
import json
import sqlite3
import zipfile
from datetime import timedelta

import pytest
import pytest_asyncio

from bot.clock import ManualClock
from bot.domain.weeks import Period
from bot.errors import InvalidInput, NotFound
from bot.services.letters import gradebook_csv
from bot.services.privacy import ExportTooLarge
from bot.services.recognition import credit_session
from bot.wiring import Services
from db import privacy as privacy_sql
from db.database import Database
from db.timefmt import to_db
from tests.services.classroom import GUILD, TEACHER, set_up_class

ALICE, BOB, CAROL = 11, 12, 13


async def session(
    services: Services, db: Database, clock: ManualClock, mentor: int, student: int, rating: int
) -> None:
    """A confirmed help session in Math, credited to the mentor."""
    math = await services.classes.subject(GUILD, "Math")
    now = clock.now()
    async with db.transaction() as conn:
        async with conn.execute(
            "INSERT INTO help_requests (guild_id, subject_id, student_id, topic, state, mentor_id,"
            " created_at, queued_at, accepted_at, closed_at, close_reason, rating)"
            " VALUES (?, ?, ?, 'long division', 'resolved', ?, ?, ?, ?, ?, 'solved', ?)"
            " RETURNING id",
            (GUILD, math.id, student, mentor, *(to_db(now),) * 4, rating),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        await credit_session(
            conn,
            guild_id=GUILD,
            mentor_id=mentor,
            session_id=int(row[0]),
            subject_id=math.id,
            rating=rating,
            now=now,
        )


@pytest_asyncio.fixture(loop_scope="session")
async def history(services: Services, db: Database, clock: ManualClock) -> Services:
    await set_up_class(services)
    await session(services, db, clock, ALICE, BOB, 5)
    await session(services, db, clock, ALICE, CAROL, 4)
    await services.recognition.give_award(
        GUILD, TEACHER, ALICE, student_is_bot=False, kind="gold_star", reason="Patient helper"
    )
    await services.recognition.give_award(
        GUILD, TEACHER, BOB, student_is_bot=False, kind="effort", reason="Never gives up"
    )
    return services


@pytest.mark.sqlite_only("reads SQLite's pragmas")
async def test_every_table_is_in_the_privacy_registry(db: Database) -> None:
    async with db.reading() as conn:
        assert await privacy_sql.unregistered_tables(conn) == []
        tables = await privacy_sql.schema_tables(conn)
        # Every column that can hold a person's id is named by its table's entry.
        for table in tables:
            async with conn.execute(f"PRAGMA table_info({table})") as cur:
                columns = {str(r[1]) for r in await cur.fetchall() if "INT" in str(r[2]).upper()}
            people = {
                c
                for c in columns
                if c.endswith(("user_id", "_by"))
                or c in {"student_id", "mentor_id", "actor_id", "teacher_id"}
            }
            assert people <= set(privacy_sql.entry(table).person_columns), table


async def test_the_ledger_refuses_deletion_outside_a_privacy_erasure(
    history: Services, db: Database
) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        async with db.transaction() as conn:
            await conn.execute("DELETE FROM ledger WHERE user_id = ?", (ALICE,))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        async with db.transaction() as conn:
            await conn.execute("UPDATE ledger SET created_by = NULL")


async def test_erasure_is_one_audited_transaction(history: Services, db: Database) -> None:
    before = await history.recognition.points_total(GUILD, ALICE)
    plan = await history.privacy.erasure_plan(GUILD, BOB)
    report = await history.privacy.erase(plan, requested_by="teacher", teacher_id=TEACHER)
    assert {s.what: s.rows for s in report.of("deleted")} == {
        "points entries": 1,
        "leaderboard totals": 3,  # the week's, the month's and all time
        "awards": 1,
    }
    async with db.reading() as conn:
        assert await privacy_sql.rows_mentioning(conn, BOB) == {}
        async with conn.execute("SELECT summary, requested_by, teacher_id FROM privacy_audit") as c:
            summary, by, teacher = await c.fetchone()
    assert by == "teacher" and teacher == TEACHER and str(BOB) not in summary
    assert await history.recognition.points_total(GUILD, ALICE) == before
    with pytest.raises(NotFound):
        await history.privacy.erasure_plan(GUILD, BOB)


async def test_export_is_capped_then_compressed_then_refused_with_guidance(
    history: Services,
) -> None:
    full = await history.privacy.export(GUILD, ALICE)
    assert not full.compressed
    document = json.loads(full.data)
    assert len(document["sections"]["sessions_you_gave"]) == 2
    assert str(BOB) not in full.data.decode() and str(CAROL) not in full.data.decode()
    packed = await history.privacy.export(GUILD, ALICE, limit=len(full.data) - 1)
    assert packed.compressed and json.loads(gzip.decompress(packed.data)) == document
    with pytest.raises(ExportTooLarge, match="classmentor export"):
        await history.privacy.export(GUILD, ALICE, limit=10)


async def test_class_deletion_cascades_through_the_ledger(
    history: Services, db: Database, clock: ManualClock
) -> None:
    plan = await history.privacy.erasure_plan(GUILD, CAROL)
    await history.privacy.erase(plan, requested_by="teacher", teacher_id=TEACHER)
    await history.classes.bot_removed(GUILD)
    clock.advance(timedelta(days=31))
    result = await history.privacy.run_retention()
    assert result.classes_deleted == [GUILD]
    async with db.reading() as conn:
        for table in ("ledger", "awards", "help_requests", "subjects", "classes"):
            async with conn.execute(f"SELECT COUNT(*) FROM {table}") as cur:
                assert (await cur.fetchone())[0] == 0, table
        assert await privacy_sql.rows_mentioning(conn, TEACHER) == {}


def first_page_text(pdf: bytes) -> str:
    """The text of a PDF's first page."""
    # Imported when a test reads a PDF, not when each worker collects this module.
    from pypdf import PdfReader

    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


async def test_a_letter_has_the_facts_and_no_one_elses_name(history: Services) -> None:
    letter = await history.letters.letter(
        GUILD,
        ALICE,
        student_name="Alice",
        teacher_name="Ms Rivera",
        class_name="Class 7B",
        period=Period.THIS_WEEK,
        note="A joy to teach.",
    )
    text = first_page_text(await history.letters.render(letter))
    for fact in (
        "Alice gave 2 help sessions",
        "Math",
        "4.5 out of 5",
        "Gold star",
        "Patient helper",
        "A joy to teach.",
        "Ms Rivera",
        "Class 7B",
    ):
        assert fact in text, fact
    assert "Never gives up" not in text and "Bob" not in text
    assert "Progress" not in text  # no gains recorded: no empty section


async def test_template_and_class_batch(history: Services) -> None:
    await history.letters.set_template(GUILD, TEACHER, "Hello, family of {student}!", None)
    with pytest.raises(InvalidInput):
        await history.letters.set_template(GUILD, TEACHER, "x" * 201, None)
    letters = await history.letters.class_letters(
        GUILD, {ALICE: "Alice", BOB: "Bob", CAROL: "Carol"}, teacher_name="T", class_name="7B"
    )
    assert [name for name, _ in letters] == ["Alice.pdf", "Bob.pdf"]  # Carol: nothing to praise
    archive = zipfile.ZipFile(io.BytesIO(await history.letters.render_batch(letters)))
    bob = first_page_text(archive.read("Bob.pdf"))
    assert "Hello, family of Bob!" in bob and "Never gives up" in bob and "Alice" not in bob


async def test_nothing_to_praise_is_a_clear_refusal(history: Services) -> None:
    with pytest.raises(NotFound, match="nothing to praise"):
        await history.letters.letter(
            GUILD, CAROL, student_name="Carol", teacher_name="T", class_name="7B"
        )


async def test_gradebook_csv(history: Services) -> None:
    rows = await history.letters.gradebook(GUILD, Period.ALL_TIME)
    data = gradebook_csv(rows, {ALICE: "Alice", BOB: "=Bob"}).decode("utf-8-sig")
    table = {r["student_id"]: r for r in csv.DictReader(io.StringIO(data))}
    assert table[str(ALICE)]["sessions_given"] == "2"
    assert table[str(ALICE)]["average_rating_as_mentor"] == "4.50"
    assert table[str(ALICE)]["gold_stars"] == "1"
    assert table[str(BOB)]["sessions_received"] == "1"
    assert table[str(BOB)]["name"] == "'=Bob"  # never a spreadsheet formula
    assert table[str(CAROL)]["name"] == ""


async def test_years_of_history_export_in_one_file(
    history: Services, db: Database, clock: ManualClock
) -> None:
    math = await history.classes.subject(GUILD, "Math")
    rows = []
    for day in range(4000):  # about three school years of a request a day... and then some
        at = to_db(clock.now() - timedelta(days=day % 300, minutes=day))
        rows.append((GUILD, math.id, BOB, f"question {day}: " + "x" * 150, at, at, at))
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO help_requests (guild_id, subject_id, student_id, topic, state,"
            " created_at, queued_at, closed_at, close_reason)"
            " VALUES (?, ?, ?, ?, 'cancelled', ?, ?, ?, 'cancelled')",
            rows,
        )
    export = await history.privacy.export(GUILD, BOB, limit=512 * 1024)
    assert export.compressed and export.filename.endswith(".json.gz")
    document = json.loads(gzip.decompress(export.data))
    assert len(document["sections"]["help_requests_you_made"]) == 4001


async def test_erasing_a_teacher_clears_their_name_from_others_records(
    history: Services, db: Database
) -> None:
    plan = await history.privacy.erasure_plan(GUILD, TEACHER)
    report = await history.privacy.erase(plan, requested_by="operator")
    anonymised = {s.what for s in report.of("anonymised")}
    assert {"points entries given to others", "awards given"} <= anonymised
    async with db.reading() as conn:
        assert await privacy_sql.rows_mentioning(conn, TEACHER) == {}
    # Alice's and Bob's awards and points stand.
    assert await history.recognition.points_total(GUILD, BOB) > 0
