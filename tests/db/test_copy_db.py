"""`classmentor copy-db`: every class moves to another database, ids, ledger and totals intact.

The source is a real SQLite file filled through the services (classes, subjects, awards, an
undo, mentor badges, help requests); the target is another SQLite file and, where the machine
has PostgreSQL's binaries, a fresh PostgreSQL database.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.cli import EXIT_COPY_REFUSED, EXIT_DATABASE, main
from bot.clock import ManualClock
from bot.config import Config
from bot.wiring import Services, build_services
from db.copy import CopyRefused, copy_database
from db.database import Database, bundled_migrations, local_day
from db.timefmt import to_db
from db.urls import sqlite_path
from tests.fast_db import copy_made

START = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
CLASSES = (100, 200, 300)
TEACHER = 1
STUDENTS = tuple(400_000_000_000_000_000 + n for n in (11, 12, 13, 14))  # snowflakes


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


async def fill(url: str) -> None:
    """Three classes with subjects, awards over two weeks, an undo and mentor badges."""
    db = await Database.open_url(url)
    await db.migrate()
    clock = ManualClock(START - timedelta(days=10))
    services = build_services(Config(), db, clock)
    try:
        for n, guild in enumerate(CLASSES):
            await services.classes.setup(
                guild,
                TEACHER,
                teacher_role_id=5,
                announcements_channel_id=guild + 20,
                help_channel_id=guild + 21,
                mentors_channel_id=guild + 22,
                timezone=("Europe/London", "America/New_York", "Asia/Tokyo")[n],
            )
            await services.classes.add_subject(guild, "Math")
            await services.classes.add_subject(guild, "English")
        for day in range(10):
            clock.set(START - timedelta(days=9 - day))
            for n, guild in enumerate(CLASSES):
                for student in STUDENTS[: 2 + (day + n) % 3]:
                    await services.recognition.give_award(
                        guild,
                        TEACHER,
                        student,
                        student_is_bot=False,
                        kind="effort",
                        points=1 + (day + student) % 5,
                    )
        for guild in CLASSES:
            await services.recognition.undo_award(guild, TEACHER, STUDENTS[0])
            plan = await services.mentors.plan_grant(guild, "Math", STUDENTS[1], None)
            await services.mentors.record_grant(plan, STUDENTS[1], TEACHER)
            # A lesson whose mentors were named out of id order: they are listed by insertion
            # order (SQLite's implicit rowid, a column on PostgreSQL).
            named = f"<@{STUDENTS[3]}> <@{STUDENTS[1]}> <@{STUDENTS[2]}>"
            lesson = await services.lessons.plan_start(guild, "Math", None, named, None)
            await services.lessons.record_start(lesson, TEACHER)
    finally:
        await db.close()


async def lesson_mentors(url: str) -> list[list[int]]:
    """Each class's open lesson's mentors, in the order the teacher named them."""
    db = await Database.open_url(url)
    try:
        services = build_services(Config(), db, ManualClock(START))
        found = []
        for guild in CLASSES:
            lesson = await services.lessons.open_lesson(guild)
            assert lesson is not None
            found.append(await services.lessons.lesson_mentor_ids(lesson.id))
        return found
    finally:
        await db.close()


async def leaderboards(url: str) -> list[list[tuple[int, int, int]]]:
    """What each class's all-time leaderboard shows, read through the services."""
    db = await Database.open_url(url)
    try:
        services = build_services(Config(), db, ManualClock(START))
        boards = []
        for guild in CLASSES:
            for period in ("all_time", "this_week"):
                board = await services.recognition.leaderboard(guild, TEACHER, period)
                boards.append([(e.user_id, e.points, e.rank) for e in board.shown])
        return boards
    finally:
        await db.close()


async def _fill_file(path: Path) -> None:
    await fill(sqlite_url(path))


@pytest_asyncio.fixture(loop_scope="session")
async def source(tmp_path: Path) -> str:
    """The filled SQLite source: a copy of the one ``fill`` made once in this process (it
    makes the same database every time)."""
    return sqlite_url(await copy_made(tmp_path / "old.db", "copy-source", _fill_file))


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty target database of each engine."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "new.db")
    return str(request.getfixturevalue("postgres_url"))


async def test_every_table_is_copied_with_its_ids_and_verified(source: str, target: str) -> None:
    copied: list[tuple[str, int]] = []
    report = await copy_database(
        source, target, batch=7, progress=lambda t, n: copied.append((t, n))
    )

    assert report.ok, report.mismatches
    assert report.classes == len(CLASSES)
    assert report.ledger_rows > 80 and report.ledger_points > 0
    by_table = {t.table: t for t in report.tables}
    for table in ("classes", "subjects", "awards", "ledger", "point_totals", "badges"):
        assert by_table[table].source_rows == by_table[table].target_rows > 0, table
    assert dict(copied)["ledger"] == by_table["ledger"].source_rows
    # Parents before the rows that point at them.
    order = [t for t, _ in copied]
    assert order.index("classes") < order.index("subjects") < order.index("ledger")
    assert order.index("awards") < order.index("ledger")
    assert "Everything matches." in report.lines()
    # Teachers see the same leaderboards and lessons on the new database.
    assert await leaderboards(target) == await leaderboards(source)
    named = [STUDENTS[3], STUDENTS[1], STUDENTS[2]]
    assert await lesson_mentors(target) == await lesson_mentors(source) == [named] * 3


