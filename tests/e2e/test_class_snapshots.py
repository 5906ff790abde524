"""Classes started from a snapshot (what the ``classroom`` fixtures do): each is a copy of
the class set up once, its own Discord and store, where a restarted bot finds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.simulator import DiscordSimulator, SimulatorError, point_discord_at
from bot.simulator.classroom import ClassSnapshot, DriverError, expect
from bot.simulator.state import World
from tests.conftest import START
from tests.e2e.conftest import Classroom, simulated_discord, snapshot_once


async def test_the_bot_finds_the_class_set_up_and_serves_it(classroom: Classroom) -> None:
    listed = await classroom.slash(classroom.alice, "subject list")
    assert "English" in listed.content and "Math" in listed.content
    granted = await classroom.slash(
        classroom.teacher, "mentor grant", student=classroom.bob, subject="Math"
    )
    expect(granted, "mentor badge")
    assert "Math Mentor" in {r.name for r in classroom.guild.member_roles(classroom.bob)}


async def test_each_class_is_a_copy_of_its_own(classroom: Classroom, tmp_path: Path) -> None:
    await classroom.slash(classroom.teacher, "mentor grant", student=classroom.bob, subject="Math")
    await classroom.stop()
    snapshot = classroom.snapshot(tmp_path / "snapshot.db")

    async with simulated_discord() as sim:
        again = Classroom.from_snapshot(
            sim, snapshot, clock=ManualClock(START), database=tmp_path / "again.db"
        )
        await again.start()
        try:
            # The same class, ids and all, on another Discord and another store.
            assert again.guild.id == classroom.guild.id and again.bob.id == classroom.bob.id
            assert again.guild is not classroom.guild
            assert "Math Mentor" in {r.name for r in again.guild.member_roles(again.bob)}
            revoked = await again.slash(
                again.teacher, "mentor revoke", student=again.bob, subject="Math"
            )
            expect(revoked, "no longer has")
        finally:
            await again.stop()
    # What the copy did reached neither the snapshot nor the class it was taken from.
    assert "Math Mentor" in {r.name for r in classroom.guild.member_roles(classroom.bob)}
    kept = World()
    kept.restore(snapshot.world)
    assert "Math Mentor" in {
        r.name for r in kept.guilds[classroom.guild.id].member_roles(classroom.bob.id)
    }
    point_discord_at(classroom.sim)  # the copy's simulator had discord.py
    await classroom.start()  # for the fixture's own stop


async def test_a_snapshot_needs_a_stopped_bot_and_a_simulator_nobody_uses(
    classroom: Classroom, tmp_path: Path
) -> None:
    with pytest.raises(DriverError, match="stop the bot"):
        classroom.snapshot(tmp_path / "snapshot.db")
    with pytest.raises(SimulatorError, match="before a bot connects"):
        classroom.sim.restore(classroom.sim.snapshot())


async def test_one_snapshot_name_is_one_set_up(classroom: Classroom, tmp_path: Path) -> None:
    await classroom.stop()

    async def this_class(_own: DiscordSimulator, folder: Path) -> ClassSnapshot:
        return classroom.snapshot(folder / "class.db")

    async def another(_own: DiscordSimulator, _folder: Path) -> ClassSnapshot:
        raise AssertionError("never taken")

    taken = await snapshot_once("test-one-name", this_class, classroom.sim)
    assert await snapshot_once("test-one-name", this_class, classroom.sim) is taken
    with pytest.raises(AssertionError, match="share the snapshot name"):
        await snapshot_once("test-one-name", another, classroom.sim)
    await classroom.start()  # for the fixture's own stop (discord.py points at its simulator)


@pytest.mark.first_start
async def test_a_first_start_class_is_synced_and_set_up_by_its_own_bot(
    classroom: Classroom,
) -> None:
    assert len(classroom.sim.routes_called("PUT /applications/{application_id}/commands")) == 1
    setups = classroom.sim.routes_called("POST /interactions/{interaction_id}/{token}/callback")
    assert len(setups) == 3  # /setup class and two /subject add, run by this test's bot
    listed = await classroom.slash(classroom.alice, "subject list")
    assert "English" in listed.content and "Math" in listed.content
