"""Contract tests: REST effects (roles, threads, DMs, files, mentions) and faults, via discord.py."""

from __future__ import annotations

import aiohttp
import discord
import pytest

from bot.simulator import DiscordSimulator
from tests.simulator.conftest import Classroom
from tests.simulator.sample_bot import SampleBot

pytestmark = pytest.mark.usefixtures("bot")


async def test_role_add_and_remove(room: Classroom, bot: SampleBot) -> None:
    res = await room.sim.slash(
        room.teacher, "grant", guild=room.guild, member=room.alice, role=room.mentor
    )
    assert res.content == "gave Mentor to alice"
    assert room.guild.member_roles(room.alice) == [room.mentor]

    res = await room.sim.slash(
        room.teacher, "revoke", guild=room.guild, member=room.alice, role=room.mentor
    )
    assert res.content == "took Mentor from alice"
    assert room.guild.member_roles(room.alice) == []
    routes = [r.route for r in room.sim.requests]
    assert "PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id}" in routes
    assert "DELETE /guilds/{guild_id}/members/{user_id}/roles/{role_id}" in routes


async def test_roles_above_the_bot_cannot_be_managed(room: Classroom) -> None:
    bot_role = room.guild.member_roles(room.sim.bot_user)[0]
    bot_role.position = 0  # moved below everything by an admin
    res = await room.sim.slash(
        room.teacher, "revoke", guild=room.guild, member=room.alice, role=room.mentor
    )
    assert res.content == "cannot"


async def test_private_thread_add_member_archive_and_lock(room: Classroom, bot: SampleBot) -> None:
    res = await room.sim.slash(
        room.teacher, "session", guild=room.guild, channel=room.channel, student=room.alice
    )

    (thread,) = room.sim.threads(room.guild)
    assert thread.type == 12 and not thread.invitable
    assert res.content == f"opened <#{thread.id}>"
    assert room.alice.id in thread.thread_members
    assert thread.archived and thread.locked
    assert [m.content for m in room.sim.messages(thread)] == [f"Welcome <@{room.alice.id}>"]
    assert room.sim.messages(thread)[0].pinged_user_ids == [room.alice.id]
    assert "thread_create help-alice" in bot.seen_events


async def test_dm_and_closed_dm_fallback(room: Classroom) -> None:
    res = await room.sim.slash(room.teacher, "remind", guild=room.guild, member=room.alice)
    assert res.content == "sent"
    assert [m.content for m in room.sim.dms(room.alice)] == ["Reminder: session at 3pm"]

    room.sim.close_dms(room.bob)
    res = await room.sim.slash(room.teacher, "remind", guild=room.guild, member=room.bob)
    assert res.content == "could not DM"
    assert room.sim.dms(room.bob) == []


async def test_file_attachment_keeps_bytes_and_type(room: Classroom) -> None:
    res = await room.sim.slash(room.teacher, "report", guild=room.guild)
    (attachment,) = res.attachments
    assert attachment.filename == "report.csv"
    assert attachment.content_type == "text/csv"
    assert attachment.data == b"name,points\nalice,3\n"


async def test_allowed_mentions_none_pings_nobody(room: Classroom) -> None:
    text = f"@everyone look <@{room.alice.id}> <@&{room.mentor.id}>"
    await room.sim.slash(
        room.teacher, "announce", guild=room.guild, channel=room.channel, text=text
    )

    (message,) = room.sim.messages(room.channel)
    assert message.content == text
    assert message.pinged_user_ids == []
    assert message.pinged_role_ids == []
    assert not message.pinged_everyone


async def test_allowed_user_is_pinged(room: Classroom) -> None:
    await room.sim.slash(
        room.teacher, "shout", guild=room.guild, channel=room.channel, member=room.bob
    )
    (message,) = room.sim.messages(room.channel)
    assert message.pinged_user_ids == [room.bob.id]


async def test_429_on_callback_and_message_post_are_retried(room: Classroom) -> None:
    room.sim.fail_next("POST /interactions/{id}/{token}/callback", 429)
    res = await room.sim.slash(room.alice, "ping", guild=room.guild, channel=room.channel)
    assert res.content == "pong"

    room.sim.fail_next("POST /channels/{channel_id}/messages", 429, count=2)
    await room.sim.slash(
        room.teacher, "announce", guild=room.guild, channel=room.channel, text="hi"
    )
    statuses = [r.status for r in room.sim.routes_called("POST /channels/{}/messages")]
    assert statuses == [429, 429, 200]
    assert [m.content for m in room.sim.messages(room.channel)] == ["pong", "hi"]


