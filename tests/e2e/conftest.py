"""End-to-end fixtures: the real ClassMentor bot, the real discord.py, a simulated Discord, a real
SQLite file and a clock the test can move.

``classroom`` is a set-up class ready for feature tests; ``world`` is the same server before
`/setup`. Move time with ``classroom.clock.advance(...)`` then ``await classroom.run_jobs()``;
restart the bot (same database, same simulator) with ``await classroom.restart()``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.app import ClassMentorBot
from bot.clock import ManualClock
from bot.config import Config, DatabaseConfig
from bot.simulator import (
    DiscordSimulator,
    InteractionResult,
    SimChannel,
    SimGuild,
    SimMessage,
    SimRole,
    SimUser,
    point_discord_at,
    running_bot,
)
from bot.simulator.testing import as_bot_work
from bot.wiring import build_bot
from db.database import Database

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.sim.token"


@dataclass
class Classroom:
    """A class on the simulated Discord, with the real bot running against it."""

    sim: DiscordSimulator
    guild: SimGuild
    clock: ManualClock
    config: Config
    owner: SimUser  # the server owner: Manage Server
    teacher: SimUser  # has the teacher role only
    teacher_role: SimRole
    alice: SimUser
    bob: SimUser
    carol: SimUser
    dan: SimUser
    general: SimChannel
    announcements: SimChannel
    help_channel: SimChannel
    mentors_channel: SimChannel
    bot: ClassMentorBot | None = None
    db: Database | None = None
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    async def start(self) -> ClassMentorBot:
        """Open the database and start a fresh bot process against the simulator."""
        self.db = await Database.open(self.config.database.path)
        await self.db.migrate()
        self.bot = build_bot(
            self.config, self.db, self.clock, manual_jobs=True, guild_ready_timeout=0
        )
        await self._stack.enter_async_context(running_bot(self.sim, self.bot, TOKEN))
        return self.bot

    async def stop(self) -> None:
        """Stop the bot and close the database, as a process exit would."""
        await self._stack.aclose()
        self._stack = contextlib.AsyncExitStack()
        if self.db is not None:
            await self.db.close()
        self.bot, self.db = None, None

    async def restart(self) -> ClassMentorBot:
        """Stop and start again on the same database and simulator."""
        await self.stop()
        return await self.start()

    async def run_jobs(self) -> int:
        """Fire the scheduled jobs due at the clock's time, then let the bot finish talking."""
        assert self.bot is not None
        ran = await as_bot_work(self.sim, self.bot, self.bot.jobs.run_due())
        await self.sim.settle()
        return ran

    async def slash(self, user: SimUser, command: str, **options: object) -> InteractionResult:
        """Run a slash command in #general."""
        return await self.sim.slash(
            user, command, guild=self.guild, channel=self.general, options=options
        )

    def public_messages(self) -> list[SimMessage]:
        """Every message in the class's normal channels (not DMs, not private threads)."""
        channels = [self.general, self.announcements, self.help_channel, self.mentors_channel]
        return [m for channel in channels for m in self.sim.messages(channel)]


@pytest.fixture
async def sim() -> AsyncIterator[DiscordSimulator]:
    """A simulated Discord on loopback, with discord.py pointed at it."""
    simulator = DiscordSimulator(token=TOKEN)
    await simulator.start()
    point_discord_at(simulator)
    yield simulator
    await simulator.stop()


@pytest.fixture
async def world(
    sim: DiscordSimulator, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[Classroom]:
    """A class server with people and channels, the bot running, not yet set up."""
    owner = sim.create_user("Mr Owner")
    guild = sim.create_guild("Class 7B", owner=owner)
    teacher_role = guild.create_role("Teacher")
    teacher = sim.create_user("Ms Rivera")
    guild.add_member(teacher, roles=[teacher_role])
    students = [sim.create_user(name) for name in ("Alice", "Bob", "Carol", "Dan")]
    for student in students:
        guild.add_member(student)
    room = Classroom(
        sim=sim,
        guild=guild,
        clock=clock,
        config=Config(database=DatabaseConfig(path=tmp_path / "classmentor.db")),
        owner=owner,
        teacher=teacher,
        teacher_role=teacher_role,
        alice=students[0],
        bob=students[1],
        carol=students[2],
        dan=students[3],
        general=guild.create_text_channel("general"),
        announcements=guild.create_text_channel("announcements"),
        help_channel=guild.create_text_channel("help"),
        mentors_channel=guild.create_text_channel("mentors"),
    )
    await room.start()
    yield room
    await room.stop()
    # Safety net for every end-to-end test: nothing the bot posted pinged @everyone/@here, and
    # the only role it ever pinged is the teacher role.
    for message in room.public_messages():
        assert not message.pinged_everyone, message.content
        assert set(message.pinged_role_ids) <= {teacher_role.id}, message.content


@pytest.fixture
async def classroom(world: Classroom) -> Classroom:
    """The class after `/setup class` and `/subject add` for Math and English."""
    result = await world.slash(
        world.owner,
        "setup class",
        teacher_role=world.teacher_role,
        announcements=world.announcements,
        help_channel=world.help_channel,
        mentors_channel=world.mentors_channel,
        timezone="Europe/London",
    )
    assert "Class set up" in result.content, result.content
    for subject in ("Math", "English"):
        added = await world.slash(world.teacher, "subject add", name=subject)
        assert f"Added **{subject}**" in added.content, added.content
    return world
