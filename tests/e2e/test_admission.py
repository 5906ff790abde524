"""Admission: the burst limit (commands, buttons and forms count; autocomplete never does) and
what an interaction leaves behind once answered."""

from __future__ import annotations

import asyncio
import gc

import discord

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


def interactions_alive() -> int:
    """discord.py interaction objects in memory (garbage waiting for the collector included)."""
    return sum(isinstance(o, discord.Interaction) for o in gc.get_objects())


async def test_an_answered_interaction_is_freed_without_the_garbage_collector(
    classroom: Classroom,
) -> None:
    # Each interaction and its response referred to each other: a cycle (with the member, user
    # and options) that only the collector's passes freed, and under load its full passes were
    # the slowest answers (docs/benchmarks-speed.md). Freed as soon as it is answered and the
    # watchdog let go, they never reach it.
    assert classroom.bot is not None
    classroom.bot.tree.ack_after_s = 0.01
    gc.collect()
    before = interactions_alive()
    gc.disable()
    try:
        listed = await classroom.slash(classroom.alice, "subject list")
        again = await classroom.slash(classroom.teacher, "subject list")
        await asyncio.sleep(0.05)  # the watchdog's sweep (due after 0.01 s) runs first
        await classroom.sim.settle()
        assert "Math" in listed.content and "Math" in again.content
        assert interactions_alive() == before
    finally:
        gc.enable()
