"""SQL for help requests, the offers made to mentors, and the audit trail of their states."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypedDict, cast

from bot.domain.classroom import Subject
from bot.domain.help_intents import Intent, IntentKind
from bot.domain.help_requests import CloseReason, HelpOffer, HelpRequest, OfferOutcome
from bot.domain.help_states import RequestState
from bot.domain.matching import MentorCandidate
from db.database import BatchingConnection, Ending, Statement
from db.engine import Connection
from db.mentors import CANDIDATE_COLUMNS, candidates
from db.rows import execute_later, fetch_later, first_row
from db.timefmt import from_db, opt_from_db, to_db

_SELECT = (
    "SELECT r.*, s.name AS subject_name FROM help_requests r JOIN subjects s ON s.id = r.subject_id"
)
# Columns a state change may set besides the state itself (kept explicit: they go into SQL text).
_SETTABLE = frozenset(
    {
        "mentor_id",
        "offer_expires_at",
        "thread_id",
        "accepted_at",
        "last_activity_at",
        "close_proposed_at",
        "closed_at",
        "closed_by",
        "close_reason",
        "rating",
    }
)


def _request(row: Any) -> HelpRequest:
    return HelpRequest(
        id=row["id"],
        guild_id=row["guild_id"],
        subject_id=row["subject_id"],
        subject_name=row["subject_name"],
        student_id=row["student_id"],
        topic=row["topic"],
        state=RequestState(row["state"]),
        mentor_id=row["mentor_id"],
        offer_expires_at=opt_from_db(row["offer_expires_at"]),
        thread_id=row["thread_id"],
        created_at=from_db(row["created_at"]),
        queued_at=from_db(row["queued_at"]),
        accepted_at=opt_from_db(row["accepted_at"]),
        last_activity_at=opt_from_db(row["last_activity_at"]),
        close_proposed_at=opt_from_db(row["close_proposed_at"]),
        closed_at=opt_from_db(row["closed_at"]),
        closed_by=row["closed_by"],
        close_reason=cast("CloseReason | None", row["close_reason"]),
        rating=row["rating"],
        aspect=row["aspect"],
    )


def _offer(row: Any) -> HelpOffer:
    return HelpOffer(
        id=row["id"],
        request_id=row["request_id"],
        mentor_id=row["mentor_id"],
        offered_at=from_db(row["offered_at"]),
        channel_id=row["channel_id"],
        message_id=row["message_id"],
        outcome=cast("OfferOutcome | None", row["outcome"]),
        decided_at=opt_from_db(row["decided_at"]),
    )


def _db_value(value: object) -> object:
    return to_db(value) if isinstance(value, datetime) else value


class NewRequest(TypedDict):
    """What a new request is filed with, whichever way it goes (:func:`insert_request`,
    :func:`file_queued`)."""

    guild_id: int
    subject_id: int
    student_id: int
    topic: str
    now: datetime
    subject_name: str
    aspect: str | None


def _insert(
    new: NewRequest, state: RequestState, mentor_id: int | None, offer_expires_at: datetime | None
) -> tuple[str, tuple[object, ...]]:
    """The INSERT of a new request (returning its row with the subject's name) and its values."""
    return (
        "INSERT INTO help_requests (guild_id, subject_id, student_id, topic, aspect, state,"
        " mentor_id, offer_expires_at, created_at, queued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " RETURNING *, ? AS subject_name",
        (
            new["guild_id"],
            new["subject_id"],
            new["student_id"],
            new["topic"],
            new["aspect"],
            state.value,
            mentor_id,
            offer_expires_at and to_db(offer_expires_at),
            to_db(new["now"]),
            to_db(new["now"]),
            new["subject_name"],
        ),
    )


async def insert_request(
    conn: Connection,
    new: NewRequest,
    *,
    state: RequestState = RequestState.QUEUED,
    mentor_id: int | None = None,
    offer_expires_at: datetime | None = None,
) -> HelpRequest:
    """A new request, queued (or already offered to ``mentor_id``: the ask chose them in the
    same transaction); the unique index refuses a second open one for the student."""
    row = await first_row(conn, *_insert(new, state, mentor_id, offer_expires_at))
    assert row is not None
    return _request(row)


async def file_queued(conn: Connection, new: NewRequest) -> list[Any]:
    """A new request waiting in line and its audit event ("queued", by the student), when the
    transaction reads neither back: both go to the database with its COMMIT (one hop fewer
    under the write lock). Returns a list holding the request's row once committed (see
    :func:`filed_request`); the unique index refuses a second open request there.
    """
    _, (request, event) = _queued_writes(new)
    rows = await fetch_later(conn, request[0], request[1])
    await execute_later(conn, event[0], event[1])
    return rows


def _queued_writes(new: NewRequest) -> tuple[list[Any], list[Statement]]:
    """What :func:`file_queued` writes: the request (its row added to the list returned first,
    once it ran) and its "queued" event.

    The event names the request through the student's one open request in the class (the
    unique index), since its id is not known before the INSERT runs.
    """
    rows: list[Any] = []
    sql, params = _insert(new, RequestState.QUEUED, None, None)
    return rows, [
        (sql, params, rows),
        (
            "INSERT INTO help_events (request_id, from_state, to_state, actor_id, at, note)"
            " SELECT id, NULL, 'queued', ?, ?, '' FROM help_requests"
            " WHERE guild_id = ? AND student_id = ? AND state = 'queued'",
            (new["student_id"], to_db(new["now"]), new["guild_id"], new["student_id"]),
            None,
        ),
    ]


def file_if_queued(
    conn: Connection, ask: AskQuery, in_line: Callable[[AskContext], NewRequest | None]
) -> asyncio.Future[Ending[tuple[AskContext, list[Any]] | None]]:
    """An ask in one job on SQLite's database thread, ending its transaction there: the
    :func:`ask_context` read, then ``in_line(context)`` (which says whether the request just
    waits in line, and how it is filed) and, if so, :func:`file_queued`'s writes and the
    COMMIT; otherwise a rollback (nothing written: the caller files it the usual way).

    Resolves to the context and the list holding the request's row (see
    :func:`filed_request`) once committed, or ``None`` when rolled back.
    """
    if not isinstance(conn, BatchingConnection):
        raise TypeError("file_if_queued runs in a SQLite transaction")
    sql, params = _ask_context_query(ask)

    def decide(rows: list[Any]) -> Ending[tuple[AskContext, list[Any]] | None]:
        context = _ask_context_from(rows, ask.now)
        new = in_line(context)
        if new is None:
            return Ending(None, commit=False)
        filed, writes = _queued_writes(new)
        return Ending((context, filed), writes)

    return conn.queue_final(sql, params, decide)


def filed_request(rows: list[Any]) -> HelpRequest:
    """The request :func:`file_queued` wrote (once its transaction committed)."""
    return _request(rows[0])


@dataclasses.dataclass(frozen=True)
class AskQuery:
    """Who asks for which subject, when, and the windows fair matching weighs (see
    :func:`ask_context`)."""

    guild_id: int
    student_id: int
    now: datetime
    week_start: datetime  # the class's week so far: sessions this week
    recent_since: datetime  # a mentor who helped this student since then is offered last
    name: str | None = None  # the subject by its normalised name (`/helpme ask`) ...
    subject_id: int | None = None  # ... or by id (a help panel's button)


@dataclasses.dataclass(frozen=True)
class AskContext:
    """Everything an ask decides on, read in one query inside its transaction."""

    subject: Subject | None
    open_id: int | None  # the student's open request in the class
    last_at: datetime | None  # when they last asked there (the cooldown)
    candidates: list[MentorCandidate]  # the subject's badge holders, for fair matching
    waiting: int  # requests queued for the subject now
    ahead: int  # of those, queued at or before ``now`` (a new request goes after them)


async def ask_context(conn: Connection, ask: AskQuery) -> AskContext:
    """The subject asked for (a current one by its normalised ``name``, or any by id), the
    student's asking history in the class, the subject's mentors as matching weighs them, and
    its queue: one hop instead of three or four inside the ask's write transaction.

    Read before the new request is written: filing a queued request changes none of the
    mentors' figures, and it has no past offers.
    """
    sql, params = _ask_context_query(ask)
    return _ask_context_from(list(await conn.execute_fetchall(sql, params)), ask.now)


def _ask_context_query(ask: AskQuery) -> tuple[str, dict[str, object]]:
    """The SQL and parameters of :func:`ask_context`."""
    params: dict[str, object] = {
        "guild": ask.guild_id,
        "student": ask.student_id,
        "now": to_db(ask.now),
        "week_start": to_db(ask.week_start),
        "recent": to_db(ask.recent_since),
    }
    if ask.name is not None:
        match = "s.guild_id = :guild AND s.name = :name AND s.removed_at IS NULL"
        params["name"] = ask.name
    else:
        match = "s.id = :subject_id"
        params["subject_id"] = ask.subject_id
    # The line's counts are read once (``line``), not per candidate row of the join. Those
    # queued at or before now are all of them less the few (normally none) queued later: a
    # count of the queue's index and an empty range, not a test of every row's time (half the
    # cost with a long line, inside the ask's write lock).
    sql = (
        f"WITH subj AS (SELECT s.id, s.guild_id, s.name, s.role_id FROM subjects s WHERE {match}),"
        " line AS (SELECT COUNT(*) AS waiting, COUNT(*) - (SELECT COUNT(*) FROM help_requests"
        "  WHERE guild_id = :guild AND state = 'queued' AND subject_id = (SELECT id FROM subj)"
        "  AND queued_at > :now) AS ahead"
        "  FROM help_requests WHERE guild_id = :guild AND state = 'queued'"
        "  AND subject_id = (SELECT id FROM subj))"
        " SELECT s.id AS s_id, s.guild_id AS s_guild_id, s.name AS s_name, s.role_id AS s_role_id,"
        " h.open_id, h.last_at, line.waiting, line.ahead,"
        f" {CANDIDATE_COLUMNS}"
        " FROM (SELECT MAX(CASE WHEN state IN ('queued', 'offered', 'active') THEN id END)"
        "  AS open_id, MAX(created_at) AS last_at FROM help_requests"
        "  WHERE guild_id = :guild AND student_id = :student) h"
        " CROSS JOIN line LEFT JOIN subj s ON 1 = 1"
        " LEFT JOIN (badges b JOIN mentors m ON m.guild_id = b.guild_id AND m.user_id = b.user_id)"
        "  ON b.guild_id = :guild AND b.subject_id = s.id AND b.ended_at IS NULL"
    )
    return sql, params


def _ask_context_from(rows: list[Any], now: datetime) -> AskContext:
    """:func:`ask_context` from its query's rows."""
    first = rows[0]  # the aggregate always gives a row; one per candidate besides
    subject = (
        Subject(
            id=first["s_id"],
            guild_id=first["s_guild_id"],
            name=first["s_name"],
            role_id=first["s_role_id"],
        )
        if first["s_id"] is not None
        else None
    )
    return AskContext(
        subject=subject,
        open_id=first["open_id"],
        last_at=opt_from_db(first["last_at"]),
        candidates=candidates(rows, now),
        waiting=int(first["waiting"] or 0),
        ahead=int(first["ahead"] or 0),
    )


async def get_request(conn: Connection, request_id: int) -> HelpRequest | None:
    """A request by id."""
    row = await first_row(conn, f"{_SELECT} WHERE r.id = ?", (request_id,))
    return _request(row) if row else None


async def with_pending_intents(
    conn: Connection, request_id: int
) -> tuple[HelpRequest | None, list[Intent]]:
    """A request and its pending outbox intents in recorded order, in one query (one hop): what
    the help desk reads after each change. ``(None, [])`` when the request is gone (its intents
    go with it: ON DELETE CASCADE)."""
    rows = await conn.execute_fetchall(
        "SELECT r.*, s.name AS subject_name, o.id AS intent_id, o.kind AS intent_kind,"
        " o.payload AS intent_payload FROM help_requests r JOIN subjects s ON s.id = r.subject_id"
        " LEFT JOIN help_outbox o ON o.request_id = r.id AND o.done_at IS NULL"
        " WHERE r.id = ? ORDER BY o.id",
        (request_id,),
    )
    rows = list(rows)
    if not rows:
        return None, []
    intents = [
        Intent(
            row["intent_id"],
            request_id,
            IntentKind(row["intent_kind"]),
            json.loads(row["intent_payload"]),
        )
        for row in rows
        if row["intent_id"] is not None
    ]
    return _request(rows[0]), intents


async def open_request_of(conn: Connection, guild_id: int, student_id: int) -> HelpRequest | None:
    """The student's open (queued, offered or active) request in a class, if any."""
    row = await first_row(
        conn,
        f"{_SELECT} WHERE r.guild_id = ? AND r.student_id = ?"
        " AND r.state IN ('queued', 'offered', 'active')",
        (guild_id, student_id),
    )
    return _request(row) if row else None


async def last_request_time(conn: Connection, guild_id: int, student_id: int) -> datetime | None:
    """When the student last asked for help in the class (for the cooldown)."""
    row = await first_row(
        conn,
        "SELECT MAX(created_at) FROM help_requests WHERE guild_id = ? AND student_id = ?",
        (guild_id, student_id),
    )
    return opt_from_db(row[0]) if row else None


async def move(
    conn: Connection,
    request_id: int,
    *,
    expected: RequestState,
    new: RequestState,
    expected_mentor: int | None = None,
    fields: dict[str, object] | None = None,
) -> bool:
    """Change a request's state only if it is still ``expected`` (and offered to
    ``expected_mentor``, when given); the rowcount says whether this caller won."""
    query, params = _move_query(request_id, expected, new, expected_mentor, fields)
    cur = await conn.execute(query, params)
    return cur.rowcount == 1


async def move_returning(
    conn: Connection,
    request: HelpRequest,
    *,
    expected: RequestState,
    new: RequestState,
    fields: dict[str, object] | None = None,
) -> HelpRequest | None:
    """:func:`move`, returning the changed request (``None`` if another caller won).

    One statement (``UPDATE ... RETURNING``) instead of an update and a read back; the subject's
    name, which the row does not hold, is the one ``request`` already carries.
    """
    query, params = _move_query(request.id, expected, new, None, fields)
    row = await first_row(
        conn,
        query + " RETURNING *, :subject_name AS subject_name",
        params | {"subject_name": request.subject_name},
    )
    return _request(row) if row else None


def _move_query(
    request_id: int,
    expected: RequestState,
    new: RequestState,
    expected_mentor: int | None,
    fields: dict[str, object] | None,
) -> tuple[str, dict[str, object]]:
    fields = fields or {}
    unknown = set(fields) - _SETTABLE
    if unknown:
        raise ValueError(f"not help request columns a transition may set: {sorted(unknown)}")
    assignments = "".join(f", {column} = :{column}" for column in fields)
    query = (
        f"UPDATE help_requests SET state = :new{assignments} WHERE id = :id AND state = :expected"
    )
    params: dict[str, object] = {
        "new": new.value,
        "id": request_id,
        "expected": expected.value,
        **{k: _db_value(v) for k, v in fields.items()},
    }
    if expected_mentor is not None:
        query += " AND mentor_id = :expected_mentor"
        params["expected_mentor"] = expected_mentor
    return query, params


async def add_event(
    conn: Connection,
    request_id: int,
    *,
    from_state: RequestState | None,
    to_state: RequestState,
    actor_id: int | None,
    now: datetime,
    note: str = "",
) -> None:
    """Append to the audit trail (in the transaction that made the change)."""
    await add_events(conn, request_id, [(from_state, to_state, actor_id, note)], now)


async def add_events(
    conn: Connection,
    request_id: int,
    steps: list[tuple[RequestState | None, RequestState, int | None, str]],
    now: datetime,
) -> None:
    """Append several (from, to, actor, note) steps to the audit trail in one statement, in
    order (a request filed and offered at once). Nothing reads it back in the transaction, so
    it goes to the database with the next statement (``execute_later``)."""
    await execute_later(
        conn,
        "INSERT INTO help_events (request_id, from_state, to_state, actor_id, at, note) VALUES "
        + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(steps)),
        tuple(
            value
            for from_state, to_state, actor_id, note in steps
            for value in (
                request_id,
                from_state.value if from_state else None,
                to_state.value,
                actor_id,
                to_db(now),
                note,
            )
        ),
    )


