"""SQL for the append-only points ledger and the totals maintained from it.

Rows are only ever inserted (triggers refuse UPDATE and DELETE while the class exists); every
total is a sum over them. Undoing an award appends a negative ``undo`` row naming the award.

Leaderboards read ``point_totals`` (per class, subject, local week / month / all time, student),
which a trigger keeps equal to the ledger's sums in the same transaction as each ledger write:
reading a period costs a few rows per student however long the history. :func:`totals` still
sums the ledger itself; :func:`totals_mismatches` proves the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NotRequired, TypedDict, Unpack
from zoneinfo import ZoneInfo

from bot.domain.points import LedgerReason, RankedEntry
from bot.domain.weeks import TERM_FALLBACK_WEEKS, Period
from db.engine import Connection
from db.rows import LastInsertedId, execute_later
from db.timefmt import to_db

# The instant an entry counts for in a period: an undo counts when the award it reverses did, so
# taking back last week's award corrects last week rather than costing points this week.
_COUNTS_AT = "COALESCE(a.awarded_at, l.created_at)"


class EntryFields(TypedDict):
    """One ledger entry's columns, as :func:`add_entry` and :func:`append_entry` take them."""

    guild_id: int
    user_id: int
    points: int
    reason: str
    created_at: datetime
    subject_id: NotRequired[int | None]
    session_id: NotRequired[int | None]
    award_id: NotRequired[int | LastInsertedId | None]
    created_by: NotRequired[int | None]
    lesson_id: NotRequired[int | None]


def _entry(fields: EntryFields) -> tuple[str, tuple[object, ...]]:
    """The INSERT of one entry (without RETURNING) and its parameters."""
    columns: list[tuple[str, object]] = [
        ("guild_id", fields["guild_id"]),
        ("user_id", fields["user_id"]),
        ("points", fields["points"]),
        ("reason", LedgerReason(fields["reason"]).value),
        ("subject_id", fields.get("subject_id")),
        ("session_id", fields.get("session_id")),
        ("award_id", fields.get("award_id")),
        ("created_by", fields.get("created_by")),
        ("created_at", to_db(fields["created_at"])),
    ]
    lesson_id = fields.get("lesson_id")
    if lesson_id is not None:  # only lesson prizes name a lesson (the column came in 0011)
        columns.append(("lesson_id", lesson_id))
    names = ", ".join(name for name, _ in columns)
    # An award written in the same batch is named by its SQL (see db.rows.LAST_INSERTED_ID).
    marks = ", ".join(v.sql if isinstance(v, LastInsertedId) else "?" for _, v in columns)
    values = tuple(v for _, v in columns if not isinstance(v, LastInsertedId))
    return f"INSERT INTO ledger ({names}) VALUES ({marks})", values


async def add_entry(conn: Connection, **fields: Unpack[EntryFields]) -> int:
    """Append one entry and return its id.

    A second ``session`` entry for the same session (or a second ``award``/``undo`` entry for
    the same award) raises ``IntegrityError``: nothing is ever counted twice.
    """
    sql, params = _entry(fields)
    rows = await conn.execute_fetchall(sql + " RETURNING id", params)
    return int(next(iter(rows))[0])


async def append_entry(conn: Connection, **fields: Unpack[EntryFields]) -> None:
    """Append one entry whose id nobody needs, inside a transaction: it goes to the database
    with the transaction's next statement or its COMMIT. A duplicate (see :func:`add_entry`)
    fails the transaction there."""
    sql, params = _entry(fields)
    await execute_later(conn, sql, params)


async def totals(
    conn: Connection,
    guild_id: int,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    subject_id: int | None = None,
) -> dict[int, int]:
    """Points per user in ``[start, end)`` (``None`` = unbounded), optionally for one subject.

    With a subject only entries tied to it count, i.e. confirmed sessions: awards have no subject.
    """
    clauses = ["l.guild_id = ?"]
    params: list[object] = [guild_id]
    if start is not None:
        # An entry is never written before the award it counts for, so this extra bound is
        # always true for entries in the period, and lets SQLite use the (guild, time) index.
        clauses.append(f"l.created_at >= ? AND {_COUNTS_AT} >= ?")
        params.extend([to_db(start), to_db(start)])
    if end is not None:
        clauses.append(f"{_COUNTS_AT} < ?")
        params.append(to_db(end))
    if subject_id is not None:
        clauses.append("l.subject_id = ?")
        params.append(subject_id)
    return {
        int(row[0]): int(row[1])
        for row in await conn.execute_fetchall(
            "SELECT l.user_id, SUM(l.points) FROM ledger l LEFT JOIN awards a ON a.id = l.award_id"
            f" WHERE {' AND '.join(clauses)} GROUP BY l.user_id",
            params,
        )
    }


