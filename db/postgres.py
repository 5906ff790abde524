"""The PostgreSQL store: the same :class:`~db.database.Database` API over asyncpg.

Writes. Every write transaction runs on the process's one write connection under the same
asyncio lock as on SQLite (a process's writes never interleave), and its first statement takes
transaction-scoped advisory locks shared by every ClassMentor process on the database, in a
hierarchy:

- a transaction for one class (``transaction(guild_id=…)``, or ``help_request_id=…`` for the
  class of a help request) takes the database-wide write lock SHARED, then its class's lock
  EXCLUSIVE: write transactions of one class run one at a time across processes, those of
  different classes side by side;
- any other write transaction (bot-wide jobs, privacy, identity sync) takes the database-wide
  lock EXCLUSIVE: it waits for every class transaction running and keeps new ones out, exactly
  as SQLite's ``BEGIN IMMEDIATE`` does for every write.

So a read that decides a write sees everything committed in its class before it, and nothing of
its class can commit in between; conditional updates, the ledger's triggers (their totals rows
are per class) behave as on SQLite. What two classes share is settled by PostgreSQL itself: the
interaction claims by their primary key (the second insert of an id waits for the first and
fails), identities by their sequences. The locks are always taken in the same order (global,
then class), and a process holds at most one transaction, so they cannot deadlock. Waiting is
bounded by ``lock_timeout`` (the busy timeout): a process that holds a lock too long makes the
others answer "busy", never queue forever. The locks are held only for the transaction's
statements (milliseconds); everything else a process does (Discord I/O, rendering) runs in
parallel with the other processes.

Reads go to a small pool of read-only connections in autocommit: each statement sees the last
committed state and never waits for the writer (as SQLite's WAL reader).

Migrations: ``db/migrations/postgresql`` (version 14 is the baseline: the whole schema), their
number kept in ``schema_version``, applied under a session advisory lock so processes starting
together apply each migration once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from db.database import (
    _CLAIM,
    BUSY_TIMEOUT_MS,
    CLAIM_RETENTION,
    CLAIM_SWEEP_EVERY,
    Database,
    DatabaseError,
    InteractionClaim,
    Migration,
    bundled_migrations,
    check_migrations,
)
from db.engine import PgConnection, decode_numeric, translate_pg
from db.errors import IntegrityError, InteractionTaken, StoreUnavailable
from db.urls import redacted

log = logging.getLogger(__name__)

# Advisory lock keys (any two bigints private to ClassMentor): 'CMwrites', 'CMmigrat'.
WRITE_LOCK = 0x434D_7772_6974_6573
MIGRATE_LOCK = 0x434D_6D69_6772_6174


def class_lock_sql(guild_id_sql: str) -> str:
    """The statement taking the class write lock of the BIGINT expression ``guild_id_sql``:
    the two-int4 advisory key (high and low 32 bits of the guild id: exact), a key space apart
    from the one-bigint keys above, so no class collides with them or with another class."""
    return (
        "SELECT pg_advisory_xact_lock((g >> 32)::int4, substring(g::bit(64) from 33)::int4)"
        f" FROM (SELECT ({guild_id_sql})::bigint AS g) AS class;"
    )


READ_POOL_SIZE = 4
# Statements db/ runs: enough prepared-statement cache for all of them on every connection.
STATEMENT_CACHE = 1024


async def _setup(conn: asyncpg.Connection[Any]) -> None:
    """Per connection: SUM over BIGINT (NUMERIC) comes back as an int, as on SQLite; CITEXT
    (the case-insensitive names) is text, as asyncpg reads it anyway, but named up front: a
    type asyncpg does not know is otherwise introspected the first time a statement uses it,
    by a query that costs the server ~6 ms per connection (two small lookups here: ~1 ms).
    A database not migrated yet has no CITEXT: asyncpg then finds it after the migration."""
    await conn.set_type_codec(
        "numeric", encoder=str, decoder=decode_numeric, schema="pg_catalog", format="text"
    )
    schema = await conn.fetchval(
        "SELECT typnamespace::regnamespace::text FROM pg_type WHERE typname = 'citext'"
    )
    if schema is not None:
        await conn.set_type_codec(
            "citext", encoder=_as_is, decoder=_as_is, schema=schema, format="text"
        )


def _as_is(text: str) -> str:
    return text


class PostgresDatabase(Database):
    """The connections to a PostgreSQL database, owned by the composition root."""

    engine = "postgresql"

    def __init__(
        self,
        url: str,
        writer: asyncpg.Connection[Any],
        pool: asyncpg.Pool[Any],
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    ) -> None:
        self.url = url
        self.where = redacted(url)
        self.path = Path(self.where)
        self._writer = writer
        self._pool = pool
        self._lock = asyncio.Lock()
        self._claims_swept_at = 0
        self.busy_timeout_ms = busy_timeout_ms
        self._commit_listeners: list[Callable[[], None]] = []
        self._tracer: Callable[[str], object] | None = None

    @classmethod
    async def connect(cls, url: str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> PostgresDatabase:
        """Open the write connection and the read pool; an unreachable server is a
        :class:`~db.errors.StoreUnavailable`."""
        where = redacted(url)
        try:
            writer = await asyncpg.connect(url, statement_cache_size=STATEMENT_CACHE)
        except Exception as exc:
            raise StoreUnavailable(f"database {where}: cannot connect ({exc})") from exc
        try:
            await _setup(writer)
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=READ_POOL_SIZE,
                statement_cache_size=STATEMENT_CACHE,
                init=_setup,
                server_settings={"default_transaction_read_only": "on"},
            )
        except Exception as exc:
            await writer.close()
            raise StoreUnavailable(f"database {where}: cannot connect ({exc})") from exc
        return cls(url, writer, pool, busy_timeout_ms)

    async def set_busy_timeout(self, busy_timeout_ms: int) -> None:
        """How long a write waits for another process's lock before giving up as busy."""
        self.busy_timeout_ms = busy_timeout_ms

    async def close(self) -> None:
        """Wait for the running transaction, then close the connections."""
        async with self._lock:
            await self._pool.close()
            await self._writer.close()

    def _wrap(self, raw: asyncpg.Connection[Any]) -> PgConnection:
        return PgConnection(raw, self.where)

    @asynccontextmanager
    async def transaction(
        self, *, guild_id: int | None = None, help_request_id: int | None = None
    ) -> AsyncIterator[PgConnection]:
        """One atomic unit of work under the cross-process write locks: the class's, when
        ``guild_id`` or ``help_request_id`` says which class it touches, else the database's
        (see the module text)."""
        await self._acquire()
        try:
            claim = await self._begin_pg(_write_locks(guild_id, help_request_id))
            try:
                yield self._wrap(self._writer)
            except BaseException as exc:
                await self._rollback_pg()
                translated = translate_pg(exc, self.where)
                if translated is exc:
                    raise
                raise translated from exc
            else:
                try:
                    await self._writer.execute("COMMIT")
                except Exception as exc:
                    await self._rollback_pg()
                    raise translate_pg(exc, self.where) from exc
                if claim is not None:
                    claim.done = True
                for listener in list(self._commit_listeners):
                    listener()
        finally:
            self._lock.release()

    async def _begin_pg(
        self, locks: str = f"SELECT pg_advisory_xact_lock({WRITE_LOCK});"
    ) -> InteractionClaim | None:
        """BEGIN, the lock wait bound, the write ``locks`` and (on an interaction's first
        write) its claim, in one round trip."""
        claim = _CLAIM.get()
        if claim is not None and claim.done:
            claim = None
        script = f"BEGIN; SET LOCAL lock_timeout = {int(self.busy_timeout_ms)}; {locks}"
        if claim is not None:
            # The id is an int (a snowflake), so it is safe in the script's text.
            script += (
                f" INSERT INTO interaction_claims (interaction_id)"
                f" VALUES ({int(claim.interaction_id)});"
            )
        try:
            if self._writer.is_closed():
                await self._reconnect()
            await self._writer.execute(script)
            if (
                claim is not None
                and claim.interaction_id - self._claims_swept_at >= CLAIM_SWEEP_EVERY
            ):
                # Skipping rows another process is sweeping at the same moment (from another
                # class's transaction): two sweeps never wait for, or deadlock on, each other.
                await self._writer.execute(
                    "DELETE FROM interaction_claims WHERE interaction_id IN (SELECT"
                    " interaction_id FROM interaction_claims WHERE interaction_id < $1"
                    " FOR UPDATE SKIP LOCKED)",
                    claim.interaction_id - CLAIM_RETENTION,
                )
                self._claims_swept_at = claim.interaction_id
        except BaseException as exc:
            await self._rollback_pg()
            translated = translate_pg(exc, self.where)
            if isinstance(translated, IntegrityError) and claim is not None:
                # Only the claim can break a constraint here: another process wrote for it.
                raise InteractionTaken(
                    f"interaction {claim.interaction_id} was handled elsewhere"
                ) from None
            if translated is exc:
                raise
            raise translated from exc
        return claim

    async def _reconnect(self) -> None:
        """A new write connection after the server dropped the old one (a restart, a failover):
        the transaction that found it gone failed as unavailable, the next one carries on."""
        try:
            writer = await asyncpg.connect(self.url, statement_cache_size=STATEMENT_CACHE)
            await _setup(writer)
        except Exception as exc:
            raise StoreUnavailable(f"database {self.where}: cannot reconnect ({exc})") from exc
        if self._tracer is not None:
            writer.add_query_logger(self._log_query)
        self._writer = writer
        log.warning("reconnected the write connection to %s", self.where)

    async def _rollback_pg(self) -> None:
        if self._writer.is_closed():
            return
        try:
            await self._writer.execute("ROLLBACK")
        except Exception:
            log.warning("rollback failed on %s", self.where, exc_info=True)

    @asynccontextmanager
    async def statement(self) -> AsyncIterator[PgConnection]:
        """One write statement: a transaction like any other here (the lock must be held)."""
        async with self.transaction() as conn:
            yield conn

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[PgConnection]:
        """A read-only pooled connection: each statement sees the last committed state."""
        try:
            raw = await self._pool.acquire()
        except Exception as exc:
            raise translate_pg(exc, self.where) from exc
        try:
            if self._tracer is not None:
                raw.add_query_logger(self._log_query)
            yield self._wrap(raw)
        finally:
            if self._tracer is not None:
                raw.remove_query_logger(self._log_query)
            await self._pool.release(raw)

    def _log_query(self, record: Any) -> None:
        if self._tracer is not None:
            self._tracer(record.query)

    async def trace(self, callback: Callable[[str], object] | None) -> None:
        """Call ``callback`` with every SQL statement the connections run (``None``: stop)."""
        if self._tracer is not None:
            self._writer.remove_query_logger(self._log_query)
        self._tracer = callback
        if callback is not None:
            self._writer.add_query_logger(self._log_query)

    async def fetch_all(
        self, sql: str, params: Sequence[object] | Mapping[str, object] = ()
    ) -> list[Any]:
        """Run one read query and return all its rows."""
        async with self.reading() as conn:
            return await conn.execute_fetchall(sql, params)

    async def fetch_one(
        self, sql: str, params: Sequence[object] | Mapping[str, object] = ()
    ) -> Any:
        """Run one read query and return its first row (or ``None``)."""
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def schema_version(self) -> int:
        """The applied migration number (0 for an empty database)."""
        async with self.reading() as conn:
            return await _version(conn.raw)

    async def pending_migrations(
        self, migrations: list[Migration] | None = None
    ) -> list[Migration]:
        """Migrations newer than the database; refuses a database newer than this code knows."""
        if migrations is None:
            migrations = bundled_migrations("postgresql")
        return await super().pending_migrations(migrations)

    async def migrate(
        self, migrations: list[Migration] | None = None, backup_dir: Path | None = None
    ) -> list[Migration]:
        """Apply pending migrations in order, each in its own transaction, under a session
        advisory lock: a second process starting at the same moment waits, then finds nothing
        left to do. ``backup_dir`` is not used: PostgreSQL backups are ``pg_dump``'s job."""
        migrations = (
            bundled_migrations("postgresql") if migrations is None else check_migrations(migrations)
        )
        applied: list[Migration] = []
        async with self._lock:
            if self._writer.is_closed():
                await self._reconnect()
            conn = self._writer
            try:
                await conn.execute("SELECT pg_advisory_lock($1)", MIGRATE_LOCK)
                try:
                    current = await _version(conn)
                    latest = migrations[-1].version if migrations else 0
                    if current > latest:
                        raise DatabaseError(
                            f"the database {self.where} is at schema version {current}, newer "
                            f"than this ClassMentor knows ({latest}); upgrade ClassMentor"
                        )
                    for migration in migrations:
                        if migration.version <= current:
                            continue
                        async with conn.transaction():
                            await conn.execute(
                                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
                            )
                            await conn.execute(migration.sql)
                            await conn.execute("DELETE FROM schema_version")
                            await conn.execute(
                                "INSERT INTO schema_version (version) VALUES ($1)",
                                migration.version,
                            )
                        applied.append(migration)
                        log.info("applied migration %s", migration.name)
                finally:
                    await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATE_LOCK)
            except (asyncpg.PostgresError, OSError) as exc:
                translated = translate_pg(exc, self.where)
                if translated is exc:
                    raise DatabaseError(f"migrating {self.where}: {exc}") from exc
                raise translated from exc
        if applied:
            # Types created by a migration (citext) are known to connections opened afterwards.
            await self._pool.expire_connections()
            await self._writer.reload_schema_state()
        return applied

    async def sync_identities(self) -> dict[str, int]:
        """Move every identity column's sequence past the largest id stored (after rows were
        copied in with their ids, e.g. by ``copy-db``), so the next insert gets a fresh id.
        Returns the next id per table."""
        following: dict[str, int] = {}
        async with self.transaction() as conn:
            columns = await conn.raw.fetch(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND is_identity = 'YES'"
                " ORDER BY table_name"
            )
            for table, column in columns:
                top = await conn.raw.fetchval(f'SELECT MAX("{column}") FROM "{table}"')
                following[table] = int(top or 0) + 1
                await conn.raw.execute(
                    "SELECT setval(pg_get_serial_sequence($1, $2), $3, false)",
                    f'"{table}"',
                    column,
                    following[table],
                )
        return following

    async def backup(self, target: Path | str) -> Path:
        """Not done here: a PostgreSQL database is backed up with ``pg_dump``."""
        raise DatabaseError(
            f"{self.where} is PostgreSQL: back it up with pg_dump (e.g. pg_dump -Fc -f "
            "classmentor.dump DBNAME), or your provider's snapshots"
        )

    async def integrity_check(self) -> str:
        """'ok' when the server answers and every table of the schema reads; PostgreSQL checks
        its own pages (``pg_amcheck`` for a deeper look)."""
        async with self.reading() as conn:
            tables = await conn.raw.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
            for row in tables:
                await conn.raw.fetchval(f'SELECT 1 FROM "{row[0]}" LIMIT 1')
        return "ok"


def _write_locks(guild_id: int | None, help_request_id: int | None) -> str:
    """The lock statements of a write transaction (the ids are ints, safe in the text)."""
    if guild_id is not None:
        key = class_lock_sql(str(int(guild_id)))
    elif help_request_id is not None:
        # The class of a help request never changes; an unknown id locks class 0 (no class):
        # the transaction finds no request and writes nothing for it.
        key = class_lock_sql(
            f"COALESCE((SELECT guild_id FROM help_requests WHERE id = {int(help_request_id)}), 0)"
        )
    else:
        return f"SELECT pg_advisory_xact_lock({WRITE_LOCK});"
    return f"SELECT pg_advisory_xact_lock_shared({WRITE_LOCK}); {key}"


async def _version(conn: asyncpg.Connection[Any]) -> int:
    exists = await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
    if not exists:
        return 0
    value = await conn.fetchval("SELECT version FROM schema_version")
    return int(value or 0)