async def events(conn: Connection, request_id: int) -> list[tuple[str | None, str, str]]:
    """(from, to, note) of a request's audit trail, oldest first."""
    return [
        (row[0], row[1], row[2])
        for row in await conn.execute_fetchall(
            "SELECT from_state, to_state, note FROM help_events WHERE request_id = ? ORDER BY id",
            (request_id,),
        )
    ]


async def insert_offer(conn: Connection, request_id: int, mentor_id: int, now: datetime) -> int:
    """Record an offer to a mentor (undecided); returns its id."""
    row = await first_row(
        conn,
        "INSERT INTO help_offers (request_id, mentor_id, offered_at) VALUES (?, ?, ?) RETURNING id",
        (request_id, mentor_id, to_db(now)),
    )
    assert row is not None
    return int(row[0])


async def pending_offer(conn: Connection, request_id: int) -> HelpOffer | None:
    """The request's undecided offer, if any."""
    row = await first_row(
        conn, "SELECT * FROM help_offers WHERE request_id = ? AND outcome IS NULL", (request_id,)
    )
    return _offer(row) if row else None


async def get_offer(conn: Connection, offer_id: int) -> HelpOffer | None:
    """An offer by id."""
    row = await first_row(conn, "SELECT * FROM help_offers WHERE id = ?", (offer_id,))
    return _offer(row) if row else None


