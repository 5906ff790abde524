"""End-to-end fixtures: the real ClassMentor bot, the real discord.py, a simulated Discord, a real
SQLite file and a clock the test can move.

``classroom`` is a set-up class ready for feature tests; ``world`` is the same server before
`/setup`. Both are :class:`bot.simulator.classroom.Classroom` (the driver the demo and the
benchmark use too). Move time with ``classroom.clock.advance(...)`` then
``await classroom.run_jobs()``; restart the bot (same database, same simulator) with
``await classroom.restart()``. Every helper returns once the bot has settled (no pending work),
so tests never wait for a quiet window.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot import extension_modules
from bot.clock import ManualClock
from bot.pacing import INSTANT
from bot.simulator import DiscordSimulator, point_discord_at
from bot.simulator.classroom import TOKEN, Classroom, SyncedCommands
from bot.simulator.testing import quick_discord_backoff
from tests.fast_db import copy_migrated

__all__ = ["TOKEN", "Classroom", "simulated_discord"]


@contextlib.asynccontextmanager
async def simulated_discord() -> AsyncIterator[DiscordSimulator]:
    """A simulated Discord on loopback, with discord.py pointed at it (the ``sim`` fixture).

    discord.py's own retry pauses (1 s after a 500, Retry-After on a 429) are shortened a
    hundredfold, so fault-injection tests stay fast; the retries themselves still happen.
    """
    simulator = DiscordSimulator(token=TOKEN)
    await simulator.start()
    point_discord_at(simulator)
    with quick_discord_backoff():
        yield simulator
    await simulator.stop()


@pytest.fixture
async def sim() -> AsyncIterator[DiscordSimulator]:
    """A simulated Discord on loopback, with discord.py pointed at it (see above)."""
    async with simulated_discord() as simulator:
        yield simulator


@pytest.fixture(scope="session")
def cog_module_state() -> list[extension_modules.Fingerprint]:
    """The cogs' module- and class-level state as the last test module left it (one per
    worker; taken first once a bot has loaded the cogs)."""
    return []


@pytest.fixture(scope="module")
def cog_state_unchanged(
    cog_module_state: list[extension_modules.Fingerprint],
) -> Iterator[None]:
    """After a module's end-to-end tests: no module- or class-level state of cogs/ changed.

    The cogs' modules are reused by every later test's bot (bot.extension_modules), so nothing
    there may change while a bot runs, or it would leak into later tests. Checked once per test
    module, not per test: a walk over the ~5,000 values is ~5 ms, and the failure still names
    the module that leaked.
    """
    yield
    if cog_module_state:
        before, after = cog_module_state[0], extension_modules.fingerprint()
        cog_module_state[0] = after
        leaked = extension_modules.leaks(before, after)
        assert not leaked, f"module- or class-level state of cogs/ changed: {leaked}"


@pytest.fixture(scope="session")
def synced_commands() -> list[SyncedCommands]:
    """What the first bot of this worker synced (one per worker, kept once a bot started)."""
    return []


@pytest.fixture
async def world(
    request: pytest.FixtureRequest,
    sim: DiscordSimulator,
    tmp_path: Path,
    clock: ManualClock,
    cog_module_state: list[extension_modules.Fingerprint],
    cog_state_unchanged: None,
    synced_commands: list[SyncedCommands],
) -> AsyncIterator[Classroom]:
    """A class server with people and channels, the bot running, not yet set up.

    The bot starts as it does on every start but its very first: it ran before, so Discord
    holds its slash commands and it finds its tree unchanged (no sync; ~5 ms less per test).
    A test marked ``first_start`` gets the bot's first start ever, which syncs.
    """
    database = await copy_migrated(tmp_path / "classmentor.db")  # migrated once per worker
    room = Classroom.create(sim, clock=clock, database=database)
    # Steps are settled one at a time: no pause needed to keep within Discord's limits (a test
    # of bursts sets production's pacing itself).
    room.pacing = INSTANT
    if synced_commands and request.node.get_closest_marker("first_start") is None:
        room.synced_before = synced_commands[0]
    await room.start()
    if not synced_commands:
        synced_commands.append(room.synced_commands())
    if not cog_module_state:
        cog_module_state.append(extension_modules.fingerprint())
    yield room
    await room.stop()
    # Safety net for every end-to-end test: nothing the bot posted pinged @everyone/@here, and
    # the only role it ever pinged is the teacher role.
    for message in room.public_messages():
        assert not message.pinged_everyone, message.content
        assert set(message.pinged_role_ids) <= {room.teacher_role.id}, message.content


@pytest.fixture
async def classroom(world: Classroom) -> Classroom:
    """The class after `/setup class` and `/subject add` for Math and English."""
    await world.set_up(("Math", "English"))
    return world
