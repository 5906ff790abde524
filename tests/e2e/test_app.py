"""The bot's wiring: extensions, command sync, the error path, retries, graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.app import EXTENSIONS, remember_synced_tree
from bot.cli import _run_bot
from bot.clock import ManualClock
from bot.config import Config, DatabaseConfig, DiscordConfig, Secret
from bot.simulator import DiscordSimulator, running_bot
from bot.wiring import build_bot
from db.database import Database
from tests.e2e.conftest import (
    TOKEN,
    Classroom,
    class_from_snapshot,
    started_once,
)

SYNC_GLOBAL = "PUT /applications/{application_id}/commands"
SYNC_GUILD = "PUT /applications/{application_id}/guilds/{guild_id}/commands"


async def test_every_extension_loads_and_command_names_are_unique(world: Classroom) -> None:
    assert world.bot is not None
    assert set(world.bot.extensions) == set(EXTENSIONS)
    names = [command.name for command in world.bot.tree.get_commands()]
    assert len(names) == len(set(names))
    for command in world.bot.tree.walk_commands():
        assert command.description, f"/{command.qualified_name} has no description"


async def test_a_restart_reuses_the_feature_modules_with_fresh_cogs(world: Classroom) -> None:
    # Tests start the bot hundreds of times: cogs/ is executed once (bot.extension_modules),
    # each bot still gets its own cogs, commands and persistent components.
    assert world.bot is not None
    module, cog = sys.modules["cogs.help._cog"], world.bot.get_cog("HelpCog")
    await world.restart()
    assert sys.modules["cogs.help._cog"] is module
    assert set(world.bot.extensions) == set(EXTENSIONS)
    again = world.bot.get_cog("HelpCog")
    assert again is not None and again is not cog and type(again) is type(cog)
    await world.set_up(("Math",))
    result = await world.slash(world.alice, "subject list")
    assert "**Math**" in result.content


async def test_a_stopped_bot_leaves_none_of_its_extension_modules_loaded(world: Classroom) -> None:
    # As discord.py's unload does: each extension's module and submodules leave sys.modules
    # (a reusing bot sweeps them in one pass; its next start hands them back).
    def loaded() -> list[str]:
        return [m for m in sys.modules for ext in EXTENSIONS if m == ext or m.startswith(ext + ".")]

    assert "cogs.help._cog" in loaded()
    await world.stop()
    assert loaded() == []
    await world.start()
    assert "cogs.help._cog" in loaded()


async def test_reload_executes_the_module_afresh(world: Classroom) -> None:
    assert world.bot is not None
    old = sys.modules["cogs.setup"]
    await world.bot.reload_extension("cogs.setup")
    assert sys.modules["cogs.setup"] is not old
    await world.set_up(("Math",))  # /setup comes from the reloaded module
    await world.restart()  # and the next start keeps using it
    assert sys.modules["cogs.setup"] is not old
    result = await world.slash(world.alice, "subject list")
    assert "**Math**" in result.content


@pytest.mark.first_start
async def test_global_sync_only_when_the_commands_changed(world: Classroom) -> None:
    assert len(world.sim.routes_called(SYNC_GLOBAL)) == 1
    await world.restart()
    assert len(world.sim.routes_called(SYNC_GLOBAL)) == 1  # unchanged tree: no second sync
    result = await world.slash(world.alice, "subject list")  # commands still registered
    assert "/setup" in result.content


async def test_a_bot_that_ran_before_starts_without_a_sync_and_its_commands_work(
    world: Classroom,
) -> None:
    """How the ``world`` fixture starts every other end-to-end test's bot: a copy of a class
    whose bot's first start synced (Discord holds the commands, the store their hash)."""
    assert world.sim.routes_called(SYNC_GLOBAL) == []
    assert world.bot is not None
    assert len(world.sim.world.global_commands) == len(world.bot.tree.get_commands())
    await world.set_up(("Math",))
    result = await world.slash(world.alice, "subject list")
    assert "Math" in result.content


