"""End-to-end fixtures: the real ClassMentor bot, the real discord.py, a simulated Discord, a real
SQLite file and a clock the test can move.

``classroom`` is a set-up class ready for feature tests; ``world`` is the same server before
`/setup`. Both are :class:`bot.simulator.classroom.Classroom` (the driver the demo and the
benchmark use too). A set-up class starts from a snapshot (see :func:`class_from_snapshot`):
each worker sets one up once with the real commands, and every test gets its own copy of that
Discord and that store, with a bot starting on them as after a restart. Move time with
``classroom.clock.advance(...)`` then ``await classroom.run_jobs()``; restart the bot (same
database, same simulator) with ``await classroom.restart()``. Every helper returns once the bot
has settled (no pending work), so tests never wait for a quiet window.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import extension_modules
from bot.clock import ManualClock
from bot.config import WebConfig
from bot.pacing import INSTANT
from bot.simulator import DiscordSimulator, point_discord_at
from bot.simulator.classroom import TOKEN, Classroom, ClassSnapshot
from bot.simulator.testing import quick_discord_backoff
from tests.conftest import START
from tests.fast_db import copy_migrated

__all__ = [
    "TOKEN",
    "Classroom",
    "class_fixture",
    "class_from_snapshot",
    "simulated_discord",
    "snapshot_once",
    "started_once",
]


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


async def started_once(room: Classroom) -> None:
    """Nothing: the class as its bot's first start left it (commands synced, not set up)."""


@contextlib.asynccontextmanager
async def running(
    room: Classroom, cog_module_state: list[extension_modules.Fingerprint]
) -> AsyncIterator[Classroom]:
    """``room``'s bot started for a test and stopped after it, with the checks every
    end-to-end test gets."""
    # Steps are settled one at a time: no pause needed to keep within Discord's limits (a test
    # of bursts sets production's pacing itself).
    room.pacing = INSTANT
    await room.start()
    if not cog_module_state:
        cog_module_state.append(extension_modules.fingerprint())
    yield room
    await room.stop()
    # Safety net for every end-to-end test: nothing the bot posted pinged @everyone/@here, and
    # the only role it ever pinged is the teacher role.
    for message in room.public_messages():
        assert not message.pinged_everyone, message.content
        assert set(message.pinged_role_ids) <= {room.teacher_role.id}, message.content


Build = Callable[[Classroom], Awaitable[None]]
Take = Callable[[DiscordSimulator, Path], Awaitable[ClassSnapshot]]

# Per worker: the snapshots taken once, by name, and what made each (see snapshot_once).
_SNAPSHOTS: dict[str, ClassSnapshot] = {}
_MADE_BY: dict[str, object] = {}


async def snapshot_once(
    name: str, take: Take, sim: DiscordSimulator, *, made_by: object = None
) -> ClassSnapshot:
    """The snapshot ``take`` makes, the first time a worker asks for ``name``, on a simulator
    and in a folder of its own (discord.py is pointed back at ``sim``, the test's); the same
    one every later time. ``made_by`` (``take`` by default) says what the snapshot is of: one
    name for two different set-ups is an error, not a silent mix-up."""
    source = take if made_by is None else made_by
    if _MADE_BY.setdefault(name, source) is not source:
        raise AssertionError(f"two different set-ups share the snapshot name {name!r}")
    snapshot = _SNAPSHOTS.get(name)
    if snapshot is None:
        folder = Path(tempfile.mkdtemp(prefix=f"classmentor-{name}-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        async with simulated_discord() as own:
            snapshot = _SNAPSHOTS[name] = await take(own, folder)
        point_discord_at(sim)
    return snapshot


async def class_from_snapshot(
    name: str,
    build: Build,
    sim: DiscordSimulator,
    *,
    clock: ManualClock,
    database: Path,
    web: WebConfig | None = None,
) -> Classroom:
    """A class as ``build`` leaves a new one, on ``sim`` and a store at ``database``; its bot
    not started yet.

    The first time a worker asks for ``name``, ``build`` runs for real, once, on a simulator
    and a store of its own, and a snapshot of that Discord and that store is kept
    (:meth:`Classroom.snapshot`). Each class after that is a copy of both, where a restarted
    bot finds its class: the same people, messages and rows, without replaying the commands
    (measured set-up CPU per test: a set-up class 29 -> 25 ms, with two mentors 50 -> 23 ms,
    the dashboard's class 69 -> 29 ms). The commands themselves are tested on ``world``, where
    they run in the test; what only a bot that ran them itself has (its open DM channels) is
    there too.
    """
    # The snapshot's store was written at START; a test moves the clock only later.
    assert clock.now() == START, "a class from a snapshot starts at START"

    async def take(own: DiscordSimulator, folder: Path) -> ClassSnapshot:
        database = await copy_migrated(folder / "live.db")
        room = Classroom.create(own, clock=ManualClock(START), database=database)
        room.pacing = INSTANT
        await room.start()
        try:
            await build(room)
        finally:
            await room.stop()
        return room.snapshot(folder / f"{name}.db")

    snapshot = await snapshot_once(name, take, sim, made_by=build)
    return Classroom.from_snapshot(sim, snapshot, clock=clock, database=database, web=web)


def class_fixture(name: str, build: Build, doc: str) -> Any:
    """A fixture ``name``: the class :func:`class_from_snapshot` makes, its bot running.

    For a test marked ``first_start`` the bot starts for the very first time instead (it syncs
    its slash commands) and ``build`` runs through it in the test's own set-up.
    """

    @pytest.fixture(name=name)
    async def fixture(
        request: pytest.FixtureRequest,
        sim: DiscordSimulator,
        tmp_path: Path,
        clock: ManualClock,
        cog_module_state: list[extension_modules.Fingerprint],
        cog_state_unchanged: None,
    ) -> AsyncIterator[Classroom]:
        database = tmp_path / "classmentor.db"
        if request.node.get_closest_marker("first_start") is not None:
            room = Classroom.create(sim, clock=clock, database=await copy_migrated(database))
            async with running(room, cog_module_state):
                await build(room)
                yield room
            return
        room = await class_from_snapshot(name, build, sim, clock=clock, database=database)
        async with running(room, cog_module_state):
            yield room

    fixture.__doc__ = doc
    return fixture


async def _set_up(room: Classroom) -> None:
    await room.set_up(("Math", "English"))


world = class_fixture(
    "world",
    started_once,
    "A class server with people and channels, the bot running, not yet set up: its bot ran "
    "before, so Discord holds its slash commands and it finds its tree unchanged (no sync).",
)
classroom = class_fixture(
    "classroom", _set_up, "The class after `/setup class` and `/subject add` for Math and English."
)
