"""Help requests: ask, fair matching, offers, private sessions and confirmed credit.

Every state change is one ``db.transaction()`` holding a conditional
``UPDATE help_requests SET state = ? WHERE id = ? AND state = ?`` (its rowcount decides who wins a
race), a ``help_events`` row, and the ``help_offers`` bookkeeping. The allowed steps come from
:mod:`bot.domain.help_states`; who gets offered a request comes from :mod:`bot.domain.matching`.

Methods return plain results (an offer to send, a queue place, a session to open or close) that
the cog renders; Discord is never called while a transaction is open.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiosqlite

from bot.clock import Clock
from bot.config import MentoringConfig
from bot.domain.classroom import ClassSettings
from bot.domain.help_states import OPEN_STATES, RequestState, ensure_transition
from bot.domain.matching import choose_mentor
from bot.domain.text import has_visible, normalise_text
from bot.domain.weeks import week_start
from bot.errors import Conflict, InvalidInput, NotFound, RateLimited, UserFacingError
from bot.services.classes import ClassService
from bot.services.recognition import credit_session
from db import classes as class_sql
from db import help_requests as help_sql
from db import mentors as mentor_sql
from db.database import Database
from db.help_requests import HelpOffer, HelpRequest

__all__ = [
    "TOPIC_MAX_LENGTH",
    "Accepted",
    "Closed",
    "HelpOffer",
    "HelpRequest",
    "HelpService",
    "NewOffer",
    "Resolved",
    "Routing",
    "StaleOffer",
    "clean_topic",
]

TOPIC_MAX_LENGTH = 200


@dataclass(frozen=True)
class StaleOffer:
    """An offer message whose Accept / Pass buttons no longer apply, and why."""

    mentor_id: int
    channel_id: int | None
    message_id: int | None
    reason: str  # 'expired' | 'taken' | 'withdrawn' | 'cancelled'


@dataclass(frozen=True)
class NewOffer:
    """Offer the request to this mentor (the cog sends the DM and starts the expiry timer)."""

    offer_id: int
    mentor_id: int
    expires_at: datetime


@dataclass(frozen=True)
class Routing:
    """Where a request went: offered to a mentor, or waiting in line for its subject."""

    request: HelpRequest
    offer: NewOffer | None
    position: int = 0  # place in line when queued (1 = next)
    waiting: int = 0  # how many wait for this subject
    stale: tuple[StaleOffer, ...] = ()
    # The mentor whose offer ran out: their availability was paused so students don't wait on them.
    paused_mentor: int | None = None

    @property
    def queued(self) -> bool:
        """Nobody was free: the request waits in line."""
        return self.offer is None


@dataclass(frozen=True)
class Accepted:
    """A mentor won the request: open the private session."""

    request: HelpRequest
    stale: tuple[StaleOffer, ...] = ()


@dataclass(frozen=True)
class Closed:
    """A request ended without credit (cancelled, closed by a teacher, idle)."""

    request: HelpRequest
    previous: RequestState
    stale: tuple[StaleOffer, ...] = ()


@dataclass(frozen=True)
class Resolved:
    """The student confirmed the session helped: the mentor was credited."""

    request: HelpRequest
    ledger_id: int


@dataclass(frozen=True)
class Timers:
    """What the scheduler must know at start-up, read from the database."""

    offers: list[HelpRequest] = field(default_factory=list)
    sessions: list[HelpRequest] = field(default_factory=list)


def clean_topic(raw: str | None) -> str:
    """The student's topic, trimmed; longer than 200 characters is refused kindly."""
    topic = normalise_text(raw)
    if not has_visible(topic):
        if (raw or "").strip(" \t\n"):
            raise InvalidInput(
                "The topic has no visible characters: type some words or leave it out."
            )
        return ""
    if len(topic) > TOPIC_MAX_LENGTH:
        raise InvalidInput(
            f"Please keep the topic to {TOPIC_MAX_LENGTH} characters (yours has {len(topic)}): "
            "a few words are enough, you can explain the rest to your mentor."
        )
    return topic


