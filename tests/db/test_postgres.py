"""The PostgreSQL store: migrations under an advisory lock, writes serialised across processes.

Two :class:`Database` objects on one database stand for two bot processes (each has its own
connections and its own in-process lock, exactly as two processes would).
"""

from __future__ import annotations

import asyncio

import pytest

from db.database import (
    Database,
    DatabaseError,
    Migration,
    bundled_migrations,
    claiming,
)
from db.errors import IntegrityError, InteractionTaken, StoreBusy, StoreUnavailable

GUILD = 1_000_000_000_000_000_001  # a snowflake-sized id: BIGINT on PostgreSQL


async def _open(url: str, **kw: int) -> Database:
    return await Database.open_url(url, **kw)


def test_both_engines_end_at_the_same_schema_version() -> None:
    assert bundled_migrations("postgresql")[-1].version == bundled_migrations()[-1].version


async def test_migrate_builds_the_schema_once(postgres_url: str) -> None:
    db = await _open(postgres_url)
    try:
        assert db.engine == "postgresql"
        assert await db.schema_version() == 0
        applied = await db.migrate()
        # The baseline (today's whole schema at its version), then every later migration.
        assert [m.version for m in applied] == [m.version for m in bundled_migrations("postgresql")]
        assert await db.schema_version() == bundled_migrations()[-1].version
        assert await db.migrate() == []
        assert await db.pending_migrations() == []
        assert await db.integrity_check() == "ok"
    finally:
        await db.close()


async def test_two_processes_migrating_together_apply_each_migration_once(
    postgres_url: str,
) -> None:
    bundled = bundled_migrations("postgresql")
    next_version = bundled[-1].version + 1
    slow = Migration(
        next_version,
        f"{next_version:04d}_slow.sql",
        "SELECT pg_sleep(0.2); CREATE TABLE slow_marker (n INTEGER); INSERT INTO slow_marker VALUES (1);",
    )
    migrations = [*bundled, slow]
    first, second = await _open(postgres_url), await _open(postgres_url)
    try:
        applied = await asyncio.gather(first.migrate(migrations), second.migrate(migrations))
        assert sorted(len(a) for a in applied) == [0, len(migrations)]
        assert await first.schema_version() == next_version
        assert await first.fetch_one("SELECT COUNT(*) FROM slow_marker") == (1,)
    finally:
        await first.close()
        await second.close()


async def test_refuses_a_database_newer_than_the_code(migrated_postgres_url: str) -> None:
    db = await _open(migrated_postgres_url)
    try:
        async with db.transaction() as conn:
            await conn.execute("UPDATE schema_version SET version = 999")
        with pytest.raises(DatabaseError, match="newer than this ClassMentor knows"):
            await db.migrate()
    finally:
        await db.close()


async def _class(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO classes (guild_id, timezone, post_weekday, post_time, created_at)"
            " VALUES (?, 'Europe/London', 4, '15:00', '2026-11-18T09:00:00.000000Z')",
            (GUILD,),
        )


async def test_a_conditional_update_has_one_winner_across_processes(
    migrated_postgres_url: str,
) -> None:
    one, two = await _open(migrated_postgres_url), await _open(migrated_postgres_url)
    try:
        await _class(one)

        async def claim_week(db: Database) -> int:
            async with db.transaction() as conn:
                # Read, then decide: the write lock makes the pair atomic across processes.
                rows = await conn.execute_fetchall(
                    "SELECT 1 FROM weekly_posts WHERE guild_id = ? AND week_key = ?",
                    (GUILD, "2026-11-16"),
                )
                if rows:
                    return 0
                await asyncio.sleep(0.05)  # the other process tries meanwhile
                cur = await conn.execute(
                    "INSERT INTO weekly_posts (guild_id, week_key, kind, claimed_at)"
                    " VALUES (?, ?, 'leaderboard', 'x') ON CONFLICT DO NOTHING",
                    (GUILD, "2026-11-16"),
                )
                return int(cur.rowcount)

        won = await asyncio.gather(*(claim_week(db) for db in (one, two, one, two)))
        assert sorted(won) == [0, 0, 0, 1]
    finally:
        await one.close()
        await two.close()


async def test_write_transactions_never_interleave_across_processes(
    migrated_postgres_url: str,
) -> None:
    """A read that decides a write sees every commit before it and none in between (as SQLite's
    BEGIN IMMEDIATE): no lost update, with no constraint to help."""
    one, two = await _open(migrated_postgres_url), await _open(migrated_postgres_url)
    try:
        async with one.transaction() as conn:
            await conn.execute("INSERT INTO bot_meta (key, value) VALUES ('n', '0')")

        async def increment(db: Database) -> None:
            async with db.transaction() as conn:
                rows = await conn.execute_fetchall("SELECT value FROM bot_meta WHERE key = 'n'")
                await asyncio.sleep(0.02)  # the other process is trying meanwhile
                await conn.execute(
                    "UPDATE bot_meta SET value = ? WHERE key = 'n'",
                    (str(int(next(iter(rows))[0]) + 1),),
                )

        await asyncio.gather(*(increment(db) for db in (one, two) * 4))
        assert await one.fetch_one("SELECT value FROM bot_meta WHERE key = 'n'") == ("8",)
    finally:
        await one.close()
        await two.close()


