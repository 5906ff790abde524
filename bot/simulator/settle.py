"""Knowing when a bot running against the simulator has finished its work.

"Settled" means the bot has nothing left to do: every gateway event the simulator sent has been
read, no REST request is in flight, and every asyncio task the bot started has finished or is
parked on a timer far in the future (a modal's 15-minute timeout, a view's expiry). Waiting for
that signal, instead of for a quiet window, makes tests as fast as the machine allows and never
flaky on a slow one.

The bot's tasks are recognised by a context variable set on the task that runs ``bot.start``:
every task it creates (event handlers, command invokers, view callbacks, the bot's own
background work) inherits the variable, and a task factory on the loop files them under the bot.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import discord

if TYPE_CHECKING:
    from bot.simulator.gateway import Gateway
    from bot.simulator.rest import RestApi

T = TypeVar("T")

# A timer further away than this is the bot's schedule (a view's or modal's timeout, 3-15 min),
# not pending work; a shorter pause (a retry back-off, discord.py's 429 wait) is waited for.
# It stays below settle()'s default deadline, so a long pause never turns into a timeout error.
IDLE_TIMER_S = 5.0

# Tasks that read a gateway socket for as long as the bot runs, like the root task of a plain
# Client (an AutoShardedClient reads each shard in its own task); unread events are counted
# from the sessions instead.
_READERS = frozenset({"Shard.worker"})

_CURRENT_WORK: contextvars.ContextVar[BotWork | None] = contextvars.ContextVar(
    "classmentor_sim_bot_work", default=None
)


class BotWork:
    """The asyncio tasks one bot process started, and what is still pending."""

    def __init__(self, bot: discord.Client, gateway: Gateway) -> None:
        self.bot = bot
        self.gateway = gateway
        self.root: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._waiters: list[asyncio.Future[None]] = []
        self._context = contextvars.copy_context()
        self._context.run(_CURRENT_WORK.set, self)

    def adopt(self, task: asyncio.Task[Any]) -> None:
        """Count ``task`` as the bot's work until it finishes."""
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            _wake(waiter)

    async def progress(self, at_most: float) -> None:
        """Return when one of the bot's tasks finishes, or after ``at_most`` seconds.

        A task finishing is when the bot usually becomes settled; the timer covers the rest
        (a REST answer on its way, gateway events not yet read).
        """
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(at_most, _wake, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run ``coro`` as the bot's own work (what it starts is tracked too)."""
        install_task_factory(asyncio.get_running_loop())
        return asyncio.get_running_loop().create_task(coro, context=self._context)

    def pending(self) -> list[str]:
        """What the bot is still doing; empty when it has settled."""
        reasons: list[str] = []
        for ws in self._websockets():
            if ws.session_id is None:
                continue
            session = self.gateway.sessions.get(ws.session_id)
            if session is not None and session.queue is not None:
                unread = session.seq - (ws.sequence or 0)
                if unread > 0:
                    reasons.append(f"{unread} gateway event(s) not yet read")
        parked = _futures_woken_after(IDLE_TIMER_S)
        busy = [
            t
            for t in self._tasks
            if t is not self.root and not t.done() and _coro_name(t) not in _READERS
        ]
        # A task awaiting a task that is parked on a far timer is parked too (a button's handler
        # waiting for a worker that waits an hour before its next try), to any depth.
        # ``asyncio.wait`` parks the caller on a helper future that a done-callback of the awaited
        # task completes: that helper is parked when the task is.
        changed = True
        while changed:
            changed = False
            for task in busy:
                if id(task) in parked:
                    for waiter in _completed_by(task):
                        if id(waiter) not in parked:
                            parked.add(id(waiter))
                            changed = True
                elif id(getattr(task, "_fut_waiter", None)) in parked:
                    parked.add(id(task))
                    changed = True
        for task in busy:
            if id(task) not in parked:
                reasons.append(f"task {task.get_name()} ({_coro_name(task)})")
        return reasons

    def _websockets(self) -> list[Any]:
        """The bot's gateway connections: one, or one per shard for an AutoShardedClient."""
        if isinstance(self.bot, discord.AutoShardedClient):
            # ShardInfo keeps its Shard (and that its websocket) privately; nothing public has it.
            shards = [getattr(info, "_parent", None) for info in self.bot.shards.values()]
            return [s.ws for s in shards if s is not None and s.ws is not None]
        ws = getattr(self.bot, "ws", None)
        return [] if ws is None else [ws]


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _completed_by(task: asyncio.Task[Any]) -> list[asyncio.Future[Any]]:
    """Futures that ``task``'s done-callbacks complete (``asyncio.wait``'s helper future)."""
    found: list[asyncio.Future[Any]] = []
    for callback, _context in getattr(task, "_callbacks", None) or ():
        for cell in getattr(callback, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if isinstance(value, asyncio.Future) and value is not task:
                found.append(value)
    return found


def _coro_name(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    return getattr(coro, "__qualname__", type(coro).__name__)


def _futures_woken_after(horizon: float) -> set[int]:
    """Ids of futures that only a timer more than ``horizon`` seconds away will complete.

    ``asyncio.sleep`` and ``wait_for`` park a task on a future and schedule a timer handle whose
    arguments include it; discord.py's view and modal timeouts are such sleeps.
    """
    loop = asyncio.get_running_loop()
    now = loop.time()
    parked: set[int] = set()
    for handle in getattr(loop, "_scheduled", ()):
        if handle.cancelled() or handle.when() - now <= horizon:
            continue
        for arg in getattr(handle, "_args", None) or ():
            if isinstance(arg, asyncio.Future):
                parked.add(id(arg))
    return parked


def _task_factory(
    loop: asyncio.AbstractEventLoop,
    coro: Coroutine[Any, Any, Any],
    context: contextvars.Context | None = None,
) -> asyncio.Task[Any]:
    ctx = context if context is not None else contextvars.copy_context()
    task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop, context=ctx)
    work = ctx.get(_CURRENT_WORK)
    if work is not None:
        work.adopt(task)
    return task


def install_task_factory(loop: asyncio.AbstractEventLoop) -> None:
    """Let :class:`BotWork` see the tasks a bot creates on this loop (idempotent)."""
    current = loop.get_task_factory()
    if current is _task_factory:
        return
    if current is not None:
        raise RuntimeError("the event loop already has a task factory; cannot track the bot")
    loop.set_task_factory(_task_factory)  # type: ignore[arg-type]  # typeshed lacks context=


async def wait_settled(
    api: RestApi,
    work: BotWork,
    timeout: float = 10.0,  # noqa: ASYNC109 - the deadline is part of the error
) -> None:
    """Wait until ``work`` has nothing pending and no REST request is in flight."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    calm = 0
    while True:
        reasons = work.pending()
        activity = api.activity
        if activity.in_flight:
            reasons.append("REST in flight: " + ", ".join(activity.current.values()))
        if reasons:
            calm = 0
        else:
            calm += 1
            # Twice, one loop turn apart: a callback scheduled this turn gets its chance to act.
            if calm >= 2:
                return
        if loop.time() > deadline:
            raise TimeoutError(f"the bot did not settle within {timeout}s: {'; '.join(reasons)}")
        if calm:
            await asyncio.sleep(0)
        else:
            # Woken as soon as one of its tasks finishes: the test goes on the moment the bot
            # is done, not at the next poll (an idle CPU in between).
            await work.progress(0.001)