async def offer_with_request(
    conn: Connection, offer_id: int
) -> tuple[HelpOffer, HelpRequest] | None:
    """An offer and its request, in one query (one hop)."""
    row = await first_row(
        conn,
        "SELECT r.*, s.name AS subject_name, f.id AS offer_id, f.mentor_id AS offer_mentor_id,"
        " f.offered_at AS offer_offered_at, f.channel_id AS offer_channel_id,"
        " f.message_id AS offer_message_id, f.outcome AS offer_outcome,"
        " f.decided_at AS offer_decided_at"
        " FROM help_offers f JOIN help_requests r ON r.id = f.request_id"
        " JOIN subjects s ON s.id = r.subject_id WHERE f.id = ?",
        (offer_id,),
    )
    if row is None:
        return None
    offer = HelpOffer(
        id=row["offer_id"],
        request_id=row["id"],
        mentor_id=row["offer_mentor_id"],
        offered_at=from_db(row["offer_offered_at"]),
        channel_id=row["offer_channel_id"],
        message_id=row["offer_message_id"],
        outcome=cast("OfferOutcome | None", row["offer_outcome"]),
        decided_at=opt_from_db(row["offer_decided_at"]),
    )
    return offer, _request(row)


async def latest_offer_to(conn: Connection, request_id: int, mentor_id: int) -> HelpOffer | None:
    """The most recent offer of a request to one mentor."""
    row = await first_row(
        conn,
        "SELECT * FROM help_offers WHERE request_id = ? AND mentor_id = ? ORDER BY id DESC LIMIT 1",
        (request_id, mentor_id),
    )
    return _offer(row) if row else None


