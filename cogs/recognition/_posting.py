"""Public shout-outs, posted from the database's outbox within Discord's per-channel limits.

An award queues its shout-out in its own transaction; nobody waits for the post. Per channel one
task posts what is waiting: at once when the channel has been quiet, otherwise everything that
arrived meanwhile goes out together, one message per ``Pacing.shout_out_window_s`` (30 stars in a row
make a handful of messages, never a flood: Discord allows about 5 messages per 5 s per channel).
A shout-out is taken off the outbox in the transaction that records its message, so a stop in
between only delays it: :meth:`ShoutOutPoster.resume` posts what is left at start-up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

import discord

from cogs._shared import NO_PINGS, only_pings
from cogs.recognition._render import pack_shout_outs, shout_out_message, shout_out_text
from db.errors import StoreError

if TYPE_CHECKING:
    from bot.app import ClassMentorBot

log = logging.getLogger(__name__)

# After Discord refused a post, wait this long before trying that channel again.
RETRY_AFTER_S = 60.0


class ShoutOutPoster:
    """Posts waiting shout-outs, coalescing bursts per channel; the one place that posts them."""

    def __init__(self, bot: ClassMentorBot) -> None:
        self._bot = bot
        self.window_s = bot.pacing.shout_out_window_s
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._more: set[int] = set()  # channels that got new shout-outs while being posted
        self._hurry = asyncio.Event()  # set by drain(): post now, skip the window
        self._naps: set[asyncio.Future[None]] = set()  # pauses drain() cuts short
        self._last_post: dict[int, float] = {}

    def wake(self, channel_id: int) -> None:
        """A shout-out was queued for ``channel_id``: post it now or with the next batch."""
        task = self._tasks.get(channel_id)
        if task is None or task.done():
            self._tasks[channel_id] = asyncio.get_running_loop().create_task(
                self._run(channel_id), name=f"shout-outs:{channel_id}"
            )
        else:
            self._more.add(channel_id)

    async def resume(self) -> None:
        """Post whatever a stop left in the outbox (start-up)."""
        for channel_id in await self._bot.services.recognition.shout_out_channels():
            self.wake(channel_id)

    async def drain(self) -> None:
        """Post everything waiting now, ignoring the window, and wait until it is done.

        For shutdown and tests: a test waits for the bot's pending posts, not for the clock.
        """
        self._hurry.set()
        for nap in self._naps:
            if not nap.done():
                nap.set_result(None)
        try:
            while pending := [t for t in self._tasks.values() if not t.done()]:
                await asyncio.gather(*pending, return_exceptions=True)
        finally:
            self._hurry.clear()

    def stop(self) -> None:
        """Stop posting (the outbox keeps what is left for the next start)."""
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()

    async def _run(self, channel_id: int) -> None:
        await self._bot.wait_until_ready()
        if self._bot.shard_plan.sharded and self._bot.get_channel(channel_id) is None:
            # Not in this process's servers (another shard's class): its process posts it.
            return
        while True:
            await self._wait_for_window(channel_id)
            # Whatever arrives from here on is either read below or triggers one more round.
            self._more.discard(channel_id)
            try:
                await self._post_waiting(channel_id)
            except (discord.HTTPException, StoreError) as exc:
                # Nothing is lost: the shout-outs stay in the outbox until a post succeeds.
                log.warning(
                    "shout-outs for channel %s not posted (%s); retrying in %.0f s",
                    channel_id,
                    exc,
                    RETRY_AFTER_S,
                )
                if self._hurry.is_set():
                    return  # draining: leave it for the next wake-up or start-up
                await self._pause(RETRY_AFTER_S)
                self._more.add(channel_id)
            if channel_id not in self._more:
                return

    async def _wait_for_window(self, channel_id: int) -> None:
        last = self._last_post.get(channel_id)
        if last is not None:
            await self._pause(last + self.window_s - time.monotonic())

    async def _pause(self, seconds: float) -> None:
        if seconds <= 0 or self._hurry.is_set():
            return
        # A plain future woken by a timer (or by drain()): to anyone watching the loop, this task
        # is visibly parked until the timer, like asyncio.sleep, rather than waiting on a helper.
        loop = asyncio.get_running_loop()
        nap: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(seconds, _wake, nap)
        self._naps.add(nap)
        try:
            await nap
        finally:
            timer.cancel()
            self._naps.discard(nap)

    async def _post_waiting(self, channel_id: int) -> None:
        """Post the channel's waiting shout-outs, then correct messages whose awards changed."""
        service = self._bot.services.recognition
        waiting = await service.waiting_shout_outs(channel_id)
        for batch in pack_shout_outs(waiting):
            first = batch[0]
            channel = self._bot.get_partial_messageable(channel_id, guild_id=first.guild_id)
            text = "\n\n".join(shout_out_text(award) for award in batch)
            message = await channel.send(
                text, allowed_mentions=only_pings(*{award.user_id for award in batch})
            )
            self._last_post[channel_id] = time.monotonic()
            lines = await service.shout_outs_posted(
                channel_id, message.id, [award.id for award in batch]
            )
            if not all(line.standing for line in lines):
                # Undone or replaced while on its way: correct the message at once.
                await self.refresh(channel_id, message.id, first.guild_id)
        for message_id, guild_id in await service.corrections_waiting(channel_id):
            await self.refresh(channel_id, message_id, guild_id)

    async def refresh(self, channel_id: int, message_id: int, guild_id: int) -> bool:
        """Make a posted shout-out message say what stands now; ``False`` if Discord refused.

        A replaced tutor of the week is struck through, an award taken back leaves the message,
        and a message with nothing left is removed.
        """
        lines = await self._bot.services.recognition.shout_out_message(channel_id, message_id)
        message = self._bot.get_partial_messageable(
            channel_id, guild_id=guild_id
        ).get_partial_message(message_id)
        text = shout_out_message(lines)
        try:
            if text:
                await message.edit(content=text, allowed_mentions=NO_PINGS)
            else:
                await message.delete()
        except discord.NotFound:
            pass  # someone already deleted it
        except discord.HTTPException:
            # Left in the database: tried again with the channel's next post or at start-up.
            log.warning("could not update shout-out message %s", message_id, exc_info=True)
            return False
        await self._bot.services.recognition.correction_done(channel_id, message_id)
        return True


def _wake(nap: asyncio.Future[None]) -> None:
    if not nap.done():
        nap.set_result(None)
