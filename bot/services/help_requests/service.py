"""Help requests: ask, fair matching, offers, private sessions and confirmed credit.

Every state change is one ``db.transaction()`` holding a conditional
``UPDATE help_requests SET state = ? WHERE id = ? AND state = ?`` (its rowcount decides who wins a
race), a ``help_events`` row, the ``help_offers`` bookkeeping, and the outbox intents for what must
follow on Discord. The allowed steps come from :mod:`bot.domain.help_states`; who gets offered a
request comes from :mod:`bot.domain.matching` (through :class:`Router`).

Methods return plain results (an offer made, a queue place, a session closed) for the cog to
render; Discord is never called while a transaction is open.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from bot.clock import Clock
from bot.config import MentoringConfig
from bot.domain.classroom import ClassSettings, Subject
from bot.domain.gains import check_confidence
from bot.domain.help_intents import IntentKind
from bot.domain.help_requests import CloseReason, HelpRequest
from bot.domain.help_states import OPEN_STATES, RequestState, ensure_transition
from bot.domain.matching import choose_mentor
from bot.domain.rounds import BOARD_SIZE, BoardEntry, board_order
from bot.domain.text import normalise_text
from bot.errors import Conflict, InvalidInput, NotFound, RateLimited, UserFacingError
from bot.services.classes import ClassService, no_such_subject
from bot.services.help_requests.delivery import HelpDelivery
from bot.services.help_requests.results import (
    SILENT,
    TELL_BOTH,
    Accepted,
    Closed,
    Resolved,
    Routing,
    StaleOffer,
    Timers,
)
from bot.services.help_requests.routing import Router
from bot.services.help_requests.words import clean_topic, gone_words, state_words
from bot.services.mentors import clean_aspect
from bot.services.recognition import credit_session
from db import classes as class_sql
from db import help_outbox as outbox_sql
from db import help_requests as help_sql
from db import mentors as mentor_sql
from db import rounds as rounds_sql
from db import scores as score_sql
from db.database import Connection, Database
from db.errors import IntegrityError


@dataclasses.dataclass(frozen=True)
class Asked:
    """What a student may add to a request besides the topic (both optional)."""

    aspect: str | None = None
    confidence: int | None = None


def checked_confidence(value: int | None) -> int | None:
    """A "how sure are you" answer, 1–5, or none."""
    if value is None:
        return None
    try:
        return check_confidence(value)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


class Refusal(StrEnum):
    """Why an ask is refused before it is filed."""

    NO_SUBJECT = "no such subject"  # unknown, removed, or another class's
    OPEN = "a request open"  # the student already has one open in the class
    COOLDOWN = "asked just now"  # within the help cooldown of their last ask


def ask_refusal(
    context: help_sql.AskContext, guild_id: int, now: datetime, cooldown: timedelta
) -> Refusal | None:
    """Whether an ask is refused, from what it read, checked in this order: the one rule for
    both ways of filing (:meth:`HelpService._file` words the refusal; an ask joining a line on
    SQLite decides on the database thread and falls back to it)."""
    subject = context.subject
    if subject is None or subject.guild_id != guild_id:
        return Refusal.NO_SUBJECT
    if context.open_id is not None:
        return Refusal.OPEN
    if context.last_at is not None and now - context.last_at < cooldown:
        return Refusal.COOLDOWN
    return None


def _new_request(
    ask: help_sql.AskQuery, subject: Subject, topic: str, asked: Asked
) -> help_sql.NewRequest:
    """The request an ask files, once it is neither refused nor worded otherwise."""
    return help_sql.NewRequest(
        guild_id=ask.guild_id,
        subject_id=subject.id,
        student_id=ask.student_id,
        topic=topic,
        now=ask.now,
        subject_name=subject.name,
        aspect=asked.aspect,
    )


class HelpService:
    """Use cases of the help flow, from `/helpme` to a confirmed session."""

    def __init__(
        self, db: Database, clock: Clock, classes: ClassService, config: MentoringConfig
    ) -> None:
        self._db = db
        self._clock = clock
        self._classes = classes
        self._config = config
        self._router = Router(config, classes)
        # Subjects (a class and the subject's id or name) whose last ask waited in line: the
        # next ask there tries :meth:`_file_in_line` first (a hint; nothing depends on it).
        self._lines: set[tuple[int, int | str]] = set()
        # What the help desk asks while it carries out the outbox (see delivery.py).
        self.delivery = HelpDelivery(db, clock, self._router)

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
        self,
        guild_id: int,
        student_id: int,
        subject_name: str,
        topic: str | None,
        *,
        aspect: str | None = None,
        confidence: int | None = None,
    ) -> Routing:
        """File a request and route it: an offer to the fairest free mentor, or a place in line.

        ``aspect`` (a topic within the subject, e.g. "fractions") makes mentors badged for it go
        first; ``confidence`` is the student's "how sure are you, 1–5", kept for their gains.
        """
        settings = await self._classes.require_configured(guild_id)
        cleaned = clean_topic(topic)
        asked = Asked(clean_aspect(aspect), checked_confidence(confidence))
        return await self._file(settings, student_id, subject_name, cleaned, asked)

    async def ask_subject(
        self,
        guild_id: int,
        student_id: int,
        subject_id: int,
        topic: str,
        *,
        aspect: str | None = None,
        confidence: int | None = None,
    ) -> Routing:
        """File a request for a subject by id (the help panel's buttons carry the id)."""
        topic = clean_topic(topic)
        asked = Asked(clean_aspect(aspect), checked_confidence(confidence))
        settings = await self._classes.require_configured(guild_id)
        return await self._file(settings, student_id, subject_id, topic, asked)

    async def _file(
        self,
        settings: ClassSettings,
        student_id: int,
        subject_ref: int | str,
        topic: str,
        asked: Asked,
    ) -> Routing:
        """Write the request and route it, in one transaction.

        ``subject_ref`` is the subject's id (a panel button) or its name (`/helpme ask`), looked
        up inside the transaction: one statement, and a subject removed meanwhile is noticed.
        """
        guild_id = settings.guild_id
        if settings.help_channel_id is None:
            raise UserFacingError(
                "Help sessions need a help channel: ask your teacher to set one with `/setup class`."
            )
        now = self._clock.now()
        since_week, recent_since = self._router.matching_window(now, settings.zone)
        ask = help_sql.AskQuery(
            guild_id,
            student_id,
            now,
            since_week,
            recent_since,
            name=normalise_text(subject_ref)[:40] if isinstance(subject_ref, str) else None,
            subject_id=None if isinstance(subject_ref, str) else subject_ref,
        )
        line = (guild_id, ask.name if ask.name is not None else subject_ref)
        try:
            if line in self._lines and asked.confidence is None and self._db.engine == "sqlite":
                in_line = await self._file_in_line(ask, topic, asked)
                if in_line is not None:
                    return in_line
                self._lines.discard(line)  # someone is free, or the ask is refused: as usual
            async with self._db.transaction(guild_id=guild_id) as conn:
                # The subject, the student's asking history, the subject's mentors as matching
                # weighs them and its queue: one query.
                context = await help_sql.ask_context(conn, ask)
                cooldown = timedelta(seconds=self._config.help_cooldown_seconds)
                refused = ask_refusal(context, guild_id, now, cooldown)
                if refused is Refusal.NO_SUBJECT:
                    if context.subject is None and isinstance(subject_ref, str):
                        known = await class_sql.list_subjects(conn, guild_id)
                        raise no_such_subject(subject_ref, known)
                    raise NotFound("That subject doesn't exist in this class any more.")
                if refused is Refusal.OPEN and context.open_id is not None:
                    existing = await self._router.require(conn, context.open_id)
                    raise Conflict(
                        f"You already have an open request for **{existing.subject_name}** "
                        f"({state_words(existing.state)}). Use `/helpme cancel` first if you "
                        "need something else."
                    )
                if refused is Refusal.COOLDOWN and context.last_at is not None:
                    wait = int((cooldown - (now - context.last_at)).total_seconds()) + 1
                    raise RateLimited(f"You just asked: please wait {wait} s before asking again.")
                subject = context.subject
                assert subject is not None  # not refused: the class's own subject
                # A request just filed has had no offers: nobody passed on it, nobody holds it.
                chosen = choose_mentor(context.candidates, student_id, aspect=asked.aspect)
                mentor = chosen.user_id if chosen else None
                new = _new_request(ask, subject, topic, asked)
                routed = None
                if mentor is None and asked.confidence is None:
                    # Waits in line, after everyone queued for the subject so far; nothing
                    # here reads the request back, so it is written with the COMMIT.
                    filed = await help_sql.file_queued(conn, new)
                    place = (context.ahead + 1, context.waiting + 1)
                else:
                    routed = await self._file_routed(conn, context, new, asked, mentor)
            if routed is not None:
                if routed.queued:
                    self._lines.add(line)
                else:
                    self._lines.discard(line)
                return routed
            self._lines.add(line)
            # No QUEUED intent: the desk touches the subject's live notice after the reply
            # (``filed``), and start-up refreshes the notice of every subject with someone waiting.
            return Routing(help_sql.filed_request(filed), None, *place, filed=True)
        except IntegrityError:
            # Two /helpme at the same instant: the unique index let only one through.
            raise Conflict("You already have an open request.") from None

    async def _file_in_line(
        self, ask: help_sql.AskQuery, topic: str, asked: Asked
    ) -> Routing | None:
        """On SQLite, an ask that waits in line (nobody free, nothing else to record) in one
        job on the database thread: the ask's read, the decision and the request's two INSERTs
        with the COMMIT, so the write lock goes to the next writer as soon as it is queued.

        ``None`` (rolled back, nothing written) when the ask does anything else: a mentor is
        free, or it is refused (no such subject, a request already open, the cooldown); the
        caller then files it as usual, which also words the refusal.
        """
        guild_id, student_id, now = ask.guild_id, ask.student_id, ask.now
        cooldown = timedelta(seconds=self._config.help_cooldown_seconds)

        def in_line(context: help_sql.AskContext) -> help_sql.NewRequest | None:
            # On the database thread: the usual path's rule (a refusal is worded there).
            subject = context.subject
            if subject is None or ask_refusal(context, guild_id, now, cooldown) is not None:
                return None
            if choose_mentor(context.candidates, student_id, aspect=asked.aspect) is not None:
                return None
            return _new_request(ask, subject, topic, asked)

        async with self._db.transaction(guild_id=guild_id) as conn:
            ending = help_sql.file_if_queued(conn, ask, in_line)
        filed = ending.result().value  # answered: the transaction waited for it
        if filed is None:
            return None
        context, rows = filed
        place = (context.ahead + 1, context.waiting + 1)
        return Routing(help_sql.filed_request(rows), None, *place, filed=True)

    async def _file_routed(
        self,
        conn: Connection,
        context: help_sql.AskContext,
        new: help_sql.NewRequest,
        asked: Asked,
        mentor: int | None,
    ) -> Routing:
        """File a request offered at once to ``mentor`` (or, with a confidence answer to
        record, one waiting in line), inside the ask's transaction.

        Offered at once when someone is free: filed straight in the offered state, its audit
        trail (queued, then offered) in one statement.
        """
        student_id, now = new["student_id"], new["now"]
        ensure_transition(RequestState.QUEUED, RequestState.OFFERED)
        expires = now + self.offer_timeout if mentor is not None else None
        request = await help_sql.insert_request(
            conn,
            new,
            state=RequestState.QUEUED if mentor is None else RequestState.OFFERED,
            mentor_id=mentor,
            offer_expires_at=expires,
        )
        if asked.confidence is not None:
            await score_sql.set_confidence(
                conn, request.id, before=asked.confidence, after=None, now=now
            )
        steps: list[tuple[RequestState | None, RequestState, int | None, str]] = [
            (None, RequestState.QUEUED, student_id, "")
        ]
        if mentor is None:
            await help_sql.add_events(conn, request.id, steps, now)
            # It goes after everyone queued for the subject so far. No QUEUED intent:
            # the desk touches the subject's live notice after the reply (``filed``),
            # and start-up refreshes the notice of every subject with someone waiting.
            place = (context.ahead + 1, context.waiting + 1)
            queued = await self._router.queued(conn, request, now, SILENT, place)
            return dataclasses.replace(queued, filed=True)
        steps.append((RequestState.QUEUED, RequestState.OFFERED, student_id, ""))
        await help_sql.add_events(conn, request.id, steps, now)
        offered = await self._router.offered_new(conn, request, mentor, now)
        return dataclasses.replace(offered, filed=True)

    # --- offers -------------------------------------------------------------------------------

    async def _hand_to(
        self, conn: Connection, request: HelpRequest, mentor_id: int, now: datetime, note: str
    ) -> tuple[HelpRequest, list[StaleOffer]]:
        """Make an open request this mentor's to start now (a late Accept, a take).

        Queued: it becomes offered to them (for the conditional offered -> active that follows).
        Offered to another mentor: that offer is withdrawn (its buttons tidied by the desk).
        """
        if request.state is RequestState.QUEUED:
            moved = await self._router.step(
                conn,
                request,
                RequestState.OFFERED,
                actor=mentor_id,
                now=now,
                note=note,
                mentor_id=mentor_id,
                offer_expires_at=now,
            )
            return moved, []
        pending = await help_sql.pending_offer(conn, request.id)
        if pending is None:
            return request, []
        return request, [await self._router.withdraw(conn, pending, "withdrawn", "taken", now)]

    async def _start_session(
        self,
        conn: Connection,
        request_id: int,
        offered_to: int | None,
        mentor_id: int,
        now: datetime,
        note: str = "",
    ) -> None:
        """offered -> active for ``mentor_id`` (Accept or a take from the board), with its audit.

        A conditional update: only the request still offered to ``offered_to`` moves.
        """
        ensure_transition(RequestState.OFFERED, RequestState.ACTIVE)
        won = await help_sql.move(
            conn,
            request_id,
            expected=RequestState.OFFERED,
            new=RequestState.ACTIVE,
            expected_mentor=offered_to,
            fields={
                "mentor_id": mentor_id,
                "offer_expires_at": None,
                "accepted_at": now,
                "last_activity_at": now,
            },
        )
        if not won:  # pragma: no cover - the transaction lock makes this belt and braces
            raise Conflict("Another mentor has just taken this request. Thanks for being ready!")
        await help_sql.add_event(
            conn,
            request_id,
            from_state=RequestState.OFFERED,
            to_state=RequestState.ACTIVE,
            actor_id=mentor_id,
            now=now,
            note=note,
        )

    async def accept(self, request_id: int, mentor_id: int) -> Accepted:
        """A mentor accepts. Exactly one mentor wins; the others are told kindly (Conflict).

        A mentor whose offer just ran out may still accept while nobody else has: the student
        gets help sooner. Whoever's offer is pending at that moment loses it.
        """
        now = self._clock.now()
        async with self._db.transaction(help_request_id=request_id) as conn:
            request = await self._router.require(conn, request_id)
            if request.state is RequestState.ACTIVE and request.mentor_id == mentor_id:
                raise Conflict("You've already accepted this one: the session thread is open.")
            if request.state not in (RequestState.OFFERED, RequestState.QUEUED):
                raise Conflict(gone_words(request))
            offer = await help_sql.latest_offer_to(conn, request_id, mentor_id)
            if offer is None:
                raise Conflict("This request wasn't offered to you.")
            if offer.outcome in ("passed", "withdrawn"):
                raise Conflict("This request has moved on to another mentor. Thanks anyway!")
            stale: list[StaleOffer] = []
            late = not (request.state is RequestState.OFFERED and request.mentor_id == mentor_id)
            if late:
                limit = await self._router.session_limit(conn, request.guild_id, mentor_id)
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
                request, stale = await self._hand_to(conn, request, mentor_id, now, "late accept")
            await self._start_session(conn, request_id, request.mentor_id, mentor_id, now)
            await help_sql.decide_offer(
                conn, offer.id, "accepted", now, only_from=(None, "expired")
            )
            await outbox_sql.add(conn, request_id, IntentKind.OPEN_SESSION, now)
            accepted = await self._router.require(conn, request_id)
        return Accepted(accepted, tuple(stale))

    async def pass_offer(self, request_id: int, mentor_id: int) -> Routing:
        """A mentor passes: the request goes to the next mentor at once (or back in line)."""
        now = self._clock.now()
        async with self._db.transaction(help_request_id=request_id) as conn:
            request = await self._router.require(conn, request_id)
            pending = await help_sql.pending_offer(conn, request_id)
            if (
                request.state is not RequestState.OFFERED
                or pending is None
                or pending.mentor_id != mentor_id
            ):
                raise Conflict("This offer isn't waiting for you any more. Thanks anyway!")
            await help_sql.decide_offer(conn, pending.id, "passed", now)
            return await self._router.route(
                conn, request, now, actor=mentor_id, note="passed", notice=TELL_BOTH
            )

    async def expire_offer(self, request_id: int) -> Routing | None:
        """The offer timer fired: if the offer is still unanswered, move on to the next mentor.

        Returns ``None`` when there is nothing to do (answered meanwhile, or not due yet).
        """
        now = self._clock.now()
        async with self._db.transaction(help_request_id=request_id) as conn:
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
            stale: StaleOffer | None = None
            if pending is not None:
                stale = await self._router.withdraw(conn, pending, "expired", "expired", now)
                # They seem to be away: stop offering them requests until they say /available on.
                await mentor_sql.set_available_until(
                    conn, request.guild_id, pending.mentor_id, None
                )
                paused = pending.mentor_id
            routing = await self._router.route(
                conn, request, now, actor=None, note="offer expired", notice=TELL_BOTH
            )
        if stale is not None:
            routing = dataclasses.replace(routing, stale=(*routing.stale, stale))
        return dataclasses.replace(routing, paused_mentor=paused)

    async def reassign(self, request_id: int, teacher_id: int) -> Routing:
        """A teacher moves a waiting request on: to the next mentor, or tries the queue again."""
        now = self._clock.now()
        async with self._db.transaction(help_request_id=request_id) as conn:
            request = await self._router.require(conn, request_id)
            if request.state is RequestState.QUEUED:
                return await self._router.route(conn, request, now, actor=teacher_id, notice=SILENT)
            if request.state is not RequestState.OFFERED:
                raise Conflict(
                    "Only a waiting request can be reassigned; a session in progress can be closed."
                )
            pending = await help_sql.pending_offer(conn, request_id)
            stale: tuple[StaleOffer, ...] = ()
            if pending is not None:
                stale = (await self._router.withdraw(conn, pending, "withdrawn", "withdrawn", now),)
            routing = await self._router.route(
                conn, request, now, actor=teacher_id, note="reassigned", notice=SILENT
            )
        return dataclasses.replace(routing, stale=(*routing.stale, *stale))

    async def serve_queue(self, guild_id: int) -> list[Routing]:
        """A mentor became free: offer waiting requests, first come first served."""
        now = self._clock.now()
        routed: list[Routing] = []
        async with self._db.reading() as conn:
            waiting = await help_sql.queued_requests(conn, guild_id)
        for request in waiting:
            async with self._db.transaction(guild_id=guild_id) as conn:
                current = await help_sql.get_request(conn, request.id)
                if current is None or current.state is not RequestState.QUEUED:
                    continue
                routing = await self._router.route(
                    conn, current, now, actor=None, note="from queue", notice=SILENT
                )
            if routing.offer is not None:
                routed.append(routing)
        return routed

    # --- sessions -----------------------------------------------------------------------------

    async def touch(self, request_id: int) -> bool:
        """Activity in a session (a message or a click): the idle clock starts again."""
        async with self._db.transaction(help_request_id=request_id) as conn:
            return await help_sql.touch(conn, request_id, self._clock.now())

    async def require_participant(self, request_id: int, user_id: int) -> HelpRequest:
        """An active session the user is the student or the mentor of."""
        request = await self.get(request_id)
        if request.state is not RequestState.ACTIVE:
            raise Conflict(gone_words(request))
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
        async with self._db.transaction(help_request_id=request_id) as conn:
            if not await help_sql.propose_close(conn, request_id, self._clock.now()):
                raise Conflict(gone_words(request))
            await self._session_note(conn, request_id, mentor_id, "close proposed")
        return request

    async def call_teacher(self, request_id: int, user_id: int) -> HelpRequest:
        """ "Need the teacher": recorded in the trail; the cog pings the teacher role."""
        request = await self.require_participant(request_id, user_id)
        async with self._db.transaction(help_request_id=request_id) as conn:
            await self._session_note(conn, request_id, user_id, "teacher called")
        return request

    async def _session_note(
        self, conn: Connection, request_id: int, actor_id: int, note: str
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
        async with self._db.transaction(help_request_id=request_id) as conn:
            request = await self._router.require(conn, request_id)
            if student_id != request.student_id:
                raise Conflict("Only the student who asked can rate the session.")
            if request.state is not RequestState.ACTIVE:
                raise Conflict(gone_words(request))
            mentor_id = request.mentor_id
            assert mentor_id is not None
            request = await self._router.step(
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
            await outbox_sql.add(conn, request.id, IntentKind.CLOSE_SESSION, now, announce=False)
        return Resolved(request, ledger_id)

    async def idle_check(self, request_id: int) -> Closed | datetime | None:
        """The idle timer fired: close a quiet session (no credit), or say when to look again."""
        now = self._clock.now()
        async with self._db.transaction(help_request_id=request_id) as conn:
            request = await help_sql.get_request(conn, request_id)
            if request is None or request.state is not RequestState.ACTIVE:
                return None
            deadline = self.idle_deadline(request)
            if deadline > now:
                return deadline
            closed = await self._router.step(
                conn,
                request,
                RequestState.EXPIRED,
                actor=None,
                now=now,
                note="idle",
                closed_at=now,
                close_reason="idle",
            )
            await outbox_sql.add(conn, request.id, IntentKind.CLOSE_SESSION, now, announce=True)
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

    async def _close(self, request_id: int, *, actor: int | None, reason: CloseReason) -> Closed:
        now = self._clock.now()
        async with self._db.transaction(help_request_id=request_id) as conn:
            request = await self._router.require(conn, request_id)
            if request.state not in OPEN_STATES:
                raise Conflict(gone_words(request))
            stale: tuple[StaleOffer, ...] = ()
            pending = await help_sql.pending_offer(conn, request_id)
            if pending is not None:
                stale = (await self._router.withdraw(conn, pending, "withdrawn", "cancelled", now),)
            closed = await self._router.step(
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
            if request.state is RequestState.ACTIVE:
                announce = reason != "no_thread"
                await outbox_sql.add(
                    conn, request_id, IntentKind.CLOSE_SESSION, now, announce=announce
                )
            if reason == "no_thread":
                await self._router.tell(conn, request, request.student_id, "no_thread", now)
                if request.mentor_id is not None:
                    await self._router.tell(conn, request, request.mentor_id, "no_thread", now)
        return Closed(closed, request.state, stale)

    # --- mentor rounds ---------------------------------------------------------------------------

    async def board(self, guild_id: int, mentor_id: int) -> list[BoardEntry]:
        """The live board for a mentor on their rounds: waiting requests they could take."""
        async with self._db.reading() as conn:
            state = await mentor_sql.get_mentor(conn, guild_id, mentor_id)
            if state is None:
                raise UserFacingError(
                    "Rounds are for mentors. Your teacher chooses mentors for each subject."
                )
            if not state.available_at(self._clock.now()):
                raise UserFacingError(
                    "Rounds are for mentors who can help now: `/available on` first."
                )
            entries, aspects = await rounds_sql.board(conn, guild_id, mentor_id)
        return board_order(entries, aspects)[:BOARD_SIZE]

    async def take(self, request_id: int, mentor_id: int) -> Accepted:
        """A mentor on their rounds takes a waiting request: exactly once, like Accept.

        A take racing an offer's Accept or another take has one winner (the conditional update
        from 'offered'); a pending offer to another mentor is withdrawn. Other requests keep
        their places in line.
        """
        now = self._clock.now()
        async with self._db.transaction(help_request_id=request_id) as conn:
            request = await self._router.require(conn, request_id)
            if request.state not in (RequestState.QUEUED, RequestState.OFFERED):
                raise Conflict(gone_words(request))
            if request.student_id == mentor_id:
                raise Conflict("That's your own request: another mentor will take it.")
            if await mentor_sql.current_badge(conn, request.subject_id, mentor_id) is None:
                raise Conflict(f"You don't have the {request.subject_name} mentor badge.")
            state = await mentor_sql.get_mentor(conn, request.guild_id, mentor_id)
            if state is None or not state.briefed:
                raise Conflict("Read your mentor brief first (press *I've read this*).")
            if not state.available_at(now):
                raise Conflict("Switch on `/available on` to take requests.")
            limit = await self._router.session_limit(conn, request.guild_id, mentor_id)
            load = await help_sql.mentor_load(conn, request.guild_id, mentor_id, besides=request_id)
            if load >= limit:
                raise Conflict("You already have a request: finish that one first.")
            request, stale = await self._hand_to(
                conn, request, mentor_id, now, "taken from the board"
            )
            offer_id = await help_sql.insert_offer(conn, request_id, mentor_id, now)
            await self._start_session(
                conn, request_id, request.mentor_id, mentor_id, now, note="taken from the board"
            )
            await help_sql.decide_offer(conn, offer_id, "accepted", now)
            await rounds_sql.mark_taken(conn, request_id)
            await outbox_sql.add(conn, request_id, IntentKind.OPEN_SESSION, now)
            taken = await self._router.require(conn, request_id)
        return Accepted(taken, tuple(stale))

    async def taken_from_board(self, request_ids: list[int]) -> set[int]:
        """Which of these requests were taken from the board (for the teacher's /queue)."""
        async with self._db.reading() as conn:
            return await rounds_sql.taken_from_board(conn, request_ids)
