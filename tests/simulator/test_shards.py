"""Contract tests: sharded gateway sessions, through discord.py's AutoShardedClient/Bot."""

from __future__ import annotations

import aiohttp
import discord
import pytest
from discord.ext import commands

from bot.simulator import DiscordSimulator, SimGuild, SimUser, point_discord_at, running_bot
from bot.simulator.gateway import INVALID_SHARD, shard_for
from bot.simulator.rest import SessionStartLimits
from bot.simulator.testing import quick_discord_backoff


class ShardedSample(commands.AutoShardedBot):
    """A sharded bot with one command that says which shard answered."""

    def __init__(
        self, *, shard_count: int | None = None, shard_ids: list[int] | None = None
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            guild_ready_timeout=0,
            shard_count=shard_count,
            shard_ids=shard_ids,  # type: ignore[arg-type]  # None means "all", as at run time
        )
        self.seen_messages: list[str] = []

    async def setup_hook(self) -> None:
        @self.tree.command(description="Which shard answers")
        async def where(interaction: discord.Interaction) -> None:
            assert interaction.guild is not None
            await interaction.response.send_message(f"shard {interaction.guild.shard_id}")

        if self.shard_ids is None or 0 in self.shard_ids:
            await self.tree.sync()  # commands are global: one process syncs them

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return  # its own replies
        self.seen_messages.append(str(getattr(message.channel, "name", "")))


@pytest.fixture
def school(sim: DiscordSimulator) -> tuple[SimUser, list[SimGuild]]:
    """Four class servers: two on shard 0 and two on shard 1 of 2."""
    teacher = sim.create_user("Ms Rivera")
    guilds = [sim.create_guild(f"Class {n}", owner=teacher, shard=(n % 2, 2)) for n in range(4)]
    return teacher, guilds


def test_guild_ids_land_on_the_asked_shard(sim: DiscordSimulator) -> None:
    owner = sim.create_user("Owner")
    for shard_id in (0, 1, 2, 0, 2):
        guild = sim.create_guild("G", owner=owner, shard=(shard_id, 3))
        assert shard_for(guild.id, 3) == shard_id == (guild.id >> 22) % 3


async def test_one_process_running_every_shard(
    sim: DiscordSimulator, school: tuple[SimUser, list[SimGuild]]
) -> None:
    _, guilds = school
    async with running_bot(sim, ShardedSample(shard_count=2)) as bot:
        assert {g.id for g in bot.guilds} == {g.id for g in guilds}
        for guild in guilds:
            cached = bot.get_guild(guild.id)
            assert cached is not None and cached.shard_id == shard_for(guild.id, 2)
        identifies = [f["d"]["shard"] for f in sim.gateway.received if f.get("op") == 2]
        assert sorted(identifies) == [[0, 2], [1, 2]]
        assert sim.gateway.connected_shards() == {0: 1, 1: 1}


async def test_each_process_sees_only_its_shards_guilds_and_events(
    sim: DiscordSimulator, school: tuple[SimUser, list[SimGuild]]
) -> None:
    teacher, guilds = school
    on_0, on_1 = guilds[0::2], guilds[1::2]
    async with (
        running_bot(sim, ShardedSample(shard_count=2, shard_ids=[0])) as first,
        running_bot(sim, ShardedSample(shard_count=2, shard_ids=[1])) as second,
    ):
        assert {g.id for g in first.guilds} == {g.id for g in on_0}
        assert {g.id for g in second.guilds} == {g.id for g in on_1}
        # Interactions go to the session that owns the guild's shard.
        for guild in guilds:
            result = await sim.slash(teacher, "where", guild=guild)
            assert result.content == f"shard {shard_for(guild.id, 2)}"
        # So do other guild events: a message in a shard-1 class reaches the second process.
        channel = on_1[0].create_text_channel("maths-help")
        await sim.send_message(teacher, channel, "hello")
        await sim.settle()
        assert second.seen_messages == ["maths-help"]
        assert first.seen_messages == []
        # A server that invites the bot later arrives at its shard's process only.
        late = sim.create_guild("Class 9", owner=teacher, shard=(1, 2))
        await sim.settle()
        assert second.get_guild(late.id) is not None
        assert first.get_guild(late.id) is None
    # Commands were synced once, by the process with shard 0.
    assert len(sim.routes_called("PUT /applications/{app}/commands")) == 1


async def test_a_shard_served_twice_during_a_rolling_restart(
    sim: DiscordSimulator, school: tuple[SimUser, list[SimGuild]]
) -> None:
    _, guilds = school
    async with (
        running_bot(sim, ShardedSample(shard_count=2, shard_ids=[0, 1])) as old,
        running_bot(sim, ShardedSample(shard_count=2, shard_ids=[1])) as new,
    ):
        assert sim.gateway.connected_shards() == {0: 1, 1: 2}
        assert {g.id for g in new.guilds} == {g.id for g in guilds[1::2]}
        assert len(old.guilds) == 4
    assert sim.gateway.connected_shards() == {}


async def test_gateway_bot_recommends_shards_and_reports_session_starts() -> None:
    limits = SessionStartLimits(total=1000, max_concurrency=2)
    sim = DiscordSimulator(recommended_shards=3, session_limits=limits)
    await sim.start()
    point_discord_at(sim)
    owner = sim.create_user("Owner")
    guilds = [sim.create_guild(f"G{n}", owner=owner, shard=(n, 3)) for n in range(3)]
    try:
        # Without a shard count discord.py asks GET /gateway/bot and uses its recommendation.
        with quick_discord_backoff():
            async with running_bot(sim, ShardedSample()) as bot:
                assert bot.shard_count == 3
                assert {g.id for g in bot.guilds} == {g.id for g in guilds}
                info = await bot.fetch_session_start_limits()
                assert (info.total, info.remaining, info.max_concurrency) == (1000, 997, 2)
    finally:
        await sim.stop()


async def test_recommended_shards_follow_the_guild_count(sim: DiscordSimulator) -> None:
    assert sim.recommended_shards() == 1
    owner = sim.create_user("Owner")
    for n in range(1001):
        sim.create_guild(f"G{n}", owner=owner)
    assert sim.recommended_shards() == 2


async def test_an_invalid_shard_is_refused(sim: DiscordSimulator) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(sim.gateway_url) as ws:
        await ws.receive_json()  # HELLO
        await ws.send_json(
            {"op": 2, "d": {"token": sim.token, "intents": 1, "properties": {}, "shard": [2, 2]}}
        )
        await ws.receive()
        assert ws.close_code == INVALID_SHARD


async def test_a_command_in_an_unserved_shard_says_so(
    sim: DiscordSimulator, school: tuple[SimUser, list[SimGuild]]
) -> None:
    teacher, guilds = school
    async with running_bot(sim, ShardedSample(shard_count=2, shard_ids=[0])):
        with pytest.raises(Exception, match="no connected bot session serves Class 1"):
            await sim.slash(teacher, "where", guild=guilds[1])