async def decide_offer(
    conn: Connection,
    offer_id: int,
    outcome: OfferOutcome,
    now: datetime,
    *,
    only_from: tuple[OfferOutcome | None, ...] = (None,),
) -> bool:
    """Settle an offer (accepted, passed, expired, withdrawn) if it is still in ``only_from``."""
    settled = [o for o in only_from if o is not None]
    condition = "outcome IS NULL" if None in only_from else "0"
    if settled:
        condition += f" OR outcome IN ({', '.join('?' * len(settled))})"
    cur = await conn.execute(
        f"UPDATE help_offers SET outcome = ?, decided_at = ? WHERE id = ? AND ({condition})",
        (outcome, to_db(now), offer_id, *settled),
    )
    return cur.rowcount == 1


async def set_offer_message(
    conn: Connection, offer_id: int, channel_id: int, message_id: int
) -> HelpOffer | None:
    """Remember where an offer's Accept / Pass buttons were posted (to tidy them later);
    returns the offer as it is now (``None`` if it is gone), in the same statement."""
    row = await first_row(
        conn,
        "UPDATE help_offers SET channel_id = ?, message_id = ? WHERE id = ? RETURNING *",
        (channel_id, message_id, offer_id),
    )
    return _offer(row) if row else None


async def excluded_mentors(conn: Connection, request_id: int) -> frozenset[int]:
    """Mentors not to offer this request again: they passed, or a teacher moved it on."""
    rows = await conn.execute_fetchall(
        "SELECT DISTINCT mentor_id FROM help_offers"
        " WHERE request_id = ? AND outcome IN ('passed', 'withdrawn')",
        (request_id,),
    )
    return frozenset(int(row[0]) for row in rows)


