"""The SQLite store: migrations, serialised transactions, online backup."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest

import db.database as database_module
from db.database import (
    CLAIM_RETENTION,
    Database,
    DatabaseError,
    Migration,
    bundled_migrations,
    claiming,
)
from db.errors import IntegrityError, InteractionTaken, StoreBusy, StoreReadOnly
from db.rows import execute_later
from tests.faults import read_only_file

MIGRATIONS = [
    Migration(1, "0001_a.sql", "CREATE TABLE a (x INTEGER);"),
    Migration(2, "0002_b.sql", "CREATE TABLE b (y INTEGER);\nINSERT INTO b VALUES (1);"),
]


async def test_bundled_migrations_apply_from_empty_and_rerun_is_a_no_op(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "class.db")
    try:
        applied = await db.migrate()
        assert [m.version for m in applied] == [m.version for m in bundled_migrations()]
        assert await db.schema_version() == bundled_migrations()[-1].version
        assert await db.migrate() == []
        assert await db.integrity_check() == "ok"
    finally:
        await db.close()


async def test_connection_uses_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "class.db")
    try:
        async with db.reading() as conn:
            pragmas = {}
            for name in ("journal_mode", "foreign_keys", "busy_timeout"):
                async with conn.execute(f"PRAGMA {name}") as cur:
                    row = await cur.fetchone()
                    assert row is not None
                    pragmas[name] = row[0]
        assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000}
    finally:
        await db.close()


async def test_refuses_a_database_newer_than_the_code(tmp_path: Path) -> None:
    path = tmp_path / "class.db"
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 999")
    db = await Database.open(path)
    try:
        with pytest.raises(DatabaseError, match="newer than this ClassMentor knows"):
            await db.migrate()
    finally:
        await db.close()


async def test_failing_migration_leaves_the_previous_version_intact(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "class.db")
    broken = Migration(
        3, "0003_broken.sql", "CREATE TABLE c (z INTEGER);\nINSERT INTO nope VALUES (1);"
    )
    try:
        await db.migrate(MIGRATIONS)
        with pytest.raises(sqlite3.OperationalError):
            await db.migrate([*MIGRATIONS, broken])
        assert await db.schema_version() == 2
        async with (
            db.reading() as conn,
            conn.execute("SELECT name FROM sqlite_master WHERE name = 'c'") as cur,
        ):
            assert await cur.fetchone() is None  # the half of 0003 that worked was rolled back
    finally:
        await db.close()


async def test_migrate_keeps_a_backup_of_the_previous_file(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "class.db")
    try:
        await db.migrate(MIGRATIONS[:1])
        await db.migrate(MIGRATIONS, backup_dir=tmp_path / "backups")
    finally:
        await db.close()
    (backup,) = (tmp_path / "backups").iterdir()
    with sqlite3.connect(backup) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 1


async def test_concurrent_transactions_never_interleave(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "class.db")
    try:
        await db.migrate(MIGRATIONS)

        async def writer(n: int) -> None:
            async with db.transaction() as conn:
                # Each writer reads the count, yields, then writes count+1: interleaving would
                # make two writers read the same count.
                async with conn.execute("SELECT COUNT(*) FROM a") as cur:
                    row = await cur.fetchone()
                assert row is not None
                await asyncio.sleep(0)
                await conn.execute("INSERT INTO a VALUES (?)", (row[0],))

        await asyncio.gather(*(writer(n) for n in range(50)))
        async with db.reading() as conn, conn.execute("SELECT x FROM a ORDER BY x") as cur:
            values = [row[0] for row in await cur.fetchall()]
        assert values == list(range(50))
    finally:
        await db.close()


async def test_an_error_rolls_back_the_whole_transaction(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "class.db")
    try:
        await db.migrate(MIGRATIONS)
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO a VALUES (1)")
                await conn.execute("INSERT INTO b VALUES (2)")
                raise RuntimeError("boom")
        async with db.reading() as conn:
            async with conn.execute("SELECT COUNT(*) FROM a") as cur:
                assert (await cur.fetchone())[0] == 0
            async with conn.execute("SELECT COUNT(*) FROM b") as cur:
                assert (await cur.fetchone())[0] == 1
        # The connection is usable again afterwards.
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO a VALUES (7)")
    finally:
        await db.close()


async def test_writes_nobody_reads_back_keep_their_order_and_fail_the_unit_whole(
    db: Database,
) -> None:
    """Writes sent with the next statement (``execute_later``) are seen by it, commit with the
    unit, and one that breaks a rule at COMMIT leaves nothing of the unit written."""
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE notes (n INTEGER NOT NULL, k INTEGER UNIQUE)")
    async with db.transaction() as conn:
        await execute_later(conn, "INSERT INTO notes (n) VALUES (1)")
        await execute_later(conn, "INSERT INTO notes (n) VALUES (2)")
        seen = await conn.execute_fetchall("SELECT n FROM notes ORDER BY n")
        assert [row[0] for row in seen] == [1, 2]
        await execute_later(conn, "INSERT INTO notes (n) VALUES (3)")
    with pytest.raises(IntegrityError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO notes (n, k) VALUES (4, 1)")
            await execute_later(conn, "INSERT INTO notes (n, k) VALUES (5, 1)")
    async with db.reading() as conn:
        rows = await conn.execute_fetchall("SELECT n FROM notes ORDER BY n")
    assert [row[0] for row in rows] == [1, 2, 3]
    async with db.transaction() as conn:  # usable again
        await execute_later(conn, "INSERT INTO notes (n) VALUES (6)")
    async with db.reading() as conn:
        rows = await conn.execute_fetchall("SELECT COUNT(*) FROM notes")
    assert rows[0][0] == 4


async def test_backup_during_writes_passes_integrity_check(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "class.db")
    try:
        await db.migrate(MIGRATIONS)
        stop = asyncio.Event()

        async def keep_writing() -> int:
            written = 0
            while not stop.is_set():
                async with db.transaction() as conn:
                    await conn.executemany("INSERT INTO a VALUES (?)", [(i,) for i in range(20)])
                written += 20
                await asyncio.sleep(0)
            return written

        writer = asyncio.create_task(keep_writing())
        await asyncio.sleep(0.05)
        target = await db.backup(tmp_path / "copies" / "backup.db")
        stop.set()
        assert await writer > 0
    finally:
        await db.close()
    with sqlite3.connect(target) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count = raw.execute("SELECT COUNT(*) FROM a").fetchone()[0]
        assert count % 20 == 0  # whole transactions only


async def test_a_lock_held_by_another_process_raises_store_busy_and_writes_nothing(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "class.db", busy_timeout_ms=100)
    try:
        await db.migrate(MIGRATIONS)
        other = sqlite3.connect(tmp_path / "class.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreBusy, match="another process holds a lock"):
                async with db.transaction() as conn:
                    await conn.execute("INSERT INTO a VALUES (1)")
        finally:
            other.execute("ROLLBACK")
            other.close()
        async with db.transaction() as conn:  # the store works again once the lock is gone
            await conn.execute("INSERT INTO a VALUES (2)")
        async with db.reading() as conn, conn.execute("SELECT x FROM a") as cur:
            assert [row[0] for row in await cur.fetchall()] == [2]
    finally:
        await db.close()


async def test_waiting_behind_our_own_stuck_writer_is_bounded_too(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "class.db", busy_timeout_ms=50)
    try:
        await db.migrate(MIGRATIONS)
        release = asyncio.Event()

        async def slow_writer() -> None:
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO a VALUES (1)")
                await release.wait()

        writer = asyncio.create_task(slow_writer())
        await asyncio.sleep(0)
        with pytest.raises(StoreBusy):
            async with db.transaction():
                pass
        release.set()
        await writer
    finally:
        await db.close()


async def test_data_errors_are_not_disguised_as_store_errors(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "class.db")
    try:
        await db.migrate(MIGRATIONS)
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO missing VALUES (1)")
    finally:
        await db.close()


async def test_opening_a_database_that_cannot_be_written_says_so(tmp_path: Path) -> None:
    path = tmp_path / "class.db"
    with contextlib.closing(sqlite3.connect(path)) as old:  # a rollback-journal file, not WAL yet
        old.execute("CREATE TABLE a (x INTEGER)")
        old.commit()
    with read_only_file(path), pytest.raises(StoreReadOnly, match="permissions"):
        await Database.open(path)


async def _claims(db: Database) -> list[int]:
    async with (
        db.reading() as conn,
        conn.execute("SELECT interaction_id FROM interaction_claims") as cur,
    ):
        return [int(row[0]) for row in await cur.fetchall()]


@pytest.mark.sqlite_only("a second process on the same file; test_postgres.py covers PostgreSQL")
async def test_an_interactions_first_write_claims_it_once(db: Database, tmp_path: Path) -> None:
    """Two processes handed the same interaction: the second one's write is refused whole."""
    other = await Database.open(tmp_path / "classmentor.db")
    interaction = 1_300_000_000_000_000_000
    try:
        with claiming(interaction) as claim:
            async with db.transaction() as conn:
                await conn.execute("CREATE TABLE IF NOT EXISTS notes (text TEXT)")
                await conn.execute("INSERT INTO notes VALUES ('first')")
            assert claim.done
            async with db.transaction() as conn:  # later writes for it need no new claim
                await conn.execute("INSERT INTO notes VALUES ('second')")
        with claiming(interaction), pytest.raises(InteractionTaken):
            async with other.transaction() as conn:
                await conn.execute("INSERT INTO notes VALUES ('from the other process')")
        # The refused claim left nothing open: the other process's next unit of work runs.
        async with other.transaction() as conn:
            await conn.execute("INSERT INTO notes VALUES ('other, unclaimed')")
            await conn.execute("DELETE FROM notes WHERE text = 'other, unclaimed'")
        async with db.reading() as conn, conn.execute("SELECT text FROM notes") as cur:
            assert [row[0] for row in await cur.fetchall()] == ["first", "second"]
        # A claim older than 15 minutes (snowflakes carry their time) goes with the next one.
        later = interaction + CLAIM_RETENTION + 1
        with claiming(later):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO notes VALUES ('later')")
        assert await _claims(db) == [later]
    finally:
        await other.close()


