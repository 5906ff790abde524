"""A lesson's prizes wait for the quiz (the quiz window), at the service level on a real SQLite
file: decided once, by the deadline, the teacher or an import, even across a restart."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.clock import ManualClock
from bot.config import Config, MentoringConfig
from bot.domain.lessons import Lesson
from bot.errors import Conflict, NotFound
from bot.wiring import Services, build_services
from db.database import Database
from tests.services.classroom import GUILD, TEACHER, set_up_class
from tests.services.test_progress import ALICE, BOB, CAROL, resolved_session

DAN = 100000000000000014


@pytest_asyncio.fixture(loop_scope="session")
async def math(services: Services) -> dict[str, int]:
    return await set_up_class(services, ["Math"])


async def score(
    services: Services, user: int, quiz: str, value: float, day: date | None = None
) -> None:
    await services.progress.add_score(
        GUILD,
        TEACHER,
        subject_name="Math",
        assessment=quiz,
        user_id=user,
        score=value,
        day=day.isoformat() if day else None,
    )


async def lesson_with_sessions(
    services: Services, db: Database, clock: ManualClock, math: dict[str, int]
) -> Lesson:
    """Quiz 1 yesterday; a lesson where Alice helps Carol and Bob helps Dan."""
    yesterday = clock.now().date() - timedelta(days=1)
    for user, value in ((ALICE, 90), (BOB, 80), (CAROL, 40), (DAN, 50)):
        await score(services, user, "Quiz 1", value, yesterday)
    clock.advance(timedelta(minutes=1))
    plan = await services.lessons.plan_start(GUILD, "Math", None, f"<@{ALICE}> <@{BOB}>", None)
    lesson = await services.lessons.record_start(plan, TEACHER)
    clock.advance(timedelta(minutes=5))
    await resolved_session(db, math["Math"], CAROL, ALICE, clock)
    await resolved_session(db, math["Math"], DAN, BOB, clock)
    clock.advance(timedelta(minutes=40))
    return lesson


async def quiz_2(services: Services) -> None:
    """Carol +50, Dan +10; mentors took it too."""
    for user, value in ((ALICE, 95), (BOB, 85), (CAROL, 90), (DAN, 60)):
        await score(services, user, "Quiz 2", value)


async def prize_points(db: Database) -> list[tuple[int, int]]:
    async with db.reading() as conn:
        rows = await conn.execute_fetchall(
            "SELECT user_id, points FROM ledger WHERE reason = 'gains_pair' ORDER BY user_id"
        )
    return [(int(r[0]), int(r[1])) for r in rows]


async def test_a_quiz_recorded_after_the_lesson_counts_when_the_window_closes(
    services: Services, db: Database, clock: ManualClock, math: dict[str, int]
) -> None:
    lesson = await lesson_with_sessions(services, db, clock, math)
    ended = await services.lessons.end(GUILD, TEACHER)
    assert ended.lesson.prize_waiting
    assert ended.lesson.prize_due_at == clock.now() + timedelta(minutes=30)
    celebration = await services.lessons.celebration(lesson.id)
    assert celebration is not None
    assert celebration.prize_due_at == ended.lesson.prize_due_at and not celebration.pair_prizes
    await services.lessons.celebrated(lesson.id, 1, celebration)

    clock.advance(timedelta(minutes=10))
    await quiz_2(services)
    assert not await services.lessons.decide_if_due(lesson.id)  # the window is still open
    assert await prize_points(db) == []
    assert await services.lessons.prize_news(lesson.id) is None  # nothing decided yet

    clock.advance(timedelta(minutes=20))
    assert await services.lessons.decide_if_due(lesson.id)
    assert not await services.lessons.decide_if_due(lesson.id)  # once
    news = await services.lessons.prize_news(lesson.id)
    assert news is not None and news.assessment == "Quiz 2"
    assert [(p.mentor_id, p.mentee_id, p.gain) for p in news.pair_prizes] == [(ALICE, CAROL, 50)]
    assert news.most_correct == [[ALICE, CAROL]]
    assert news.gains is not None  # the celebration had no chart of this quiz
    assert await prize_points(db) == [(ALICE, 10), (CAROL, 10)]
    await services.lessons.prize_posted(lesson.id, 2)
    assert await services.lessons.prize_news(lesson.id) is None
    assert await services.lessons.pending_prize_posts() == []


async def test_a_quiz_recorded_after_the_window_does_not_count(
    services: Services, db: Database, clock: ManualClock, math: dict[str, int]
) -> None:
    lesson = await lesson_with_sessions(services, db, clock, math)
    await services.lessons.end(GUILD, TEACHER)
    # The bot was down when the window closed: a quiz recorded after it is not the lesson's.
    clock.advance(timedelta(minutes=45))
    await quiz_2(services)
    assert await services.lessons.decide_if_due(lesson.id)
    celebration = await services.lessons.celebration(lesson.id)
    assert celebration is not None and celebration.prize_due_at is None
    assert celebration.assessment is None and celebration.most_correct == []
    # Nor does it make a pair's gain: no quiz since the lesson, no pair prize, no points.
    assert celebration.pair_prizes == []
    assert await prize_points(db) == []


async def test_one_decision_among_the_deadline_the_teacher_and_an_import(
    services: Services, db: Database, clock: ManualClock, math: dict[str, int]
) -> None:
    lesson = await lesson_with_sessions(services, db, clock, math)
    await services.lessons.end(GUILD, TEACHER)
    clock.advance(timedelta(minutes=30))
    await quiz_2(services)
    results = await asyncio.gather(
        services.lessons.decide_if_due(lesson.id),
        services.lessons.decide_now(GUILD),
        services.lessons.quiz_imported(GUILD),
        services.lessons.decide_if_due(lesson.id),
        return_exceptions=True,
    )
    decided = [r for r in results if r is True or isinstance(r, Lesson)]
    assert len(decided) == 1, results
    assert all(
        r is False or r is None or isinstance(r, (Conflict, NotFound))
        for r in results
        if r not in decided
    ), results
    assert await prize_points(db) == [(ALICE, 10), (CAROL, 10)]
    with pytest.raises(NotFound):
        await services.lessons.decide_now(GUILD)


async def test_an_import_with_the_lessons_quiz_decides_at_once(
    services: Services, db: Database, clock: ManualClock, math: dict[str, int]
) -> None:
    lesson = await lesson_with_sessions(services, db, clock, math)
    await services.lessons.end(GUILD, TEACHER)
    assert await services.lessons.quiz_imported(GUILD) is None  # no quiz since the lesson
    clock.advance(timedelta(minutes=3))
    await quiz_2(services)
    decided = await services.lessons.quiz_imported(GUILD)
    assert decided is not None and decided.id == lesson.id
    assert await prize_points(db) == [(ALICE, 10), (CAROL, 10)]


async def test_the_deadline_survives_a_restart(
    tmp_path: Path, config: Config, clock: ManualClock
) -> None:
    path = tmp_path / "restart.db"
    db = await Database.open(path)
    await db.migrate()
    services = build_services(config, db, clock)
    math = await set_up_class(services, ["Math"])
    lesson = await lesson_with_sessions(services, db, clock, math)
    await services.lessons.end(GUILD, TEACHER)
    await db.close()

    db = await Database.open(path)  # the bot starts again during the window
    try:
        services = build_services(config, db, clock)
        (waiting,) = await services.lessons.waiting_prizes()
        assert waiting.id == lesson.id and waiting.prize_due_at is not None
        clock.set(waiting.prize_due_at)
        assert await services.lessons.decide_if_due(lesson.id)
        assert await services.lessons.waiting_prizes() == []
        assert [p.id for p in await services.lessons.pending_prize_posts()] == [lesson.id]
    finally:
        await db.close()


async def test_without_sessions_or_with_no_window_the_prizes_are_decided_at_the_end(
    tmp_path: Path, services: Services, db: Database, clock: ManualClock, math: dict[str, int]
) -> None:
    plan = await services.lessons.plan_start(GUILD, "Math", None, f"<@{ALICE}>", None)
    await services.lessons.record_start(plan, TEACHER)
    ended = await services.lessons.end(GUILD, TEACHER)
    assert not ended.lesson.prize_waiting  # nobody to pair: nothing to wait for
    assert await services.lessons.waiting_prizes() == []
    first = await services.lessons.celebration(ended.lesson.id)
    assert first is not None and first.prize_due_at is None and first.assessment is None
    await services.lessons.celebrated(ended.lesson.id, 2, first)

    no_window = dataclasses.replace(Config(), mentoring=MentoringConfig(lesson_quiz_minutes=0))
    services = build_services(no_window, db, clock)
    clock.advance(timedelta(hours=1))
    await lesson_with_sessions(services, db, clock, math)
    await quiz_2(services)
    ended = await services.lessons.end(GUILD, TEACHER)
    assert not ended.lesson.prize_waiting
    celebration = await services.lessons.celebration(ended.lesson.id)
    assert celebration is not None and celebration.prize_due_at is None
    assert [(p.mentor_id, p.mentee_id) for p in celebration.pair_prizes] == [(ALICE, CAROL)]
    await services.lessons.celebrated(ended.lesson.id, 3, celebration)
    assert await services.lessons.pending_prize_posts() == []  # the celebration carried them
