"""Class goals through the simulated Discord: set, progress bar, one celebration, deadline."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import InvalidInput
from bot.simulator import SimMessage, SimUser
from tests.e2e.conftest import Classroom
from tests.e2e.test_help_requests import ask, button, click, make_mentor, offers

REWARD = "15 minutes of free reading time"


def goal_posts(room: Classroom) -> list[SimMessage]:
    return [m for m in room.sim.messages(room.announcements) if "Class goal reached" in m.content]


async def open_session(room: Classroom, student: SimUser, mentor: SimUser) -> SimMessage:
    """A student asks, the mentor accepts; returns the thread's starter message."""
    room.clock.advance(timedelta(minutes=2))  # past the asking cool-down
    asked = await ask(room, student, topic="fractions")
    assert asked.ephemeral, asked.content
    assert offers(room, mentor), (asked.content, [m.content[:80] for m in room.sim.dms(mentor)])
    accepted = await click(room, mentor, offers(room, mentor)[-1], "Accept")
    assert "You accepted" in accepted.content, accepted.content
    return room.thread_starter()


async def confirm(room: Classroom, student: SimUser, starter: SimMessage) -> None:
    prompt = await click(room, student, starter, "Solved")
    assert prompt.message is not None
    rated = await click(room, student, prompt.message, "5")
    assert "Solved!" in rated.content


async def test_the_session_that_crosses_the_target_posts_once(classroom: Classroom) -> None:
    room = classroom
    await make_mentor(room, room.alice)
    set_ = await room.slash(room.teacher, "goal set", metric="sessions", target=2, reward=REWARD)
    assert "Goal set" in set_.content, set_.content
    status = await room.slash(room.carol, "goal status")
    assert "0/2 confirmed help sessions" in str(status.embeds)
    assert "▱▱▱▱▱▱▱▱▱▱ 0%" in str(status.embeds)

    await confirm(room, room.carol, await open_session(room, room.carol, room.alice))
    assert goal_posts(room) == []
    status = await room.slash(room.carol, "goal status")
    assert "1/2" in str(status.embeds) and "50%" in str(status.embeds)

    await confirm(room, room.dan, await open_session(room, room.dan, room.alice))
    (post,) = goal_posts(room)
    assert REWARD in post.content
    assert post.pinged_user_ids == [] and post.pinged_role_ids == []
    # The teacher is told privately, to grant the reward.
    assert any(REWARD in m.content for m in room.sim.dms(room.teacher))
    # The goal is closed: a third session (Bob's first: fairness offers it to him) and a restart
    # post nothing more.
    await make_mentor(room, room.bob)
    await confirm(room, room.carol, await open_session(room, room.carol, room.bob))
    await room.restart()
    await room.sim.settle()
    assert len(goal_posts(room)) == 1
    gone = await room.slash(room.carol, "goal status")
    assert "no goal" in gone.content


async def test_two_sessions_confirming_at_the_same_moment_post_once(
    classroom: Classroom,
) -> None:
    room = classroom
    await make_mentor(room, room.alice)
    await make_mentor(room, room.bob)
    await room.slash(room.teacher, "goal set", metric="students_helped", target=1, reward=REWARD)
    carol_starter = await open_session(room, room.carol, room.alice)
    dan_starter = await open_session(room, room.dan, room.bob)
    prompts = [
        await click(room, room.carol, carol_starter, "Solved"),
        await click(room, room.dan, dan_starter, "Solved"),
    ]
    assert all(p.message is not None for p in prompts)
    rated = await asyncio.gather(
        room.sim.click(room.carol, prompts[0].message, button(prompts[0].message, "5") or ""),  # type: ignore[arg-type]
        room.sim.click(room.dan, prompts[1].message, button(prompts[1].message, "5") or ""),  # type: ignore[arg-type]
    )
    await room.sim.settle()
    assert all("Solved!" in r.content for r in rated)
    assert len(goal_posts(room)) == 1


async def test_bad_goals_change_nothing(classroom: Classroom) -> None:
    room = classroom
    student = await room.slash(room.alice, "goal set", metric="stars", target=5, reward=REWARD)
    assert "teacher" in student.content.lower()
    zero = await room.slash(room.teacher, "goal set", metric="stars", target=0, reward=REWARD)
    assert "more than zero" in zero.content
    negative = await room.slash(room.teacher, "goal set", metric="stars", target=-3, reward=REWARD)
    assert "more than zero" in negative.content
    past = await room.slash(
        room.teacher, "goal set", metric="stars", target=5, reward=REWARD, deadline="2020-01-01"
    )
    assert "already passed" in past.content
    # Discord only sends the listed metrics; the service still refuses any other clearly.
    assert room.bot is not None
    with pytest.raises(InvalidInput, match="Unknown goal metric"):
        await room.bot.services.goals.set(room.guild.id, room.teacher.id, "vibes", 5, REWARD, None)
    status = await room.slash(room.teacher, "goal status")
    assert "no goal" in status.content


async def test_a_goal_past_its_deadline_closes_with_encouragement(classroom: Classroom) -> None:
    room = classroom
    tomorrow = (room.clock.now() + timedelta(days=1)).date().isoformat()
    await room.slash(
        room.teacher, "goal set", metric="stars", target=3, reward=REWARD, deadline=tomorrow
    )
    given = await room.slash(room.teacher, "award give", student=room.bob, kind="gold_star")
    assert given.content
    await room.sim.settle()
    status = await room.slash(room.bob, "goal status")
    assert "1/3 gold stars" in str(status.embeds)
    await room.restart()
    await room.advance(timedelta(days=3))
    closing = [m for m in room.sim.messages(room.announcements) if "go again" in m.content]
    assert len(closing) == 1
    assert "1" in closing[0].content and closing[0].pinged_user_ids == []
    assert goal_posts(room) == []
    assert "no goal" in (await room.slash(room.bob, "goal status")).content


async def test_the_weekly_post_shows_the_goal_progress_bar(classroom: Classroom) -> None:
    room = classroom
    await room.slash(room.teacher, "goal set", metric="stars", target=3, reward=REWARD)
    await room.slash(room.teacher, "award give", student=room.bob, kind="gold_star")
    await room.sim.settle()
    friday_post = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # the class's default weekly post
    await room.advance(friday_post - room.clock.now())
    (post,) = [m for m in room.sim.messages(room.announcements) if "Weekly shout-outs" in m.content]
    assert "🎯 Class goal: ▰▰▰▱▱▱▱▱▱▱ 33% · 1/3 gold stars" in post.content
    assert REWARD in post.content and post.pinged_user_ids == []


async def test_a_class_average_gain_goal_is_reached_by_the_quiz(classroom: Classroom) -> None:
    room = classroom
    assert room.bot is not None
    await room.slash(room.teacher, "goal set", metric="average_gain", target=5, reward=REWARD)
    await room.bot.services.progress.add_score(
        room.guild.id,
        room.teacher.id,
        subject_name="Math",
        assessment="Quiz 1",
        user_id=room.carol.id,
        score=50,
    )
    assert goal_posts(room) == []
    added = await room.slash(
        room.teacher, "score add", student=room.carol, subject="Math", assessment="Quiz 2", score=70
    )
    await room.sim.settle()
    assert "Recorded" in added.content
    (post,) = goal_posts(room)
    assert "+5.0 points of class average gain" in post.content
    assert "70" not in re.sub(r"<@\d+>", "", post.content)  # gains only, never raw scores