async def test_a_changed_command_tree_is_synced_again(
    sim: DiscordSimulator, tmp_path: Path, clock: ManualClock
) -> None:
    room = await class_from_snapshot(
        "world", started_once, sim, clock=clock, database=tmp_path / "classmentor.db"
    )
    # An older version of the bot ran: Discord holds one command fewer, the store its hash.
    registered = sim.world.global_commands
    del registered[next(iter(registered))]
    db = await Database.open(room.config.database.path)
    try:
        await remember_synced_tree(db, "the hash of an older tree")
    finally:
        await db.close()
    await room.start()
    try:
        assert len(sim.routes_called(SYNC_GLOBAL)) == 1
        assert room.bot is not None
        assert len(registered) == len(room.bot.tree.get_commands())
    finally:
        await room.stop()


async def test_dev_guild_sync_goes_to_that_guild(
    sim: DiscordSimulator, tmp_path: Path, clock: ManualClock
) -> None:
    owner = sim.create_user("Owner")
    guild = sim.create_guild("Dev", owner=owner)
    config = Config(
        discord=DiscordConfig(dev_guild_id=guild.id),
        database=DatabaseConfig(path=tmp_path / "dev.db"),
    )
    db = await Database.open(config.database.path)
    await db.migrate()
    try:
        bot = build_bot(config, db, clock, manual_jobs=True, guild_ready_timeout=0)
        async with running_bot(sim, bot, TOKEN):
            assert len(sim.routes_called(SYNC_GUILD)) == 1
            assert sim.routes_called(SYNC_GLOBAL) == []
            result = await sim.slash(owner, "subject list", guild=guild)
            assert "/setup" in result.content
    finally:
        await db.close()


async def test_unexpected_errors_get_an_error_id_and_are_logged(
    sim: DiscordSimulator,
    tmp_path: Path,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner = sim.create_user("Owner")
    guild = sim.create_guild("Class", owner=owner)
    config = Config(database=DatabaseConfig(path=tmp_path / "c.db"))
    db = await Database.open(config.database.path)
    await db.migrate()
    try:
        bot = build_bot(
            config,
            db,
            clock,
            manual_jobs=True,
            guild_ready_timeout=0,
            extensions=(*EXTENSIONS, "tests.e2e.broken_extension"),
        )
        async with running_bot(sim, bot, TOKEN):
            await bot.services.classes.setup(guild.id, owner.id)
            with caplog.at_level(logging.ERROR, logger="bot.app"):
                result = await sim.slash(owner, "crash", guild=guild)
    finally:
        await db.close()
    assert result.ephemeral
    assert "Something went wrong on my side (error id `E" in result.content
    error_id = result.content.split("`")[1]
    assert any(error_id in record.getMessage() for record in caplog.records)
    assert "the database caught fire" not in result.content  # internals stay in the log


async def test_rate_limited_and_failing_callbacks_are_retried(classroom: Classroom) -> None:
    classroom.sim.fail_next("POST /interactions/{id}/{token}/callback", 429)
    listed = await classroom.slash(classroom.alice, "subject list")
    assert "**English**, **Math**" in listed.content
    classroom.sim.fail_next("POST /interactions/{id}/{token}/callback", 500)
    listed = await classroom.slash(classroom.bob, "subject list")
    assert "**English**, **Math**" in listed.content


async def test_dropped_gateway_resumes_and_commands_still_work(classroom: Classroom) -> None:
    await classroom.sim.drop_gateway()
    await classroom.sim.wait_connected()
    assert classroom.sim.gateway.resume_count >= 1
    listed = await classroom.slash(classroom.alice, "subject list")
    assert "**English**, **Math**" in listed.content


async def test_burst_of_commands_is_slowed_down(classroom: Classroom) -> None:
    replies = [await classroom.slash(classroom.alice, "subject list") for _ in range(9)]
    assert "Slow down" in replies[-1].content
    assert all("Subjects" in r.content for r in replies[:8])


async def test_sigterm_stops_the_bot_gracefully(sim: DiscordSimulator, tmp_path: Path) -> None:
    config = Config(database=DatabaseConfig(path=tmp_path / "run.db"))
    task = asyncio.create_task(_run_bot(config, Secret(TOKEN)))
    await sim.wait_connected()
    await asyncio.sleep(0.2)
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(task, 10) == 0
    # The database was migrated on start and closed cleanly (no leftover WAL readers).
    db = await Database.open(config.database.path)
    try:
        assert await db.schema_version() > 0
        assert await db.integrity_check() == "ok"
    finally:
        await db.close()
    assert not any(path.name.endswith(".part") for path in tmp_path.iterdir())
