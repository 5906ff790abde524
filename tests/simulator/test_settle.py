"""``sim.settle()`` returns when the bot has finished its work: not before, and not much after."""

from __future__ import annotations

import asyncio

import discord
import pytest

from bot.simulator.testing import as_bot_work
from tests.simulator.conftest import Classroom
from tests.simulator.sample_bot import SampleBot


async def test_settle_waits_for_background_work_the_bot_started(
    room: Classroom, bot: SampleBot
) -> None:
    channel = bot.get_channel(room.channel.id)
    assert isinstance(channel, discord.TextChannel)

    async def post_later() -> None:
        await asyncio.sleep(0.05)  # a pause the bot takes before posting, as a retry would
        await channel.send("later")

    async def start_it() -> None:
        asyncio.create_task(post_later())  # noqa: RUF006 - tracked by the bot's work

    await as_bot_work(room.sim, bot, start_it())
    await room.sim.settle()
    assert [m.content for m in room.sim.messages(room.channel)] == ["later"]


async def test_a_far_timer_is_schedule_not_pending_work(room: Classroom, bot: SampleBot) -> None:
    parked: list[asyncio.Task[None]] = []

    async def start_it() -> None:
        # Like a modal's 15-minute timeout: settle must not wait for it.
        parked.append(asyncio.create_task(asyncio.sleep(3600)))

    await as_bot_work(room.sim, bot, start_it())
    await asyncio.wait_for(room.sim.settle(), 5)
    assert not parked[0].done()
    parked[0].cancel()


async def test_settle_names_what_is_still_pending_when_it_gives_up(
    room: Classroom, bot: SampleBot
) -> None:
    stuck = asyncio.Event()

    async def start_it() -> None:
        asyncio.create_task(stuck.wait(), name="waits-forever")  # noqa: RUF006

    await as_bot_work(room.sim, bot, start_it())
    with pytest.raises(TimeoutError, match="waits-forever"):
        await room.sim.settle(timeout=0.05)
    stuck.set()
    await room.sim.settle()


async def test_settle_wakes_the_moment_one_of_the_bots_tasks_finishes(
    room: Classroom, bot: SampleBot
) -> None:
    # Not at its next poll: a test goes on as soon as the bot is done, with no idle CPU between.
    work = room.sim.work_of(bot)
    assert work is not None
    go = asyncio.Event()
    work.spawn(go.wait())
    woken = asyncio.ensure_future(work.progress(at_most=3600))
    await asyncio.sleep(0)
    assert not woken.done()
    go.set()
    await asyncio.wait_for(woken, 5)
