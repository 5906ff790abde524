"""The SQLite store: a write and a read connection, pragmas, serialised transactions, migrations.

Every write goes through :meth:`Database.transaction`, which holds an asyncio lock: the write
connection cannot run two explicit transactions at once, and interleaved statements from two tasks
would otherwise land in each other's transactions. Reads go through :meth:`Database.reading` (or
:meth:`Database.fetch_all` / :meth:`Database.fetch_one`) on a second, read-only connection: in WAL
mode a reader sees the last committed state and never waits for a writer, so a `/leaderboard`
does not queue behind an award being written.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import re
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Generic, NoReturn, TypeAlias, TypeVar
from zoneinfo import ZoneInfo

import aiosqlite
from aiosqlite.context import Result

from db.engine import Connection as EngineConnection
from db.errors import InteractionTaken, StoreBusy, StoreError, translate
from db.urls import engine_of, sqlite_path

log = logging.getLogger(__name__)
T = TypeVar("T")

# What a transaction hands to db/ functions (aiosqlite's connection, or PostgreSQL's
# PgConnection); services name it without importing a driver.
Connection: TypeAlias = EngineConnection

BUSY_TIMEOUT_MS = 5000
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class DatabaseError(Exception):
    """A database problem an operator must act on (newer schema, bad migration...)."""


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file; its number becomes ``PRAGMA user_version`` once applied."""

    version: int
    name: str
    sql: str


def bundled_migrations(engine: str = "sqlite") -> list[Migration]:
    """The migrations shipped for an engine, in order: ``db/migrations`` for SQLite,
    ``db/migrations/postgresql`` for PostgreSQL (numbered alike: its 14 is SQLite's 1-14)."""
    return list(_read_migrations(engine))


@functools.cache
def _read_migrations(engine: str) -> tuple[Migration, ...]:
    # Read once per process: they ship with the code, and every store opened checks them
    # (~0.3 ms a read; a process that opens many stores, as the tests do, reads them once).
    folder = resources.files("db") / "migrations"
    if engine == "postgresql":
        folder = folder / "postgresql"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    return tuple(check_migrations(found))


def check_migrations(migrations: Iterable[Migration]) -> list[Migration]:
    """Sort migrations and refuse duplicate numbers."""
    ordered = sorted(migrations, key=lambda m: m.version)
    for before, after in itertools.pairwise(ordered):
        if before.version == after.version:
            raise DatabaseError(f"two migrations share number {before.version}")
    return ordered


# SQLite's automatic checkpoint runs inside the commit that crosses 1,000 WAL pages, holding the
# write lock meanwhile, so every write queued behind it waits (that was the p99 of /helpme ask).
# The writer turns it off; a connection of its own checkpoints after this many commits, in its
# own thread, while writes go on (a PASSIVE checkpoint never blocks or waits for them).
CHECKPOINT_EVERY = 200
# Under writes that never pause, a checkpoint running beside them never finds the log fully
# copied, and the WAL (which reads walk) would only grow: past this many pages (SQLite's own
# threshold) it copies the few pages written meanwhile under the write lock, and the WAL starts over.
CHECKPOINT_CATCH_UP_PAGES = 1000

# 15 minutes (an interaction's lifetime) in Discord snowflake units (milliseconds << 22).
CLAIM_RETENTION = (15 * 60 * 1000) << 22
# Old claims are swept at most once a minute of interactions (not with every claim: a statement
# fewer on every interaction's first write).
CLAIM_SWEEP_EVERY = (60 * 1000) << 22


@dataclass
class InteractionClaim:
    """The interaction a task works for; its first committed write claimed it (``done``)."""

    interaction_id: int
    done: bool = False
    # The COMMIT that carries the claim, queued on the database thread and not answered yet.
    pending: asyncio.Future[Any] | None = None


_CLAIM: ContextVar[InteractionClaim | None] = ContextVar(
    "classmentor_interaction_claim", default=None
)


