"""The help desk: the one owner of the help flow's Discord side.

The service changes state and, in the same transaction, records what must follow on Discord (the
outbox: send an offer, tidy an old one, open or close a session thread, tell someone). The desk
carries those intents out, in order, one request at a time, and marks each done; it owns the
flow's timers (offer expiry, idle close) and decides when the queue is served. At start-up it
finishes whatever a crash left pending, so a kill between a commit and a Discord call never
strands a student or leaves a mentor busy.

Every outbound call is retried with back-off on Discord's transient errors (5xx, 429 after
discord.py's own retries), then falls back: an offer goes to the mentors channel, then to the next
mentor or back in line with the teacher told; a session thread that cannot be opened hands the
request back to the queue and tells both people. Errors never reach the student's reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

import discord

from bot.domain.help_intents import Intent, IntentKind, IntentOutcome, StaleReason
from bot.domain.help_states import RequestState
from bot.errors import Conflict, NotFound
from bot.services.help_requests import Accepted, Closed, HelpRequest, Resolved, Routing
from cogs._discord_api import SEND_ERRORS, add_thread_member, close_thread, retrying
from cogs._shared import NO_PINGS, only_pings
from cogs.help._notices import QueueNotices
from cogs.help._views import (
    STALE_WORDS,
    closing_words,
    offer_view,
    offer_words,
    session_starter,
    session_view,
    tell_words,
)

if TYPE_CHECKING:
    from bot.app import ClassMentorBot

log = logging.getLogger(__name__)

T = TypeVar("T")
# A busy thread writes "last activity" at most this often: the idle close needs minutes, not ms.
TOUCH_EVERY = timedelta(seconds=60)

Result = Routing | Accepted | Closed | Resolved


def offer_job(request_id: int) -> str:
    """The scheduler id of an offer's expiry."""
    return f"help-offer:{request_id}"


def idle_job(request_id: int) -> str:
    """The scheduler id of a session's idle close."""
    return f"help-idle:{request_id}"


