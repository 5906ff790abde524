"""The burst limit: commands, buttons and forms count; autocomplete never does."""

from __future__ import annotations

from bot.app import BURST_LIMIT
from tests.e2e.conftest import Classroom
from tests.e2e.test_recognition import THURSDAY_SUGGESTION, confirmed_session, move_to


async def test_typing_into_autocomplete_never_counts_nor_gets_a_message(
    classroom: Classroom,
) -> None:
    for typed in "Mathemat":  # eight keystrokes, each an autocomplete interaction
        choices = await classroom.sim.autocomplete(
            classroom.alice, "helpme ask", focused="subject", value=typed, guild=classroom.guild
        )
        assert isinstance(choices, list)
    asked = await classroom.slash(classroom.alice, "helpme ask", subject="Math")
    assert "Slow down" not in asked.content
    # Even a person who is over the limit still gets suggestions while typing.
    for _ in range(BURST_LIMIT + 1):
        last = await classroom.slash(classroom.bob, "subject list")
    assert "Slow down" in last.content
    choices = await classroom.sim.autocomplete(
        classroom.bob, "helpme ask", focused="subject", value="Ma", guild=classroom.guild
    )
    assert [c["name"] for c in choices] == ["Math"]
    assert all(not m.content.startswith("Slow down") for m in classroom.public_messages())


async def test_button_presses_are_limited_like_commands(classroom: Classroom) -> None:
    await confirmed_session(classroom, classroom.alice, classroom.bob)
    await move_to(classroom, THURSDAY_SUGGESTION)
    (notice,) = classroom.sim.messages(classroom.mentors_channel)
    [(_, custom_id, _)] = notice.buttons()
    assert custom_id is not None
    answers = [
        (await classroom.sim.click(classroom.carol, notice, custom_id)).content
        for _ in range(BURST_LIMIT + 1)
    ]
    assert answers[:BURST_LIMIT] == ["Only a teacher can award tutor of the week."] * BURST_LIMIT
    assert "Slow down" in answers[-1]
    # Another person is not slowed down by Carol's burst.
    by_dan = await classroom.sim.click(classroom.dan, notice, custom_id)
    assert by_dan.content == "Only a teacher can award tutor of the week."
