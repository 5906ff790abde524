"""Contract tests: slash commands, components, modals and autocomplete through real discord.py."""

from __future__ import annotations

import aiohttp
import pytest

from bot.simulator import DiscordSimulator, SimulatorError, running_bot
from tests.simulator.conftest import Classroom
from tests.simulator.sample_bot import SampleBot

pytestmark = pytest.mark.usefixtures("bot")


async def test_plain_reply_is_a_public_channel_message(room: Classroom) -> None:
    res = await room.sim.slash(room.alice, "ping", guild=room.guild, channel=room.channel)

    assert res.content == "pong"
    assert not res.ephemeral
    assert res.message is not None
    assert room.sim.messages(room.channel) == [res.message]
    assert res.message.author is room.sim.bot_user


async def test_ephemeral_reply_is_not_in_the_channel(room: Classroom) -> None:
    res = await room.sim.slash(room.alice, "secret", guild=room.guild)

    assert res.content == "only you"
    assert res.ephemeral
    assert room.sim.messages(room.channel) == []


async def test_defer_then_followup_replaces_the_thinking_message(room: Classroom) -> None:
    res = await room.sim.slash(room.alice, "slow", guild=room.guild, ephemeral=True)

    assert res.deferred
    assert res.content == "done"
    assert res.ephemeral  # the defer decides, as on Discord
    assert res.message is not None and not res.message.flags & (1 << 7)


async def test_defer_then_edit_original(room: Classroom) -> None:
    res = await room.sim.slash(room.alice, "slow_edit", guild=room.guild, channel=room.channel)

    assert res.deferred
    assert res.content == "edited"
    assert [m.content for m in room.sim.messages(room.channel)] == ["edited"]


async def test_subcommand_group_options_and_autocomplete(room: Classroom) -> None:
    choices = await room.sim.autocomplete(
        room.teacher, "admin settings timezone", guild=room.guild, focused="zone", value="Europe/L"
    )
    assert [c["value"] for c in choices] == ["Europe/London", "Europe/Lisbon"]

    res = await room.sim.slash(
        room.teacher,
        "admin settings timezone",
        guild=room.guild,
        zone="Europe/London",
        week_start=7,
    )
    assert res.content == "zone=Europe/London week_start=7"


async def test_unknown_command_and_option_errors_are_helpful(room: Classroom) -> None:
    with pytest.raises(SimulatorError, match="registered"):
        await room.sim.slash(room.alice, "nope", guild=room.guild)
    with pytest.raises(SimulatorError, match="no option"):
        await room.sim.slash(room.alice, "ping", guild=room.guild, colour="red")
    with pytest.raises(SimulatorError, match="needs a subcommand"):
        await room.sim.slash(room.alice, "admin settings", guild=room.guild)


async def test_channel_option_is_resolved(room: Classroom) -> None:
    res = await room.sim.slash(
        room.alice,
        "where",
        guild=room.guild,
        channel=room.channel,
        options={"channel": room.channel},
    )
    assert res.content == "channel=help-desk"


async def test_a_command_that_raises_times_out_with_a_report(room: Classroom) -> None:
    room.sim.response_timeout = 0.05
    with pytest.raises(SimulatorError, match="never answered"):
        await room.sim.slash(room.alice, "broken", guild=room.guild)


async def test_buttons_select_and_update_message(room: Classroom) -> None:
    panel = await room.sim.slash(room.teacher, "panel", guild=room.guild, channel=room.channel)
    message = panel.message
    assert message is not None
    assert ("Say hello", "panel:hello", False) in message.buttons()

    hello = await room.sim.click(room.alice, message, "panel:hello")
    assert hello.content == "hello alice"
    assert hello.ephemeral

    picked = await room.sim.select(room.alice, message, "panel:pick", ["art"])
    assert picked.content == "picked art"

    closed = await room.sim.click(room.teacher, message, "panel:close")
    assert closed.response_type == 7
    assert message.content == "closed"
    assert ("Close", "panel:close", True) in message.buttons()
    with pytest.raises(SimulatorError, match="disabled"):
        await room.sim.click(room.alice, message, "panel:close")


async def test_persistent_button_answers_after_a_bot_restart(
    sim: DiscordSimulator, room: Classroom, bot: SampleBot
) -> None:
    panel = await sim.slash(room.teacher, "panel", guild=room.guild, channel=room.channel)
    assert panel.message is not None
    await bot.close()

    async with running_bot(sim, SampleBot()):
        res = await sim.click(room.alice, panel.message, "panel:hello")

    assert res.content == "hello alice"
    assert sim.gateway.identify_count == 2


async def test_modal_round_trip(room: Classroom) -> None:
    opened = await room.sim.slash(room.alice, "feedback", guild=room.guild)
    assert opened.modal is not None
    assert opened.modal.fields() == ["feedback:text", "feedback:mood"]

    with pytest.raises(SimulatorError, match="required"):
        await room.sim.submit_modal(room.alice, opened.modal, {"feedback:mood": "ok"})
    res = await room.sim.submit_modal(room.alice, opened.modal, {"feedback:text": "great class"})
    assert res.content == "thanks: great class (-)"


async def test_second_callback_is_rejected_with_40060(room: Classroom) -> None:
    res = await room.sim.slash(room.alice, "ping", guild=room.guild)
    pending = room.sim.api.interactions[res.interaction_id]
    url = f"{room.sim.url}/api/v10/interactions/{pending.id}/{pending.token}/callback"
    again = {"type": 4, "data": {"content": "again"}}
    async with aiohttp.ClientSession() as session, session.post(url, json=again) as resp:
        assert resp.status == 400
        assert (await resp.json())["code"] == 40060


async def test_slash_command_in_dms(room: Classroom) -> None:
    res = await room.sim.slash(room.alice, "ping")

    assert res.content == "pong"
    assert res.message is not None
    assert room.sim.dms(room.alice) == [res.message]
