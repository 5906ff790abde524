"""Maintained point totals always equal the ledger's sums, for every period and subject.

Against a real SQLite file: random histories spread over months, undos of old awards, a class
changing its time zone, and history written before the totals existed (the migration).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import ManualClock
from bot.domain.points import leaderboard_view, rank_totals
from bot.domain.weeks import Period, period_bounds
from bot.wiring import Services
from db import ledger as ledger_sql
from db.database import Database, bundled_migrations
from db.timefmt import to_db
from tests.services.classroom import GUILD, TEACHER, set_up_class

START = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
USERS = [11, 12, 13, 14, 15, 16]


async def _write_history(db: Database, subjects: list[int], rows: int, seed: int) -> None:
    """Awards (some undone weeks later), sessions per subject and goals over ~5 months."""
    rnd = random.Random(seed)
    async with db.transaction() as conn:
        for n in range(rows):
            at = START - timedelta(minutes=rnd.randrange(0, 150 * 24 * 60))
            user = rnd.choice(USERS)
            kind = rnd.choice(("award", "session", "goal"))
            if kind == "award":
                rows_ = await conn.execute_fetchall(
                    "INSERT INTO awards (guild_id, user_id, kind, points, week_key, awarded_by,"
                    " awarded_at) VALUES (?, ?, 'effort', 3, '', ?, ?) RETURNING id",
                    (GUILD, user, TEACHER, to_db(at)),
                )
                award_id = int(next(iter(rows_))[0])
                await ledger_sql.add_entry(
                    conn,
                    guild_id=GUILD,
                    user_id=user,
                    points=3,
                    reason="award",
                    created_at=at,
                    award_id=award_id,
                )
                if n % 3 == 0:  # undone later, maybe in another week or month
                    await ledger_sql.add_entry(
                        conn,
                        guild_id=GUILD,
                        user_id=user,
                        points=-3,
                        reason="undo",
                        created_at=at + timedelta(days=rnd.randrange(0, 20)),
                        award_id=award_id,
                    )
            elif kind == "session":
                rows_ = await conn.execute_fetchall(
                    "INSERT INTO help_requests (guild_id, subject_id, student_id, state,"
                    " mentor_id, created_at, queued_at, accepted_at, closed_at) VALUES"
                    " (?, ?, 99, 'resolved', ?, ?, ?, ?, ?) RETURNING id",
                    (GUILD, rnd.choice(subjects), user, *(to_db(at),) * 4),
                )
                session_id = int(next(iter(rows_))[0])
                await ledger_sql.add_entry(
                    conn,
                    guild_id=GUILD,
                    user_id=user,
                    points=rnd.choice((10, 15)),
                    reason="session",
                    created_at=at,
                    subject_id=rnd.choice(subjects),
                    session_id=session_id,
                )
            else:
                await ledger_sql.add_entry(
                    conn,
                    guild_id=GUILD,
                    user_id=user,
                    points=rnd.randint(1, 5),
                    reason="goal",
                    created_at=at,
                )


async def _assert_every_period_matches(db: Database, zone: str, subjects: list[int]) -> None:
    tz = ZoneInfo(zone)
    seen = 0
    for now in (START, START - timedelta(days=40), START - timedelta(days=100)):
        for period in Period:
            start, end = period_bounds(period, now, tz)
            for subject in (None, *subjects):
                async with db.reading() as conn:
                    summed = await ledger_sql.totals(
                        conn, GUILD, start=start, end=end, subject_id=subject
                    )
                    kept = await ledger_sql.period_totals(
                        conn, GUILD, ledger_sql.totals_window(period, now, tz), subject_id=subject
                    )
                assert kept == summed, (period, now, subject)
                seen += len(kept)
                await _assert_board_ranks_like_the_domain(db, summed, period, now, tz, subject)
    assert seen > 100  # the comparison was not between empty boards
    async with db.reading() as conn:
        assert await ledger_sql.totals_mismatches(conn) == []
        everyone = await ledger_sql.totals(conn, GUILD)
        for user in USERS:
            assert await ledger_sql.user_total(conn, GUILD, user) == everyone.get(user, 0)


async def _assert_board_ranks_like_the_domain(
    db: Database,
    totals: dict[int, int],
    period: Period,
    now: datetime,
    tz: ZoneInfo,
    subject: int | None,
) -> None:
    ranked = rank_totals(totals)
    for caller in (*USERS, 999):
        for top in (0, 2, 10):
            shown, own = leaderboard_view(ranked, caller, top)
            async with db.reading() as conn:
                board = await ledger_sql.board(
                    conn,
                    GUILD,
                    ledger_sql.totals_window(period, now, tz),
                    caller_id=caller,
                    top=top,
                    subject_id=subject,
                )
            assert (board.shown, board.own) == (shown, own), (period, caller, top)
            assert board.caller_points == totals.get(caller, 0)
            assert board.participants == len(ranked)


async def test_totals_equal_ledger_sums_for_every_period_and_subject(
    services: Services, db: Database
) -> None:
    subjects = list((await set_up_class(services, timezone="America/New_York")).values())
    await _write_history(db, subjects, rows=600, seed=1)
    await _assert_every_period_matches(db, "America/New_York", subjects)


async def test_a_new_time_zone_rebuckets_the_totals(
    services: Services, db: Database, clock: ManualClock
) -> None:
    subjects = list((await set_up_class(services, timezone="Europe/London")).values())
    await _write_history(db, subjects, rows=300, seed=2)
    await services.classes.setup(GUILD, TEACHER, timezone="Asia/Kolkata")
    await _assert_every_period_matches(db, "Asia/Kolkata", subjects)


async def test_the_check_names_a_total_that_drifted(services: Services, db: Database) -> None:
    subjects = list((await set_up_class(services)).values())
    await _write_history(db, subjects, rows=50, seed=3)
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE point_totals SET points = points + 1 WHERE span = 'all' AND subject_id = 0"
            " AND user_id = (SELECT MIN(user_id) FROM point_totals)"
        )
    async with db.reading() as conn:
        problems = await ledger_sql.totals_mismatches(conn)
    assert len(problems) == 2  # the ledger's sum and the drifted total, side by side
    assert all("all ''" in line for line in problems)


async def test_history_from_before_the_totals_is_counted_by_the_migration(
    tmp_path: Path,
) -> None:
    migrations = bundled_migrations()
    before = [m for m in migrations if m.version < 9]
    db = await Database.open(tmp_path / "old.db")
    try:
        await db.migrate(before)
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO classes (guild_id, timezone, post_weekday, post_time, created_at)"
                " VALUES (?, 'Australia/Sydney', 4, '15:00', ?)",
                (GUILD, to_db(START)),
            )
            subject_rows = await conn.execute_fetchall(
                "INSERT INTO subjects (guild_id, name, created_at) VALUES (?, 'Math', ?)"
                " RETURNING id",
                (GUILD, to_db(START)),
            )
        subjects = [int(next(iter(subject_rows))[0])]
        await _write_history(db, subjects, rows=200, seed=4)
        await db.migrate(migrations)
        await _assert_every_period_matches(db, "Australia/Sydney", subjects)
    finally:
        await db.close()