async def mentor_load(conn: Connection, guild_id: int, mentor_id: int, *, besides: int) -> int:
    """How many requests are offered to or in session with a mentor, other than ``besides``."""
    row = await first_row(
        conn,
        "SELECT COUNT(*) FROM help_requests WHERE guild_id = ? AND mentor_id = ?"
        " AND state IN ('offered', 'active') AND id != ?",
        (guild_id, mentor_id, besides),
    )
    return int(row[0]) if row else 0


async def queue_position(conn: Connection, request: HelpRequest) -> tuple[int, int]:
    """(place in line, how many wait) among queued requests for the same subject; 1 = next."""
    row = await first_row(
        conn,
        "SELECT COALESCE(SUM(CASE WHEN queued_at < :at OR (queued_at = :at AND id <= :id) THEN 1 ELSE 0 END), 0), COUNT(*)"
        " FROM help_requests WHERE guild_id = :guild AND subject_id = :subject"
        " AND state = 'queued'",
        {
            "at": to_db(request.queued_at),
            "id": request.id,
            "guild": request.guild_id,
            "subject": request.subject_id,
        },
    )
    assert row is not None
    return int(row[0]), int(row[1])


async def queued_requests(conn: Connection, guild_id: int) -> list[HelpRequest]:
    """A class's queued requests, first come first served."""
    return [
        _request(row)
        for row in await conn.execute_fetchall(
            f"{_SELECT} WHERE r.guild_id = ? AND r.state = 'queued' ORDER BY r.queued_at, r.id",
            (guild_id,),
        )
    ]


