"""Two bot processes on one PostgreSQL database: the database, not the process, decides.

Each "process" is its own :class:`Database` (own connections, own in-process lock) with its own
services, as two processes serving the same class during a rolling restart would be.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest_asyncio

from bot.clock import ManualClock
from bot.config import Config
from bot.domain.points import AwardKind
from bot.errors import Conflict
from bot.wiring import Services, build_services
from db import ledger as ledger_sql
from db.database import Database
from tests.services.classroom import GUILD, TEACHER, set_up_class

ALICE, BOB, CAROL = 11, 12, 13
FRIDAY_POST = datetime(2026, 11, 20, 15, 1, tzinfo=UTC)  # London: Friday 15:01


@pytest_asyncio.fixture(loop_scope="session")
async def processes(
    migrated_postgres_url: str, config: Config, clock: ManualClock
) -> AsyncIterator[tuple[Services, Services, Database]]:
    one = await Database.open_url(migrated_postgres_url)
    two = await Database.open_url(migrated_postgres_url)
    first, second = build_services(config, one, clock), build_services(config, two, clock)
    await set_up_class(first)
    for user in (ALICE, BOB):
        plan = await first.mentors.plan_grant(GUILD, "Math", user, None)
        await first.mentors.record_grant(plan, user, TEACHER)
        await first.mentors.acknowledge_brief(GUILD, user)
        await first.mentors.set_available(GUILD, user, True)
    try:
        yield first, second, one
    finally:
        await one.close()
        await two.close()


async def _count(db: Database, sql: str) -> int:
    row = await db.fetch_one(sql)
    assert row is not None
    return int(row[0])


async def test_the_same_student_asking_on_both_processes_files_one_request(
    processes: tuple[Services, Services, Database],
) -> None:
    first, second, db = processes
    results = await asyncio.gather(
        first.help.ask(GUILD, CAROL, "Math", None),
        second.help.ask(GUILD, CAROL, "Math", None),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Conflict) for r in results) == 1
    assert await _count(db, "SELECT COUNT(*) FROM help_requests") == 1


async def test_accept_and_confirm_on_both_processes_start_one_session_and_credit_once(
    processes: tuple[Services, Services, Database],
) -> None:
    first, second, db = processes
    routing = await first.help.ask(GUILD, CAROL, "Math", None)
    assert routing.offer is not None
    mentor = routing.offer.mentor_id
    accepted = await asyncio.gather(
        first.help.accept(routing.request.id, mentor),
        second.help.accept(routing.request.id, mentor),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in accepted) == 1
    assert sum(isinstance(r, Conflict) for r in accepted) == 1
    await first.help.propose_close(routing.request.id, mentor)
    confirmed = await asyncio.gather(
        first.help.rate(routing.request.id, CAROL, 5),
        second.help.rate(routing.request.id, CAROL, 4),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Conflict) for r in confirmed) == 1
    assert await _count(db, "SELECT COUNT(*) FROM ledger WHERE reason = 'session'") == 1
    assert await _count(db, "SELECT COUNT(*) FROM help_requests WHERE state = 'resolved'") == 1


async def test_the_weekly_post_is_claimed_by_one_process_only(
    processes: tuple[Services, Services, Database], clock: ManualClock
) -> None:
    first, second, db = processes
    clock.set(FRIDAY_POST)
    claims = await asyncio.gather(
        *(s.recognition.claim_weekly_post(GUILD) for s in (first, second, first, second))
    )
    assert sum(c is not None for c in claims) == 1
    assert await _count(db, "SELECT COUNT(*) FROM weekly_posts") == 1


async def test_tutor_of_the_week_from_both_processes_leaves_one_current_and_totals_exact(
    processes: tuple[Services, Services, Database],
) -> None:
    first, second, db = processes
    await asyncio.gather(
        first.recognition.give_award(
            GUILD, TEACHER, ALICE, student_is_bot=False, kind=AwardKind.TUTOR_OF_THE_WEEK
        ),
        second.recognition.give_award(
            GUILD, TEACHER, BOB, student_is_bot=False, kind=AwardKind.TUTOR_OF_THE_WEEK
        ),
    )
    current = await _count(
        db,
        "SELECT COUNT(*) FROM awards WHERE kind = 'tutor_of_the_week' AND undone_at IS NULL",
    )
    assert current == 1
    # The ledger took back the replaced award's points; the maintained totals agree with it.
    async with db.reading() as conn:
        assert await ledger_sql.totals_mismatches(conn) == []
    all_time = "SELECT SUM(points) FROM point_totals WHERE span = 'all' AND subject_id = 0"
    assert await _count(db, all_time) == (await _count(db, "SELECT SUM(points) FROM ledger"))
