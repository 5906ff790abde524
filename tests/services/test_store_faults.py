"""A full disk while giving awards: a clear store error, and never half an award."""

from __future__ import annotations

import pytest

from bot.wiring import Services
from db.database import Database
from db.errors import StoreDiskFull
from tests.services.classroom import GUILD, TEACHER, set_up_class


async def count(db: Database, table: str) -> int:
    async with db.reading() as conn, conn.execute(f"SELECT COUNT(*) FROM {table}") as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.sqlite_only("reads SQLite's pragmas")
async def test_a_full_disk_refuses_the_award_whole(services: Services, db: Database) -> None:
    await set_up_class(services)
    async with db.transaction() as conn:  # the writing connection: the one that must grow
        # SQLite's own "disk full": the file may not grow past the pages it has now.
        async with conn.execute("PRAGMA page_count") as cur:
            row = await cur.fetchone()
        assert row is not None
        await conn.execute(f"PRAGMA max_page_count = {int(row[0])}")
    with pytest.raises(StoreDiskFull) as refused:
        for n in range(2000):
            await services.recognition.give_award(
                GUILD, TEACHER, 1000 + n, student_is_bot=False, kind="custom", reason="x" * 200
            )
    assert "disk is full" in refused.value.user_message
    awards = await count(db, "awards")
    assert awards > 0  # some fitted before the disk filled up
    assert await count(db, "ledger") == awards  # no award without its points, nor the reverse
    assert await count(db, "shout_out_outbox") == awards
