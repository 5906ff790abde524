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


async def first_row(
    conn: Connection, sql: str, params: Sequence[object] | Mapping[str, object] = ()
) -> Any | None:
    """The first row of one query (or ``None``), in one hop to the database thread."""
    rows = await conn.execute_fetchall(sql, params)
    return next(iter(rows), None)
