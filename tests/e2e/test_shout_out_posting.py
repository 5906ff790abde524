"""Shout-outs posted from the outbox: bursts coalesced per channel, nothing lost across a stop."""

from __future__ import annotations

from typing import Any

from bot.simulator import SimUser
from tests.e2e.conftest import Classroom
from tests.e2e.test_recognition import count, shout_outs


def poster(room: Classroom) -> Any:
    assert room.bot is not None
    recognition = room.bot.get_cog("RecognitionCog")
    assert recognition is not None
    return recognition.shout_outs  # type: ignore[attr-defined]


def teachers(room: Classroom, how_many: int) -> list[SimUser]:
    extra = []
    for n in range(how_many - 2):
        user = room.sim.create_user(f"Teacher {n}")
        room.guild.add_member(user, roles=[room.teacher_role])
        extra.append(user)
    return [room.teacher, room.owner, *extra]


async def test_a_burst_of_30_awards_makes_a_few_messages_and_every_shout_out_appears(
    classroom: Classroom,
) -> None:
    # Hold every batch after the first until the test drains: the message count then does not
    # depend on how fast this machine is.
    poster(classroom).window_s = 3600
    staff = teachers(classroom, 5)  # 6 awards each: within the per-person burst limit
    students = [classroom.alice, classroom.bob, classroom.carol, classroom.dan]
    for n in range(30):
        reply = await classroom.slash(
            staff[n % len(staff)],
            "award give",
            student=students[n % len(students)],
            kind="gold_star",
            reason=f"Star number {n:02d}",
        )
        assert not reply.deferred  # answered at once, without waiting for the public post
        assert "Shout-out on its way" in reply.content
    messages = await shout_outs(classroom)
    assert 2 <= len(messages) <= 4  # the first at once, the rest together (≤ 2000 chars each)
    text = "\n".join(m.content for m in messages)
    for n in range(30):
        assert text.count(f"Star number {n:02d}") == 1
    for message in messages:  # each message pings exactly the students it praises
        assert set(message.pinged_user_ids) == {
            s.id for s in students if f"<@{s.id}>" in message.content
        }
    assert await count(classroom, "SELECT COUNT(*) FROM shout_out_outbox") == 0


async def test_a_stop_between_award_and_post_still_posts_it_once(classroom: Classroom) -> None:
    await classroom.slash(classroom.teacher, "award give", student=classroom.alice, kind="effort")
    assert len(await shout_outs(classroom)) == 1
    poster(classroom).window_s = 3600  # the next shout-out waits for its batch...
    await classroom.slash(
        classroom.teacher, "award give", student=classroom.bob, kind="gold_star", reason="Kind"
    )
    assert await count(classroom, "SELECT COUNT(*) FROM shout_out_outbox") == 1
    await classroom.restart()  # ...and the bot stops before it goes out
    posted = await shout_outs(classroom)
    assert len(posted) == 2
    assert f"<@{classroom.bob.id}> earned an award" in posted[-1].content
    await classroom.restart()
    assert len(await shout_outs(classroom)) == 2  # posted once, not again
    assert await count(classroom, "SELECT COUNT(*) FROM shout_out_outbox") == 0


async def test_an_award_undone_before_its_shout_out_went_out_is_never_posted(
    classroom: Classroom,
) -> None:
    await classroom.slash(classroom.teacher, "award give", student=classroom.alice, kind="effort")
    assert len(await shout_outs(classroom)) == 1
    poster(classroom).window_s = 3600
    await classroom.slash(classroom.teacher, "award give", student=classroom.bob, kind="gold_star")
    undo = await classroom.slash(classroom.teacher, "award undo", student=classroom.bob)
    assert "will not be posted" in undo.content
    posted = await shout_outs(classroom)
    assert len(posted) == 1 and f"<@{classroom.bob.id}>" not in posted[0].content


async def test_a_stop_before_a_replaced_tutor_shout_out_was_corrected_still_corrects_it(
    classroom: Classroom,
) -> None:
    await classroom.slash(
        classroom.teacher, "award give", student=classroom.alice, kind="tutor_of_the_week"
    )
    (first,) = await shout_outs(classroom)
    poster(classroom).window_s = 3600  # nothing more goes out before the stop
    await classroom.slash(
        classroom.owner, "award give", student=classroom.bob, kind="tutor_of_the_week"
    )
    assert not first.content.startswith("~~")
    await classroom.restart()
    posted = await shout_outs(classroom)
    assert first.content.startswith("~~") and f"Replaced by <@{classroom.bob.id}>" in first.content
    live = [m for m in posted if m.content.startswith("🏆")]
    assert len(live) == 1 and f"<@{classroom.bob.id}>" in live[0].content
    assert await count(classroom, "SELECT COUNT(*) FROM shout_out_corrections") == 0


async def test_a_refused_shout_out_stays_waiting_and_is_posted_once_later(
    classroom: Classroom,
) -> None:
    classroom.sim.fail_next("POST /channels/{channel_id}/messages", 503)
    reply = await classroom.slash(
        classroom.teacher, "award give", student=classroom.carol, kind="gold_star"
    )
    assert "Shout-out on its way" in reply.content  # the teacher is not shown Discord's trouble
    await classroom.sim.settle()
    assert classroom.sim.messages(classroom.announcements) == []
    assert await count(classroom, "SELECT COUNT(*) FROM shout_out_outbox") == 1
    await classroom.restart()  # while it waits to retry: the next start posts it
    (posted,) = await shout_outs(classroom)
    assert f"<@{classroom.carol.id}> earned an award" in posted.content
    assert await count(classroom, "SELECT COUNT(*) FROM shout_out_outbox") == 0
