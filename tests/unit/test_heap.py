"""The bot process's start-up heap is frozen once, at the first ``on_ready`` (bot/heap.py)."""

from __future__ import annotations

import gc

from bot.heap import FreezeWhenReady


async def test_the_start_up_heap_is_frozen_at_the_first_ready_only() -> None:
    listener = FreezeWhenReady()
    before = gc.get_freeze_count()  # the test process's own heap (tests/conftest.py)
    try:
        await listener.on_ready()
        frozen = gc.get_freeze_count()
        assert frozen > before
        made_since = [object() for _ in range(100)]  # noqa: F841 - what a reconnect replaces
        await listener.on_ready()  # a reconnect: what exists now stays collectable
        assert gc.get_freeze_count() == frozen
    finally:
        # This is a test process, not a bot's: what is alive now stays frozen, as after
        # collection (unfreezing alone would leave the rest of this process's tests walking
        # the whole heap again).
        gc.unfreeze()
        gc.freeze()
