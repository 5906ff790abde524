"""Fixtures: a fresh simulator with a class guild, and the sample bot connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.simulator import (
    DiscordSimulator,
    SimChannel,
    SimGuild,
    SimRole,
    SimUser,
    point_discord_at,
    running_bot,
)
from bot.simulator.testing import quick_discord_backoff
from tests.simulator.sample_bot import SampleBot


@dataclass
class Classroom:
    """The people and places most tests use."""

    sim: DiscordSimulator
    teacher: SimUser
    alice: SimUser
    bob: SimUser
    guild: SimGuild
    channel: SimChannel
    mentor: SimRole


@pytest.fixture
async def sim() -> AsyncIterator[DiscordSimulator]:
    simulator = DiscordSimulator(token="test-token", response_timeout=3.0)
    await simulator.start()
    point_discord_at(simulator)
    with quick_discord_backoff():  # discord.py's retry pauses, a hundredfold shorter
        yield simulator
    await simulator.stop()


@pytest.fixture
def room(sim: DiscordSimulator) -> Classroom:
    teacher = sim.create_user("Ms Rivera")
    alice = sim.create_user("Alice")
    bob = sim.create_user("Bob")
    guild = sim.create_guild("Class 7B", owner=teacher)
    mentor = guild.create_role("Mentor", mentionable=False)
    guild.add_member(alice)
    guild.add_member(bob)
    channel = guild.create_text_channel("help-desk")
    return Classroom(sim, teacher, alice, bob, guild, channel, mentor)


@pytest.fixture
async def bot(sim: DiscordSimulator, room: Classroom) -> AsyncIterator[SampleBot]:
    async with running_bot(sim, SampleBot()) as client:
        yield client
