"""SQL for the help flow's outbox: intents recorded with a state change, marked done once sent."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.domain.help_intents import Intent, IntentKind, IntentOutcome
from db.engine import Connection
from db.rows import execute_later
from db.timefmt import to_db


async def add(
    conn: Connection,
    request_id: int,
    kind: IntentKind,
    now: datetime,
    **payload: Any,
) -> None:
    """Record an intent (inside the transaction that makes the change it follows). Nothing
    reads it back there, so it goes to the database with the next statement or the COMMIT."""
    await execute_later(
        conn,
        "INSERT INTO help_outbox (request_id, kind, payload, created_at) VALUES (?, ?, ?, ?)",
        (request_id, kind.value, json.dumps(payload, sort_keys=True), to_db(now)),
    )


def _intent(row: Any) -> Intent:
    return Intent(row["id"], row["request_id"], IntentKind(row["kind"]), json.loads(row["payload"]))


async def pending_for(conn: Connection, request_id: int) -> list[Intent]:
    """A request's pending intents, in the order they were recorded."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM help_outbox WHERE request_id = ? AND done_at IS NULL ORDER BY id",
        (request_id,),
    )
    return [_intent(row) for row in rows]


async def requests_with_pending(conn: Connection) -> list[tuple[int, int]]:
    """(request id, class id) with something still to do on Discord, oldest intent first."""
    return [
        (int(row[0]), int(row[1]))
        for row in await conn.execute_fetchall(
            "SELECT o.request_id, h.guild_id FROM help_outbox o"
            " JOIN help_requests h ON h.id = o.request_id WHERE o.done_at IS NULL"
            " GROUP BY o.request_id, h.guild_id ORDER BY MIN(o.id)"
        )
    ]


async def finish(conn: Connection, intent_id: int, outcome: IntentOutcome, now: datetime) -> bool:
    """Mark an intent done (once: a second call changes nothing)."""
    cur = await conn.execute(
        "UPDATE help_outbox SET done_at = ?, outcome = ? WHERE id = ? AND done_at IS NULL",
        (to_db(now), outcome, intent_id),
    )
    return cur.rowcount == 1
