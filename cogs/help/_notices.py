"""The mentors channel's live queue notice: one message per subject, edited in place.

When nobody is free, a request waits in line and the teacher (and the subject's mentors) should
hear of it, but a burst of thirty students must not become thirty posts: Discord takes about five
messages per five seconds in a channel. So each class and subject has at most one live notice. The
first request to wait posts it (pinging the teacher role once); after that the message is edited
to show how many wait, at most once per ``Pacing.queue_notice_window_s`` (2 s; whatever changed
meanwhile goes into the one edit); when the line empties it says so and the next one to wait gets a fresh notice.

The line itself is in the database (queued help requests) and so is the notice's message id, so
a stop loses nothing: at start-up every notice is refreshed from the database. Sharded, a process
keeps the notices of its own classes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

import discord

from bot.services.help_requests.delivery import HelpDelivery
from cogs._discord_api import SEND_ERRORS, retrying
from cogs.help._views import queue_notice_words
from db.errors import StoreError
from db.queue_notices import QueueNoticeState

if TYPE_CHECKING:
    from bot.app import ClassMentorBot

log = logging.getLogger(__name__)

# After Discord refused, wait this long before trying that notice again.
RETRY_AFTER_S = 60.0

Key = tuple[int, int]  # (class, subject)


class QueueNotices:
    """Keeps each subject's live queue notice in step with the line, coalescing bursts."""

    def __init__(self, bot: ClassMentorBot, delivery: HelpDelivery) -> None:
        self._bot = bot
        self._delivery = delivery
        self.window_s = bot.pacing.queue_notice_window_s
        self._tasks: dict[Key, asyncio.Task[None]] = {}
        self._more: set[Key] = set()  # notices whose line changed while being written
        self._last: dict[Key, float] = {}

    def touch(self, guild_id: int, subject_id: int) -> None:
        """A subject's line may have changed: bring its notice up to date (now or soon)."""
        if not self._bot.owns_guild(guild_id):
            return
        key = (guild_id, subject_id)
        task = self._tasks.get(key)
        if task is None or task.done():
            self._tasks[key] = asyncio.get_running_loop().create_task(
                self._run(key), name=f"queue-notice:{guild_id}:{subject_id}"
            )
        else:
            self._more.add(key)

    async def resume(self) -> None:
        """Refresh every live notice and every line from the database (start-up)."""
        for guild_id, subject_id in await self._delivery.queue_notices_to_refresh():
            self.touch(guild_id, subject_id)

    def stop(self) -> None:
        """Stop writing (the database keeps the line; the next start refreshes the notices)."""
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()

    async def _run(self, key: Key) -> None:
        await self._bot.wait_until_ready()
        while True:
            last = self._last.get(key)
            if last is not None:
                await _pause(last + self.window_s - time.monotonic())
            # Whatever changes from here on is either read below or triggers one more round.
            self._more.discard(key)
            try:
                await self._refresh(*key)
            except (*SEND_ERRORS, StoreError) as exc:
                log.warning(
                    "queue notice for class %s subject %s not updated (%s); retrying in %.0f s",
                    key[0],
                    key[1],
                    exc,
                    RETRY_AFTER_S,
                )
                await _pause(RETRY_AFTER_S)
                self._more.add(key)
            if key not in self._more:
                return

    async def _refresh(self, guild_id: int, subject_id: int) -> None:
        """Make the subject's notice say how many wait now: post, edit, or nothing."""
        notice = await self._delivery.queue_notice(guild_id, subject_id)
        settings = await self._bot.services.classes.get(guild_id)
        if notice is None or settings is None:
            return  # the subject or the class is gone (its notice row went with it)
        role = settings.teacher_role_id
        text = queue_notice_words(notice.subject_name, notice.waiting, role)
        if notice.message_id is not None and notice.channel_id is not None:
            same_channel = notice.channel_id == settings.mentors_channel_id
            if notice.waiting == notice.shown and same_channel:
                return  # it already says this
            if (notice.waiting == 0 or same_channel) and await self._edit(
                notice, notice.channel_id, notice.message_id, text
            ):
                if notice.waiting == 0:
                    await self._delivery.queue_notice_closed(notice)
                else:
                    await self._delivery.queue_notice_shown(notice)
                return
            # Deleted by someone, or the mentors channel changed: a fresh notice below.
        if notice.waiting == 0 or settings.mentors_channel_id is None:
            if notice.message_id is not None:
                await self._delivery.queue_notice_closed(notice)
            return
        await self._post(notice, settings.mentors_channel_id, role, text)

    async def _post(
        self, notice: QueueNoticeState, channel_id: int, role: int | None, text: str
    ) -> None:
        channel = self._bot.get_partial_messageable(channel_id, guild_id=notice.guild_id)
        message = await retrying(
            f"queue notice for {notice.subject_name}",
            lambda: channel.send(
                text,
                # The teacher role is pinged once, when someone starts waiting; edits never ping.
                allowed_mentions=discord.AllowedMentions(
                    everyone=False,
                    users=False,
                    replied_user=False,
                    roles=[discord.Object(role)] if role else False,
                ),
            ),
        )
        self._last[(notice.guild_id, notice.subject_id)] = time.monotonic()
        await self._delivery.queue_notice_posted(notice, channel_id, message.id)

    async def _edit(
        self, notice: QueueNoticeState, channel_id: int, message_id: int, text: str
    ) -> bool:
        """Edit the live notice; ``False`` when it no longer exists."""
        message = self._bot.get_partial_messageable(
            channel_id, guild_id=notice.guild_id
        ).get_partial_message(message_id)
        try:
            await retrying(
                f"queue notice for {notice.subject_name}",
                lambda: message.edit(content=text, allowed_mentions=discord.AllowedMentions.none()),
            )
        except discord.NotFound:
            return False
        finally:
            self._last[(notice.guild_id, notice.subject_id)] = time.monotonic()
        return True


async def _pause(seconds: float) -> None:
    """Wait ``seconds`` (nothing when not positive)."""
    if seconds > 0:
        await asyncio.sleep(seconds)