async def test_an_interaction_is_claimed_by_one_process_only(migrated_postgres_url: str) -> None:
    one, two = await _open(migrated_postgres_url), await _open(migrated_postgres_url)
    try:
        await _class(one)
        interaction = 1_300_000_000_000_000_000
        with claiming(interaction) as claim:
            async with one.transaction() as conn:
                await conn.execute("UPDATE classes SET name = 'first' WHERE guild_id = ?", (GUILD,))
        assert claim.done
        with claiming(interaction), pytest.raises(InteractionTaken):
            async with two.transaction() as conn:
                await conn.execute(
                    "UPDATE classes SET name = 'second' WHERE guild_id = ?", (GUILD,)
                )
        assert await two.fetch_one("SELECT name FROM classes") == ("first",)
    finally:
        await one.close()
        await two.close()


async def test_a_broken_rule_is_the_stores_integrity_error_and_nothing_is_written(
    migrated_postgres_url: str,
) -> None:
    db = await _open(migrated_postgres_url)
    try:
        await _class(db)
        with pytest.raises(IntegrityError):
            async with db.transaction() as conn:
                await conn.execute("UPDATE classes SET name = 'half' WHERE guild_id = ?", (GUILD,))
                await conn.execute(
                    "INSERT INTO ledger (guild_id, user_id, points, reason, created_at)"
                    " VALUES (?, 1, 5, 'award', 'x')",  # an award entry must name its award
                    (GUILD,),
                )
        assert await db.fetch_one("SELECT name FROM classes") == ("",)
    finally:
        await db.close()


async def test_a_process_holding_the_write_lock_makes_the_other_answer_busy(
    migrated_postgres_url: str,
) -> None:
    one = await _open(migrated_postgres_url)
    two = await _open(migrated_postgres_url, busy_timeout_ms=100)
    try:
        await _class(one)
        async with one.transaction():
            with pytest.raises(StoreBusy):
                async with two.transaction() as conn:
                    await conn.execute("UPDATE classes SET name = 'x'")
        async with two.transaction() as conn:  # free again once the first committed
            await conn.execute("UPDATE classes SET name = 'y'")
    finally:
        await one.close()
        await two.close()


async def test_backups_are_pg_dumps_job(migrated_postgres_url: str) -> None:
    db = await _open(migrated_postgres_url)
    try:
        with pytest.raises(DatabaseError, match="pg_dump"):
            await db.backup("somewhere.dump")
    finally:
        await db.close()


async def test_an_unreachable_server_is_a_store_error(postgres_url: str) -> None:
    dead = postgres_url.rsplit(":", 1)[0] + ":1/nowhere"
    with pytest.raises(StoreUnavailable, match="cannot connect"):
        await Database.open_url(dead)


async def test_a_dropped_connection_fails_one_unit_of_work_then_the_store_recovers(
    migrated_postgres_url: str,
) -> None:
    db = await _open(migrated_postgres_url)
    admin = await _open(migrated_postgres_url)
    try:
        await _class(db)
        # The server drops every connection of `db` (a restart, a failover).
        async with admin.transaction() as conn:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND application_name <> 'admin'"
            )
        failures = 0
        for attempt in range(3):
            try:
                async with db.transaction() as conn:
                    await conn.execute("UPDATE classes SET name = ?", (f"try {attempt}",))
                break
            except StoreUnavailable:
                failures += 1
        assert failures <= 1
        for _ in range(3):
            try:
                assert await db.fetch_one("SELECT COUNT(*) FROM classes") == (1,)
                break
            except StoreUnavailable:
                continue
        else:
            raise AssertionError("reads never recovered")
    finally:
        await db.close()
        await admin.close()


async def test_copied_ids_are_followed_by_fresh_ones_after_sync_identities(
    migrated_postgres_url: str,
) -> None:
    from db.postgres import PostgresDatabase

    db = await _open(migrated_postgres_url)
    assert isinstance(db, PostgresDatabase)
    try:
        await _class(db)
        async with db.transaction() as conn:  # as copy-db writes them: ids kept
            await conn.execute(
                "INSERT INTO subjects (id, guild_id, name, created_at) VALUES (41, ?, 'Maths', 'x')",
                (GUILD,),
            )
        following = await db.sync_identities()
        assert following["subjects"] == 42 and following["ledger"] == 1
        async with db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO subjects (guild_id, name, created_at) VALUES (?, 'maths', 'x')"
                " ON CONFLICT DO NOTHING",
                (GUILD,),
            )
            assert cur.rowcount == 0  # names are case-insensitive, as SQLite's NOCASE
            row = await (
                await conn.execute(
                    "INSERT INTO subjects (guild_id, name, created_at) VALUES (?, 'Art', 'x')"
                    " RETURNING id",
                    (GUILD,),
                )
            ).fetchone()
        assert row["id"] > 41  # (a refused insert still uses up a sequence number)
    finally:
        await db.close()
