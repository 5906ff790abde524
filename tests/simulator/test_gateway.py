"""Contract tests: READY/GUILD_CREATE, cache events, intents, tokens and RESUME via discord.py."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import discord
import pytest

from bot.simulator import DiscordSimulator, point_discord_at, running_bot
from tests.simulator.conftest import Classroom
from tests.simulator.sample_bot import SampleBot


async def test_ready_fills_the_cache(room: Classroom, bot: SampleBot) -> None:
    guild = bot.get_guild(room.guild.id)
    assert guild is not None
    assert guild.owner_id == room.teacher.id
    assert {c.name for c in guild.text_channels} == {"general", "help-desk"}
    assert guild.get_role(room.mentor.id) is not None
    assert guild.default_role.id == room.guild.id
    assert guild.me is not None and guild.me.guild_permissions.administrator
    assert bot.user is not None and bot.user.id == room.sim.bot_user.id
    assert bot.application_id == room.sim.application_id


async def test_guild_join_and_remove_after_connect(
    sim: DiscordSimulator, room: Classroom, bot: SampleBot
) -> None:
    other = sim.create_guild("Class 8A", owner=room.teacher, with_bot=False)
    sim.add_bot(other)
    await sim.settle()
    assert bot.get_guild(other.id) is not None
    sim.remove_bot(other)
    await sim.settle()
    assert bot.get_guild(other.id) is None
    assert bot.seen_events[-2:] == ["guild_join Class 8A", "guild_remove Class 8A"]


async def test_user_messages_and_the_message_content_intent(
    sim: DiscordSimulator, room: Classroom
) -> None:
    # Without the message-content intent the bot gets others' messages with empty content...
    async with running_bot(sim, SampleBot()) as plain:
        await sim.send_message(room.alice, room.channel, "hello class")
        await sim.send_message(room.alice, room.channel, f"hey {sim.bot_user.mention}")
        await sim.settle()
        assert [m.content for m in plain.seen_messages] == ["", f"hey <@{sim.bot_user.id}>"]


async def test_message_content_and_members_intents_when_enabled(room: Classroom) -> None:
    sim = DiscordSimulator(privileged_intents=["members", "message_content"])
    await sim.start()
    point_discord_at(sim)
    teacher = sim.create_user("T")
    guild = sim.create_guild("G", owner=teacher)
    channel = guild.create_text_channel("c")
    try:
        async with running_bot(
            sim,
            SampleBot(
                intents=discord.Intents.default()
                | discord.Intents(members=True, message_content=True)
            ),
        ) as bot:
            newbie = sim.create_user("Newbie")
            guild.add_member(newbie)
            role = guild.create_role("Star")
            guild.add_role(newbie, role)
            await sim.send_message(newbie, channel, "hello")
            await sim.settle()
            assert [m.content for m in bot.seen_messages] == ["hello"]
            assert "join newbie" in bot.seen_events and "update newbie" in bot.seen_events
            cached = bot.get_guild(guild.id)
            assert cached is not None
            member = cached.get_member(newbie.id)
            assert member is not None and [r.name for r in member.roles[1:]] == ["Star"]
            assert cached.member_count == 3
    finally:
        await sim.stop()


async def test_privileged_intent_not_enabled_closes_4014(
    sim: DiscordSimulator, room: Classroom
) -> None:
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with running_bot(sim, SampleBot(intents=discord.Intents.all())):
            pass


async def test_wrong_token_fails_login(sim: DiscordSimulator, room: Classroom) -> None:
    with pytest.raises(discord.LoginFailure):
        async with running_bot(sim, SampleBot(), "wrong"):
            pass


async def test_gateway_rejects_wrong_token_with_4004(sim: DiscordSimulator) -> None:
    url = sim.gateway_url + "?v=10&encoding=json"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        hello = json.loads((await ws.receive()).data)
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0
        await ws.send_json({"op": 1, "d": None})
        assert json.loads((await ws.receive()).data) == {"op": 11}
        await ws.send_json({"op": 2, "d": {"token": "nope", "intents": 1, "properties": {}}})
        await ws.receive()
        assert ws.close_code == 4004


async def test_dropped_socket_resumes_and_replays_missed_events(
    sim: DiscordSimulator, room: Classroom, bot: SampleBot
) -> None:
    await sim.drop_gateway()
    # These happen while the bot is disconnected; RESUME must replay them.
    room.guild.create_role("Reader")
    helpers = room.guild.create_text_channel("helpers")
    await sim.wait_connected()
    await sim.settle()

    guild = bot.get_guild(room.guild.id)
    assert guild is not None
    assert "Reader" in {r.name for r in guild.roles}
    assert guild.get_channel(helpers.id) is not None
    assert sim.gateway.identify_count == 1
    assert sim.gateway.resume_count == 1
    res = await sim.slash(room.alice, "ping", guild=room.guild)
    assert res.content == "pong"


async def test_settle_waits_for_background_work(
    sim: DiscordSimulator, room: Classroom, bot: SampleBot
) -> None:
    channel = bot.get_channel(room.channel.id)
    assert isinstance(channel, discord.TextChannel)

    async def later() -> None:
        await asyncio.sleep(0.01)
        await channel.send("background")

    task = asyncio.create_task(later())
    await sim.settle()
    await task
    assert [m.content for m in sim.messages(room.channel)] == ["background"]


async def test_user_dm_reaches_on_message(
    sim: DiscordSimulator, room: Classroom, bot: SampleBot
) -> None:
    await sim.dm_bot(room.alice, "can you help?")
    await sim.settle()
    # DMs carry content even without the message-content intent.
    assert [(m.content, m.guild) for m in bot.seen_messages] == [("can you help?", None)]
