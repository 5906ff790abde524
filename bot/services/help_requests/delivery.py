"""What the help desk asks while it carries out the outbox: where an offer went, whether it still
applies, a session thread opened (or not), and which intents are pending or done.

Each answer is read or written in one transaction, so an intent's fallback (the next mentor, the
queue) is recorded together with the new intents it needs.
"""

from __future__ import annotations

import dataclasses

from bot.clock import Clock
from bot.domain.help_intents import Intent, IntentOutcome, StaleReason
from bot.domain.help_requests import HelpOffer, HelpRequest
from bot.domain.help_states import RequestState
from bot.services.help_requests.results import TELL_BOTH, QueueNotice, Routing
from bot.services.help_requests.routing import Router, ended_reason
from db import help_outbox as outbox_sql
from db import help_requests as help_sql
from db import queue_notices as notice_sql
from db.database import Database
from db.queue_notices import QueueNoticeState


class HelpDelivery:
    """The outbox side of the help flow (the state changes themselves are in HelpService)."""

    def __init__(self, db: Database, clock: Clock, router: Router) -> None:
        self._db = db
        self._clock = clock
        self._router = router

    async def offer_posted(
        self, offer_id: int, channel_id: int, message_id: int
    ) -> StaleReason | None:
        """Remember where an offer's buttons went, so they can be tidied when it ends.

        Returns why the buttons are already stale when the offer ended while it was being posted
        (the student cancelled, another mentor took it): the caller tidies them at once.
        """
        async with self._db.statement() as conn:  # one UPDATE … RETURNING: its own transaction
            offer = await help_sql.set_offer_message(conn, offer_id, channel_id, message_id)
        if offer is None or offer.outcome in (None, "accepted"):
            return None
        # Rare (the offer ended while it was posted): why, from the request (it decides no write).
        async with self._db.reading() as conn:
            request = await self._router.require(conn, offer.request_id)
        return ended_reason(offer, request)

    async def offer_to_send(self, offer_id: int) -> tuple[HelpOffer, HelpRequest] | None:
        """An offer still waiting to be posted, with its request; ``None`` once it has ended."""
        async with self._db.reading() as conn:
            found = await help_sql.offer_with_request(conn, offer_id)
        if found is None:
            return None
        offer, request = found
        if offer.outcome is not None or offer.message_id is not None:
            return None
        if request.state is not RequestState.OFFERED or request.mentor_id != offer.mentor_id:
            return None
        return offer, request

    async def offer_message(self, offer_id: int) -> HelpOffer | None:
        """An offer and where its buttons were posted."""
        async with self._db.reading() as conn:
            return await help_sql.get_offer(conn, offer_id)

    async def offer_undeliverable(self, offer_id: int) -> Routing | None:
        """Discord would not carry the offer (DM and mentors channel failed): the next mentor,
        or back in line with the teacher and the student told. ``None`` if it ended meanwhile."""
        now = self._clock.now()
        async with self._db.transaction() as conn:
            offer = await help_sql.get_offer(conn, offer_id)
            if offer is None or offer.outcome is not None:
                return None
            request = await self._router.require(conn, offer.request_id)
            if request.state is not RequestState.OFFERED or request.mentor_id != offer.mentor_id:
                return None
            await help_sql.decide_offer(conn, offer_id, "withdrawn", now)
            return await self._router.route(
                conn, request, now, actor=None, note="offer undeliverable", notice=TELL_BOTH
            )

    async def session_opened(self, request_id: int, thread_id: int) -> HelpRequest:
        """Remember the session's private thread; returns the request as it is now (the
        caller closes the thread again if the request ended while it was being made)."""
        async with self._db.transaction(help_request_id=request_id) as conn:
            await help_sql.set_thread(conn, request_id, thread_id)
            return await self._router.require(conn, request_id)

    async def session_requeue(self, request_id: int) -> Routing | None:
        """Discord would not open the session thread: the request goes back in line (its place
        kept), both people are told, and it is offered again. ``None`` if it ended meanwhile."""
        now = self._clock.now()
        async with self._db.transaction(help_request_id=request_id) as conn:
            request = await self._router.require(conn, request_id)
            if request.state is not RequestState.ACTIVE:
                return None
            mentor_id = request.mentor_id
            await self._router.step(
                conn,
                request,
                RequestState.QUEUED,
                actor=None,
                now=now,
                note="no session thread",
                mentor_id=None,
                thread_id=None,
                accepted_at=None,
                last_activity_at=None,
            )
            await self._router.tell(
                conn, request, request.student_id, "session_requeued_student", now
            )
            if mentor_id is not None:
                await self._router.tell(conn, request, mentor_id, "session_requeued_mentor", now)
            queued = await self._router.require(conn, request_id)
            routing = await self._router.route(
                conn, queued, now, actor=None, note="requeued", notice=QueueNotice()
            )
        return dataclasses.replace(routing, freed=True)

    async def pending_intents(self, request_id: int) -> list[Intent]:
        """What must still reach Discord for a request, in order."""
        async with self._db.reading() as conn:
            return await outbox_sql.pending_for(conn, request_id)

    async def pending_work(self, request_id: int) -> tuple[HelpRequest | None, list[Intent]]:
        """The request as it is now and what must still reach Discord for it, in one read."""
        async with self._db.reading() as conn:
            return await help_sql.with_pending_intents(conn, request_id)

    async def requests_with_pending_intents(self) -> list[tuple[int, int]]:
        """(request id, class id) with unfinished Discord work (start-up finishes them)."""
        async with self._db.reading() as conn:
            return await outbox_sql.requests_with_pending(conn)

    async def finish_intent(self, intent_id: int, outcome: IntentOutcome) -> None:
        """An intent was carried out (or could not be, and its fallback took over)."""
        async with self._db.statement() as conn:  # one UPDATE: its own transaction
            await outbox_sql.finish(conn, intent_id, outcome, self._clock.now())

    async def guilds_with_queue(self) -> list[int]:
        """Classes with requests waiting in line (served at start-up)."""
        async with self._db.reading() as conn:
            return await help_sql.guilds_with_queued(conn)

    # --- the mentors channel's live queue notice ----------------------------------------------

    async def queue_notice(self, guild_id: int, subject_id: int) -> QueueNoticeState | None:
        """How many wait for a subject and which message shows it; ``None`` if it is gone."""
        async with self._db.reading() as conn:
            return await notice_sql.state(conn, guild_id, subject_id)

    async def queue_notice_posted(
        self, notice: QueueNoticeState, channel_id: int, message_id: int
    ) -> None:
        """A fresh notice message now shows ``notice.waiting``."""
        async with self._db.transaction(guild_id=notice.guild_id) as conn:
            await notice_sql.posted(
                conn,
                notice.guild_id,
                notice.subject_id,
                channel_id,
                message_id,
                notice.waiting,
                self._clock.now(),
            )

    async def queue_notice_shown(self, notice: QueueNoticeState) -> None:
        """The live notice was edited to show ``notice.waiting``."""
        async with self._db.statement() as conn:  # one UPDATE: its own transaction
            await notice_sql.shown(
                conn, notice.guild_id, notice.subject_id, notice.waiting, self._clock.now()
            )

    async def queue_notice_closed(self, notice: QueueNoticeState) -> None:
        """The line is empty: the next request waiting gets a new notice (and its ping)."""
        async with self._db.statement() as conn:  # one DELETE: its own transaction
            await notice_sql.closed(conn, notice.guild_id, notice.subject_id)

    async def queue_notices_to_refresh(self) -> list[tuple[int, int]]:
        """(class, subject) with a live notice or someone waiting: refreshed at start-up."""
        async with self._db.reading() as conn:
            return await notice_sql.to_refresh(conn)