async def test_the_copy_works_on_like_the_original(source: str, target: str) -> None:
    """New rows get fresh ids, new ledger rows feed the totals, the ledger stays append-only."""
    await copy_database(source, target)
    before = await leaderboards(target)
    db = await Database.open_url(target)
    try:
        services: Services = build_services(Config(), db, ManualClock(START))
        award = await services.recognition.give_award(
            CLASSES[0], TEACHER, STUDENTS[3], student_is_bot=False, kind="effort", points=4
        )
        last = await db.fetch_one("SELECT MAX(id) FROM awards")
        assert last is not None and award.award.id == last[0]
        total = await services.recognition.points_total(CLASSES[0], STUDENTS[3])
        previous = {user: points for user, points, _ in before[0]}.get(STUDENTS[3], 0)
        assert total == previous + 4
        with pytest.raises(Exception, match="append-only"):
            async with db.transaction() as conn:
                await conn.execute("UPDATE ledger SET points = 100")
    finally:
        await db.close()


async def test_a_copy_copies_back(source: str, target: str, tmp_path: Path) -> None:
    """From the target (SQLite or PostgreSQL) to a new SQLite file: the same classes again."""
    await copy_database(source, target)
    back = sqlite_url(tmp_path / "back.db")
    report = await copy_database(target, back)
    assert report.ok, report.mismatches
    assert await leaderboards(back) == await leaderboards(source)
    assert await lesson_mentors(back) == await lesson_mentors(source)


async def test_a_bot_still_writing_to_the_source_is_caught_by_the_verification(
    source: str, target: str
) -> None:
    """The copy reads one snapshot; a write after it (a bot left running) shows as a mismatch."""
    file = sqlite_path(source)

    def another_process_writes(table: str, rows: int) -> None:
        if table == "ledger":
            with sqlite3.connect(file) as other:
                other.create_function("local_day", 2, local_day)
                other.execute(
                    "INSERT INTO ledger (guild_id, user_id, points, reason, created_at)"
                    " VALUES (?, ?, 5, 'goal', ?)",
                    (CLASSES[1], STUDENTS[2], to_db(START)),
                )

    report = await copy_database(source, target, progress=another_process_writes)
    assert not report.ok
    assert any(m.startswith("ledger: ") for m in report.mismatches), report.mismatches
    assert any(f"ledger of class {CLASSES[1]}" in m for m in report.mismatches)
    assert "MISMATCH" in "\n".join(report.lines())


async def test_a_target_holding_rows_is_refused_and_left_alone(source: str, target: str) -> None:
    await copy_database(source, target)
    before = await leaderboards(target)
    with pytest.raises(CopyRefused, match="not empty"):
        await copy_database(source, target)
    assert await leaderboards(target) == before


async def test_a_source_at_an_older_schema_is_refused(tmp_path: Path, target: str) -> None:
    old = tmp_path / "older.db"
    db = await Database.open_url(sqlite_url(old))
    await db.migrate(bundled_migrations()[:-1])
    await db.close()
    with pytest.raises(CopyRefused, match="classmentor migrate"):
        await copy_database(sqlite_url(old), target)


async def test_one_database_cannot_be_copied_onto_itself(source: str) -> None:
    with pytest.raises(CopyRefused, match="same database"):
        await copy_database(source, source)


def test_the_command_prints_the_report_and_exits_by_outcome(
    source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = sqlite_url(tmp_path / "cli.db")
    config = tmp_path / "config.toml"
    config.write_text("")  # copy-db needs no settings: both ends are named
    args = ["--config", str(config), "copy-db", "--from", source, "--to", target]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "ledger" in out and "Everything matches." in out

    assert main(args) == EXIT_COPY_REFUSED
    assert "not empty" in capsys.readouterr().err


def test_the_source_defaults_to_the_configured_database(
    source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{source}"\n')
    target = sqlite_url(tmp_path / "moved.db")
    assert main(["--config", str(config), "copy-db", "--to", target]) == 0
    assert "Everything matches." in capsys.readouterr().out


def test_a_target_that_cannot_be_opened_exits_with_the_database_code(
    source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    nobody = "postgresql://classmentor@127.0.0.1:1/classmentor"  # no server listens on port 1
    args = ["--config", str(config), "copy-db", "--from", source, "--to", nobody]
    assert main(args) == EXIT_DATABASE
    assert "copy-db failed" in capsys.readouterr().err
