"""Background work a cog owns: its start-up tasks and its one-at-a-time posts.

A cog that finishes work at start-up (posts a crash left pending) starts it here; unloading the
cog cancels and awaits it, and what is unfinished stays pending in the database for the next
start. ``lock(key)`` serialises the posting of one record (a lesson's celebration, a goal's
post) when a timer and start-up's resume race for it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Coroutine
from typing import Any


class OwnedTasks:
    """The tasks one cog started, and a lock per record it posts."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def start(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``coro`` in a task this cog owns until it finishes or the cog unloads."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def stop(self) -> None:
        """Cancel and await every owned task (unfinished work stays pending in the database)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def lock(self, key: int) -> asyncio.Lock:
        """The lock for one record (kept only while someone holds or waits for it)."""
        return self._locks.setdefault(key, asyncio.Lock())
