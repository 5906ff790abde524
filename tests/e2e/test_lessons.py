"""Lessons through the simulated Discord: start, lesson mentors first, end, celebration."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.simulator import SimMessage, SimUser
from tests.e2e.conftest import Classroom
from tests.e2e.test_help_requests import accept_first_offer, ask, click, make_mentor, offers


def celebrations(room: Classroom) -> list[SimMessage]:
    return [m for m in room.sim.messages(room.announcements) if "That's a wrap" in m.content]


def has_role(room: Classroom, user: SimUser, name: str) -> bool:
    member = room.guild.members[user.id]
    return any(role.name == name for role in room.guild.roles.values() if role.id in member.roles)


async def read_brief(room: Classroom, user: SimUser) -> None:
    await room.acknowledge(user)
    await room.sim.settle()


async def test_lesson_mentors_are_preferred_and_the_lesson_ends_with_a_celebration(
    classroom: Classroom,
) -> None:
    room = classroom
    # Alice mentors Math all term; Bob too. Alice has been idle longest: normally she'd be first.
    await make_mentor(room, room.alice)
    await make_mentor(room, room.bob)
    started = await room.slash(
        room.teacher,
        "lesson start",
        subject="Math",
        aspect="fractions",
        mentors=f"<@{room.bob.id}> <@{room.carol.id}>",
        until="50m",
    )
    await room.sim.settle()
    assert "lesson is open" in started.content, started.content
    assert started.ephemeral
    # Carol had no badge: she gets a lesson badge (and the brief); Bob keeps his own.
    assert has_role(room, room.carol, "Math Mentor")
    await read_brief(room, room.carol)
    # The help panel for the lesson's subject is in #help.
    panel = room.latest(room.help_channel)
    assert "Math (fractions)" in panel.content
    assert [label for label, _, _ in panel.buttons()] == ["Math"]

    status = await room.slash(room.teacher, "lesson status")
    text = str(status.embeds)
    assert str(room.bob.id) in text and str(room.carol.id) in text

    # Dan asks: the offer goes to a lesson mentor (Bob), not to Alice who was idle longest.
    await ask(room, room.dan, topic="adding fractions")
    assert offers(room, room.alice) == []
    assert len(offers(room, room.bob)) == 1
    thread = await accept_first_offer(room, room.bob)
    starter = room.sim.messages(thread)[0]
    prompt = await click(room, room.dan, starter, "Solved")
    assert prompt.message is not None
    rated = await click(room, room.dan, prompt.message, "5")
    assert "Solved!" in rated.content

    ended = await room.slash(room.teacher, "lesson end")
    await room.sim.settle()
    assert "has ended" in ended.content, ended.content
    (post,) = celebrations(room)
    assert "Math (fractions)" in post.content
    assert f"<@{room.bob.id}>" in post.content and f"<@{room.carol.id}>" in post.content
    assert post.pinged_user_ids == []  # thanks by name, pinging nobody
    assert str(room.dan.id) not in post.content  # never who asked
    # The lesson badge went with the lesson; Bob's own badge stays.
    assert not has_role(room, room.carol, "Math Mentor")
    assert has_role(room, room.bob, "Math Mentor")
    # Ending again (the owner counts as a teacher): one clear message, no second celebration.
    again = await room.slash(room.owner, "lesson end")
    assert "no lesson open" in again.content
    assert len(celebrations(room)) == 1


async def test_bad_lesson_input_changes_nothing(classroom: Classroom) -> None:
    room = classroom
    student = await room.slash(room.alice, "lesson start", subject="Math")
    assert "teacher" in student.content.lower()
    nobody = await room.slash(room.teacher, "lesson start", subject="Math")
    assert "No mentors available" in nobody.content
    past = await room.slash(
        room.teacher, "lesson start", subject="Math", mentors=f"<@{room.bob.id}>", until="00:01"
    )
    assert "until" in past.content
    garbled = await room.slash(room.teacher, "lesson start", subject="Math", mentors="Bob please")
    assert "mentions" in garbled.content
    status = await room.slash(room.teacher, "lesson status")
    assert "no lesson open" in status.content
    assert room.sim.messages(room.help_channel) == []


async def test_one_lesson_at_a_time(classroom: Classroom) -> None:
    room = classroom
    first = await room.slash(
        room.teacher, "lesson start", subject="Math", mentors=f"<@{room.bob.id}>"
    )
    assert "lesson is open" in first.content
    second = await room.slash(
        room.teacher, "lesson start", subject="English", mentors=f"<@{room.carol.id}>"
    )
    assert "already open" in second.content
    assert not has_role(room, room.carol, "English Mentor")
    refused = await room.slash(room.alice, "lesson end")
    assert "teacher" in refused.content.lower()
    still = await room.slash(room.teacher, "lesson status")
    assert "Math" in str(still.embeds), still.content


async def test_a_lesson_ends_by_its_time_even_across_a_restart(classroom: Classroom) -> None:
    room = classroom
    started = await room.slash(
        room.teacher, "lesson start", subject="Math", mentors=f"<@{room.carol.id}>", until="30m"
    )
    await room.sim.settle()
    assert "lesson is open" in started.content
    assert has_role(room, room.carol, "Math Mentor")
    await room.restart()
    await room.sim.settle()
    await room.advance(timedelta(minutes=31))
    assert not has_role(room, room.carol, "Math Mentor")
    assert len(celebrations(room)) == 1
    status = await room.slash(room.teacher, "lesson status")
    assert "no lesson open" in status.content
    # A second restart posts nothing again.
    await room.restart()
    await room.sim.settle()
    await room.advance(timedelta(minutes=5))
    assert len(celebrations(room)) == 1


async def ledger_prizes(room: Classroom) -> list[tuple[int, int]]:
    assert room.db is not None
    async with (
        room.db.reading() as conn,
        conn.execute(
            "SELECT user_id, points FROM ledger WHERE reason = 'gains_pair' ORDER BY user_id"
        ) as cur,
    ):
        return [(int(r[0]), int(r[1])) for r in await cur.fetchall()]


async def run_session(room: Classroom, student: SimUser) -> SimUser:
    """The student asks, whoever is offered accepts, the student confirms; returns the mentor."""
    room.clock.advance(timedelta(minutes=2))
    await ask(room, student, topic="adding fractions")
    mentor = next(m for m in (room.alice, room.bob) if offers(room, m))
    accepted = await click(room, mentor, offers(room, mentor)[-1], "Accept")
    assert "You accepted" in accepted.content
    prompt = await click(room, student, room.thread_starter(), "Solved")
    assert prompt.message is not None
    rated = await click(room, student, prompt.message, "5")
    assert "Solved!" in rated.content
    return mentor


async def test_a_full_lesson_names_the_pair_with_the_biggest_gain(classroom: Classroom) -> None:
    room = classroom
    assert room.bot is not None
    progress = room.bot.services.progress
    yesterday = (room.clock.now() - timedelta(days=1)).date().isoformat()
    for student, score in ((room.alice, 90), (room.bob, 80), (room.carol, 40), (room.dan, 50)):
        await progress.add_score(
            room.guild.id,
            room.teacher.id,
            subject_name="Math",
            assessment="Fractions quiz 1",
            user_id=student.id,
            score=score,
            day=yesterday,
        )
    started = await room.slash(
        room.teacher,
        "lesson start",
        subject="Math",
        aspect="fractions",
        mentors=f"<@{room.alice.id}> <@{room.bob.id}>",
        until="50m",
    )
    assert "lesson is open" in started.content
    await room.sim.settle()
    await read_brief(room, room.alice)
    await read_brief(room, room.bob)
    # The mentor meeting: each lesson mentor has the two questions in their DMs.
    for mentor, hard, helped in (
        (room.alice, "Common denominators confused me", "Drawing pizza slices"),
        (room.bob, "Simplifying at the end", "Practising with a friend"),
    ):
        invite = next(m for m in room.sim.dms(mentor) if "two quick questions" in m.content)
        assert "What did you find hard about fractions when you learned it?" in invite.content
        form = await click(room, mentor, invite, "Answer the two questions")
        assert form.modal is not None
        labels = form.modal.fields()
        sent = await room.sim.submit_modal(
            mentor, form.modal, dict(zip(labels, (hard, helped), strict=True))
        )
        assert sent.ephemeral and "teacher" in sent.content
    # A classmate can't open a mentor's form.
    invite = next(m for m in room.sim.dms(room.alice) if "two quick questions" in m.content)
    refused = await click(room, room.dan, invite, "Answer the two questions")
    assert refused.modal is None and "lesson's mentors" in refused.content
    answers = await room.slash(room.teacher, "lesson brief-answers")
    assert answers.ephemeral
    assert "Drawing pizza slices" in str(answers.embeds)
    assert "Practising with a friend" in str(answers.embeds)
    nosy = await room.slash(room.carol, "lesson brief-answers")
    assert "teacher" in nosy.content.lower() and not nosy.embeds

    carol_mentor = await run_session(room, room.carol)
    dan_mentor = await run_session(room, room.dan)
    assert {carol_mentor, dan_mentor} == {room.alice, room.bob}
    # The debrief: optional, private, at most 300 characters, once per session.
    question = next(m for m in room.sim.dms(carol_mentor) if "What was hard for them" in m.content)
    form = await click(room, carol_mentor, question, "Add a note")
    assert form.modal is not None
    (field,) = form.modal.fields()
    saved = await room.sim.submit_modal(
        carol_mentor, form.modal, {field: "Mixed numbers; drawing it out worked"}
    )
    assert saved.ephemeral and "teacher only" in saved.content
    again = await click(room, carol_mentor, question, "Add a note")
    assert again.modal is not None
    twice = await room.sim.submit_modal(carol_mentor, again.modal, {field: "again"})
    assert "already added a note" in twice.content
    assert all("Mixed numbers" not in m.content for m in room.public_messages())
    ended = await room.slash(room.teacher, "lesson end")
    await room.sim.settle()
    assert "has ended" in ended.content
    assert "waits for today's quiz" in ended.content and "/lesson prize" in ended.content
    (post,) = celebrations(room)
    assert "2 help sessions confirmed, 2 classmates helped" in post.content
    # The quiz is marked right after the lesson: the celebration says when the prize comes.
    assert "The pair prize is decided when today's quiz is in — by <t:" in post.content
    assert "Biggest gains pair" not in post.content
    assert await ledger_prizes(room) == []
    # The quiz, recorded after the bell: Carol +50 points, Dan +10.
    room.clock.advance(timedelta(minutes=5))
    await record_quiz_2(room, carol_mentor, dan_mentor)

    decided = await room.slash(room.teacher, "lesson prize")
    await room.sim.settle()
    assert decided.ephemeral and "decided" in decided.content, decided.content
    (news,) = prize_posts(room)
    prize_line = next(line for line in news.content.splitlines() if "Biggest gains pair" in line)
    assert f"<@{carol_mentor.id}> & <@{room.carol.id}>" in prize_line
    assert "+50" in prize_line
    assert str(room.dan.id) not in prize_line  # who did not win is not named there
    assert "Most correct answers on **Fractions quiz 2**" in news.content
    assert news.attachments  # the gains chart of the quiz recorded after the lesson
    words = re.sub(r"<@\d+>", "", news.content)
    assert "90" not in words and "60" not in words  # gains only, never raw scores
    assert news.pinged_user_ids == []
    # The pair's points are in the ledger, once each.
    winners = sorted([(carol_mentor.id, 10), (room.carol.id, 10)], key=lambda entry: entry[0])
    assert await ledger_prizes(room) == winners
    # Decided once: asking again, or the window closing later, changes nothing.
    again = await room.slash(room.owner, "lesson prize")  # the owner counts as a teacher
    assert "No lesson is waiting" in again.content
    await room.advance(timedelta(minutes=31))
    assert len(prize_posts(room)) == 1 and len(celebrations(room)) == 1
    assert await ledger_prizes(room) == winners


def prize_posts(room: Classroom) -> list[SimMessage]:
    return [m for m in room.sim.messages(room.announcements) if "The quiz is in" in m.content]


async def record_quiz_2(room: Classroom, carol_mentor: SimUser, dan_mentor: SimUser) -> None:
    """Fractions quiz 2 (quiz 1 was 40 for Carol, 50 for Dan): Carol 90, Dan 60."""
    assert room.bot is not None
    for mentor, score in ((carol_mentor, 95), (dan_mentor, 85)):
        await room.bot.services.progress.add_score(
            room.guild.id,
            room.teacher.id,
            subject_name="Math",
            assessment="Fractions quiz 2",
            user_id=mentor.id,
            score=score,
        )
    for student, score in ((room.carol, 90), (room.dan, 60)):
        added = await room.slash(
            room.teacher,
            "score add",
            student=student,
            subject="Math",
            assessment="Fractions quiz 2",
            score=score,
        )
        assert "Recorded" in added.content, added.content


async def test_a_lesson_without_a_quiz_says_how_to_add_one(classroom: Classroom) -> None:
    room = classroom
    await room.slash(room.teacher, "lesson start", subject="Math", mentors=f"<@{room.bob.id}>")
    await room.sim.settle()
    await room.slash(room.teacher, "lesson end")
    await room.sim.settle()
    (post,) = celebrations(room)
    assert "/score add" in post.content
    assert await ledger_prizes(room) == []


async def test_meeting_questions_fall_back_to_the_mentors_channel(classroom: Classroom) -> None:
    room = classroom
    room.carol.dms_open = False
    started = await room.slash(
        room.teacher, "lesson start", subject="Math", mentors=f"<@{room.carol.id}>"
    )
    await room.sim.settle()
    assert "lesson is open" in started.content
    (invite,) = [
        m for m in room.sim.messages(room.mentors_channel) if "two quick questions" in m.content
    ]
    assert invite.pinged_user_ids == [room.carol.id]
    assert "What did you find hard about Math when you learned it?" in invite.content
    form = await click(room, room.carol, invite, "Answer the two questions")
    assert form.modal is not None
    labels = form.modal.fields()
    # Discord caps each answer at 300 characters; an invisible answer gets a clear message.
    sent = await room.sim.submit_modal(
        room.carol, form.modal, dict(zip(labels, ("\u200b\u200b", "practice"), strict=True))
    )
    assert "visible" in sent.content


async def test_insights_summarise_what_the_class_struggled_with(classroom: Classroom) -> None:
    room = classroom
    await make_mentor(room, room.alice)
    # Carol asks and gives up before anyone takes it: an unserved request.
    await room.slash(room.alice, "available off")
    await ask(room, room.carol, topic="Long division")
    cancelled = await room.slash(room.carol, "helpme cancel")
    assert "Cancelled" in cancelled.content
    await room.slash(room.alice, "available on")
    # Dan is helped with the same topic, waits 4 minutes, and rates it 2 (a low rating).
    room.clock.advance(timedelta(minutes=2))
    await ask(room, room.dan, topic="long  division")
    room.clock.advance(timedelta(minutes=4))
    accepted = await click(room, room.alice, offers(room, room.alice)[-1], "Accept")
    assert "You accepted" in accepted.content
    prompt = await click(room, room.dan, room.thread_starter(), "Solved")
    assert prompt.message is not None
    await click(room, room.dan, prompt.message, "2")
    question = next(m for m in room.sim.dms(room.alice) if "What was hard for them" in m.content)
    form = await click(room, room.alice, question, "Add a note")
    assert form.modal is not None
    (field,) = form.modal.fields()
    await room.sim.submit_modal(room.alice, form.modal, {field: "Carrying the remainder"})

    refused = await room.slash(room.carol, "insights", subject="Math")
    assert "teacher" in refused.content.lower() and not refused.embeds
    result = await room.slash(room.teacher, "insights", subject="Math")
    assert result.ephemeral
    text = str(result.embeds)
    assert "2 help requests" in text
    assert "2 × Long division" in text  # same topic, however it was typed
    assert "2 × no aspect named" in text
    assert "Median time to a mentor" in text and "4 min" in text
    assert "'Unserved requests', 'value': '1'" in text
    assert "'Low ratings (1–2 of 5)', 'value': '1'" in text
    assert "Carrying the remainder" in text
    assert str(room.carol.id) not in text and str(room.dan.id) not in text  # never who asked


async def test_a_celebration_discord_refused_is_posted_once_after_a_restart(
    classroom: Classroom,
) -> None:
    room = classroom
    await room.slash(room.teacher, "lesson start", subject="Math", mentors=f"<@{room.bob.id}>")
    await room.sim.settle()
    room.sim.fail_next("POST /channels/{channel_id}/messages", 503)
    ended = await room.slash(room.teacher, "lesson end")
    await room.sim.settle()
    assert "has ended" in ended.content
    assert celebrations(room) == []  # Discord refused it: still pending in the database
    await room.restart()
    await room.sim.settle()
    assert len(celebrations(room)) == 1
    await room.restart()
    await room.sim.settle()
    assert len(celebrations(room)) == 1


async def test_the_pair_prize_waits_for_the_quiz_across_a_restart(classroom: Classroom) -> None:
    room = classroom
    assert room.bot is not None
    yesterday = (room.clock.now() - timedelta(days=1)).date().isoformat()
    for student, score in ((room.alice, 90), (room.bob, 80), (room.carol, 40), (room.dan, 50)):
        await room.bot.services.progress.add_score(
            room.guild.id,
            room.teacher.id,
            subject_name="Math",
            assessment="Fractions quiz 1",
            user_id=student.id,
            score=score,
            day=yesterday,
        )
    mentors = f"<@{room.alice.id}> <@{room.bob.id}>"
    await room.slash(room.teacher, "lesson start", subject="Math", mentors=mentors, until="40m")
    await room.sim.settle()
    await read_brief(room, room.alice)
    await read_brief(room, room.bob)
    carol_mentor = await run_session(room, room.carol)
    dan_mentor = await run_session(room, room.dan)
    # The lesson ends by its time; the quiz window (30 minutes by default) opens.
    await room.advance(timedelta(minutes=40))
    (post,) = celebrations(room)
    assert "The pair prize is decided when today's quiz is in — by <t:" in post.content
    # The bot restarts during the window; the quiz is recorded after the lesson, around it.
    await room.restart()
    await room.sim.settle()
    await room.advance(timedelta(minutes=10))
    await record_quiz_2(room, carol_mentor, dan_mentor)
    await room.restart()
    await room.sim.settle()
    assert prize_posts(room) == []  # the window is still open
    assert await ledger_prizes(room) == []
    # The window closes: the prize is decided once, with the quiz recorded after the lesson.
    await room.advance(timedelta(minutes=21))
    (news,) = prize_posts(room)
    assert f"<@{carol_mentor.id}> & <@{room.carol.id}> (+50 points)" in news.content
    assert news.pinged_user_ids == []
    winners = sorted([(carol_mentor.id, 10), (room.carol.id, 10)], key=lambda entry: entry[0])
    assert await ledger_prizes(room) == winners
    # Later scores and restarts change nothing: one post, points once.
    await room.restart()
    await room.sim.settle()
    await room.advance(timedelta(hours=1))
    assert len(prize_posts(room)) == 1 and len(celebrations(room)) == 1
    assert await ledger_prizes(room) == winners


async def test_a_quiz_window_without_scores_says_how_to_add_one(classroom: Classroom) -> None:
    room = classroom
    mentors = f"<@{room.alice.id}> <@{room.bob.id}>"
    await room.slash(room.teacher, "lesson start", subject="Math", mentors=mentors)
    await room.sim.settle()
    await read_brief(room, room.alice)
    await read_brief(room, room.bob)
    await run_session(room, room.carol)
    await room.slash(room.teacher, "lesson end")
    await room.sim.settle()
    (post,) = celebrations(room)
    assert "decided when today's quiz is in" in post.content
    await room.advance(timedelta(minutes=31))
    (news,) = prize_posts(room)
    assert "No quiz scores were recorded" in news.content and "/score add" in news.content
    assert await ledger_prizes(room) == []
