"""Asks while a line forms: once a subject's last ask waited in line, the next one is filed
(on SQLite) by one job on the database thread that reads, decides and writes; whatever that job
does not handle (someone free, a refusal, a confidence answer) goes the usual way, with the
same outcome and wording as before."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import pytest_asyncio

from bot.clock import ManualClock
from bot.domain.help_states import RequestState
from bot.errors import Conflict, InvalidInput, RateLimited
from bot.wiring import Services
from db import help_requests as help_sql
from db.database import Database
from tests.db_jobs import jobs_handed_over
from tests.services.classroom import GUILD, set_up_class
from tests.services.test_help_requests import make_mentor

ALICE, BOB, CAROL, DAN, ERIN, FAY = 11, 12, 13, 14, 15, 16


@pytest_asyncio.fixture(loop_scope="session")
async def busy(services: Services) -> Services:
    """A class with Math and English; Alice and Bob mentor Math and are not available."""
    await set_up_class(services)
    for user in (ALICE, BOB):
        await make_mentor(services, user, available=False)
    return services


async def open_requests(db: Database, student: int) -> list[tuple[str, int]]:
    rows = await db.fetch_all(
        "SELECT state, subject_id FROM help_requests WHERE guild_id = ? AND student_id = ?"
        " AND state IN ('queued', 'offered', 'active') ORDER BY id",
        (GUILD, student),
    )
    return [(row[0], row[1]) for row in rows]


async def trail(db: Database, request_id: int) -> list[tuple[str | None, str]]:
    async with db.reading() as conn:
        return [(a, b) for a, b, _ in await help_sql.events(conn, request_id)]


async def test_a_line_forms_in_order_each_request_with_its_queued_event(
    busy: Services, clock: ManualClock, db: Database
) -> None:
    places = []
    for student in (CAROL, DAN, ERIN):
        routing = await busy.help.ask(GUILD, student, "math", f"topic {student}")
        assert routing.queued and routing.filed
        assert routing.request.state is RequestState.QUEUED
        assert routing.request.student_id == student and routing.request.subject_name == "Math"
        assert routing.request.topic == f"topic {student}"
        assert await trail(db, routing.request.id) == [(None, "queued")]
        places.append((routing.position, routing.waiting))
        clock.advance(timedelta(seconds=5))
    assert places == [(1, 1), (2, 2), (3, 3)]
    assert [len(await open_requests(db, s)) for s in (CAROL, DAN, ERIN)] == [1, 1, 1]
    # The line is served first come, first served, as before.
    await busy.mentors.set_available(GUILD, ALICE, True)
    (served,) = await busy.help.serve_queue(GUILD)
    assert served.request.student_id == CAROL and served.offer is not None


async def test_once_a_mentor_is_free_the_next_ask_is_offered_and_filed_once(
    busy: Services, db: Database
) -> None:
    await busy.help.ask(GUILD, CAROL, "Math", None)
    await busy.help.ask(GUILD, DAN, "Math", None)  # the line is forming
    await busy.mentors.set_available(GUILD, BOB, True)
    routing = await busy.help.ask(GUILD, ERIN, "Math", None)
    assert routing.offer is not None and routing.offer.mentor_id == BOB
    assert await open_requests(db, ERIN) == [("offered", routing.request.subject_id)]
    assert await trail(db, routing.request.id) == [(None, "queued"), ("queued", "offered")]
    # The next ask finds nobody free again and waits, behind the two before it.
    after = await busy.help.ask(GUILD, FAY, "Math", None)
    assert after.queued and (after.position, after.waiting) == (3, 3)


async def test_refusals_while_a_line_forms_are_worded_as_usual(
    busy: Services, clock: ManualClock, db: Database
) -> None:
    await busy.help.ask(GUILD, CAROL, "Math", None)
    await busy.help.ask(GUILD, DAN, "Math", None)
    with pytest.raises(Conflict, match=r"already have an open request for \*\*Math\*\*"):
        await busy.help.ask(GUILD, DAN, "Math", None)
    await busy.help.cancel_own(GUILD, DAN)
    with pytest.raises(RateLimited, match="wait"):
        await busy.help.ask(GUILD, DAN, "Math", None)
    with pytest.raises(InvalidInput, match="no subject called `Physics`"):
        await busy.help.ask(GUILD, ERIN, "Physics", None)
    assert await open_requests(db, DAN) == [] and await open_requests(db, ERIN) == []
    clock.advance(timedelta(seconds=61))
    again = await busy.help.ask(GUILD, DAN, "Math", None)
    assert again.queued and (again.position, again.waiting) == (2, 2)


async def test_a_confidence_answer_is_kept_while_a_line_forms(busy: Services, db: Database) -> None:
    await busy.help.ask(GUILD, CAROL, "Math", None)
    await busy.help.ask(GUILD, DAN, "Math", None)
    routing = await busy.help.ask(GUILD, ERIN, "Math", None, confidence=2)
    assert routing.queued and routing.position == 3
    rows = await db.fetch_all(
        "SELECT before FROM help_confidence WHERE request_id = ?",
        (routing.request.id,),
    )
    assert [row[0] for row in rows] == [2]


async def test_one_student_asking_twice_at_once_files_one_request(
    busy: Services, db: Database
) -> None:
    await busy.help.ask(GUILD, CAROL, "Math", None)
    results = await asyncio.gather(
        busy.help.ask(GUILD, DAN, "Math", None),
        busy.help.ask(GUILD, DAN, "English", None),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Routing"], results
    assert len(await open_requests(db, DAN)) == 1


@pytest.mark.sqlite_only("PostgreSQL runs each statement as it comes")
async def test_on_sqlite_an_ask_joining_a_line_is_one_job_on_the_database_thread(
    busy: Services, db: Database
) -> None:
    await busy.help.ask(GUILD, CAROL, "Math", None)  # waits in line: the next ask tries the job
    statements: list[str] = []
    await db.trace(statements.append)
    try:
        with jobs_handed_over(db) as jobs:
            routing = await busy.help.ask(GUILD, DAN, "Math", None)
    finally:
        await db.trace(None)
    assert routing.queued and (routing.position, routing.waiting) == (2, 2)
    assert len(jobs) == 1, jobs
    written = [s.split(" (")[0] for s in statements if s.startswith("INSERT")]
    assert written == ["INSERT INTO help_requests", "INSERT INTO help_events"], statements
    assert statements[0] == "BEGIN IMMEDIATE" and statements[-1] == "COMMIT", statements
