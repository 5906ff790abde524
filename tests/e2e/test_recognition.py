"""Awards, leaderboards, the weekly post and the tutor suggestion, through the simulated Discord.

The class is in Europe/London (UTC+0 in November); the clock starts on Wednesday 2026-11-18
09:00, so the default weekly post is Friday 2026-11-20 15:00 and the suggestion Thursday 15:00.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from bot.services.recognition import credit_session
from bot.simulator import SimMessage, SimUser
from db.timefmt import to_db
from tests.e2e.conftest import Classroom

THURSDAY_SUGGESTION = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
FRIDAY_POST = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
NEXT_FRIDAY_POST = FRIDAY_POST + timedelta(days=7)


async def count(room: Classroom, sql: str) -> int:
    assert room.db is not None
    async with room.db.reading() as conn, conn.execute(sql) as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def points(room: Classroom, user: SimUser) -> int:
    assert room.bot is not None
    return await room.bot.services.recognition.points_total(room.guild.id, user.id)


async def confirmed_session(
    room: Classroom, mentor: SimUser, student: SimUser, rating: int = 5, subject: str = "Math"
) -> None:
    """A help session the student confirmed, as the help-request feature records it."""
    assert room.bot is not None and room.db is not None
    subject_id = (await room.bot.services.classes.subject(room.guild.id, subject)).id
    now = room.clock.now()
    async with room.db.transaction() as conn:
        async with conn.execute(
            "INSERT INTO help_requests (guild_id, subject_id, student_id, state, mentor_id,"
            " created_at, queued_at, closed_at, close_reason, rating)"
            " VALUES (?, ?, ?, 'resolved', ?, ?, ?, ?, 'solved', ?) RETURNING id",
            (room.guild.id, subject_id, student.id, mentor.id, *(to_db(now),) * 3, rating),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        await credit_session(
            conn,
            guild_id=room.guild.id,
            mentor_id=mentor.id,
            session_id=int(row[0]),
            subject_id=subject_id,
            rating=rating,
            now=now,
        )


def weekly_posts(room: Classroom) -> list[SimMessage]:
    return [
        m
        for m in room.sim.messages(room.announcements)
        if m.embeds and "shout-outs" in m.embeds[0].get("title", "")
    ]


async def shout_outs(room: Classroom) -> list[SimMessage]:
    """The shout-outs in #announcements, once the bot posted what it had waiting.

    A teacher's reply never waits for the public post, so the test waits for the bot's pending
    posts (not for the clock).
    """
    assert room.bot is not None
    recognition = room.bot.get_cog("RecognitionCog")
    assert recognition is not None
    await recognition.shout_outs.drain()  # type: ignore[attr-defined]
    await room.sim.settle()
    return [m for m in room.sim.messages(room.announcements) if not m.embeds and not m.deleted]


async def move_to(room: Classroom, instant: datetime) -> None:
    room.clock.set(instant)
    await room.run_jobs()


# ----- /award ----------------------------------------------------------------------------------


async def test_award_posts_a_shout_out_that_pings_only_that_student(classroom: Classroom) -> None:
    reply = await classroom.slash(
        classroom.teacher,
        "award give",
        student=classroom.alice,
        kind="gold_star",
        reason=f"Explained fractions to <@{classroom.bob.id}> and @everyone so patiently",
    )
    assert reply.ephemeral
    assert "received **Gold star ⭐** (+5 points)" in reply.content
    assert "Shout-out on its way" in reply.content
    (shout,) = await shout_outs(classroom)
    assert f"<@{classroom.alice.id}>" in shout.content
    assert "Explained fractions" in shout.content
    assert re.findall(r"<@!?(\d+)>", shout.content) == [str(classroom.alice.id)]
    assert shout.pinged_user_ids == [classroom.alice.id]
    assert shout.pinged_role_ids == [] and not shout.pinged_everyone
    assert await points(classroom, classroom.alice) == 5


async def test_private_award_posts_nothing_public_and_tells_the_student(
    classroom: Classroom,
) -> None:
    reply = await classroom.slash(
        classroom.teacher,
        "award give",
        student=classroom.bob,
        kind="effort",
        points=4,
        private=True,
    )
    assert "Kept private" in reply.content and "telling them by DM" in reply.content
    assert await shout_outs(classroom) == []
    (dm,) = classroom.sim.dms(classroom.bob)
    assert "private award" in dm.content and "+4 points" in dm.content
    assert await points(classroom, classroom.bob) == 4
    await classroom.restart()  # the DM went out: a restart does not send it again
    await classroom.sim.settle()
    assert len(classroom.sim.dms(classroom.bob)) == 1


async def test_a_private_award_dm_a_stop_left_unsent_goes_out_once_at_start_up(
    classroom: Classroom,
) -> None:
    # The award committed (and the teacher was answered), then the bot stopped before the DM.
    assert classroom.bot is not None
    recognition = classroom.bot.services.recognition
    for student, kind in ((classroom.bob, "effort"), (classroom.alice, "gold_star")):
        await recognition.give_award(
            classroom.guild.id,
            classroom.teacher.id,
            student.id,
            student_is_bot=False,
            kind=kind,
            private=True,
        )
    # Alice's is taken back before anyone could tell her: she is never told.
    await recognition.undo_award(classroom.guild.id, classroom.teacher.id, classroom.alice.id)
    assert classroom.sim.dms(classroom.bob) == []

    await classroom.restart()
    await classroom.sim.settle()
    (dm,) = classroom.sim.dms(classroom.bob)
    assert "private award" in dm.content and "Effort" in dm.content
    assert classroom.sim.dms(classroom.alice) == []

    await classroom.restart()  # sent is sent: no second DM
    await classroom.sim.settle()
    assert len(classroom.sim.dms(classroom.bob)) == 1


async def test_non_teacher_and_self_awards_are_refused_with_nothing_written(
    classroom: Classroom,
) -> None:
    by_student = await classroom.slash(
        classroom.alice, "award give", student=classroom.bob, kind="gold_star"
    )
    assert by_student.ephemeral
    assert by_student.content == "Only a teacher can give awards."
    to_self = await classroom.slash(
        classroom.teacher, "award give", student=classroom.teacher, kind="gold_star"
    )
    assert "can't give yourself an award" in to_self.content
    to_bot = await classroom.slash(
        classroom.teacher, "award give", student=classroom.sim.bot_user, kind="gold_star"
    )
    assert "not bots" in to_bot.content
    undo = await classroom.slash(classroom.bob, "award undo", student=classroom.alice)
    assert undo.content == "Only a teacher can undo awards."
    assert await count(classroom, "SELECT COUNT(*) FROM awards") == 0
    assert await count(classroom, "SELECT COUNT(*) FROM ledger") == 0
    assert classroom.sim.messages(classroom.announcements) == []


async def test_second_tutor_of_the_week_replaces_the_first_with_a_clear_message(
    classroom: Classroom,
) -> None:
    await classroom.slash(
        classroom.teacher, "award give", student=classroom.alice, kind="tutor_of_the_week"
    )
    second = await classroom.slash(
        classroom.teacher, "award give", student=classroom.bob, kind="tutor_of_the_week"
    )
    assert f"This replaces <@{classroom.alice.id}> as this week's tutor of the week" in (
        second.content
    )
    assert await points(classroom, classroom.alice) == 0
    assert await points(classroom, classroom.bob) == 20


async def test_award_undo_takes_back_points_and_the_shout_out(classroom: Classroom) -> None:
    await classroom.slash(
        classroom.teacher, "award give", student=classroom.carol, kind="custom", reason="Art!"
    )
    (shout,) = await shout_outs(classroom)
    undo = await classroom.slash(classroom.teacher, "award undo", student=classroom.carol)
    assert "Took back" in undo.content and "removed its shout-out" in undo.content
    assert shout.deleted
    assert await points(classroom, classroom.carol) == 0
    again = await classroom.slash(classroom.teacher, "award undo", student=classroom.carol)
    assert "no award from the last 7 days" in again.content


# ----- /leaderboard ----------------------------------------------------------------------------


async def test_leaderboard_with_ties_and_own_rank(classroom: Classroom) -> None:
    await confirmed_session(classroom, classroom.alice, classroom.dan, rating=5)  # 15
    await confirmed_session(classroom, classroom.bob, classroom.dan, rating=4)  # 15
    await confirmed_session(classroom, classroom.carol, classroom.dan, rating=2)  # 10
    await classroom.slash(
        classroom.teacher, "award give", student=classroom.carol, kind="gold_star"
    )  # Carol 15 too: a three-way tie
    await confirmed_session(classroom, classroom.dan, classroom.alice, rating=1, subject="English")
    board = await classroom.slash(classroom.dan, "leaderboard")
    assert board.ephemeral
    (embed,) = board.embeds
    assert embed["title"] == "🏅 This week (Mon 16 Nov – Sun 22 Nov)"
    lines = embed["description"].splitlines()
    assert lines == [
        f"🥇 **=1.** <@{classroom.alice.id}> — 15 pts",
        f"🥇 **=1.** <@{classroom.bob.id}> — 15 pts",
        f"🥇 **=1.** <@{classroom.carol.id}> — 15 pts",
        f"**4.** <@{classroom.dan.id}> — 10 pts ← you",
    ]
    assert "You: #4 of 4 with 10 points" in embed["footer"]["text"]
    math = await classroom.slash(classroom.alice, "leaderboard", period="all_time", subject="Math")
    (embed,) = math.embeds
    assert f"<@{classroom.carol.id}> — 10 pts" in embed["description"]  # the award isn't counted
    assert "confirmed help sessions only" in embed["footer"]["text"]
    last_week = await classroom.slash(classroom.alice, "leaderboard", period="last_week")
    assert "No points in this period yet" in last_week.embeds[0]["description"]


async def test_tied_first_places_both_get_gold_and_the_next_gets_bronze(
    classroom: Classroom,
) -> None:
    await confirmed_session(classroom, classroom.alice, classroom.dan, rating=5)  # 15
    await confirmed_session(classroom, classroom.bob, classroom.dan, rating=4)  # 15
    await confirmed_session(classroom, classroom.carol, classroom.dan, rating=2)  # 10
    board = await classroom.slash(classroom.teacher, "leaderboard")
    (embed,) = board.embeds
    assert embed["description"].splitlines() == [
        f"🥇 **=1.** <@{classroom.alice.id}> — 15 pts",
        f"🥇 **=1.** <@{classroom.bob.id}> — 15 pts",
        f"🥉 <@{classroom.carol.id}> — 10 pts",
    ]


# ----- the weekly post -------------------------------------------------------------------------


async def test_weekly_post_goes_out_exactly_once_across_restarts(classroom: Classroom) -> None:
    await confirmed_session(classroom, classroom.alice, classroom.bob)
    await classroom.slash(
        classroom.teacher, "award give", student=classroom.carol, kind="gold_star", reason="Kind"
    )
    # A restart before the post time: the job is rebuilt from the database.
    await move_to(classroom, FRIDAY_POST - timedelta(hours=1))
    await classroom.restart()
    await classroom.run_jobs()
    assert weekly_posts(classroom) == []

    await move_to(classroom, FRIDAY_POST)
    (post,) = weekly_posts(classroom)
    assert post.pinged_user_ids == [] and post.pinged_role_ids == []
    fields = {f["name"]: f["value"] for f in post.embeds[0]["fields"]}
    assert f"<@{classroom.alice.id}> — 15 pts" in fields["Top mentors"]
    assert f"<@{classroom.carol.id}> · Gold star ⭐: Kind" in fields["Shout-outs"]
    assert "**1** help session" in fields["Helping each other"]
    # Never who asked for help.
    assert f"<@{classroom.bob.id}>" not in str(post.embeds)

    # A restart after the post time, same week: nothing more.
    await move_to(classroom, FRIDAY_POST + timedelta(hours=2))
    await classroom.restart()
    await classroom.run_jobs()
    await move_to(classroom, FRIDAY_POST + timedelta(days=1))
    assert len(weekly_posts(classroom)) == 1

    # Next week's post goes out on time, and it is an encouraging one for an empty week.
    await move_to(classroom, NEXT_FRIDAY_POST)
    assert len(weekly_posts(classroom)) == 2
    assert "quiet week" in weekly_posts(classroom)[-1].embeds[0]["description"]


async def test_missed_post_is_caught_up_at_start_up(classroom: Classroom) -> None:
    await confirmed_session(classroom, classroom.alice, classroom.bob)
    await classroom.stop()
    classroom.clock.set(FRIDAY_POST + timedelta(hours=3))  # the bot was down at post time
    await classroom.start()
    await classroom.run_jobs()
    (post,) = weekly_posts(classroom)
    assert "Top mentors" in str(post.embeds)
    await classroom.restart()
    await classroom.run_jobs()
    assert len(weekly_posts(classroom)) == 1


async def test_a_post_discord_refused_is_retried_and_still_sent_once(classroom: Classroom) -> None:
    # 503 is not one discord.py retries by itself: the send fails and the claim is released.
    classroom.sim.fail_next("POST /channels/{channel_id}/messages", 503)
    await move_to(classroom, FRIDAY_POST)
    assert weekly_posts(classroom) == []
    sends = classroom.sim.routes_called("POST /channels/{channel_id}/messages")
    assert [r.status for r in sends] == [503]
    await move_to(classroom, FRIDAY_POST + timedelta(minutes=10))
    assert len(weekly_posts(classroom)) == 1
    await move_to(classroom, FRIDAY_POST + timedelta(hours=5))
    assert len(weekly_posts(classroom)) == 1


async def test_a_week_missed_entirely_is_not_posted_late(classroom: Classroom) -> None:
    await classroom.stop()
    classroom.clock.set(FRIDAY_POST + timedelta(days=3))  # Monday: that week is over
    await classroom.start()
    await classroom.run_jobs()
    assert weekly_posts(classroom) == []


async def test_weekly_post_keeps_local_time_across_the_clocks_change(classroom: Classroom) -> None:
    # London springs forward on Sunday 2027-03-28: 15:00 is 15:00 UTC before it, 14:00 UTC after.
    await move_to(classroom, datetime(2027, 3, 26, 15, 0, tzinfo=UTC))
    (post,) = weekly_posts(classroom)
    assert "(Mon 22 Mar – Sun 28 Mar)" in post.embeds[0]["title"]  # a 167-hour week
    await move_to(classroom, datetime(2027, 4, 2, 13, 59, tzinfo=UTC))
    assert len(weekly_posts(classroom)) == 1
    await move_to(classroom, datetime(2027, 4, 2, 14, 0, tzinfo=UTC))
    assert len(weekly_posts(classroom)) == 2


async def test_schedule_change_takes_effect_at_once(classroom: Classroom) -> None:
    changed = await classroom.slash(
        classroom.teacher,
        "setup schedule",
        timezone="America/New_York",
        post_day=2,  # Wednesday
        post_time="12:00",
    )
    assert "Schedule updated" in changed.content
    assert classroom.bot is not None
    new_time = datetime(2026, 11, 18, 17, 0, tzinfo=UTC)  # Wednesday 12:00 in New York
    assert classroom.bot.jobs.next_run("weekly-post:" + str(classroom.guild.id)) == new_time
    await move_to(classroom, new_time - timedelta(minutes=1))
    assert weekly_posts(classroom) == []
    await move_to(classroom, new_time)
    assert len(weekly_posts(classroom)) == 1
    await move_to(classroom, FRIDAY_POST)  # the old time no longer posts
    assert len(weekly_posts(classroom)) == 1


async def test_moving_the_post_to_a_time_already_past_posts_now(classroom: Classroom) -> None:
    await move_to(classroom, FRIDAY_POST - timedelta(hours=5))
    await classroom.slash(classroom.teacher, "setup schedule", post_day=3, post_time="09:00")
    await classroom.run_jobs()
    assert len(weekly_posts(classroom)) == 1


# ----- the tutor-of-the-week suggestion --------------------------------------------------------


async def test_suggestion_button_awards_once(classroom: Classroom) -> None:
    # Alice helps three different classmates; Bob helps the same friend three times.
    for student in (classroom.bob, classroom.carol, classroom.dan):
        await confirmed_session(classroom, classroom.alice, student, rating=4)
    for _ in range(3):
        await confirmed_session(classroom, classroom.bob, classroom.dan, rating=5)
    await move_to(classroom, THURSDAY_SUGGESTION)
    (notice,) = classroom.sim.messages(classroom.mentors_channel)
    assert f"suggested tutor of the week: <@{classroom.alice.id}>" in notice.content
    assert "helped 3 different classmates" in notice.content
    assert notice.pinged_user_ids == [] and notice.pinged_role_ids == []
    [(label, custom_id, disabled)] = notice.buttons()
    assert label == "Award tutor of the week" and not disabled
    assert custom_id == (f"award:suggest:{classroom.guild.id}:2026-11-16:{classroom.alice.id}")

    # The button survives a restart; the state is in the database.
    await classroom.restart()
    await classroom.run_jobs()
    assert len(classroom.sim.messages(classroom.mentors_channel)) == 1  # not sent again

    by_student = await classroom.sim.click(classroom.alice, notice, custom_id)
    assert by_student.content == "Only a teacher can award tutor of the week."
    assert await points(classroom, classroom.alice) == 45

    # A double click: exactly one award.
    first, second = await asyncio.gather(
        classroom.sim.click(classroom.teacher, notice, custom_id),
        classroom.sim.click(classroom.owner, notice, custom_id),
    )
    await classroom.sim.settle()
    replies = sorted([first.content, second.content])
    assert any("Already done" in r for r in replies), replies
    assert "made" in notice.content and notice.buttons() == []
    assert await count(classroom, "SELECT COUNT(*) FROM awards") == 1
    assert await points(classroom, classroom.alice) == 45 + 20
    (shout,) = await shout_outs(classroom)
    assert "tutor of the week" in shout.content
    assert shout.pinged_user_ids == [classroom.alice.id]

    await move_to(classroom, FRIDAY_POST)
    (post,) = weekly_posts(classroom)
    fields = {f["name"]: f["value"] for f in post.embeds[0]["fields"]}
    assert f"<@{classroom.alice.id}>" in fields["Tutor of the week"]


async def test_suggestion_missed_while_down_is_sent_before_the_post(classroom: Classroom) -> None:
    await confirmed_session(classroom, classroom.carol, classroom.dan)
    await classroom.stop()
    classroom.clock.set(THURSDAY_SUGGESTION + timedelta(hours=2))
    await classroom.start()
    await classroom.run_jobs()
    (notice,) = classroom.sim.messages(classroom.mentors_channel)
    assert f"<@{classroom.carol.id}>" in notice.content


async def test_two_teachers_giving_tutor_of_the_week_at_once_leave_one_live_shout_out(
    classroom: Classroom,
) -> None:
    pairs = [(classroom.alice, classroom.bob), (classroom.carol, classroom.dan)]
    for first, second in pairs:
        await asyncio.gather(
            classroom.slash(
                classroom.teacher, "award give", student=first, kind="tutor_of_the_week"
            ),
            classroom.slash(
                classroom.owner, "award give", student=second, kind="tutor_of_the_week"
            ),
        )
    await classroom.sim.settle()
    assert await count(classroom, "SELECT COUNT(*) FROM awards WHERE undone_at IS NULL") == 1
    tutor = await count(
        classroom,
        "SELECT user_id FROM awards WHERE undone_at IS NULL AND kind = 'tutor_of_the_week'",
    )
    parts = [part for m in await shout_outs(classroom) for part in m.content.split("\n\n")]
    live = [part for part in parts if part.startswith("🏆")]
    assert len(live) == 1 and live[0].startswith(f"🏆 <@{tutor}> is this week's")
    for replaced in [part for part in parts if part.startswith("~~🏆")]:
        assert "Replaced by <@" in replaced  # by whoever replaced it at the time


async def test_the_suggestion_button_and_award_give_count_the_same_week(
    classroom: Classroom,
) -> None:
    # A Monday post: its suggestion comes on Sunday, the last day of the week before.
    await classroom.slash(classroom.teacher, "setup schedule", post_day=0, post_time="15:00")
    await confirmed_session(classroom, classroom.alice, classroom.bob)
    await move_to(classroom, datetime(2026, 11, 22, 15, 0, tzinfo=UTC))  # Sunday
    (notice,) = classroom.sim.messages(classroom.mentors_channel)
    [(_, custom_id, _)] = notice.buttons()
    assert custom_id is not None
    await classroom.sim.click(classroom.teacher, notice, custom_id)
    # The same day, another teacher picks someone else: it replaces, it does not add a second.
    again = await classroom.slash(
        classroom.owner, "award give", student=classroom.carol, kind="tutor_of_the_week"
    )
    assert f"This replaces <@{classroom.alice.id}>" in again.content
    assert (
        await count(
            classroom,
            "SELECT COUNT(*) FROM awards WHERE kind = 'tutor_of_the_week' AND undone_at IS NULL",
        )
        == 1
    )
    parts = [part for m in await shout_outs(classroom) for part in m.content.split("\n\n")]
    live = [part for part in parts if part.startswith("🏆")]
    assert len(live) == 1 and f"<@{classroom.carol.id}>" in live[0]