async def guilds_with_queued(conn: Connection) -> list[int]:
    """Classes with requests waiting in line."""
    return [
        int(row[0])
        for row in await conn.execute_fetchall(
            "SELECT DISTINCT guild_id FROM help_requests WHERE state = 'queued' ORDER BY guild_id"
        )
    ]


async def open_requests(conn: Connection, guild_id: int) -> list[HelpRequest]:
    """A class's open requests, oldest first (for the teacher's `/queue`)."""
    return [
        _request(row)
        for row in await conn.execute_fetchall(
            f"{_SELECT} WHERE r.guild_id = ? AND r.state IN ('queued', 'offered', 'active')"
            " ORDER BY r.queued_at, r.id",
            (guild_id,),
        )
    ]


async def requests_in_state(conn: Connection, state: RequestState) -> list[HelpRequest]:
    """Every request in one state across classes (to rebuild timers at start-up)."""
    return [
        _request(row)
        for row in await conn.execute_fetchall(f"{_SELECT} WHERE r.state = ?", (state.value,))
    ]


async def set_thread(conn: Connection, request_id: int, thread_id: int) -> None:
    """Remember the session's private thread."""
    await conn.execute(
        "UPDATE help_requests SET thread_id = ? WHERE id = ?", (thread_id, request_id)
    )


async def touch(conn: Connection, request_id: int, now: datetime) -> bool:
    """Note activity in an active session (moves the idle-close time); False if not active."""
    cur = await conn.execute(
        "UPDATE help_requests SET last_activity_at = CASE"
        " WHEN COALESCE(last_activity_at, '') > :now THEN last_activity_at ELSE :now END"
        " WHERE id = :id AND state = 'active'",
        {"now": to_db(now), "id": request_id},
    )
    return cur.rowcount == 1


async def propose_close(conn: Connection, request_id: int, now: datetime) -> bool:
    """The mentor suggests closing an active session (the student still has to confirm)."""
    cur = await conn.execute(
        "UPDATE help_requests SET close_proposed_at = ?, last_activity_at = ?"
        " WHERE id = ? AND state = 'active'",
        (to_db(now), to_db(now), request_id),
    )
    return cur.rowcount == 1
