"""The steps every help use case shares, inside its transaction: a checked, audited transition,
fair routing to a mentor or the queue, and the outbox intents that must follow on Discord."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import MentoringConfig
from bot.domain.help_intents import IntentKind, StaleReason, TellAbout
from bot.domain.help_requests import HelpOffer, HelpRequest, OfferOutcome
from bot.domain.help_states import RequestState, ensure_transition
from bot.domain.matching import choose_mentor
from bot.domain.weeks import week_start
from bot.errors import Conflict, NotFound
from bot.services.classes import ClassService
from bot.services.help_requests.results import NewOffer, QueueNotice, Routing, StaleOffer
from bot.services.help_requests.words import gone_words
from db import help_outbox as outbox_sql
from db import help_requests as help_sql
from db import mentors as mentor_sql
from db.database import Connection


class Router:
    """Shared steps of the help use cases; each runs on the caller's open transaction."""

    def __init__(self, config: MentoringConfig, classes: ClassService) -> None:
        self._config = config
        self._classes = classes

    async def require(self, conn: Connection, request_id: int) -> HelpRequest:
        """A request by id, or a friendly "not found"."""
        request = await help_sql.get_request(conn, request_id)
        if request is None:
            raise NotFound("I can't find that help request any more.")
        return request

    async def step(
        self,
        conn: Connection,
        request: HelpRequest,
        to: RequestState,
        *,
        actor: int | None,
        now: datetime,
        note: str = "",
        **fields: object,
    ) -> HelpRequest:
        """One transition: checked against the state machine, conditional, audited."""
        ensure_transition(request.state, to)
        moved = await help_sql.move_returning(
            conn, request, expected=request.state, new=to, fields=fields
        )
        if moved is None:
            raise Conflict(gone_words(request))
        await help_sql.add_event(
            conn,
            request.id,
            from_state=request.state,
            to_state=to,
            actor_id=actor,
            now=now,
            note=note,
        )
        return moved

    async def session_limit(self, conn: Connection, guild_id: int, user_id: int) -> int:
        """How many requests a mentor may hold at once."""
        state = await mentor_sql.get_mentor(conn, guild_id, user_id)
        return state.session_limit if state else self._config.mentor_session_limit

    async def route(
        self,
        conn: Connection,
        request: HelpRequest,
        now: datetime,
        *,
        actor: int | None,
        note: str = "",
        notice: QueueNotice,
        fresh: bool = False,
    ) -> Routing:
        """Offer the request to the fairest eligible mentor, or put it (back) in line.

        A queued request is offered (queued -> offered) or keeps its place. An offered request
        whose offer ended goes to the next mentor (offered -> offered) or back in line
        (offered -> queued) keeping its original place; its mentor may now be free (``freed``).
        """
        freed = request.state is RequestState.OFFERED
        mentor = await self.choose(conn, request, now, fresh=fresh)
        if mentor is not None:
            routing = await self.offer(conn, request, mentor, now, actor=actor, note=note)
        else:
            if freed:
                request = await self.step(
                    conn,
                    request,
                    RequestState.QUEUED,
                    actor=actor,
                    now=now,
                    note=note,
                    mentor_id=None,
                    offer_expires_at=None,
                )
            routing = await self.queued(conn, request, now, notice)
        return dataclasses.replace(routing, freed=freed)

    async def offer(
        self,
        conn: Connection,
        request: HelpRequest,
        mentor: int,
        now: datetime,
        *,
        actor: int | None,
        note: str,
    ) -> Routing:
        """Offer the request to ``mentor`` (queued/offered -> offered) until the timeout."""
        expires = now + timedelta(minutes=self._config.offer_timeout_minutes)
        offered = await self.step(
            conn,
            request,
            RequestState.OFFERED,
            actor=actor,
            now=now,
            note=note,
            mentor_id=mentor,
            offer_expires_at=expires,
        )
        offer_id = await help_sql.insert_offer(conn, request.id, mentor, now)
        await outbox_sql.add(conn, request.id, IntentKind.SEND_OFFER, now, offer_id=offer_id)
        return Routing(offered, NewOffer(offer_id, mentor, expires))

    async def offered_new(
        self, conn: Connection, request: HelpRequest, mentor: int, now: datetime
    ) -> Routing:
        """The offer of a request filed already offered to ``mentor`` (its state and audit
        written with it): the offer's record and the intent to send it."""
        assert request.offer_expires_at is not None
        offer_id = await help_sql.insert_offer(conn, request.id, mentor, now)
        await outbox_sql.add(conn, request.id, IntentKind.SEND_OFFER, now, offer_id=offer_id)
        return Routing(request, NewOffer(offer_id, mentor, request.offer_expires_at))

    async def queued(
        self,
        conn: Connection,
        request: HelpRequest,
        now: datetime,
        notice: QueueNotice,
        place: tuple[int, int] | None = None,
    ) -> Routing:
        """The request waits in line: its place, and who is told.

        ``place``: (place in line, how many wait) when the caller already knows it (a request
        filed in this transaction goes after everyone queued before it).
        """
        position, waiting = place or await help_sql.queue_position(conn, request)
        if notice.teacher:
            await outbox_sql.add(conn, request.id, IntentKind.QUEUED, now, waiting=waiting)
        if notice.student:
            await self.tell(conn, request, request.student_id, "requeued", now, position=position)
        return Routing(request, None, position, waiting)

    async def tell(
        self,
        conn: Connection,
        request: HelpRequest,
        user_id: int,
        about: TellAbout,
        now: datetime,
        **extra: object,
    ) -> None:
        """Record a private word to one person about their request."""
        await outbox_sql.add(
            conn, request.id, IntentKind.TELL, now, user_id=user_id, about=about, **extra
        )

    async def withdraw(
        self,
        conn: Connection,
        offer: HelpOffer,
        outcome: OfferOutcome,
        reason: StaleReason,
        now: datetime,
    ) -> StaleOffer:
        """Settle a pending offer and record that its buttons must be tidied."""
        await help_sql.decide_offer(conn, offer.id, outcome, now)
        await outbox_sql.add(
            conn, offer.request_id, IntentKind.TIDY_OFFER, now, offer_id=offer.id, reason=reason
        )
        return stale_offer(offer, reason)

    def matching_window(self, now: datetime, zone: ZoneInfo | None) -> tuple[datetime, datetime]:
        """(start of the class's week, start of "recently helped") for fair matching."""
        return (
            week_start(now, zone) if zone else now - timedelta(days=7),
            now - timedelta(days=self._config.recent_helper_days),
        )

    async def choose(
        self, conn: Connection, request: HelpRequest, now: datetime, *, fresh: bool = False
    ) -> int | None:
        """The fairest eligible mentor for the request, if anyone is free.

        ``fresh``: the request was filed in this transaction (it has no past offers to read).
        """
        # The class's zone from the settings cache: not re-read inside every transaction.
        settings = await self._classes.get_in(conn, request.guild_id)
        since_week, recent_since = self.matching_window(now, settings.zone if settings else None)
        candidates = await mentor_sql.mentor_candidates(
            conn,
            guild_id=request.guild_id,
            subject_id=request.subject_id,
            student_id=request.student_id,
            now=now,
            week_start=since_week,
            recent_since=recent_since,
        )
        # The mentor currently holding this very offer counts it as a session: don't let that
        # count against them, but they are not offered the same request twice in a row either.
        # A request just filed has had no offers yet, so nobody passed on it.
        excluded = frozenset() if fresh else await help_sql.excluded_mentors(conn, request.id)
        if request.state is RequestState.OFFERED and request.mentor_id is not None:
            excluded |= {request.mentor_id}
        chosen = choose_mentor(candidates, request.student_id, excluded, aspect=request.aspect)
        return chosen.user_id if chosen else None


def stale_offer(offer: HelpOffer, reason: StaleReason) -> StaleOffer:
    """The buttons of an ended offer, and why they no longer apply."""
    return StaleOffer(offer.mentor_id, offer.channel_id, offer.message_id, reason)


def ended_reason(offer: HelpOffer, request: HelpRequest) -> StaleReason:
    """Why an ended offer's buttons no longer apply."""
    if offer.outcome == "expired":
        return "expired"
    if request.state is RequestState.CANCELLED:
        return "cancelled"
    if request.state in (RequestState.ACTIVE, RequestState.RESOLVED, RequestState.EXPIRED):
        return "taken"
    return "withdrawn"
