"""Running a real discord.py bot against the simulator, for tests, the demo and the benchmark.

While a bot runs under :func:`running_bot`, ``sim.settle()`` waits for its pending work (see
:mod:`bot.simulator.settle`), so callers never wait for a quiet window.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, TypeVar

import discord

from bot.simulator.settle import BotWork, install_task_factory

if TYPE_CHECKING:
    from bot.simulator.server import DiscordSimulator

ClientT = TypeVar("ClientT", bound=discord.Client)
T = TypeVar("T")


@contextlib.asynccontextmanager
async def running_bot(
    sim: DiscordSimulator,
    bot: ClientT,
    token: str | None = None,
    *,
    timeout: float = 5.0,  # noqa: ASYNC109 - start-up deadline, reported in the error
) -> AsyncIterator[ClientT]:
    """Start ``bot`` against ``sim``, wait until it is ready and settled, and close it on exit.

    Call :func:`bot.simulator.point_discord_at` first; give the bot ``guild_ready_timeout=0``
    (readiness then comes at once, and this waits until every guild has arrived). While it runs,
    ``sim.settle()`` waits for this bot's pending work. If the bot dies during start-up (bad
    token, disallowed intents, an exception in setup_hook) that exception is raised here.
    """
    loop = asyncio.get_running_loop()
    install_task_factory(loop)
    work = BotWork(bot, sim.gateway)
    task = work.spawn(bot.start(token or sim.token))
    work.root = task
    sim.watch(work)
    deadline = loop.time() + timeout
    try:
        # Polling is_ready() works for any Client; wait_for() needs the loop set up first.
        while not bot.is_ready():
            if task.done():
                task.result()  # re-raises the start-up failure
                raise RuntimeError("the bot stopped before it was ready")
            if loop.time() > deadline:
                raise TimeoutError(f"the bot was not ready within {timeout}s")
            await asyncio.sleep(0.002)
        await sim.settle(timeout=max(0.1, deadline - loop.time()))
        yield bot
    finally:
        sim.unwatch(work)
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, timeout)


async def as_bot_work(sim: DiscordSimulator, bot: discord.Client, work: Awaitable[T]) -> T:
    """Await ``work`` as part of ``bot``'s own work, so what it starts is waited for by settle."""
    tracker = sim.work_of(bot)

    async def run() -> T:
        return await work

    if tracker is None:
        return await work
    return await tracker.spawn(run())