@contextmanager
def claiming(interaction_id: int) -> Iterator[InteractionClaim]:
    """Work started inside this block (and the tasks it creates) is done for one interaction:
    the first write transaction claims its id, so a second process handed the same interaction
    writes nothing (:class:`~db.errors.InteractionTaken`)."""
    claim = InteractionClaim(interaction_id)
    token = _CLAIM.set(claim)
    try:
        yield claim
    finally:
        _CLAIM.reset(token)


_CLAIM_SQL = "INSERT INTO interaction_claims (interaction_id) VALUES (?)"

# A statement waiting for the next hop: SQL, parameters, and the list to add its rows to (if
# they are wanted).
Statement: TypeAlias = tuple[str, Sequence[object] | Mapping[str, object], list[Any] | None]


@dataclass
class Ending(Generic[T]):
    """How a unit of work ends, decided on the database thread from what it read
    (:meth:`BatchingConnection.queue_final`): ``writes`` then ``COMMIT``, or (``commit`` false)
    a rollback, nothing written. ``value`` is what the caller gets either way."""

    value: T
    writes: list[Statement] = field(default_factory=list)
    commit: bool = True


class ClaimRefused(Exception):
    """Another process already claimed the interaction (raised on the database thread)."""


def _run_batch(
    conn: sqlite3.Connection, waiting: list[Statement], last: Callable[[sqlite3.Connection], Any]
) -> Any:
    """On the database thread: the statements that waited, in order, then ``last(conn)``."""
    for sql, parameters, rows in waiting:
        if sql is _CLAIM_SQL:
            try:
                conn.execute(sql, parameters)
            except sqlite3.IntegrityError:
                # Only the claim can break a constraint here: another process wrote for it.
                raise ClaimRefused from None
        else:
            cursor = conn.execute(sql, parameters)
            if rows is not None:
                rows.extend(cursor.fetchall())
    return last(conn)


