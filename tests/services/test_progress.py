"""Scores, gains, confidence and suggestions at the service level, on a real SQLite file."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import pytest_asyncio

from bot.clock import ManualClock
from bot.domain.gains import GainPeriod
from bot.domain.score_csv import Member
from bot.errors import Conflict, InvalidInput, NotFound
from bot.services.progress import ImportRejected
from bot.wiring import Services
from db.database import Database
from db.timefmt import to_db
from tests.services.classroom import GUILD, TEACHER, set_up_class

ALICE, BOB, CAROL = 100000000000000011, 100000000000000012, 100000000000000013
ROSTER = [
    Member(ALICE, "alice", "Alice"),
    Member(BOB, "bob", "Bob"),
    Member(CAROL, "carol", "Carol"),
]


@pytest_asyncio.fixture(loop_scope="session")
async def math(services: Services) -> dict[str, int]:
    return await set_up_class(services, ["Math"])


async def add(services: Services, user: int, name: str, score: float, day: date) -> None:
    await services.progress.add_score(
        GUILD,
        TEACHER,
        subject_name="Math",
        assessment=name,
        user_id=user,
        score=score,
        day=day.isoformat(),
    )


async def resolved_session(
    db: Database, subject_id: int, student: int, mentor: int, clock: ManualClock
) -> int:
    """A confirmed session, as the help flow leaves it."""
    now = to_db(clock.now())
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO help_requests (guild_id, subject_id, student_id, state, mentor_id,"
            " created_at, queued_at, accepted_at, closed_at, close_reason)"
            " VALUES (?, ?, ?, 'resolved', ?, ?, ?, ?, ?, 'solved') RETURNING id",
            (GUILD, subject_id, student, mentor, now, now, now, now),
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def test_import_is_all_or_nothing_and_reimport_counts_changes(
    services: Services, math: dict[str, int], clock: ManualClock
) -> None:
    day = clock.now().date().isoformat()
    good = f"student,subject,assessment,score,out_of,date\nAlice,Math,Q1,5,10,{day}\nBob,Math,Q1,6,10,{day}\n"
    result = await services.progress.import_csv(GUILD, TEACHER, good.encode(), ROSTER)
    assert (result.added, result.changed, result.unchanged) == (2, 0, 0)
    again = await services.progress.import_csv(
        GUILD, TEACHER, good.replace("6,10", "9,10").encode(), ROSTER
    )
    assert (again.added, again.changed, again.unchanged) == (0, 1, 1)

    duplicate = good + f"alice,Math,q1,7,10,{day}\n"
    with pytest.raises(ImportRejected) as rejected:
        await services.progress.import_csv(GUILD, TEACHER, duplicate.encode(), ROSTER)
    assert "Row 4, assessment: same student and assessment as row 2" in rejected.value.message
    unknown = good.replace("Bob,Math", "Bob,Art")
    with pytest.raises(ImportRejected, match="Row 3, subject: no subject called 'Art'"):
        await services.progress.import_csv(GUILD, TEACHER, unknown.encode(), ROSTER)
    report = await services.progress.student_report(GUILD, BOB, period=GainPeriod.ALL_TIME)
    assert [p.percent for p in report.subjects[0].points] == [90]  # the refused files left nothing


async def test_class_report_pairs_and_confidence(
    services: Services, db: Database, math: dict[str, int], clock: ManualClock
) -> None:
    today = clock.now().date()
    await add(services, ALICE, "Pre", 40, today - timedelta(days=2))
    await add(services, BOB, "Pre", 90, today - timedelta(days=2))
    request = await resolved_session(db, math["Math"], ALICE, BOB, clock)
    await add(services, ALICE, "Post", 75, today)
    await add(services, BOB, "Post", 95, today)
    await services.progress.record_confidence_before(request, 2)
    await services.progress.record_confidence_after(request, 4)

    report = await services.progress.class_report(GUILD, "Math", GainPeriod.THIS_WEEK)
    assert [(g.user_id, g.points) for g in report.gains.gains] == [(ALICE, 35), (BOB, 5)]
    assert report.gains.average == 20
    (pair,) = report.pairs
    assert (pair.mentor_id, pair.mentee_id, pair.gain.points) == (BOB, ALICE, 35)
    assert report.confidence is not None and report.confidence.average == 2
    assert report.confidence_by_student[ALICE].sessions == 1
    assert report.confidence_by_pair[(BOB, ALICE)].average == 2

    between = await services.progress.class_report(GUILD, "Math", between=("pre", "post"))
    assert between.label == "pre → post"
    mine = await services.progress.student_report(GUILD, ALICE)
    assert mine.confidence is not None and mine.confidence.average == 2


async def test_confidence_is_validated(
    services: Services, math: dict[str, int], db: Database, clock: ManualClock
) -> None:
    request = await resolved_session(db, math["Math"], ALICE, BOB, clock)
    with pytest.raises(InvalidInput, match="1 to 5"):
        await services.progress.record_confidence_before(request, 6)
    with pytest.raises(NotFound):
        await services.progress.record_confidence_after(request + 99, 3)
    with pytest.raises(Conflict, match="Only the student"):
        await services.progress.record_confidence_after(request, 3, student_id=BOB)
    assert not await services.progress.awaits_confidence_after(request)
    await services.progress.record_confidence_before(request, 2)
    assert await services.progress.awaits_confidence_after(request)
    await services.progress.record_confidence_after(request, 3, student_id=ALICE)
    assert not await services.progress.awaits_confidence_after(request)


async def test_weekly_gains_is_public_safe(
    services: Services, math: dict[str, int], clock: ManualClock
) -> None:
    today = clock.now().date()
    monday = today - timedelta(days=today.weekday())
    assert await services.progress.weekly_gains(GUILD) is None
    await add(services, ALICE, "Mon", 50, monday)
    await add(services, ALICE, "Wed", 70, today)
    await add(services, BOB, "Mon", 80, monday)
    await add(services, BOB, "Wed", 60, today)
    weekly = await services.progress.weekly_gains(GUILD)
    assert weekly is not None
    assert weekly.line == "📈 Class average gain this week: +0 points"
    assert weekly.public.top == [(ALICE, 20)]


async def test_suggestions_skip_current_mentors(
    services: Services, math: dict[str, int], clock: ManualClock
) -> None:
    today = clock.now().date()
    await add(services, ALICE, "Q", 95, today)
    await add(services, BOB, "Q", 90, today)
    await add(services, CAROL, "Q", 30, today)
    plan = await services.mentors.plan_grant(GUILD, "Math", ALICE, None, "fractions")
    await services.mentors.record_grant(plan, ALICE, TEACHER)
    _, ranked = await services.progress.suggest_mentors(GUILD, "Math")
    assert [t.user_id for t in ranked] == [BOB, CAROL]


async def test_term_dates(services: Services, math: dict[str, int]) -> None:
    term = await services.classes.set_term(GUILD, "2026-09-01", "2026-12-18")
    assert await services.progress.term(GUILD) == term
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        await services.classes.set_term(GUILD, "1 Sept", "2026-12-18")