async def test_a_single_statement_commits_alone_and_never_lands_in_a_transaction(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "class.db")
    try:
        await db.migrate(MIGRATIONS)
        entered = asyncio.Event()
        release = asyncio.Event()

        async def long_transaction() -> None:
            with pytest.raises(RuntimeError):
                async with db.transaction() as conn:
                    await conn.execute("INSERT INTO a VALUES (1)")
                    entered.set()
                    await release.wait()
                    raise RuntimeError("rolled back")

        rolling_back = asyncio.create_task(long_transaction())
        await entered.wait()

        async def one_statement() -> None:
            async with db.statement() as conn:
                await conn.execute("INSERT INTO a VALUES (2)")

        alone = asyncio.create_task(one_statement())
        await asyncio.sleep(0.05)
        assert not alone.done()  # it waits for the open transaction instead of joining it
        release.set()
        await asyncio.gather(rolling_back, alone)
        async with db.reading() as conn:
            rows = await conn.execute_fetchall("SELECT x FROM a")
        assert [row[0] for row in rows] == [2]  # committed on its own; the rollback kept it
    finally:
        await db.close()


@pytest.mark.sqlite_only("SQLite's write-ahead log")
async def test_the_wal_starts_over_under_writes_that_never_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Checkpoints run beside the writes (not inside a commit); under a tight loop of writes they
    # still keep the log from growing: the WAL file stays far below one page per commit.
    monkeypatch.setattr(database_module, "CHECKPOINT_EVERY", 20)
    monkeypatch.setattr(database_module, "CHECKPOINT_CATCH_UP_PAGES", 60)
    db = await Database.open(tmp_path / "busy.db")
    await db.migrate()
    commits = 600
    try:
        for n in range(commits):
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO bot_meta (key, value) VALUES ('n', ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(n),),
                )
        async with db.reading() as conn:
            rows = await conn.execute_fetchall("SELECT value FROM bot_meta WHERE key = 'n'")
        assert [tuple(r) for r in rows] == [(str(commits - 1),)]
        # Measured while open: closing the last connection checkpoints and removes the WAL anyway.
        page = 4096 + 24  # a page and its frame header
        assert (tmp_path / "busy.db-wal").stat().st_size < commits * page / 2
    finally:
        await db.close()