class HelpDesk:
    """Sends offers, opens and closes sessions, runs the timers and serves the queue."""

    def __init__(self, bot: ClassMentorBot) -> None:
        self.bot = bot
        self.service = bot.services.help
        self.delivery = bot.services.help.delivery
        # One request's intents are carried out one at a time, in order.
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self._tasks: set[asyncio.Task[None]] = set()
        self._resumed: asyncio.Task[None] | None = None
        # Session threads -> request id, and when their activity was last written.
        self._threads: dict[int, int] = {}
        self._touched: dict[int, datetime] = {}
        self._not_sessions: set[int] = set()  # bot-made threads known not to be sessions
        # The mentors channel's one live notice per subject's line.
        self.notices = QueueNotices(bot, self.delivery)

    # --- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Rebuild this process's timers from the database, then finish its pending work.

        Sharded, each process keeps the timers and pending work of its own shards' classes.
        """
        timers = await self.service.timers()
        for request in [*timers.offers, *timers.sessions]:
            if self.bot.owns_guild(request.guild_id):
                self._sync(request)
        self._resumed = asyncio.create_task(self._resume())

    async def stop(self) -> None:
        """Stop carrying out work (what is unfinished stays pending for the next start)."""
        tasks = [*self._tasks, *([self._resumed] if self._resumed else [])]
        for task in tasks:
            task.cancel()
        # A task being cancelled may still touch a queue notice: stop the notices after.
        await asyncio.gather(*tasks, return_exceptions=True)
        self.notices.stop()

    async def wait_resumed(self) -> None:
        """Wait until the work left pending by the last run is finished (tests, the demo)."""
        if self._resumed is not None:
            await asyncio.wait({self._resumed})

    async def idle(self) -> None:
        """Wait until the desk has no Discord work in hand (the "settled" signal for tests)."""
        await self.wait_resumed()
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def _resume(self) -> None:
        await self.bot.wait_until_ready()
        try:
            for request_id, guild_id in await self.delivery.requests_with_pending_intents():
                if self.bot.owns_guild(guild_id):
                    await self.process(request_id)
            for guild_id in await self.delivery.guilds_with_queue():
                if self.bot.owns_guild(guild_id):
                    await self.serve_queue(guild_id)
            await self.notices.resume()
        except Exception:
            log.exception("could not finish the help flow's pending work at start-up")

    # --- what the cog calls -------------------------------------------------------------------

    async def settle(self, result: Result) -> None:
        """Carry out what a state change recorded; serve the queue if it freed a mentor."""
        filed = result if isinstance(result, Routing) and result.filed else None
        if filed is None or not filed.queued:
            # (A request just filed into the line recorded nothing to carry out.)
            await self.process(result.request.id)
        if filed is None or filed.queued:
            # The request may have joined or left its subject's line (one just filed and
            # offered at once never joined it).
            self.notices.touch(result.request.guild_id, result.request.subject_id)
        if _frees_a_mentor(result):
            await self.serve_queue(result.request.guild_id)

    async def serve_queue(self, guild_id: int) -> None:
        """Offer waiting requests to whoever is free now, first come first served.

        The one answer to "when is the queue served?": whenever a mentor may have become free
        (a pass, an expired or moved offer, a session's end, `/available on`, a brief read) and
        at start-up.
        """
        for routing in await self.service.serve_queue(guild_id):
            await self.process(routing.request.id)
            self.notices.touch(guild_id, routing.request.subject_id)

    async def mentor_ready(self, guild_id: int, user_id: int) -> None:
        """A mentor said `/available on` or read the brief: serve the queue."""
        await self.serve_queue(guild_id)

    async def activity(self, channel_id: int) -> None:
        """A message in a session thread keeps the session open (only its timing is used)."""
        request_id = self._threads.get(channel_id)
        if request_id is None:
            request_id = await self._session_opened_elsewhere(channel_id)
        if request_id is None:
            return
        now = self.bot.clock.now()
        last = self._touched.get(channel_id)
        if last is not None and now - last < TOUCH_EVERY:
            return
        self._touched[channel_id] = now
        await self.service.touch(request_id)

    async def _session_opened_elsewhere(self, channel_id: int) -> int | None:
        """A session thread another process opened for one of this process's classes.

        Sharded only: a mentor's Accept is a DM, which Discord sends to shard 0, so that process
        may open the thread for a class another process serves; the owner learns it from the
        database on the thread's first message. Each unknown channel is looked up once.
        """
        if not self.bot.shard_plan.sharded or channel_id in self._not_sessions:
            return None
        channel = self.bot.get_channel(channel_id)
        if not isinstance(channel, discord.Thread) or self.bot.user is None:
            return None
        if channel.owner_id != self.bot.user.id or not self.bot.owns_guild(channel.guild.id):
            return None
        for request in (await self.service.timers()).sessions:
            if request.thread_id == channel_id:
                self._threads[channel_id] = request.id
                return request.id
        self._not_sessions.add(channel_id)
        return None

    async def _help_channel(
        self, channel_id: int
    ) -> discord.abc.GuildChannel | discord.Thread | discord.abc.PrivateChannel | None:
        """The class's help channel, from the cache or (sharded) from Discord.

        Discord sends every DM interaction (a mentor's Accept) to shard 0, so with several
        processes the one handling it may not hold that class's server in its cache.
        """
        channel = self.bot.get_channel(channel_id)
        if channel is None and self.bot.shard_plan.sharded:
            try:
                return await self.bot.fetch_channel(channel_id)
            except discord.HTTPException:
                return None
        return channel

    async def process(self, request_id: int) -> None:
        """Carry out a request's pending intents (in a task the desk owns: a stop cancels it and
        leaves the rest pending for the next start)."""
        task = asyncio.create_task(self._drain(request_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.wait({task})

    # --- the outbox ---------------------------------------------------------------------------

    async def _drain(self, request_id: int) -> None:
        lock = self._locks.get(request_id)
        if lock is None:
            lock = self._locks[request_id] = asyncio.Lock()
        async with lock:
            try:
                # One read gives the pending intents and the request; the last one (nothing
                # left to do) is the state the timers follow.
                request, intents = await self.delivery.pending_work(request_id)
                while intents:
                    settled = True
                    for intent in intents:
                        outcome = await self._perform_safely(intent, request)
                        await self.delivery.finish_intent(intent.id, outcome)
                        settled = settled and _adds_nothing(intent, outcome)
                    if request is not None and settled:
                        # Nothing in the batch added intents or moved the request, so the
                        # request read with the batch is still current for the timers (a
                        # change made meanwhile by another path drains its own intents after
                        # this, under this request's lock). A read fewer for every ask.
                        break
                    request, intents = await self.delivery.pending_work(request_id)
                if request is None:
                    raise NotFound(f"help request {request_id} is gone")
                self._sync(request)
            except NotFound:
                self._forget(request_id)  # its class was removed meanwhile
            except Exception:
                log.exception("help request %s: could not carry out its Discord work", request_id)

    async def _perform_safely(self, intent: Intent, read: HelpRequest | None) -> IntentOutcome:
        try:
            return await self._perform(intent, read)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug, not a Discord hiccup: don't loop on it; the log has the details.
            log.exception("help request %s: %s failed", intent.request_id, intent.kind)
            return "failed"

    async def _perform(self, intent: Intent, read: HelpRequest | None) -> IntentOutcome:
        """Carry out one intent; ``read`` is the request as read with this batch of intents."""
        payload = intent.payload
        if intent.kind is IntentKind.SEND_OFFER:
            return await self._send_offer(int(payload["offer_id"]))
        if intent.kind is IntentKind.TIDY_OFFER:
            return await self._tidy_offer(int(payload["offer_id"]), payload["reason"])
        if intent.kind is IntentKind.QUEUED and read is not None:
            # The line is in the database: the subject's one live notice catches up with it
            # (class and subject never change, so the batch's read will do).
            self.notices.touch(read.guild_id, read.subject_id)
            return "done"
        # Anything else reads the request now: an earlier intent of the batch may have moved it.
        request = await self.service.get(intent.request_id)
        if intent.kind is IntentKind.QUEUED:
            self.notices.touch(request.guild_id, request.subject_id)
            return "done"
        if intent.kind is IntentKind.TELL:
            text = tell_words(payload["about"], request, int(payload.get("position", 0)))
            return "done" if await self._dm(int(payload["user_id"]), text) else "failed"
        if intent.kind is IntentKind.OPEN_SESSION:
            return await self._open_session(request)
        return await self._close_session(request, announce=bool(payload.get("announce")))

    # --- offers -------------------------------------------------------------------------------

    async def _send_offer(self, offer_id: int) -> IntentOutcome:
        found = await self.delivery.offer_to_send(offer_id)
        if found is None:
            return "skipped"  # withdrawn or answered before it was sent: no live buttons
        offer, request = found
        expires = request.offer_expires_at or self.bot.clock.now()
        message = await self._post_offer(request, offer.mentor_id, expires)
        if message is None:
            # Neither the DM nor the mentors channel took it: the next mentor, or back in line
            # with the teacher and the student told (new intents, carried out next).
            await self.delivery.offer_undeliverable(offer_id)
            return "failed"
        stale = await self.delivery.offer_posted(offer_id, message.channel.id, message.id)
        if stale is not None:
            # It ended while it was being posted (cancelled, taken): tidy it at once.
            await self._edit_offer(message.channel.id, message.id, stale, request.id)
        return "done"

    async def _post_offer(
        self, request: HelpRequest, mentor_id: int, expires: datetime
    ) -> discord.Message | None:
        try:
            return await self._retrying(
                f"offer DM for request {request.id}",
                lambda: self._send_dm(
                    mentor_id,
                    offer_words(request, expires, in_dm=True),
                    view=offer_view(request.id),
                ),
            )
        except SEND_ERRORS as exc:
            log.info(
                "offer %s: DM to %s failed (%s); trying the mentors channel",
                request.id,
                mentor_id,
                exc,
            )
        settings = await self.bot.services.classes.get(request.guild_id)
        if settings is None or settings.mentors_channel_id is None:
            log.warning("offer %s: DM failed and no mentors channel", request.id)
            return None
        channel = self.bot.get_partial_messageable(settings.mentors_channel_id)
        try:
            # Only the mentor is mentioned, and the topic stays out of the shared channel.
            return await self._retrying(
                f"offer in the mentors channel for request {request.id}",
                lambda: channel.send(
                    f"<@{mentor_id}> " + offer_words(request, expires, in_dm=False),
                    view=offer_view(request.id),
                    allowed_mentions=only_pings(mentor_id),
                ),
            )
        except SEND_ERRORS as exc:
            log.warning("offer %s: the mentors channel failed too (%s)", request.id, exc)
            return None

    async def _tidy_offer(self, offer_id: int, reason: StaleReason) -> IntentOutcome:
        offer = await self.delivery.offer_message(offer_id)
        if offer is None or offer.channel_id is None or offer.message_id is None:
            return "skipped"  # never posted: the sender sees it ended and posts nothing live
        return await self._edit_offer(offer.channel_id, offer.message_id, reason, offer.request_id)

    async def _edit_offer(
        self, channel_id: int, message_id: int, reason: StaleReason, request_id: int
    ) -> IntentOutcome:
        """Replace an offer's buttons with a word on what happened (one edit)."""
        message = self.bot.get_partial_messageable(channel_id).get_partial_message(message_id)
        try:
            await self._retrying(
                f"tidying the offer of request {request_id}",
                lambda: message.edit(
                    content=STALE_WORDS[reason].format(id=request_id),
                    view=None,
                    allowed_mentions=NO_PINGS,
                ),
            )
        except discord.NotFound:
            return "skipped"  # the mentor deleted the DM: nothing left to tidy
        except SEND_ERRORS as exc:
            log.warning("could not tidy the offer of request %s (%s)", request_id, exc)
            return "failed"
        return "done"

    # --- sessions -----------------------------------------------------------------------------

    async def _open_session(self, request: HelpRequest) -> IntentOutcome:
        """A private thread with the student and mentor, and the starter; idempotent."""
        if request.state is not RequestState.ACTIVE or request.mentor_id is None:
            return "skipped"  # cancelled (or closed) before the thread was opened
        settings = await self.bot.services.classes.get(request.guild_id)
        channel = (
            await self._help_channel(settings.help_channel_id)
            if settings and settings.help_channel_id
            else None
        )
        thread_id = request.thread_id
        try:
            if thread_id is None:
                if not isinstance(channel, discord.TextChannel):
                    raise discord.ClientException("no usable help channel")
                name = f"{request.subject_name} help #{request.id}"
                thread = await self._retrying(
                    f"session thread for request {request.id}",
                    lambda: channel.create_thread(
                        name=name,
                        type=discord.ChannelType.private_thread,
                        invitable=False,
                        reason="ClassMentor help session",
                    ),
                )
                thread_id = thread.id
                request = await self.delivery.session_opened(request.id, thread_id)
                if request.state is not RequestState.ACTIVE:
                    # Cancelled while the thread was being made: no live thread on it.
                    await self._end_thread(thread_id)
                    return "skipped"
            assert request.mentor_id is not None
            target = self.bot.get_partial_messageable(thread_id)
            for user_id in (request.student_id, request.mentor_id):
                await self._retrying(
                    f"adding a member to session {request.id}",
                    functools.partial(add_thread_member, self.bot, thread_id, user_id),
                )
            await self._retrying(
                f"starter of session {request.id}",
                lambda: target.send(
                    session_starter(request),
                    view=session_view(request.id),
                    allowed_mentions=only_pings(request.student_id, request.mentor_id or 0),
                ),
            )
        except (discord.ClientException, discord.Forbidden, discord.NotFound) as exc:
            # Not something waiting fixes (no help channel, no permission): close it cleanly.
            log.warning("help request %s: no session thread (%s)", request.id, exc)
            if thread_id is not None:
                await self._end_thread(thread_id)
            with contextlib.suppress(Conflict):  # it ended meanwhile: nothing left to close
                await self.service.session_failed(request.id)
            return "failed"
        except SEND_ERRORS as exc:
            # Discord is having trouble: back in line (place kept), both people told.
            log.warning("help request %s: session thread failed (%s); requeued", request.id, exc)
            if thread_id is not None:
                await self._end_thread(thread_id)
            if await self.delivery.session_requeue(request.id) is not None:
                self._serve_later(request.guild_id)
            return "failed"
        return "done"

    async def _close_session(self, request: HelpRequest, *, announce: bool) -> IntentOutcome:
        if request.thread_id is None:
            return "skipped"
        thread_id = request.thread_id
        if announce:
            try:
                await self._retrying(
                    f"closing words of session {request.id}",
                    lambda: self.bot.get_partial_messageable(thread_id).send(
                        closing_words(request), allowed_mentions=NO_PINGS
                    ),
                )
            except SEND_ERRORS as exc:
                log.info("session %s: closing words not posted (%s)", request.id, exc)
        return "done" if await self._end_thread(thread_id) else "failed"

    async def _end_thread(self, thread_id: int) -> bool:
        """Archive and lock a session thread in one call."""
        self._threads.pop(thread_id, None)
        self._touched.pop(thread_id, None)
        try:
            await self._retrying(
                f"archiving thread {thread_id}",
                lambda: close_thread(self.bot, thread_id, "Help session closed"),
            )
        except discord.NotFound:
            return True  # deleted by someone: nothing left open
        except SEND_ERRORS as exc:
            log.warning("could not archive session thread %s (%s)", thread_id, exc)
            return False
        return True

    def _serve_later(self, guild_id: int) -> None:
        """Serve the queue once the current request's work is done (its lock is held now)."""
        task = asyncio.create_task(self.serve_queue(guild_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- timers -------------------------------------------------------------------------------

    def _sync(self, request: HelpRequest) -> None:
        """Make the timers (and the thread map) match the request's state: the one place."""
        request_id = request.id
        if request.state is RequestState.OFFERED and request.offer_expires_at is not None:
            self.bot.jobs.at(
                offer_job(request_id), request.offer_expires_at, self._expiry(request_id)
            )
        else:
            self.bot.jobs.cancel(offer_job(request_id))
        if request.state is RequestState.ACTIVE:
            when = self.service.idle_deadline(request)
            self.bot.jobs.at(idle_job(request_id), when, self._idle_check(request_id))
            if request.thread_id is not None:
                self._threads[request.thread_id] = request_id
        else:
            self.bot.jobs.cancel(idle_job(request_id))
            if request.thread_id is not None:
                self._threads.pop(request.thread_id, None)

    def _forget(self, request_id: int) -> None:
        self.bot.jobs.cancel(offer_job(request_id))
        self.bot.jobs.cancel(idle_job(request_id))

    # Timers hold partials rather than closures: there is one per open request, and a partial
    # takes a third of the memory (10,000 open requests at start-up).
    def _expiry(self, request_id: int) -> Callable[[], Awaitable[None]]:
        return functools.partial(self._expire, request_id)

    async def _expire(self, request_id: int) -> None:
        routing = await self.service.expire_offer(request_id)
        if routing is not None:
            await self.settle(routing)

    def _idle_check(self, request_id: int) -> Callable[[], Awaitable[None]]:
        return functools.partial(self._check_idle, request_id)

    async def _check_idle(self, request_id: int) -> None:
        result = await self.service.idle_check(request_id)
        if isinstance(result, Closed):
            await self.settle(result)
        elif isinstance(result, datetime):
            self.bot.jobs.at(idle_job(request_id), result, self._idle_check(request_id))

    # --- sending ------------------------------------------------------------------------------

    async def _retrying(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """``call()`` with the shared back-off for transient Discord errors."""
        return await retrying(what, call)

    async def _send_dm(
        self, user_id: int, text: str, *, view: discord.ui.View | None = None
    ) -> discord.Message:
        dm = await self.bot.create_dm(discord.Object(user_id))
        if view is None:
            return await dm.send(text, allowed_mentions=NO_PINGS)
        return await dm.send(text, view=view, allowed_mentions=NO_PINGS)

    async def _dm(self, user_id: int, text: str) -> bool:
        """A private word (DMs may be closed: then there is nowhere private to say it)."""
        try:
            await self._retrying(f"DM to {user_id}", lambda: self._send_dm(user_id, text))
        except SEND_ERRORS as exc:
            log.info("could not DM user %s about their help request (%s)", user_id, exc)
            return False
        return True


def _adds_nothing(intent: Intent, outcome: IntentOutcome) -> bool:
    """Whether carrying out ``intent`` left the request and its outbox as they were: a QUEUED
    intent only touches the live notice; an offer sent (or skipped, having ended) writes only
    where its message went. An offer that failed may have moved the request on."""
    if intent.kind is IntentKind.QUEUED:
        return True
    return intent.kind is IntentKind.SEND_OFFER and outcome != "failed"


def _frees_a_mentor(result: Result) -> bool:
    """Whether a change may have freed a mentor for someone waiting in line."""
    if isinstance(result, Routing):
        return result.freed
    if isinstance(result, Closed):
        return result.previous is not RequestState.QUEUED
    return isinstance(result, Resolved)
