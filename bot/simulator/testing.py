"""Running a real discord.py bot against the simulator, for tests, the demo and the benchmark.

While a bot runs under :func:`running_bot`, ``sim.settle()`` waits for its pending work (see
:mod:`bot.simulator.settle`), so callers never wait for a quiet window.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import types
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import discord

from bot.simulator.settle import BotWork, install_task_factory

if TYPE_CHECKING:
    from bot.app import ClassMentorBot
    from bot.clock import ManualClock
    from bot.config import Config
    from bot.pacing import Pacing
    from bot.simulator.server import DiscordSimulator
    from db.database import Database

ClientT = TypeVar("ClientT", bound=discord.Client)
T = TypeVar("T")


def simulated_bot(
    config: Config, db: Database, clock: ManualClock, pacing: Pacing | None
) -> ClassMentorBot:
    """The bot as a simulated class runs it: jobs fired by the manual clock, ready as soon as
    its guilds arrive, and the cogs/ modules this process already executed reused (restarts
    and tests start the bot again and again in one process; the cogs keep no module state)."""
    from bot.wiring import build_bot  # the simulator's own modules need not import the bot

    return build_bot(
        config,
        db,
        clock,
        manual_jobs=True,
        guild_ready_timeout=0,
        pacing=pacing,
        reuse_extension_modules=True,
    )


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
        ready = asyncio.ensure_future(_until_ready(bot))
        try:
            await asyncio.wait({task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if not bot.is_ready():
            if task.done():
                task.result()  # re-raises the start-up failure
                raise RuntimeError("the bot stopped before it was ready")
            raise TimeoutError(f"the bot was not ready within {timeout}s")
        await sim.settle(timeout=max(0.1, deadline - loop.time()))
        yield bot
    finally:
        sim.unwatch(work)
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, timeout)


async def _until_ready(bot: discord.Client) -> None:
    """Wait for ``bot``'s ready event (set the moment it is ready, unlike a poll)."""
    while True:
        try:
            await bot.wait_until_ready()
            return
        except RuntimeError:  # not logged in yet: the event does not exist before login()
            await asyncio.sleep(0.002)


async def as_bot_work(sim: DiscordSimulator, bot: discord.Client, work: Awaitable[T]) -> T:
    """Await ``work`` as part of ``bot``'s own work, so what it starts is waited for by settle."""
    tracker = sim.work_of(bot)

    async def run() -> T:
        return await work

    if tracker is None:
        return await work
    return await tracker.spawn(run())


# The discord.py functions whose sleeps are back-off or rate-limit waits: ``request`` (retry
# after a 5xx or 429), ``_refresh`` (a REST bucket's reset), ``__aexit__`` (a webhook
# bucket's reset) and ``before_identify_hook`` (5 s between two shards' IDENTIFYs). Other
# sleeps (``delete(delay=...)``) are behaviour and keep their length.
_BACKOFF_CALLERS = frozenset({"request", "_refresh", "__aexit__", "before_identify_hook"})


class _QuickSleepAsyncio(types.ModuleType):
    """``asyncio`` as discord.py's HTTP modules see it, with back-off sleeps shortened."""

    def __init__(self, scale: float) -> None:
        super().__init__("asyncio")
        self._scale = scale

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, delay: float, result: Any = None) -> Any:
        """``asyncio.sleep``, ``scale`` times shorter when discord.py is backing off."""
        if sys._getframe(1).f_code.co_name in _BACKOFF_CALLERS:
            delay *= self._scale
        return await asyncio.sleep(delay, result)


@contextlib.contextmanager
def quick_discord_backoff(scale: float = 0.01) -> Iterator[None]:
    """Shorten discord.py's own HTTP pauses while the simulator runs (tests only).

    discord.py sleeps 1, 3, 5, 7 s before retrying a 500/502/504 (REST calls and interaction
    responses alike), and ``Retry-After`` after a 429; its retries still happen, in the same
    order, only sooner. The pause a sharded client takes between its shards' IDENTIFYs (the
    session-start rate limit) is shortened the same way. The simulator enforces no
    rate limit of its own, so nothing else changes. The bot's own back-off is not touched.
    """
    # The bot's REST client, the adapter behind interaction responses and follow-ups, and the
    # client (its default before_identify_hook).
    modules = (discord.http, discord.webhook.async_, discord.client)
    originals = [module.asyncio for module in modules]
    for module in modules:
        setattr(module, "asyncio", _QuickSleepAsyncio(scale))  # noqa: B010 - mypy: module attribute
    try:
        yield
    finally:
        for module, original in zip(modules, originals, strict=True):
            setattr(module, "asyncio", original)  # noqa: B010 - mypy: module attribute