class BatchingConnection:
    """What a SQLite transaction hands out: aiosqlite's write connection, in fewer hops.

    Every aiosqlite call is a hop to the database thread and back (a thread wake-up, then a
    wake of the event loop), and the write lock is held across all of a transaction's hops
    while every other write waits for it. Two kinds of statements need no hop of their own:
    ``BEGIN IMMEDIATE`` (with the interaction's claim) goes with the unit's first statement, and
    a write whose result nobody reads (:meth:`defer`, called through
    :func:`db.rows.execute_later`) goes with the next statement or with the ``COMMIT``.
    Statements run in the order they were issued. The calls are aiosqlite's own (``execute``
    awaitable or ``async with``, ``execute_fetchall``, ``executemany``), with its cursors.
    """

    __slots__ = ("_waiting", "began", "ending", "raw")

    def __init__(self, raw: aiosqlite.Connection, opening: list[Statement]) -> None:
        self.raw = raw
        self._waiting = opening
        self.began = False  # BEGIN has gone to the database thread (so a ROLLBACK is owed)
        # The unit's last job, queued by :meth:`queue_final` (it commits or rolls back there).
        self.ending: asyncio.Future[Ending[Any]] | None = None

    def defer(
        self,
        sql: str,
        parameters: Sequence[object] | Mapping[str, object] = (),
        rows: list[Any] | None = None,
    ) -> None:
        """Run this statement with the next one or the COMMIT (its error surfaces there); its
        rows, when ``rows`` is given, are added to that list once it ran."""
        self._waiting.append((sql, parameters, rows))

    def _take(self) -> list[Statement]:
        if self.ending is not None:
            raise RuntimeError("this unit of work already ended (queue_final)")
        waiting, self._waiting = self._waiting, []
        self.began = True
        return waiting

    async def _run(self, last: Callable[[sqlite3.Connection], T]) -> T:
        # aiosqlite's one entry to its thread (the one its own calls use; untyped).
        result: T = await self.raw._execute(  # type: ignore[no-untyped-call]
            _run_batch, self.raw._conn, self._take(), last
        )
        return result

    def execute(self, sql: str, parameters: Any = None) -> Result[aiosqlite.Cursor]:
        """aiosqlite's ``execute``, carrying what waits."""
        if not self._waiting:
            return self.raw.execute(sql, parameters)
        return Result(self._cursor(lambda conn: conn.execute(sql, parameters or ())))

    def execute_fetchall(self, sql: str, parameters: Any = None) -> Result[Iterable[sqlite3.Row]]:
        """aiosqlite's ``execute_fetchall``, carrying what waits: still one hop."""
        if not self._waiting:
            return self.raw.execute_fetchall(sql, parameters)
        return Result(self._run(lambda conn: conn.execute(sql, parameters or ()).fetchall()))

    def executemany(self, sql: str, parameters: Iterable[Any]) -> Result[aiosqlite.Cursor]:
        """aiosqlite's ``executemany``, carrying what waits."""
        if not self._waiting:
            return self.raw.executemany(sql, parameters)
        return Result(self._cursor(lambda conn: conn.executemany(sql, parameters)))

    async def _cursor(
        self, last: Callable[[sqlite3.Connection], sqlite3.Cursor]
    ) -> aiosqlite.Cursor:
        return aiosqlite.Cursor(self.raw, await self._run(last))

    def queue_commit(self) -> asyncio.Future[None]:
        """Put the writes still waiting and the ``COMMIT`` in the database thread's queue now,
        and return what it answers, without waiting for it.

        The thread runs its queue in order, so a transaction whose first statement is queued
        after this one starts only once this one has committed (or rolled back: a statement or
        the COMMIT failing rolls the whole unit back in the same job on the thread, so the
        connection is never left inside this transaction for the next one). That is what lets
        :meth:`Database.transaction` hand its lock to the next writer as soon as this is
        queued, instead of after the answer's trip back to the event loop.
        """
        return self._queue(_commit_batch, self._take())

    def queue_final(
        self,
        sql: str,
        parameters: Sequence[object] | Mapping[str, object],
        decide: Callable[[list[Any]], Ending[T]],
    ) -> asyncio.Future[Ending[T]]:
        """The unit's last job, queued now: the statements that waited, this read, then
        ``decide(rows)`` on the database thread, and the writes it returns with the ``COMMIT``
        (or a rollback, if it says so or anything fails). No statement may follow; the lock
        goes to the next writer as with :meth:`queue_commit`.

        ``decide`` runs on the database thread: plain Python, quick, touching nothing the event
        loop uses. A read that decides a write thus holds the write lock one job, not two hops
        and a turn of the event loop in between.
        """
        waiting = self._take()
        ending = self._queue(_final_batch, waiting, sql, parameters, decide)
        self.ending = ending
        return ending

    def _queue(self, job: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        # What aiosqlite's own ``_execute`` does before it waits: the job goes into the thread's
        # queue at once, not when a task gets to run.
        if not self.raw._running or self.raw._connection is None:
            raise ValueError("Connection closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.raw._tx.put_nowait((future, functools.partial(job, self.raw._conn, *args)))
        return future


def _ended_in_commit(ending: asyncio.Future[Any]) -> bool:
    """Whether a unit's answered last job committed it."""
    if ending.cancelled() or ending.exception() is not None:
        return False
    result = ending.result()
    return not (isinstance(result, Ending) and not result.commit)


def _whole(conn: sqlite3.Connection, job: Callable[[], T]) -> T:
    """On the database thread: ``job``, and on any error the unit rolled back before the thread
    takes its next job (the error is re-raised)."""
    try:
        return job()
    except BaseException:
        if conn.in_transaction:
            try:
                conn.rollback()
            except sqlite3.Error:
                log.warning("rollback after a failed unit of work failed", exc_info=True)
        raise


def _commit_batch(conn: sqlite3.Connection, waiting: list[Statement]) -> None:
    """On the database thread: the statements that waited, then ``COMMIT`` (see :func:`_whole`)."""
    _whole(conn, lambda: _run_batch(conn, waiting, sqlite3.Connection.commit))


def _final_batch(
    conn: sqlite3.Connection,
    waiting: list[Statement],
    sql: str,
    parameters: Sequence[object] | Mapping[str, object],
    decide: Callable[[list[Any]], Ending[T]],
) -> Ending[T]:
    """On the database thread: what waited, the read, the decision, then its writes and
    ``COMMIT`` or a rollback (see :meth:`BatchingConnection.queue_final`)."""

    def job() -> Ending[T]:
        ending = decide(_run_batch(conn, waiting, lambda c: c.execute(sql, parameters).fetchall()))
        if ending.commit:
            _run_batch(conn, ending.writes, sqlite3.Connection.commit)
        else:
            conn.rollback()
        return ending

    return _whole(conn, job)


class Database:
    """The connections to the store, owned by the composition root."""

    engine = "sqlite"

    def __init__(
        self,
        conn: aiosqlite.Connection,
        path: Path,
        reader: aiosqlite.Connection | None = None,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    ) -> None:
        self._conn = conn
        # Without a separate reader (an in-memory database) reads share the writer and its lock.
        self._reader = reader
        self.path = path
        self.where = str(path)  # how messages name the store (a redacted URL on PostgreSQL)
        self._lock = asyncio.Lock()
        self._claims_swept_at = 0  # the interaction id of the last sweep of old claims
        self.busy_timeout_ms = busy_timeout_ms
        self._commit_listeners: list[Callable[[], None]] = []
        self._commits_since_checkpoint = 0
        self._checkpointer: aiosqlite.Connection | None = None
        self._checkpointing: asyncio.Task[None] | None = None
        self._closing = False
        # The last COMMIT queued on the write connection's thread (it may still be running).
        self._committing: asyncio.Future[Any] | None = None

    def on_commit(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after every committed transaction; returns a function to stop.

        Listeners must be quick and must not raise (they only note that something changed,
        e.g. so the projector view recomputes what it shows).
        """
        self._commit_listeners.append(listener)
        return lambda: self._commit_listeners.remove(listener)

    @classmethod
    async def open_url(cls, url: str, **kw: Any) -> Database:
        """Open the store a URL names: ``sqlite:///FILE`` or ``postgresql://user@host:port/db``.

        A relative SQLite file is relative to the working directory (the config loader has
        already resolved ``database.url`` against the config's folder). Keyword arguments go to
        the engine's opener (``busy_timeout_ms``).
        """
        try:
            engine = engine_of(url)
        except ValueError as exc:
            raise DatabaseError(str(exc)) from None
        if engine == "sqlite":
            return await cls.open(sqlite_path(url), **kw)
        from db.postgres import PostgresDatabase  # asyncpg only loads for PostgreSQL

        return await PostgresDatabase.connect(url, **kw)

    @classmethod
    async def open(cls, path: Path | str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Database:
        """Open (creating if needed) the database file with WAL, foreign keys and a busy timeout.

        A second connection, read-only, serves reads (not for ``:memory:``, which is private to
        one connection). A file that cannot be opened raises a :class:`~db.errors.StoreError`.
        """
        path = Path(path)
        memory = str(path) == ":memory:"
        if not memory:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = await _open_connection(path, busy_timeout_ms)
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable across application crashes in WAL mode and ~40% faster than FULL.
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA wal_autocheckpoint = 0")  # see CHECKPOINT_EVERY
            reader = None
            if not memory:
                reader = await _open_connection(path, busy_timeout_ms)
                await reader.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            await conn.close()
            # A read-only file that is not in WAL mode yet, a missing folder, a busy file...
            raise translate(exc, path) or exc from exc
        return cls(conn, path, reader, busy_timeout_ms)

    async def set_busy_timeout(self, busy_timeout_ms: int) -> None:
        """How long a write waits for another process's lock before giving up as busy."""
        async with self._lock:
            await self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if self._reader is not None:
                await self._reader.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self.busy_timeout_ms = busy_timeout_ms

    async def close(self) -> None:
        """Wait for the running transaction, then close the connections."""
        # No new checkpoint from now on; a running one may take the lock, so it finishes first.
        self._closing = True
        if self._checkpointing is not None:
            await self._checkpointing
        async with self._lock:
            if self._checkpointer is not None:
                await self._checkpointer.close()
            if self._reader is not None:
                await self._reader.close()
            await self._conn.close()

    @asynccontextmanager
    async def transaction(
        self, *, guild_id: int | None = None, help_request_id: int | None = None
    ) -> AsyncIterator[Connection]:
        """One atomic unit of work: commit on success, roll back everything on any error.

        ``guild_id`` (or ``help_request_id``: the class of that help request) says the unit
        reads and writes one class only; PostgreSQL then lets other classes' writes run at the
        same time (db/postgres.py). Without either, the unit may touch anything. SQLite ignores
        both: its ``BEGIN IMMEDIATE`` serialises every write anyway.

        A file another process keeps locked, a read-only file or a full disk raise a
        :class:`~db.errors.StoreError` (nothing written). Waiting for our own earlier writers is
        bounded by the busy timeout too, so a locked file cannot queue interactions forever.
        """
        await self._keep_up_with_checkpoint()
        await self._acquire()
        committing: asyncio.Future[Any]
        try:
            claim = await self._claim_to_make()
            # BEGIN (and the claim) go to the database thread with the unit's first statement.
            conn = BatchingConnection(self._conn, self._opening(claim))
            try:
                yield conn
                # The COMMIT, with the writes still waiting, is queued on the database thread
                # and the lock goes to the next writer at once: its statements queue behind
                # this COMMIT (or this unit's rollback) on the same thread, so the thread
                # never idles while the answer travels back to the event loop.
                committing = conn.ending or conn.queue_commit()
            except BaseException as exc:
                if conn.began:
                    await self._rollback()
                self._raise_failure(exc, claim)
            self._committing = committing
            if claim is not None:
                claim.pending = committing
        finally:
            self._lock.release()
        try:
            # Shielded: a caller cancelled here leaves its unit to end on the thread, and the
            # unit's future to say how (for the claim, and for the catch-up checkpoint).
            await asyncio.shield(committing)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            # Rolled back on the thread already: nothing of the unit is written.
            if claim is not None:
                claim.pending = None
            self._raise_failure(exc, claim)
        if not _ended_in_commit(committing):  # rolled back as decided, the claim with it
            if claim is not None:
                claim.pending = None
            return
        if claim is not None:
            claim.done = True
        self._committed()
        for listener in list(self._commit_listeners):
            listener()

    def _raise_failure(self, exc: BaseException, claim: InteractionClaim | None) -> NoReturn:
        """Raise what a failed unit of work reports: the store's own errors for the driver's."""
        if isinstance(exc, ClaimRefused):
            raise InteractionTaken(
                f"interaction {claim.interaction_id if claim else 0} was handled elsewhere"
            ) from None
        if isinstance(exc, sqlite3.Error):
            raise self._translated(exc) from exc
        raise exc

    def _committed(self) -> None:
        """Count a commit; every CHECKPOINT_EVERY of them, checkpoint the WAL off the write path."""
        self._commits_since_checkpoint += 1
        if self._reader is None or self._commits_since_checkpoint < CHECKPOINT_EVERY:
            return  # (an in-memory database has no WAL)
        if self._closing:
            return
        if self._checkpointing is None or self._checkpointing.done():
            self._commits_since_checkpoint = 0
            self._checkpointing = asyncio.create_task(self._checkpoint())

    async def _keep_up_with_checkpoint(self) -> None:
        """Wait for a checkpoint that fell behind before writing more.

        A checkpoint runs beside the writes in its own thread; on a loaded machine that thread
        may get little CPU while writes go on, and the WAL (which reads walk) would grow with
        every commit. Once two rounds of commits passed during one checkpoint, writers wait for
        it: the WAL stays bounded whatever the load (normally a checkpoint ends long before).
        """
        running = self._checkpointing
        if (
            running is not None
            and not running.done()
            and self._commits_since_checkpoint >= 2 * CHECKPOINT_EVERY
        ):
            await asyncio.shield(running)

    async def _checkpoint(self) -> None:
        """Copy the WAL's committed pages into the database file, so the WAL starts over."""
        try:
            if self._checkpointer is None:
                self._checkpointer = await _open_connection(self.path, self.busy_timeout_ms)
            async with self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)") as cur:
                _busy, wal_pages, _copied = await cur.fetchone() or (0, 0, 0)
            if wal_pages > CHECKPOINT_CATCH_UP_PAGES:
                async with self._lock:
                    await self._writes_done()
                    await self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:
            # Another process checkpointing, a busy reader: the next round catches up.
            log.debug("checkpoint of %s skipped: %s", self.path, exc)

    async def _claim_to_make(self) -> InteractionClaim | None:
        """The interaction this unit of work claims (see ``claiming``): none once claimed.

        An earlier unit of the same interaction whose COMMIT (carrying the claim) is queued but
        not answered is waited for first: claimed if it committed, claimed here if it failed.
        """
        claim = _CLAIM.get()
        if claim is not None and claim.pending is not None and not claim.done:
            pending = claim.pending
            await asyncio.wait([pending])
            # (Its own caller may have been cancelled meanwhile: the answer is the future's.)
            claim.done = claim.done or _ended_in_commit(pending)
            claim.pending = None
        return None if claim is None or claim.done else claim

    def _opening(self, claim: InteractionClaim | None) -> list[Statement]:
        """``BEGIN IMMEDIATE`` and, on an interaction's first write, its claim (and, once a
        minute of interactions, the sweep of old claims): run with the unit's first statement.

        Another process's claim of the same interaction makes that hop raise
        :class:`ClaimRefused` (nothing written), which the transaction reports as
        :class:`~db.errors.InteractionTaken`.
        """
        opening: list[Statement] = [("BEGIN IMMEDIATE", (), None)]
        if claim is None:
            return opening
        opening.append(
            (_CLAIM_SQL, (claim.interaction_id,), None),
        )
        if claim.interaction_id - self._claims_swept_at >= CLAIM_SWEEP_EVERY:
            opening.append(
                (
                    "DELETE FROM interaction_claims WHERE interaction_id < ?",
                    (claim.interaction_id - CLAIM_RETENTION,),
                    None,
                )
            )
            self._claims_swept_at = claim.interaction_id
        return opening

    @asynccontextmanager
    async def statement(self) -> AsyncIterator[Connection]:
        """The write connection for a unit of work that is exactly ONE write statement.

        SQLite makes a single statement outside ``BEGIN`` its own transaction (all or nothing),
        so this skips the ``BEGIN IMMEDIATE`` and ``COMMIT`` round trips of :meth:`transaction`:
        one hop to the database thread instead of three. The lock is held as for a transaction,
        so the statement never lands inside another task's. Anything with two statements (or a
        read deciding a write) must use :meth:`transaction`.
        """
        await self._acquire()
        try:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise self._translated(exc) from exc
            self._committed()
        finally:
            self._lock.release()

    async def _writes_done(self) -> None:
        """Wait (holding the lock) for the last COMMIT queued to be answered, however it ended."""
        if self._committing is not None:
            await asyncio.wait([self._committing])

    async def _acquire(self) -> None:
        try:
            async with asyncio.timeout(self.busy_timeout_ms / 1000):
                await self._lock.acquire()
        except TimeoutError:
            raise StoreBusy(
                f"database {self.where}: earlier writes still waiting after "
                f"{self.busy_timeout_ms} ms (another process holds a lock)"
            ) from None

    async def _rollback(self) -> None:
        try:
            await self._conn.rollback()
        except sqlite3.Error:
            log.warning("rollback failed on %s", self.path, exc_info=True)

    def _translated(self, exc: sqlite3.Error) -> BaseException:
        """The store's own error for a file problem; the driver's error itself otherwise."""
        translated: StoreError | None = translate(exc, self.path)
        return exc if translated is None else translated

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Connection]:
        """A read-only connection that never waits for writers.

        Each statement sees the last committed state (never half a transaction); a block of
        several statements may see a commit land between two of them. Store errors (busy,
        unreadable) are raised as :class:`~db.errors.StoreError`.
        """
        if self._reader is None:
            async with self._lock:
                try:
                    yield self._conn
                except sqlite3.Error as exc:
                    raise self._translated(exc) from exc
        else:
            try:
                yield self._reader
            except sqlite3.Error as exc:
                raise self._translated(exc) from exc

    async def trace(self, callback: Callable[[str], object] | None) -> None:
        """Call ``callback`` with every SQL statement either connection runs (``None``: stop).

        For tests and benchmarks that count round trips; not for production logging.
        """
        handler: Any = callback  # sqlite3 takes None to stop; aiosqlite's hint omits it
        await self._conn.set_trace_callback(handler)
        if self._reader is not None:
            await self._reader.set_trace_callback(handler)

    async def fetch_all(
        self, sql: str, params: Sequence[object] | Mapping[str, object] = ()
    ) -> list[aiosqlite.Row]:
        """Run one read query and return all its rows: one hop to the database thread."""
        async with self.reading() as conn:
            return list(await conn.execute_fetchall(sql, params))

    async def fetch_one(
        self, sql: str, params: Sequence[object] | Mapping[str, object] = ()
    ) -> aiosqlite.Row | None:
        """Run one read query and return its first row (or ``None``)."""
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def schema_version(self) -> int:
        """The applied migration number (``PRAGMA user_version``)."""
        async with self.reading() as conn, conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def pending_migrations(
        self, migrations: list[Migration] | None = None
    ) -> list[Migration]:
        """Migrations newer than the file; refuses a file newer than this code knows."""
        migrations = bundled_migrations() if migrations is None else check_migrations(migrations)
        current = await self.schema_version()
        latest = migrations[-1].version if migrations else 0
        if current > latest:
            raise DatabaseError(
                f"the database {self.path} is at schema version {current}, newer than this "
                f"ClassMentor knows ({latest}); upgrade ClassMentor or restore a backup"
            )
        return [m for m in migrations if m.version > current]

    async def migrate(
        self, migrations: list[Migration] | None = None, backup_dir: Path | None = None
    ) -> list[Migration]:
        """Apply pending migrations in order, each in its own transaction; returns those applied.

        With ``backup_dir``, the file is first copied there (only when something is pending and the
        database already holds a schema), so a bad upgrade can be undone by hand.
        """
        pending = await self.pending_migrations(migrations)
        if pending and backup_dir is not None and await self.schema_version() > 0:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            target = backup_dir / f"{self.path.stem}-v{await self.schema_version()}-{stamp}.db"
            await self.backup(target)
            log.info("backed up the database to %s before migrating", target)
        for migration in pending:
            await self._apply(migration)
            log.info("applied migration %s", migration.name)
        return pending

    async def _apply(self, migration: Migration) -> None:
        # executescript() would COMMIT first, so statements are run one by one inside BEGIN.
        async with self.transaction() as conn:
            for statement in split_sql(migration.sql):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {migration.version}")

    async def backup(self, target: Path | str) -> Path:
        """Copy the database to ``target`` with SQLite's online backup (safe while writes go on)."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        tmp.unlink(missing_ok=True)
        dest = await aiosqlite.connect(tmp)
        try:
            # The lock keeps our own writers out for the copy; other processes are handled by
            # SQLite's backup API, which restarts if the source changes underneath.
            async with self._lock:
                await self._conn.backup(dest)
        finally:
            await dest.close()
        shutil.move(tmp, target)
        return target

    async def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: 'ok' when the file is sound."""
        async with self.reading() as conn, conn.execute("PRAGMA integrity_check") as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else "no answer"


async def _open_connection(path: Path, busy_timeout_ms: int) -> aiosqlite.Connection:
    """One connection with our pragmas and SQL functions; driver errors become store errors."""
    try:
        conn = await aiosqlite.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise translate(exc, path) or exc from exc
    try:
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.create_function("local_day", 2, local_day, deterministic=True)
    except sqlite3.Error as exc:
        await conn.close()
        raise translate(exc, path) or exc from exc
    return conn


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(utc_text: str | None, zone_name: str | None) -> str | None:
    """SQL ``local_day(instant, zone)``: the ISO date in ``zone`` of a stored UTC instant.

    Registered on every connection: the ledger's totals trigger buckets entries by the class's
    local day (weeks and months are local), which SQLite cannot compute without zoneinfo.
    """
    if utc_text is None or zone_name is None:
        return None
    return datetime.fromisoformat(utc_text).astimezone(_zone(zone_name)).date().isoformat()


def split_sql(script: str) -> list[str]:
    """Split a migration script into complete statements (handles triggers' inner semicolons)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if not buffer and line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise DatabaseError(f"incomplete SQL statement in migration: {buffer.strip()[:80]}")
    return statements
