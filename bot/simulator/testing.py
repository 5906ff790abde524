"""Helpers for tests that run a real discord.py bot against the simulator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

import discord

from bot.simulator.server import DiscordSimulator

ClientT = TypeVar("ClientT", bound=discord.Client)


@contextlib.asynccontextmanager
async def running_bot(
    sim: DiscordSimulator,
    bot: ClientT,
    token: str | None = None,
    *,
    timeout: float = 5.0,  # noqa: ASYNC109 - start-up deadline, reported in the error
) -> AsyncIterator[ClientT]:
    """Start ``bot`` against ``sim``, wait until it is ready, and close it on exit.

    Call :func:`bot.simulator.point_discord_at` first, and give the bot
    ``guild_ready_timeout=0.1`` so readiness comes quickly. If the bot dies during start-up
    (bad token, disallowed intents, an exception in setup_hook) that exception is raised here.
    """
    task = asyncio.create_task(bot.start(token or sim.token))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        # Polling is_ready() works for any Client; wait_for() needs the loop set up first.
        while not bot.is_ready():
            if task.done():
                task.result()  # re-raises the start-up failure
                raise RuntimeError("the bot stopped before it was ready")
            if loop.time() > deadline:
                raise TimeoutError(f"the bot was not ready within {timeout}s")
            await asyncio.sleep(0.01)
        yield bot
    finally:
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, timeout)