@dataclass(frozen=True)
class TotalsWindow:
    """The maintained totals that make up a period: ``span`` rows with keys in ``[first, last]``."""

    span: str  # "week", "month" or "all"
    first: str
    last: str


def totals_window(
    period: Period, now: datetime, zone: ZoneInfo, term_start: date | None = None
) -> TotalsWindow:
    """Which ``point_totals`` rows add up to ``period`` as seen at ``now`` in the class's zone.

    Matches :func:`bot.domain.weeks.period_bounds`: weeks start on the local Monday, a month is
    the local calendar month, the term runs from the Monday of the week ``term_start`` falls in
    (without term dates: this week and the 12 before it), open-ended.
    """
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    if period is Period.THIS_WEEK:
        return TotalsWindow("week", monday.isoformat(), monday.isoformat())
    if period is Period.LAST_WEEK:
        previous = (monday - timedelta(weeks=1)).isoformat()
        return TotalsWindow("week", previous, previous)
    if period is Period.MONTH:
        month = today.strftime("%Y-%m")
        return TotalsWindow("month", month, month)
    if period is Period.TERM:
        if term_start is not None:  # whole weeks, from the week the term starts
            first = term_start - timedelta(days=term_start.weekday())
        else:
            first = monday - timedelta(weeks=TERM_FALLBACK_WEEKS - 1)
        return TotalsWindow("week", first.isoformat(), "9999-12-31")
    if period is Period.ALL_TIME:
        return TotalsWindow("all", "", "")
    raise ValueError(f"unknown period {period!r}")


async def period_totals(
    conn: Connection,
    guild_id: int,
    window: TotalsWindow,
    *,
    subject_id: int | None = None,
) -> dict[int, int]:
    """Points per student in a period, from the maintained totals (one indexed range read).

    With a subject only that subject's confirmed sessions count (awards have no subject).
    """
    rows = await conn.execute_fetchall(
        "SELECT user_id, SUM(points) FROM point_totals WHERE guild_id = ? AND subject_id = ?"
        " AND span = ? AND period BETWEEN ? AND ? GROUP BY user_id",
        (guild_id, subject_id or 0, window.span, window.first, window.last),
    )
    return {int(row[0]): int(row[1]) for row in rows}


@dataclass(frozen=True)
class Board:
    """A ranked period for one caller: the top lines, the caller's own line, the head count."""

    shown: list[RankedEntry]
    own: RankedEntry | None  # the caller's line when they are below the top
    caller_points: int
    participants: int  # students with more than 0 points


async def board(
    conn: Connection,
    guild_id: int,
    window: TotalsWindow,
    *,
    caller_id: int,
    top: int,
    subject_id: int | None = None,
) -> Board:
    """The top ``top`` by points in a period, plus the caller's rank, in one query.

    Same rules as :func:`bot.domain.points.rank_totals` and ``leaderboard_view``: highest first,
    equal points share a rank (1, 2, 2, 4) and are listed by user id; 0 or less is not ranked.
    SQLite ranks the class's totals, so only the lines shown come back to Python.
    """
    if window.first == window.last:
        return await _one_period_board(
            conn, guild_id, window, caller_id=caller_id, top=top, subject_id=subject_id
        )
    rows = await conn.execute_fetchall(
        """
        WITH period AS (
            SELECT user_id, SUM(points) AS points FROM point_totals
             WHERE guild_id = :guild AND subject_id = :subject AND span = :span
               AND period BETWEEN :first AND :last
             GROUP BY user_id
        ), ranked AS (
            -- Positive totals sort first, so non-positive ones never shift a rank or position.
            SELECT user_id, points,
                   RANK() OVER (ORDER BY points DESC) AS rank,
                   ROW_NUMBER() OVER (ORDER BY points DESC, user_id) AS position
              FROM period
        )
        SELECT head.participants, line.user_id, line.points, line.rank, line.position
          FROM (SELECT COUNT(*) AS participants FROM period WHERE points > 0) AS head
          LEFT JOIN (
                SELECT user_id, points, rank, position FROM ranked
                 WHERE (points > 0 AND position <= :top) OR user_id = :caller
               ) AS line ON true
         ORDER BY line.position
        """,
        {
            "guild": guild_id,
            "subject": subject_id or 0,
            "span": window.span,
            "first": window.first,
            "last": window.last,
            "top": top,
            "caller": caller_id,
        },
    )
    shown: list[RankedEntry] = []
    own = None
    caller_points = 0
    participants = 0
    for row in rows:
        participants = int(row["participants"])
        if row["user_id"] is None:
            continue
        entry = None
        if row["points"] > 0:
            entry = RankedEntry(
                rank=int(row["rank"]), user_id=int(row["user_id"]), points=int(row["points"])
            )
        if entry is not None and int(row["position"]) <= top:
            shown.append(entry)
        if row["user_id"] == caller_id:
            caller_points = int(row["points"])
            if entry is not None and int(row["position"]) > top:
                own = entry
    return Board(shown=shown, own=own, caller_points=caller_points, participants=participants)


