"""The objects a bot process builds at start-up, kept out of the garbage collector's full passes.

Modules, extensions, the command tree and discord.py's cache of servers, channels and members
live as long as the process. CPython's full collections (generation 2) walk every tracked object
each time, so under load they paused the event loop for ~100-160 ms (seen as the p99 of
`/helpme ask` and `/leaderboard` at 200 interactions/s: docs/benchmarks-speed.md). Freezing what
exists once the bot is ready (``gc.freeze``, after one collection so no garbage is kept) leaves
the later full passes only what the bot made since.
"""

from __future__ import annotations

import gc


def freeze_start_up_heap() -> None:
    """Collect once, then move every object alive now to the collector's permanent generation."""
    gc.collect()
    gc.freeze()


class FreezeWhenReady:
    """An ``on_ready`` listener that freezes the start-up heap the first time the bot is ready
    (a reconnect's ``on_ready`` again is a no-op: what it replaced must stay collectable)."""

    def __init__(self) -> None:
        self.frozen = False

    async def on_ready(self) -> None:
        """Freeze once."""
        if not self.frozen:
            self.frozen = True
            freeze_start_up_heap()
