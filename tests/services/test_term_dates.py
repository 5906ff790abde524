"""The term a teacher sets with `/setup term` is "this term" on the leaderboard too."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.domain.weeks import Period
from bot.wiring import Services
from tests.services.classroom import GUILD, TEACHER, set_up_class

EARLY, LATE = 201, 202


async def term_board(services: Services) -> dict[int, int]:
    board = await services.recognition.leaderboard(GUILD, TEACHER, Period.TERM)
    return {entry.user_id: entry.points for entry in board.shown}


async def test_the_term_leaderboard_starts_with_the_teachers_term(
    services: Services, clock: ManualClock
) -> None:
    await set_up_class(services)
    await services.recognition.give_award(
        GUILD, TEACHER, EARLY, student_is_bot=False, kind="gold_star"
    )
    clock.advance(timedelta(weeks=3))
    await services.recognition.give_award(
        GUILD, TEACHER, LATE, student_is_bot=False, kind="gold_star"
    )
    # Without term dates "this term" is the last 13 weeks: both stars count.
    assert set(await term_board(services)) == {EARLY, LATE}
    today = clock.now().date()
    await services.classes.set_term(
        GUILD, (today - timedelta(days=7)).isoformat(), (today + timedelta(weeks=8)).isoformat()
    )
    # The term began after the early star: only the late one is this term's.
    assert set(await term_board(services)) == {LATE}