async def _one_period_board(
    conn: Connection,
    guild_id: int,
    window: TotalsWindow,
    *,
    caller_id: int,
    top: int,
    subject_id: int | None,
) -> Board:
    """:func:`board` for a period of one ``point_totals`` row per student (every period but the
    term), without ranking the whole class.

    Ranking every student with window functions sorts the class twice (2 ms with 1,000 ranked
    students, on the reader's thread). Here the top lines are one ordered read with a limit, a
    shown line's rank is counted among the lines above it (everyone with more points is shown
    before it), and the caller's place is counted: those with more points, and those with as
    many but a smaller id (the board's order), plus one. With 1,000 ranked students: 0.36 ms
    scanning the class once, 0.12 ms as index range counts.
    """
    # Each count is a range of the ``point_totals_ranked`` index (migration 0017), read once:
    # MATERIALIZED keeps the counts, which depend on the caller's points, from being worked out
    # again for each line joined to them.
    key = "guild_id = :guild AND subject_id = :subject AND span = :span AND period = :period"
    rows = await conn.execute_fetchall(
        f"""
        WITH head AS MATERIALIZED (
            SELECT (SELECT COUNT(*) FROM point_totals WHERE {key} AND points > 0) AS participants,
                   (SELECT COUNT(*) FROM point_totals WHERE {key} AND points > mine.points)
                       AS above,
                   (SELECT COUNT(*) FROM point_totals
                     WHERE {key} AND points = mine.points AND user_id < :caller) AS tied,
                   mine.points AS caller_points
              FROM (SELECT COALESCE((SELECT points FROM point_totals
                                      WHERE {key} AND user_id = :caller), 0) AS points) AS mine
        )
        SELECT head.participants, head.above, head.tied, head.caller_points,
               line.user_id, line.points
          FROM head LEFT JOIN (
                SELECT user_id, points FROM point_totals WHERE {key} AND points > 0
                 ORDER BY points DESC, user_id LIMIT :top
               ) AS line ON true
         ORDER BY line.points DESC, line.user_id
        """,
        {
            "guild": guild_id,
            "subject": subject_id or 0,
            "span": window.span,
            "period": window.first,
            "top": top,
            "caller": caller_id,
        },
    )
    rows = list(rows)
    head = rows[0]  # the counts always give a row; one per shown line besides
    shown: list[RankedEntry] = []
    for position, row in enumerate(r for r in rows if r["user_id"] is not None):
        points = int(row["points"])
        # Equal points share a rank: the first line with these points gives it.
        rank = shown[-1].rank if shown and shown[-1].points == points else position + 1
        shown.append(RankedEntry(rank=rank, user_id=int(row["user_id"]), points=points))
    caller_points = int(head["caller_points"])
    own = None
    place = int(head["above"]) + int(head["tied"]) + 1
    if caller_points > 0 and place > top:
        own = RankedEntry(rank=int(head["above"]) + 1, user_id=caller_id, points=caller_points)
    return Board(
        shown=shown, own=own, caller_points=caller_points, participants=int(head["participants"])
    )


async def user_total(conn: Connection, guild_id: int, user_id: int) -> int:
    """A student's all-time points (a single maintained row)."""
    rows = await conn.execute_fetchall(
        "SELECT points FROM point_totals WHERE guild_id = ? AND subject_id = 0 AND span = 'all'"
        " AND period = '' AND user_id = ?",
        (guild_id, user_id),
    )
    return int(next(iter(rows))[0]) if rows else 0


async def totals_mismatches(conn: Connection, limit: int = 20) -> list[str]:
    """Maintained totals that differ from the ledger's sums (empty when they all agree).

    Reads the whole ledger: for ``classmentor check --deep`` and tests, not for commands.
    """
    rows = await conn.execute_fetchall(
        "SELECT 'ledger', * FROM (SELECT guild_id, subject_id, span, period, user_id, points"
        " FROM ledger_point_totals EXCEPT SELECT guild_id, subject_id, span, period, user_id,"
        " points FROM point_totals) AS only_ledger"
        " UNION ALL SELECT 'totals', * FROM (SELECT guild_id, subject_id, span, period, user_id,"
        " points FROM point_totals EXCEPT SELECT guild_id, subject_id, span, period, user_id,"
        " points FROM ledger_point_totals) AS only_totals"
        " LIMIT ?",
        (limit,),
    )
    return [
        f"{row[0]} has class {row[1]} subject {row[2]} {row[3]} {row[4]!r} user {row[5]}:"
        f" {row[6]} points"
        for row in rows
    ]
