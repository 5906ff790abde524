"""A school for the shard tests: classes spread over two gateway shards, the two bot processes
serving them (A runs shard 0, B shard 1 of 2) and the store they share, on one simulated
Discord (tests/e2e/test_shards.py, tests/e2e/test_postgres_shards.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.clock import ManualClock
from bot.pacing import INSTANT
from bot.simulator import DiscordSimulator
from bot.simulator.classroom import (
    TOKEN,
    Classroom,
    ClassSnapshot,
    classes_from_snapshot,
    snapshot_classes,
)
from bot.simulator.processes import BotProcess
from bot.simulator.testing import as_bot_work
from tests.conftest import START
from tests.e2e.conftest import snapshot_once
from tests.fast_db import copy_migrated

__all__ = ["School", "school_from_snapshot"]


class School:
    """``classes`` classes on both shards and the two processes serving them: an SQLite file at
    ``database`` or, with ``url``, a database several machines share (PostgreSQL)."""

    def __init__(
        self,
        sim: DiscordSimulator,
        clock: ManualClock,
        database: Path,
        *,
        classes: int,
        url: str | None = None,
        rooms: list[Classroom] | None = None,
    ) -> None:
        self.sim = sim
        self.clock = clock
        self.database = database
        self.url = url
        self.rooms = rooms or [
            Classroom.create(
                sim, clock=clock, database=database, name=f"Class {n}", shard=(n % 2, 2)
            )
            for n in range(classes)
        ]
        self.a = self.process(0)
        self.b = self.process(1)

    async def start(self) -> None:
        """Both processes, A first."""
        await self.a.start()
        await self.b.start()

    async def stop(self) -> None:
        """Both processes, B first."""
        await self.b.stop()
        await self.a.stop()

    async def set_up(self) -> None:
        """`/setup class` and `/subject add Math` in every class, through the processes."""
        for room in self.rooms:
            await room.set_up(("Math",))

    def process(self, *shard_ids: int) -> BotProcess:
        """A new bot process for ``shard_ids`` of 2 on the school's store (not started)."""
        # Steps are settled one at a time, as in the other end-to-end tests: no pauses.
        return BotProcess(
            self.sim, self.clock, self.database, TOKEN, 2, shard_ids, url=self.url, pacing=INSTANT
        )

    def on_shard(self, shard_id: int) -> list[Classroom]:
        """The classes Discord routes to ``shard_id``."""
        return self.rooms[shard_id::2]

    async def run_jobs(self, *processes: BotProcess) -> None:
        """Every process fires its due jobs at the same moment, as separate machines would."""
        runs = []
        for process in processes:
            assert process.bot is not None
            runs.append(as_bot_work(self.sim, process.bot, process.bot.jobs.run_due()))
        await asyncio.gather(*runs)
        await self.sim.settle()


async def school_from_snapshot(
    sim: DiscordSimulator, clock: ManualClock, database: Path, *, classes: int
) -> School:
    """A copy of the SQLite school of ``classes`` classes this worker set up once (both
    processes running, every class set up, both stopped; see ``snapshot_once``); not started."""
    # The snapshot's store was written at START; a test moves the clock only later.
    assert clock.now() == START, "a school from a snapshot starts at START"

    async def set_up_once(own: DiscordSimulator, folder: Path) -> ClassSnapshot:
        school = School(
            own, ManualClock(START), await copy_migrated(folder / "live.db"), classes=classes
        )
        await school.start()
        try:
            await school.set_up()
        finally:
            await school.stop()
        return snapshot_classes(school.rooms, folder / "school.db")

    snapshot = await snapshot_once(
        f"school-of-{classes}", set_up_once, sim, made_by=school_from_snapshot
    )
    rooms = classes_from_snapshot(sim, snapshot, clock=clock, database=database)
    return School(sim, clock, database, classes=classes, rooms=rooms)
