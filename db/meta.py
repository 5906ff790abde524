"""SQL for the bot's own key/value bookkeeping (e.g. the synced command tree's hash)."""

from __future__ import annotations

from db.engine import Connection
from db.rows import first_row


async def get_value(conn: Connection, key: str) -> str | None:
    """The stored value for ``key``, if any."""
    row = await first_row(conn, "SELECT value FROM bot_meta WHERE key = ?", (key,))
    return None if row is None else str(row[0])


async def set_value(conn: Connection, key: str, value: str) -> None:
    """Store ``value`` under ``key``."""
    await conn.execute(
        "INSERT INTO bot_meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
