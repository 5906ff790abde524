"""SQLite hands its write lock to the next unit of work once a COMMIT is queued on the database
thread (db/database.py ``BatchingConnection.queue_commit``): units still commit or roll back
whole, one at a time, and an interaction is claimed once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from db.database import BatchingConnection, Database, Ending, claiming
from db.errors import IntegrityError
from db.rows import execute_later


async def _note(db: Database, body: str) -> None:
    """One unit of work writing one note."""
    async with db.transaction() as conn:
        await execute_later(conn, "INSERT INTO notes (body) VALUES (?)", (body,))


@pytest_asyncio.fixture(loop_scope="session")
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite store with a table of notes (the body unique, to make a unit fail)."""
    db = await Database.open(tmp_path / "class.db")
    await db.migrate()
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT UNIQUE)")
    try:
        yield db
    finally:
        await db.close()


async def _bodies(db: Database) -> list[str]:
    return [row[0] for row in await db.fetch_all("SELECT body FROM notes ORDER BY id")]


async def test_a_unit_failing_at_commit_leaves_nothing_and_the_next_one_commits(
    db: Database,
) -> None:
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO notes (body) VALUES ('taken')")

    async def failing() -> None:
        async with db.transaction() as conn:
            # Both go with the COMMIT: the second breaks the unique index there.
            await execute_later(conn, "INSERT INTO notes (body) VALUES ('half')")
            await execute_later(conn, "INSERT INTO notes (body) VALUES ('taken')")

    async def after() -> None:
        async with db.transaction() as conn:
            await execute_later(conn, "INSERT INTO notes (body) VALUES ('after')")

    first, second = await asyncio.gather(failing(), after(), return_exceptions=True)
    assert isinstance(first, IntegrityError)
    assert second is None
    assert await _bodies(db) == ["taken", "after"]
    assert await db.integrity_check() == "ok"


async def test_many_units_at_once_all_commit_in_the_order_they_took_the_lock(
    db: Database,
) -> None:

    async def write(n: int) -> None:
        async with db.transaction() as conn:
            await execute_later(conn, "INSERT INTO notes (body) VALUES (?)", (f"n{n}",))

    await asyncio.gather(*(write(n) for n in range(50)))
    assert await _bodies(db) == [f"n{n}" for n in range(50)]


async def test_an_interactions_units_in_flight_together_claim_it_once(db: Database) -> None:
    with claiming(4242):
        # The second unit takes the lock while the first one's COMMIT (carrying the
        # claim) may still be on the database thread: it must not claim a second time.
        await asyncio.gather(_note(db, "first"), _note(db, "second"))
    assert await _bodies(db) == ["first", "second"]
    claims = await db.fetch_all("SELECT interaction_id FROM interaction_claims")
    assert [row[0] for row in claims] == [4242]


async def test_when_the_unit_carrying_the_claim_fails_the_next_one_claims(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO notes (body) VALUES ('taken')")

    async def failing() -> None:
        async with db.transaction() as conn:
            await execute_later(conn, "INSERT INTO notes (body) VALUES ('taken')")

    async def after() -> None:
        async with db.transaction() as conn:
            await execute_later(conn, "INSERT INTO notes (body) VALUES ('after')")

    with claiming(4343):
        first, second = await asyncio.gather(failing(), after(), return_exceptions=True)
    assert isinstance(first, IntegrityError)
    assert second is None
    claims = await db.fetch_all("SELECT interaction_id FROM interaction_claims")
    assert [row[0] for row in claims] == [4343]
    assert await _bodies(db) == ["taken", "after"]


async def test_a_cancelled_wait_for_the_commit_leaves_the_connection_usable(
    db: Database,
) -> None:

    async def write() -> None:
        async with db.transaction() as conn:
            await execute_later(conn, "INSERT INTO notes (body) VALUES ('cancelled')")

    task = asyncio.create_task(write())
    await asyncio.sleep(0)  # the unit is queued; its caller stops waiting
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO notes (body) VALUES ('next')")
    # The cancelled caller's unit was queued whole: it committed or it did not, never half.
    assert (await _bodies(db))[-1] == "next"
    assert await db.integrity_check() == "ok"


async def test_a_unit_ended_by_a_decision_on_the_thread_commits_or_leaves_nothing(
    db: Database,
) -> None:

    def decide(rows: list[Any]) -> Ending[int]:
        count = rows[0][0]
        if count >= 2:
            return Ending(count, commit=False)
        return Ending(count, [("INSERT INTO notes (body) VALUES (?)", (f"n{count}",), None)])

    def broken(rows: list[Any]) -> Ending[int]:
        raise ValueError("a bug in the decision")

    async def unit(how: Callable[[list[Any]], Ending[int]], body: str) -> Ending[int]:
        async with db.transaction() as conn:
            assert isinstance(conn, BatchingConnection)
            await execute_later(conn, "INSERT INTO notes (body) VALUES (?)", (body,))
            ending = conn.queue_final("SELECT COUNT(*) FROM notes", (), how)
        return ending.result()

    with claiming(4444):
        first = await unit(decide, "with it")  # 1 note (its own deferred one) -> commits
    assert first.commit and first.value == 1
    assert await _bodies(db) == ["with it", "n1"]
    with pytest.raises(ValueError, match="a bug"):
        await unit(broken, "broken")
    with claiming(4545):
        second = await unit(decide, "again")  # 3 notes -> rolled back, its deferred one too
    assert not second.commit and second.value == 3
    assert await _bodies(db) == ["with it", "n1"]
    claims = await db.fetch_all("SELECT interaction_id FROM interaction_claims")
    assert [row[0] for row in claims] == [4444], "a unit rolled back claims nothing"
    with claiming(4545):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO notes (body) VALUES ('claimed now')")
    claims = await db.fetch_all("SELECT interaction_id FROM interaction_claims ORDER BY 1")
    assert [row[0] for row in claims] == [4444, 4545]


async def test_a_cancelled_caller_s_claim_still_counts_for_its_interaction(db: Database) -> None:
    with claiming(4646):
        first = asyncio.create_task(_note(db, "first"))
        await asyncio.sleep(0)  # its unit (with the claim) is queued on the thread
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        # The same interaction writes again: the first unit's claim landed (or not): it
        # must not be refused as "handled elsewhere" either way.
        await _note(db, "second")
    assert (await _bodies(db))[-1] == "second"
    claims = await db.fetch_all("SELECT interaction_id FROM interaction_claims")
    assert [row[0] for row in claims] == [4646]
