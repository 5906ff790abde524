"""The dashboard's summaries on a real SQLite file: the numbers a teacher reads, the projector's
counts (never who asked), and projector links that stop working when replaced or revoked."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.domain.weeks import Period
from bot.services.recognition import credit_session
from bot.wiring import Services
from db.database import Database
from db.timefmt import to_db
from tests.services.classroom import GUILD, TEACHER, set_up_class

ALICE, BOB, CAROL, DAN = 11, 12, 13, 14


async def session(
    db: Database, clock: ManualClock, subject: int, mentor: int, student: int, rating: int
) -> None:
    """A confirmed session, as the help feature records it."""
    now = clock.now()
    async with db.transaction() as conn:
        async with conn.execute(
            "INSERT INTO help_requests (guild_id, subject_id, student_id, topic, state,"
            " mentor_id, created_at, queued_at, closed_at, close_reason, rating)"
            " VALUES (?, ?, ?, 'adding fractions', 'resolved', ?, ?, ?, ?, 'solved', ?)"
            " RETURNING id",
            (GUILD, subject, student, mentor, *(to_db(now),) * 3, rating),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        await credit_session(
            conn, guild_id=GUILD, mentor_id=mentor, session_id=int(row[0]),
            subject_id=subject, rating=rating, now=now,
        )  # fmt: skip


async def test_mentor_activity_counts_distinct_classmates(
    services: Services, db: Database, clock: ManualClock
) -> None:
    subjects = await set_up_class(services)
    for student, rating in ((BOB, 5), (BOB, 3), (CAROL, 4)):
        await session(db, clock, subjects["Math"], ALICE, student, rating)
    await session(db, clock, subjects["English"], DAN, CAROL, 5)
    (alice, dan) = await services.dashboard.mentor_activity(GUILD, Period.THIS_WEEK)
    assert (alice.user_id, alice.sessions, alice.classmates, alice.average_rating) == (
        ALICE, 3, 2, 4.0
    )  # fmt: skip
    assert (dan.user_id, dan.sessions, dan.classmates) == (DAN, 1, 1)
    insights = await services.dashboard.insights(GUILD, Period.THIS_WEEK)
    assert [(d.subject, d.requests) for d in insights.demand] == [("Math", 3), ("English", 1)]
    assert ("fractions", 4) in insights.common_words
    roster = {row.user_id: row for row in await services.dashboard.roster(GUILD)}
    assert roster[ALICE].sessions_given == 3 and roster[BOB].sessions_received == 2


async def test_overview_and_projector_show_waiting_without_names(
    services: Services, db: Database, clock: ManualClock
) -> None:
    await set_up_class(services)
    plan = await services.mentors.plan_grant(GUILD, "Math", ALICE, None)
    await services.mentors.record_grant(plan, ALICE, TEACHER)
    await services.mentors.acknowledge_brief(GUILD, ALICE)
    await services.mentors.set_available(GUILD, ALICE, True)
    await services.help.ask(GUILD, BOB, "Math", None)  # offered to Alice
    await services.help.ask(GUILD, CAROL, "Math", None)  # Alice is busy: queued
    clock.advance(timedelta(minutes=5))
    overview = await services.dashboard.overview(GUILD)
    assert [w.waited for w in overview.waiting] == [timedelta(minutes=5)] * 2
    assert overview.available == {ALICE: ("Math",)}
    projector = await services.dashboard.projector(GUILD)
    assert projector.waiting == 2 and not hasattr(projector, "students")


async def test_projector_links_are_replaced_and_revoked(services: Services) -> None:
    await set_up_class(services)
    first = await services.dashboard.create_projector_link(GUILD, TEACHER)
    assert await services.dashboard.projector_class(first) == GUILD
    second = await services.dashboard.create_projector_link(GUILD, TEACHER)
    assert await services.dashboard.projector_class(first) is None, "a new link replaces"
    assert await services.dashboard.projector_class(second) == GUILD
    assert await services.dashboard.revoke_projector_link(GUILD, TEACHER)
    assert await services.dashboard.projector_class(second) is None
    assert not await services.dashboard.revoke_projector_link(GUILD, TEACHER)
    assert await services.dashboard.projector_class("x" * 500) is None
