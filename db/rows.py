"""One query, one hop: reading rows without a cursor's three trips to the database thread.

aiosqlite runs every call on its connection's thread, and each call is a hand-off there and
back: ``async with conn.execute(...) as cur: await cur.fetchone()`` is three (execute, fetch,
close). ``execute_fetchall`` is one. On the hot paths (a `/helpme ask`, an award) those hand-offs,
not SQLite, were most of the store's cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from db.engine import Connection


class LastInsertedId:
    """Names, in a statement deferred with :func:`execute_later`, the row that the statement
    deferred right before it inserted (SQLite's ``last_insert_rowid()``): a row and the rows
    naming it then go to the database together, before its id is known on this side."""

    sql = "last_insert_rowid()"


LAST_INSERTED_ID = LastInsertedId()


def batches(conn: Connection) -> bool:
    """Whether statements deferred on ``conn`` wait for the next hop (a SQLite transaction) rather
    than run at once: only then may they name a row by :data:`LAST_INSERTED_ID`."""
    return getattr(conn, "defer", None) is not None


async def first_row(
    conn: Connection, sql: str, params: Sequence[object] | Mapping[str, object] = ()
) -> Any | None:
    """The first row of one query (or ``None``), in one hop to the database thread."""
    rows = await conn.execute_fetchall(sql, params)
    return next(iter(rows), None)


async def execute_later(
    conn: Connection, sql: str, params: Sequence[object] | Mapping[str, object] = ()
) -> None:
    """A write whose result nobody reads, inside a transaction: on SQLite it goes to the database
    thread with the transaction's next statement or its COMMIT (no hop of its own, so the write
    lock is held shorter); elsewhere it runs now.

    Its error (a broken constraint) surfaces at that next statement or at COMMIT, and fails the
    whole transaction as before: use it only where the caller does not catch this statement's
    error by itself.
    """
    defer = getattr(conn, "defer", None)
    if defer is not None:
        defer(sql, params)
    else:
        await conn.execute(sql, params)


async def fetch_later(
    conn: Connection, sql: str, params: Sequence[object] | Mapping[str, object] = ()
) -> list[Any]:
    """A statement whose rows are needed only once the transaction has ended (an INSERT's
    ``RETURNING``): returns a list that holds them once it ran. On SQLite inside a transaction
    that is with the transaction's next statement or its COMMIT (see :func:`execute_later`);
    elsewhere it runs now."""
    defer = getattr(conn, "defer", None)
    if defer is None:
        return list(await conn.execute_fetchall(sql, params))
    rows: list[Any] = []
    defer(sql, params, rows)
    return rows
