"""Live updates for projector views: recompute a class's public numbers when the store changes.

Every committed transaction (a confirmed session, a recorded score, an award, a mentor going
available, a new request) calls :meth:`LiveHub.changed` through :meth:`db.database.Database.
on_commit`, so no feature has to remember to announce itself. Changes are coalesced for a moment,
then each class with a projector open is recomputed once; only a real difference is pushed to its
listeners (server-sent events). A slow timer catches what changes with time alone (a mentor's
availability running out).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Snapshot = Callable[[int], Awaitable[dict[str, Any]]]
Resolve = Callable[[str], Awaitable[int | None]]
COALESCE_S = 0.1
REFRESH_S = 30.0
QUEUE_SIZE = 4
CLOSED = ""  # what a listener's queue receives when the hub closes
REVOKED = "revoked"  # ... and when its projector link was revoked


class LiveHub:
    """Per projector link, the listeners (one queue each) and the last snapshot they were sent.

    ``resolve`` turns a link into its class (``None`` once revoked); ``snapshot`` computes what
    a class's projector shows. Both run once per link per refresh, however many screens listen.
    """

    def __init__(
        self,
        resolve: Resolve,
        snapshot: Snapshot,
        *,
        coalesce_s: float = COALESCE_S,
        refresh_s: float = REFRESH_S,
    ) -> None:
        self._resolve = resolve
        self._snapshot = snapshot
        self._coalesce_s = coalesce_s
        self._refresh_s = refresh_s
        self._listeners: dict[str, set[asyncio.Queue[str]]] = {}
        self._last: dict[str, str] = {}
        self._dirty = False
        self._flusher: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None

    @property
    def listeners(self) -> int:
        """How many projector views are connected."""
        return sum(len(queues) for queues in self._listeners.values())

    def start(self) -> None:
        """Start the slow refresh timer."""
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def close(self) -> None:
        """Stop the timers and tell every listener to end its stream."""
        for task in (self._ticker, self._flusher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._ticker = self._flusher = None
        for queues in self._listeners.values():
            for queue in queues:
                _offer(queue, CLOSED)

    def changed(self) -> None:
        """Something was committed: recompute soon (many changes in a burst, once)."""
        if not self._listeners:
            return
        self._dirty = True
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self._dirty:
            self._dirty = False
            await asyncio.sleep(self._coalesce_s)
            await self.refresh()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            try:
                await self.refresh()
            except Exception:
                log.exception("projector refresh failed")

    async def refresh(self) -> None:
        """Recompute every watched link; push to its listeners if what they show changed."""
        computed: dict[int, str] = {}
        for link in list(self._listeners):
            guild_id = await self._resolve(link)
            if guild_id is None:
                text = REVOKED
            else:
                if guild_id not in computed:
                    computed[guild_id] = await self._encoded(guild_id)
                text = computed[guild_id]
            if text == self._last.get(link):
                continue
            self._last[link] = text
            for queue in list(self._listeners.get(link, ())):
                _offer(queue, text)

    async def _encoded(self, guild_id: int) -> str:
        return json.dumps(await self._snapshot(guild_id), sort_keys=True, separators=(",", ":"))

    @contextlib.asynccontextmanager
    async def listen(self, link: str, guild_id: int) -> AsyncIterator[asyncio.Queue[str]]:
        """A queue that receives the class's snapshot now and every change after.

        ``link`` is the projector link's secret (already checked to show ``guild_id``); the
        queue gets :data:`REVOKED` when the link stops working, :data:`CLOSED` at shut-down.
        """
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        text = await self._encoded(guild_id)
        queue.put_nowait(text)
        if link not in self._listeners:
            self._last[link] = text
        self._listeners.setdefault(link, set()).add(queue)
        try:
            yield queue
        finally:
            queues = self._listeners.get(link)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self._listeners[link]
                    self._last.pop(link, None)


def _offer(queue: asyncio.Queue[str], text: str) -> None:
    """Queue ``text``; a listener that fell behind only needs the newest snapshot."""
    while True:
        try:
            queue.put_nowait(text)
            return
        except asyncio.QueueFull:
            queue.get_nowait()
