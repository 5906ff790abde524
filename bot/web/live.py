"""Live updates for projector views: recompute a class's public numbers when the store changes.

Every committed transaction (a confirmed session, a recorded score, an award, a mentor going
available, a new request) calls :meth:`LiveHub.changed` through :meth:`db.database.Database.
on_commit`, so no feature has to remember to announce itself. Changes are coalesced for a moment,
then each projector link with screens open is recomputed once (not once per screen); only a real
difference is written, as one server-sent event encoded once, to every screen. Writing yields to
the event loop every few screens and never waits on a slow screen (one whose send buffer is full
is dropped; its browser reconnects), so a classroom of projectors cannot delay the bot. A slow
timer catches what changes with time alone (a mentor's availability running out).
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
Write = Callable[[bytes], Awaitable[None]]
COALESCE_S = 0.1
REFRESH_S = 30.0
SCREENS_PER_SLICE = 10  # screens written before yielding to the event loop
MAX_BUFFERED = 64 * 1024  # a screen this far behind is dropped (its browser reconnects)
REVOKED_EVENT = b"event: revoked\ndata: {}\n\n"
KEEPALIVE = b": still here\n\n"


def update_event(text: str) -> bytes:
    """A snapshot as one server-sent event."""
    return f"event: update\ndata: {text}\n\n".encode()


class Screen:
    """One open projector stream: how to write to it, how full its buffer is, whether it ended."""

    def __init__(self, write: Write, buffered: Callable[[], int | None]) -> None:
        self._write = write
        self._buffered = buffered  # bytes waiting to be sent; None once the connection is gone
        self.ended = asyncio.Event()

    async def send(self, data: bytes) -> bool:
        """Write without ever waiting on a slow reader; ``False`` (and ended) if it is gone."""
        if self.ended.is_set():
            return False
        waiting = self._buffered()
        if waiting is None or waiting > MAX_BUFFERED:
            self.ended.set()
            return False
        try:
            await self._write(data)
        except (ConnectionError, RuntimeError):
            self.ended.set()
            return False
        return True


class LiveHub:
    """Per projector link, the screens showing it and the last snapshot they were sent.

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
        self._screens: dict[str, set[Screen]] = {}
        self._last: dict[str, str] = {}
        self._dirty = False
        self._flusher: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None

    @property
    def listeners(self) -> int:
        """How many projector screens are connected."""
        return sum(len(screens) for screens in self._screens.values())

    def start(self) -> None:
        """Start the slow refresh timer."""
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def close(self) -> None:
        """Stop the timers and end every stream (browsers reconnect to the next process)."""
        for task in (self._ticker, self._flusher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._ticker = self._flusher = None
        for screens in self._screens.values():
            for screen in screens:
                screen.ended.set()

    def changed(self) -> None:
        """Something was committed: recompute soon (many changes in a burst, once)."""
        if not self._screens:
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
        """Recompute every watched link; write to its screens if what they show changed."""
        computed: dict[int, str] = {}
        for link in list(self._screens):
            guild_id = await self._resolve(link)
            if guild_id is None:
                await self._broadcast(link, REVOKED_EVENT, end=True)
                continue
            if guild_id not in computed:
                computed[guild_id] = await self._encoded(guild_id)
            text = computed[guild_id]
            if text == self._last.get(link):
                continue
            self._last[link] = text
            await self._broadcast(link, update_event(text), end=False)

    async def _broadcast(self, link: str, data: bytes, *, end: bool) -> None:
        for i, screen in enumerate(list(self._screens.get(link, ()))):
            await screen.send(data)
            if end:
                screen.ended.set()
            if i % SCREENS_PER_SLICE == SCREENS_PER_SLICE - 1:
                await asyncio.sleep(0)  # let interactions in between

    async def _encoded(self, guild_id: int) -> str:
        return json.dumps(await self._snapshot(guild_id), sort_keys=True, separators=(",", ":"))

    @contextlib.asynccontextmanager
    async def listen(self, link: str, guild_id: int, screen: Screen) -> AsyncIterator[None]:
        """Send the class's snapshot to ``screen`` now and every change after, until it ends.

        ``link`` is the projector link's secret (already checked to show ``guild_id``); the
        screen gets a ``revoked`` event and ends when the link stops working.
        """
        text = await self._encoded(guild_id)
        await screen.send(update_event(text))
        if link not in self._screens:
            self._last[link] = text
        self._screens.setdefault(link, set()).add(screen)
        try:
            yield
        finally:
            screens = self._screens.get(link)
            if screens is not None:
                screens.discard(screen)
                if not screens:
                    del self._screens[link]
                    self._last.pop(link, None)
