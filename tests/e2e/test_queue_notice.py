"""The mentors channel keeps one live queue notice per subject, edited in place."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.pacing import INSTANT, Pacing
from bot.simulator import InteractionResult, SimUser
from tests.e2e.conftest import Classroom
from tests.e2e.test_help_requests import make_mentor, offers


@pytest.fixture
async def paced(classroom: Classroom) -> Classroom:
    """The class with production's pacing: notices are written at most once per 2 s window."""
    classroom.pacing = Pacing()
    await classroom.restart()
    return classroom


def newcomers(room: Classroom, count: int) -> list[SimUser]:
    students = []
    for n in range(count):
        user = room.sim.create_user(f"Student {n + 1}")
        room.guild.add_member(user)
        students.append(user)
    return students


async def ask_now(room: Classroom, student: SimUser) -> InteractionResult:
    """`/helpme ask Math` answered, without waiting for the bot's follow-up work."""
    return await room.sim.slash(
        student,
        "helpme ask",
        guild=room.guild,
        channel=room.general,
        options={"subject": "Math"},
        settle=False,
    )


async def test_thirty_students_at_once_make_at_most_two_messages_and_no_429(
    paced: Classroom,
) -> None:
    room = paced
    for mentor in (room.alice, room.bob, room.carol):
        await make_mentor(room, mentor)
    students = newcomers(room, 30)
    before = len(room.sim.messages(room.mentors_channel))
    with room.sim.count_rate_limits() as limited:
        answers = await asyncio.gather(*(ask_now(room, s) for s in students))
        await room.sim.settle()
    assert limited.count == 0, limited.hits
    for answer in answers:
        assert answer.ephemeral
        assert "asked a **Math** mentor" in answer.content or "in line" in answer.content
    assert sum("in line" in a.content for a in answers) == 27
    assert sum(len(offers(room, m)) for m in (room.alice, room.bob, room.carol)) == 3
    notices = room.sim.messages(room.mentors_channel)[before:]
    assert 1 <= len(notices) <= 2
    assert "27 students are waiting for a mentor in **Math**" in notices[-1].content
    for student in students:  # nothing public names who asked
        assert all(student.name not in m.content for m in room.public_messages())


async def test_the_notice_is_refreshed_at_start_up_and_edited_not_reposted(
    paced: Classroom,
) -> None:
    room = paced
    await make_mentor(room, room.alice, available=False)
    first = await room.slash(room.carol, "helpme ask", subject="Math")
    assert "**1st** in line" in first.content
    await room.sim.settle()
    (notice,) = room.sim.messages(room.mentors_channel)
    assert "A student is waiting for a mentor in **Math**" in notice.content
    assert notice.pinged_role_ids == [room.teacher_role.id]

    # Dan asks and the bot stops at once, inside the notice's 2 s window: the line is in the
    # database, so the next start brings the same message up to date. (From that start on, no
    # window: what follows is about editing versus posting, not about pacing.)
    second = await ask_now(room, room.dan)
    assert "**2nd** in line" in second.content
    room.pacing = INSTANT
    await room.restart()
    await room.sim.settle()
    assert room.sim.messages(room.mentors_channel) == [notice]
    assert "2 students are waiting for a mentor in **Math**" in notice.content

    # The line empties: the notice says so; the next one to wait gets a fresh notice (one ping).
    await room.slash(room.carol, "helpme cancel")
    await room.slash(room.dan, "helpme cancel")
    await room.sim.settle()
    assert "Nobody is waiting for a **Math** mentor" in notice.content
    room.clock.advance(timedelta(seconds=room.config.mentoring.help_cooldown_seconds + 1))
    again = await room.slash(room.dan, "helpme ask", subject="Math")
    assert "**1st** in line" in again.content
    await room.sim.settle()
    old, new = room.sim.messages(room.mentors_channel)
    assert old is notice and "A student is waiting" in new.content
    assert new.pinged_role_ids == [room.teacher_role.id]