async def test_500_on_message_post_is_retried(room: Classroom) -> None:
    # discord.py retries a 500 after a pause (shortened by the fixture): one 500, then the post.
    room.sim.fail_next("POST /channels/{channel_id}/messages", 500)
    await room.sim.slash(
        room.teacher, "announce", guild=room.guild, channel=room.channel, text="hi"
    )
    statuses = [r.status for r in room.sim.routes_called("POST /channels/{}/messages")]
    assert statuses == [500, 200]
    assert [m.content for m in room.sim.messages(room.channel)] == ["hi"]


async def test_bot_rest_calls_history_edit_delete(room: Classroom, bot: SampleBot) -> None:
    channel = bot.get_channel(room.channel.id)
    assert isinstance(channel, discord.TextChannel)
    first = await channel.send("one")
    second = await channel.send("two")
    history = [m.content async for m in channel.history(limit=10)]
    assert history == ["two", "one"]
    older = [m.content async for m in channel.history(before=second)]
    assert older == ["one"]

    await first.edit(content="uno")
    await second.delete()
    assert [m.content for m in room.sim.messages(room.channel)] == ["uno"]
    fetched = await channel.fetch_message(first.id)
    assert fetched.content == "uno" and fetched.edited_at is not None
    with pytest.raises(discord.NotFound):
        await channel.fetch_message(second.id)


async def test_members_roles_guild_and_channels(room: Classroom, bot: SampleBot) -> None:
    guild = bot.get_guild(room.guild.id)
    assert guild is not None
    member = await guild.fetch_member(room.alice.id)
    assert member.name == "alice"
    with pytest.raises(discord.NotFound) as err:
        await guild.fetch_member(12345678901234567)
    assert err.value.code == 10007
    fetched = await bot.fetch_guild(room.guild.id)
    assert fetched.name == "Class 7B"
    channels = await guild.fetch_channels()
    assert {c.name for c in channels} == {"general", "help-desk"}
    role = await guild.create_role(name="Helper")
    assert "role_create Helper" in bot.seen_events or room.guild.role_named("Helper") is not None
    await role.edit(name="Helpers")
    assert room.guild.role_named("Helpers") is not None
    await role.delete()
    assert room.guild.role_named("Helpers") is None
    user = await bot.fetch_user(room.bob.id)
    assert user.name == "bob"
    with pytest.raises(discord.Forbidden):
        # Listing members needs the members intent enabled for the application.
        await bot.http.get_members(guild.id, 10, None)


async def test_application_commands_routes(room: Classroom, bot: SampleBot) -> None:
    commands = await bot.tree.fetch_commands()
    assert "ping" in {c.name for c in commands}
    ping = next(c for c in commands if c.name == "ping")
    again = await bot.tree.fetch_command(ping.id)
    assert again.id == ping.id
    # A second sync keeps the ids (Discord keeps ids of unchanged names).
    await bot.tree.sync()
    assert {c.id for c in await bot.tree.fetch_commands()} == {c.id for c in commands}


async def test_unknown_route_json_404_and_content_type(sim: DiscordSimulator) -> None:
    headers = {"Authorization": f"Bot {sim.token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(f"{sim.url}/api/v10/nothing/here") as resp:
            assert resp.status == 404
            assert resp.headers["Content-Type"] == "application/json"
            assert await resp.json() == {"message": "404: Not Found", "code": 0}
        async with session.get(f"{sim.url}/api/v10/gateway/bot") as resp:
            assert resp.headers["Content-Type"] == "application/json"
            assert (await resp.json())["url"] == sim.gateway_url
    assert "GET /nothing/here" in sim.unknown_routes


async def test_wrong_rest_token_is_401(sim: DiscordSimulator) -> None:
    headers = {"Authorization": "Bot nope"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(f"{sim.url}/api/v10/users/@me") as resp,
    ):
        assert resp.status == 401
