"""`/helpme ask` naming an aspect of the subject and saying how sure the student is."""

from __future__ import annotations

from bot.simulator import InteractionResult, SimMessage, SimUser
from tests.e2e.conftest import Classroom
from tests.e2e.test_help_requests import accept_first_offer, click, offers


def everything(result: InteractionResult) -> str:
    """All text the user saw: the response, its embeds, its follow-ups."""
    messages = [m for m in (result.message, *result.followups) if m is not None]
    return "\n".join(f"{m.content}\n{m.embeds}" for m in messages)


async def mentor(room: Classroom, user: SimUser, aspect: str | None = None) -> None:
    """A Math mentor (optionally badged for an aspect), brief read, available."""
    options: dict[str, object] = {"student": user, "subject": "Math"}
    if aspect is not None:
        options["aspect"] = aspect
    granted = await room.slash(room.teacher, "mentor grant", **options)
    assert "mentor badge" in granted.content, granted.content
    await room.sim.settle()
    for message in room.sim.dms(user):
        for label, custom_id, _ in message.buttons():
            if label == "I've read this" and custom_id:
                await room.sim.click(user, message, custom_id)
    await room.slash(user, "available on")
    await room.sim.settle()


async def test_a_request_naming_an_aspect_goes_to_the_mentor_badged_for_it(
    classroom: Classroom,
) -> None:
    room = classroom
    await mentor(room, room.alice)  # idle longest: first by fairness alone
    await mentor(room, room.bob, aspect="fractions")
    choices = await room.sim.autocomplete(
        room.carol,
        "helpme ask",
        focused="aspect",
        value="fra",
        guild=room.guild,
        options={"subject": "Math"},
    )
    assert [c["value"] for c in choices] == ["fractions"]

    asked = await room.slash(room.carol, "helpme ask", subject="Math", aspect="Fractions")
    await room.sim.settle()
    assert "asked a **Math** mentor" in asked.content
    assert offers(room, room.alice) == []
    (offer,) = offers(room, room.bob)
    assert room.db is not None
    async with (
        room.db.reading() as conn,
        conn.execute("SELECT aspect FROM help_requests") as cur,
    ):
        assert [tuple(row) for row in await cur.fetchall()] == [("Fractions",)]

    # Without an aspect, fairness decides again: Alice (idle longest) is asked.
    await room.slash(room.dan, "helpme ask", subject="Math")
    await room.sim.settle()
    assert len(offers(room, room.alice)) == 1
    assert offer in offers(room, room.bob)


async def answer_after(room: Classroom, rated: InteractionResult, value: str) -> SimMessage:
    """Tap ``value`` under "how sure are you now?" (the rating's private follow-up)."""
    (question,) = [m for m in rated.followups if "how sure are you about this now" in m.content]
    assert question.ephemeral
    answered = await click(room, room.carol, question, value)
    assert f"Noted: {value}/5" in answered.content
    return question


async def test_confidence_before_and_after_shows_in_gains_and_profile_as_self_reported(
    classroom: Classroom,
) -> None:
    room = classroom
    await mentor(room, room.alice)
    asked = await room.slash(room.carol, "helpme ask", subject="Math", confidence=2)
    await room.sim.settle()
    assert "asked a **Math** mentor" in asked.content
    thread = await accept_first_offer(room, room.alice)
    starter = room.sim.messages(thread)[0]
    prompt = await click(room, room.carol, starter, "Solved")
    assert prompt.message is not None
    rated = await click(room, room.carol, prompt.message, "5")
    assert "Solved!" in rated.content
    question = await answer_after(room, rated, "4")
    assert question.buttons() == [], "asked once: the buttons go with the answer"

    mine = await room.slash(room.carol, "profile")
    assert mine.ephemeral
    assert "Confidence gain (self-reported)" in everything(mine)
    assert "+2.0 on a 1–5 scale over 1 sessions" in everything(mine)
    gains = await room.slash(room.teacher, "gains", subject="Math")
    shown = everything(gains)
    assert "Confidence gain (self-reported)" in shown
    assert "+2.0 on a 1–5 scale (self-reported" in shown


async def test_no_question_after_when_the_student_gave_no_confidence(
    classroom: Classroom,
) -> None:
    room = classroom
    await mentor(room, room.alice)
    await room.slash(room.carol, "helpme ask", subject="Math")
    await room.sim.settle()
    thread = await accept_first_offer(room, room.alice)
    prompt = await click(room, room.carol, room.sim.messages(thread)[0], "Solved")
    assert prompt.message is not None
    rated = await click(room, room.carol, prompt.message, "5")
    assert "Solved!" in rated.content
    assert not any("how sure" in m.content for m in rated.followups)


async def test_the_help_panel_form_takes_an_aspect_and_a_confidence(
    classroom: Classroom,
) -> None:
    room = classroom
    await mentor(room, room.alice)
    await mentor(room, room.bob, aspect="fractions")
    posted = await room.slash(room.teacher, "helpme panel")
    assert posted.message is not None
    form = await click(room, room.carol, posted.message, "Math")
    assert form.modal is not None
    topic, aspect, confidence = form.modal.fields()
    bad = await room.sim.submit_modal(
        room.carol, form.modal, {topic: "halves", aspect: "fractions", confidence: "9"}
    )
    assert "Confidence is a number from 1 to 5" in bad.content
    sent = await room.sim.submit_modal(
        room.carol, form.modal, {topic: "halves", aspect: "fractions", confidence: "3"}
    )
    await room.sim.settle()
    assert "asked a **Math** mentor" in sent.content
    (offer,) = offers(room, room.bob)
    assert "halves" in offer.content
    assert room.db is not None
    async with (
        room.db.reading() as conn,
        conn.execute("SELECT before FROM help_confidence") as cur,
    ):
        assert [tuple(row) for row in await cur.fetchall()] == [(3,)]