class HelpService:
    """Use cases of the help flow, from `/helpme` to a confirmed session."""

    def __init__(
        self, db: Database, clock: Clock, classes: ClassService, config: MentoringConfig
    ) -> None:
        self._db = db
        self._clock = clock
        self._classes = classes
        self._config = config

    @property
    def offer_timeout(self) -> timedelta:
        """How long a mentor has to answer an offer."""
        return timedelta(minutes=self._config.offer_timeout_minutes)

    @property
    def idle_timeout(self) -> timedelta:
        """How long a session may sit quiet before it closes without credit."""
        return timedelta(minutes=self._config.session_idle_minutes)

    # --- reading ------------------------------------------------------------------------------

    async def get(self, request_id: int) -> HelpRequest:
        """A request by id, or a friendly "not found"."""
        async with self._db.reading() as conn:
            request = await help_sql.get_request(conn, request_id)
        if request is None:
            raise NotFound("I can't find that help request any more.")
        return request

    async def open_requests(self, guild_id: int) -> list[HelpRequest]:
        """Open requests of a class, oldest first (the teacher's `/queue`)."""
        async with self._db.reading() as conn:
            return await help_sql.open_requests(conn, guild_id)

    async def timers(self) -> Timers:
        """Offers waiting for an answer and active sessions, to rebuild timers at start-up."""
        async with self._db.reading() as conn:
            offers = await help_sql.requests_in_state(conn, RequestState.OFFERED)
            sessions = await help_sql.requests_in_state(conn, RequestState.ACTIVE)
        return Timers(offers, sessions)

    async def open_counts(self, include: Callable[[int], bool]) -> dict[str, int]:
        """Requests not yet closed, per state, in the classes ``include(guild_id)`` accepts.

        For the operator's metrics: a sharded process reports only its own classes.
        """
        counts: dict[str, int] = {}
        async with self._db.reading() as conn:
            for state in (RequestState.QUEUED, RequestState.OFFERED, RequestState.ACTIVE):
                found = await help_sql.requests_in_state(conn, state)
                counts[state.value] = sum(1 for r in found if include(r.guild_id))
        return counts

    def idle_deadline(self, request: HelpRequest) -> datetime:
        """When an active session closes if nothing happens."""
        last = request.last_activity_at or request.accepted_at or request.created_at
        return last + self.idle_timeout

    # --- asking -------------------------------------------------------------------------------

    async def ask(
        self, guild_id: int, student_id: int, subject_name: str, topic: str | None
    ) -> Routing:
        """File a request and route it: an offer to the fairest free mentor, or a place in line."""
        settings = await self._classes.require_configured(guild_id)
        cleaned = clean_topic(topic)
        subject = await self._classes.subject(guild_id, subject_name)
        return await self._file(settings, student_id, subject.id, cleaned)

    async def ask_subject(
        self, guild_id: int, student_id: int, subject_id: int, topic: str
    ) -> Routing:
        """File a request for a subject by id (the help panel's buttons carry the id)."""
        topic = clean_topic(topic)
        settings = await self._classes.require_configured(guild_id)
        return await self._file(settings, student_id, subject_id, topic)

    async def _file(
        self, settings: ClassSettings, student_id: int, subject_id: int, topic: str
    ) -> Routing:
        """Write the request and route it, in one transaction."""
        guild_id = settings.guild_id
        if settings.help_channel_id is None:
            raise UserFacingError(
                "Help sessions need a help channel: ask your teacher to set one with `/setup class`."
            )
        now = self._clock.now()
        try:
            async with self._db.transaction() as conn:
                subject = await class_sql.get_subject(conn, subject_id)
                if subject is None or subject.guild_id != guild_id:
                    raise NotFound("That subject doesn't exist in this class any more.")
                existing = await help_sql.open_request_of(conn, guild_id, student_id)
                if existing is not None:
                    raise Conflict(
                        f"You already have an open request for **{existing.subject_name}** "
                        f"({_state_words(existing.state)}). Use `/helpme cancel` first if you "
                        "need something else."
                    )
                last = await help_sql.last_request_time(conn, guild_id, student_id)
                cooldown = timedelta(seconds=self._config.help_cooldown_seconds)
                if last is not None and now - last < cooldown:
                    wait = int((cooldown - (now - last)).total_seconds()) + 1
                    raise RateLimited(f"You just asked: please wait {wait} s before asking again.")
                request_id = await help_sql.insert_request(
                    conn,
                    guild_id=guild_id,
                    subject_id=subject_id,
                    student_id=student_id,
                    topic=topic,
                    now=now,
                )
                await help_sql.add_event(
                    conn,
                    request_id,
                    from_state=None,
                    to_state=RequestState.QUEUED,
                    actor_id=student_id,
                    now=now,
                )
                return await self._route(conn, request_id, now, actor=student_id)
        except sqlite3.IntegrityError:
            # Two /helpme at the same instant: the unique index let only one through.
            raise Conflict("You already have an open request.") from None

    # --- offers -------------------------------------------------------------------------------

    async def offer_posted(self, offer_id: int, channel_id: int, message_id: int) -> None:
        """Remember where an offer's buttons went, so they can be tidied when it ends."""
        async with self._db.transaction() as conn:
            await help_sql.set_offer_message(conn, offer_id, channel_id, message_id)

    async def accept(self, request_id: int, mentor_id: int) -> Accepted:
        """A mentor accepts. Exactly one mentor wins; the others are told kindly (Conflict).

        A mentor whose offer just ran out may still accept while nobody else has: the student
        gets help sooner. Whoever's offer is pending at that moment loses it.
        """
        now = self._clock.now()
        async with self._db.transaction() as conn:
            request = await self._require(conn, request_id)
            if request.state is RequestState.ACTIVE and request.mentor_id == mentor_id:
                raise Conflict("You've already accepted this one: the session thread is open.")
            if request.state not in (RequestState.OFFERED, RequestState.QUEUED):
                raise Conflict(_gone_words(request))
            offer = await help_sql.latest_offer_to(conn, request_id, mentor_id)
            if offer is None:
                raise Conflict("This request wasn't offered to you.")
            if offer.outcome in ("passed", "withdrawn"):
                raise Conflict("This request has moved on to another mentor. Thanks anyway!")
            stale: list[StaleOffer] = []
            late = not (request.state is RequestState.OFFERED and request.mentor_id == mentor_id)
            if late:
                limit = await self._session_limit(conn, request.guild_id, mentor_id)
                if (
                    await help_sql.mentor_load(
                        conn, request.guild_id, mentor_id, besides=request_id
                    )
                    >= limit
                ):
                    raise Conflict(
                        "This offer ran out, and you already have another request: finish that "
                        "one first."
                    )
                if request.state is RequestState.QUEUED:
                    request = await self._step(
                        conn,
                        request,
                        RequestState.OFFERED,
                        actor=mentor_id,
                        now=now,
                        note="late accept",
                        mentor_id=mentor_id,
                        offer_expires_at=now,
                    )
                else:
                    pending = await help_sql.pending_offer(conn, request_id)
                    if pending is not None:
                        await help_sql.decide_offer(conn, pending.id, "withdrawn", now)
                        stale.append(_stale(pending, "taken"))
            ensure_transition(RequestState.OFFERED, RequestState.ACTIVE)
            won = await help_sql.move(
                conn,
                request_id,
                expected=RequestState.OFFERED,
                new=RequestState.ACTIVE,
                expected_mentor=request.mentor_id,
                fields={
                    "mentor_id": mentor_id,
                    "offer_expires_at": None,
                    "accepted_at": now,
                    "last_activity_at": now,
                },
            )
            if not won:  # pragma: no cover - the transaction lock makes this belt and braces
                raise Conflict(
                    "Another mentor has just taken this request. Thanks for being ready!"
                )
            await help_sql.add_event(
                conn,
                request_id,
                from_state=RequestState.OFFERED,
                to_state=RequestState.ACTIVE,
                actor_id=mentor_id,
                now=now,
            )
            await help_sql.decide_offer(
                conn, offer.id, "accepted", now, only_from=(None, "expired")
            )
            accepted = await self._require(conn, request_id)
        return Accepted(accepted, tuple(stale))

    async def pass_offer(self, request_id: int, mentor_id: int) -> Routing:
        """A mentor passes: the request goes to the next mentor at once (or back in line)."""
        now = self._clock.now()
        async with self._db.transaction() as conn:
            request = await self._require(conn, request_id)
            pending = await help_sql.pending_offer(conn, request_id)
            if (
                request.state is not RequestState.OFFERED
                or pending is None
                or pending.mentor_id != mentor_id
            ):
                raise Conflict("This offer isn't waiting for you any more. Thanks anyway!")
            await help_sql.decide_offer(conn, pending.id, "passed", now)
            return await self._reroute(conn, request, now, actor=mentor_id, note="passed")

    async def expire_offer(self, request_id: int) -> Routing | None:
        """The offer timer fired: if the offer is still unanswered, move on to the next mentor.

        Returns ``None`` when there is nothing to do (answered meanwhile, or not due yet).
        """
        now = self._clock.now()
        async with self._db.transaction() as conn:
            request = await help_sql.get_request(conn, request_id)
            if (
                request is None
                or request.state is not RequestState.OFFERED
                or request.offer_expires_at is None
                or request.offer_expires_at > now
            ):
                return None
            pending = await help_sql.pending_offer(conn, request_id)
            paused = None
            if pending is not None:
                await help_sql.decide_offer(conn, pending.id, "expired", now)
                # They seem to be away: stop offering them requests until they say /available on.
                await mentor_sql.set_available_until(
                    conn, request.guild_id, pending.mentor_id, None
                )
                paused = pending.mentor_id
            routing = await self._reroute(conn, request, now, actor=None, note="offer expired")
        if pending is not None:
            routing = _with_stale(routing, _stale(pending, "expired"))
        return _replace_paused(routing, paused)

    async def reassign(self, request_id: int, teacher_id: int) -> Routing:
        """A teacher moves a waiting request on: to the next mentor, or tries the queue again."""
        now = self._clock.now()
        async with self._db.transaction() as conn:
            request = await self._require(conn, request_id)
            if request.state is RequestState.QUEUED:
                return await self._route(conn, request_id, now, actor=teacher_id)
            if request.state is not RequestState.OFFERED:
                raise Conflict(
                    "Only a waiting request can be reassigned; a session in progress can be closed."
                )
            pending = await help_sql.pending_offer(conn, request_id)
            stale: tuple[StaleOffer, ...] = ()
            if pending is not None:
                await help_sql.decide_offer(conn, pending.id, "withdrawn", now)
                stale = (_stale(pending, "withdrawn"),)
            routing = await self._reroute(conn, request, now, actor=teacher_id, note="reassigned")
        for item in stale:
            routing = _with_stale(routing, item)
        return routing

    async def serve_queue(self, guild_id: int) -> list[Routing]:
        """A mentor became free: offer waiting requests, first come first served."""
        now = self._clock.now()
        routed: list[Routing] = []
        async with self._db.reading() as conn:
            waiting = await help_sql.queued_requests(conn, guild_id)
        for request in waiting:
            async with self._db.transaction() as conn:
                current = await help_sql.get_request(conn, request.id)
                if current is None or current.state is not RequestState.QUEUED:
                    continue
                routing = await self._route(conn, request.id, now, actor=None, note="from queue")
            if routing.offer is not None:
                routed.append(routing)
        return routed

    # --- sessions -----------------------------------------------------------------------------

    async def session_opened(self, request_id: int, thread_id: int) -> None:
        """Remember the session's private thread."""
        async with self._db.transaction() as conn:
            await help_sql.set_thread(conn, request_id, thread_id)

    async def touch(self, request_id: int) -> bool:
        """Activity in a session (a message or a click): the idle clock starts again."""
        async with self._db.transaction() as conn:
            return await help_sql.touch(conn, request_id, self._clock.now())

    async def require_participant(self, request_id: int, user_id: int) -> HelpRequest:
        """An active session the user is the student or the mentor of."""
        request = await self.get(request_id)
        if request.state is not RequestState.ACTIVE:
            raise Conflict(_gone_words(request))
        if user_id not in (request.student_id, request.mentor_id):
            raise Conflict("This session belongs to a classmate.")
        await self.touch(request_id)
        return request

    async def require_student(self, request_id: int, user_id: int) -> HelpRequest:
        """An active session of which the user is the student."""
        request = await self.require_participant(request_id, user_id)
        if user_id != request.student_id:
            raise Conflict("Only the student who asked can confirm the session.")
        return request

    async def propose_close(self, request_id: int, mentor_id: int) -> HelpRequest:
        """The mentor suggests closing; the student is asked to confirm and rate."""
        request = await self.require_participant(request_id, mentor_id)
        if mentor_id != request.mentor_id:
            raise Conflict("Only the mentor can propose closing; if you're done, press *Solved*.")
        async with self._db.transaction() as conn:
            if not await help_sql.propose_close(conn, request_id, self._clock.now()):
                raise Conflict(_gone_words(request))
            await self._session_note(conn, request_id, mentor_id, "close proposed")
        return request

    async def call_teacher(self, request_id: int, user_id: int) -> HelpRequest:
        """ "Need the teacher": recorded in the trail; the cog pings the teacher role."""
        request = await self.require_participant(request_id, user_id)
        async with self._db.transaction() as conn:
            await self._session_note(conn, request_id, user_id, "teacher called")
        return request

    async def _session_note(
        self, conn: aiosqlite.Connection, request_id: int, actor_id: int, note: str
    ) -> None:
        """Something happened in an active session that belongs in the audit trail."""
        await help_sql.add_event(
            conn,
            request_id,
            from_state=RequestState.ACTIVE,
            to_state=RequestState.ACTIVE,
            actor_id=actor_id,
            now=self._clock.now(),
            note=note,
        )

    async def rate(self, request_id: int, student_id: int, rating: int) -> Resolved:
        """The student confirms with a 1–5 rating: resolved and credited in one transaction."""
        if not 1 <= rating <= 5:
            raise InvalidInput("Ratings go from 1 to 5.")
        now = self._clock.now()
        async with self._db.transaction() as conn:
            request = await self._require(conn, request_id)
            if student_id != request.student_id:
                raise Conflict("Only the student who asked can rate the session.")
            if request.state is not RequestState.ACTIVE:
                raise Conflict(_gone_words(request))
            mentor_id = request.mentor_id
            assert mentor_id is not None
            request = await self._step(
                conn,
                request,
                RequestState.RESOLVED,
                actor=student_id,
                now=now,
                note=f"rated {rating}",
                closed_at=now,
                closed_by=student_id,
                close_reason="solved",
                rating=rating,
            )
            ledger_id = await credit_session(
                conn,
                guild_id=request.guild_id,
                mentor_id=mentor_id,
                session_id=request.id,
                subject_id=request.subject_id,
                rating=rating,
                now=now,
            )
        return Resolved(request, ledger_id)

    async def idle_check(self, request_id: int) -> Closed | datetime | None:
        """The idle timer fired: close a quiet session (no credit), or say when to look again."""
        now = self._clock.now()
        async with self._db.transaction() as conn:
            request = await help_sql.get_request(conn, request_id)
            if request is None or request.state is not RequestState.ACTIVE:
                return None
            deadline = self.idle_deadline(request)
            if deadline > now:
                return deadline
            closed = await self._step(
                conn,
                request,
                RequestState.EXPIRED,
                actor=None,
                now=now,
                note="idle",
                closed_at=now,
                close_reason="idle",
            )
        return Closed(closed, RequestState.ACTIVE)

    # --- ending -------------------------------------------------------------------------------

    async def cancel_own(self, guild_id: int, student_id: int) -> Closed:
        """`/helpme cancel`: the student withdraws their open request, whatever its state."""
        async with self._db.reading() as conn:
            request = await help_sql.open_request_of(conn, guild_id, student_id)
        if request is None:
            raise NotFound("You have no open help request.")
        return await self._close(request.id, actor=student_id, reason="cancelled")

    async def close_by_teacher(self, request_id: int, teacher_id: int) -> Closed:
        """A teacher closes a request from `/queue` (no credit)."""
        return await self._close(request_id, actor=teacher_id, reason="teacher")

    async def session_failed(self, request_id: int) -> Closed:
        """The private thread couldn't be made (missing permissions): end the request cleanly."""
        return await self._close(request_id, actor=None, reason="no_thread")

    async def _close(self, request_id: int, *, actor: int | None, reason: str) -> Closed:
        now = self._clock.now()
        async with self._db.transaction() as conn:
            request = await self._require(conn, request_id)
            if request.state not in OPEN_STATES:
                raise Conflict(_gone_words(request))
            stale: tuple[StaleOffer, ...] = ()
            pending = await help_sql.pending_offer(conn, request_id)
            if pending is not None:
                await help_sql.decide_offer(conn, pending.id, "withdrawn", now)
                stale = (_stale(pending, "cancelled"),)
            closed = await self._step(
                conn,
                request,
                RequestState.CANCELLED,
                actor=actor,
                now=now,
                note=reason,
                offer_expires_at=None,
                closed_at=now,
                closed_by=actor,
                close_reason=reason,
            )
        return Closed(closed, request.state, stale)

    # --- internals ----------------------------------------------------------------------------

    async def _require(self, conn: aiosqlite.Connection, request_id: int) -> HelpRequest:
        request = await help_sql.get_request(conn, request_id)
        if request is None:
            raise NotFound("I can't find that help request any more.")
        return request

    async def _step(
        self,
        conn: aiosqlite.Connection,
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
        if not await help_sql.move(conn, request.id, expected=request.state, new=to, fields=fields):
            raise Conflict(_gone_words(request))
        await help_sql.add_event(
            conn,
            request.id,
            from_state=request.state,
            to_state=to,
            actor_id=actor,
            now=now,
            note=note,
        )
        return await self._require(conn, request.id)

    async def _session_limit(self, conn: aiosqlite.Connection, guild_id: int, user_id: int) -> int:
        state = await mentor_sql.get_mentor(conn, guild_id, user_id)
        return state.session_limit if state else self._config.mentor_session_limit

    async def _route(
        self,
        conn: aiosqlite.Connection,
        request_id: int,
        now: datetime,
        *,
        actor: int | None,
        note: str = "",
    ) -> Routing:
        """A queued request: offer it to the fairest eligible mentor, or report its place."""
        request = await self._require(conn, request_id)
        mentor = await self._choose(conn, request, now)
        if mentor is None:
            position, waiting = await help_sql.queue_position(conn, request)
            return Routing(request, None, position, waiting)
        return await self._offer(conn, request, mentor, now, actor=actor, note=note)

    async def _reroute(
        self,
        conn: aiosqlite.Connection,
        request: HelpRequest,
        now: datetime,
        *,
        actor: int | None,
        note: str,
    ) -> Routing:
        """An offered request whose offer ended: the next mentor (offered -> offered), or back
        in line (offered -> queued), keeping its original place."""
        mentor = await self._choose(conn, request, now)
        if mentor is None:
            queued = await self._step(
                conn,
                request,
                RequestState.QUEUED,
                actor=actor,
                now=now,
                note=note,
                mentor_id=None,
                offer_expires_at=None,
            )
            position, waiting = await help_sql.queue_position(conn, queued)
            return Routing(queued, None, position, waiting)
        return await self._offer(conn, request, mentor, now, actor=actor, note=note)

    async def _offer(
        self,
        conn: aiosqlite.Connection,
        request: HelpRequest,
        mentor: int,
        now: datetime,
        *,
        actor: int | None,
        note: str,
    ) -> Routing:
        """Offer the request to ``mentor`` (queued/offered -> offered) until the timeout."""
        expires = now + self.offer_timeout
        offered = await self._step(
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
        return Routing(offered, NewOffer(offer_id, mentor, expires))

    async def _choose(
        self, conn: aiosqlite.Connection, request: HelpRequest, now: datetime
    ) -> int | None:
        settings = await class_sql.get_class(conn, request.guild_id)
        zone = settings.zone if settings else None
        candidates = await mentor_sql.mentor_candidates(
            conn,
            guild_id=request.guild_id,
            subject_id=request.subject_id,
            student_id=request.student_id,
            now=now,
            week_start=week_start(now, zone) if zone else now - timedelta(days=7),
            recent_since=now - timedelta(days=self._config.recent_helper_days),
        )
        # The mentor currently holding this very offer counts it as a session: don't let that
        # count against them, but they are not offered the same request twice in a row either.
        excluded = await help_sql.excluded_mentors(conn, request.id)
        if request.state is RequestState.OFFERED and request.mentor_id is not None:
            excluded |= {request.mentor_id}
        chosen = choose_mentor(candidates, request.student_id, excluded)
        return chosen.user_id if chosen else None


def _stale(offer: HelpOffer, reason: str) -> StaleOffer:
    return StaleOffer(offer.mentor_id, offer.channel_id, offer.message_id, reason)


def _with_stale(routing: Routing, stale: StaleOffer) -> Routing:
    return Routing(
        routing.request,
        routing.offer,
        routing.position,
        routing.waiting,
        (*routing.stale, stale),
        routing.paused_mentor,
    )


def _replace_paused(routing: Routing, mentor_id: int | None) -> Routing:
    return Routing(
        routing.request, routing.offer, routing.position, routing.waiting, routing.stale, mentor_id
    )


def _state_words(state: RequestState) -> str:
    return {
        RequestState.QUEUED: "waiting for a free mentor",
        RequestState.OFFERED: "a mentor is being asked",
        RequestState.ACTIVE: "your session is open",
    }.get(state, state.value)


def _gone_words(request: HelpRequest) -> str:
    """Why a button no longer applies, said kindly."""
    if request.state is RequestState.ACTIVE:
        return "Another mentor has already taken this request. Thanks for being ready to help!"
    if request.state is RequestState.RESOLVED:
        return "This session is already closed. Thank you!"
    if request.state is RequestState.CANCELLED:
        return "This request was closed: the student doesn't need help with it any more."
    if request.state is RequestState.EXPIRED:
        return "This session was closed after a quiet spell."
    return "This request has moved on. Thanks anyway!"
