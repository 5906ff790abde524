"""A throw-away PostgreSQL server for the tests, started from the binaries on the machine.

One server per test run, in a fresh temporary folder, listening on a free port of 127.0.0.1 only,
with durability switched off (fsync, synchronous_commit): a crash loses nothing a test needs.
In a parallel run the first xdist worker that needs it starts it and the others use it (each
with databases of its own), and the controller stops it when the run ends (see
:func:`shared_server`); a run without workers starts and stops its own. PostgreSQL refuses to
run as root (CI runs as root), so there the server runs as the ``postgres`` user through
``runuser``. Each test gets a fresh database copied from a
migrated template (``CREATE DATABASE ... TEMPLATE``), which is much faster than migrating.

Where the binaries are missing the PostgreSQL tests skip with the reason, unless
``CLASSMENTOR_REQUIRE_POSTGRES=1`` (set by scripts/test.sh, so CI runs them) makes that a failure.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import functools
import hashlib
import itertools
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from db.postgres import PostgresDatabase

T = TypeVar("T")

SEARCH_PATH = ("/usr/local/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")
REQUIRE_ENV = "CLASSMENTOR_REQUIRE_POSTGRES"
# Set by the xdist controller (see prepare_test_run): the folder through which its workers share
# one server.
RUN_ENV = "CLASSMENTOR_TEST_POSTGRES_RUN"
SERVER_USER = "postgres"  # the database superuser the tests connect as
# Unprivileged system users the server may run as when the tests run as root (CI does).
RUN_AS = ("postgres", "nobody")


class PostgresUnavailable(Exception):
    """No PostgreSQL server binaries (or no unprivileged user to run them as)."""


def required() -> bool:
    """Whether a missing server must fail the run instead of skipping."""
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def _binary(name: str) -> str:
    for folder in SEARCH_PATH:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise PostgresUnavailable(
            f"PostgreSQL server binary {name!r} not found (looked in {', '.join(SEARCH_PATH)} "
            "and PATH); install postgresql to run the PostgreSQL tests"
        )
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """A running server; :meth:`stop` (always called, see :func:`running_server`) removes it."""

    def __init__(self, cpus: frozenset[int] | None = None) -> None:
        self.initdb, self.pg_ctl = _binary("initdb"), _binary("pg_ctl")
        self._cpus = cpus  # the CPUs the server may use (None: this process's)
        _binary("postgres")
        self._as_user: list[str] = []
        self._owner: tuple[int, int] | None = None
        if os.geteuid() == 0:
            entry = None
            for candidate in RUN_AS:
                try:
                    entry = pwd.getpwnam(candidate)
                    break
                except KeyError:
                    continue
            if entry is None:
                raise PostgresUnavailable(
                    f"running as root and none of the users {', '.join(RUN_AS)} exists to run "
                    "PostgreSQL as (it refuses to run as root)"
                )
            self._owner = (entry.pw_uid, entry.pw_gid)
            self._as_user = [_binary_or("runuser"), "-u", entry.pw_name, "--"]
        self._lend_on(Path(tempfile.mkdtemp(prefix="classmentor-pg-")), _free_port())

    def _lend_on(self, root: Path, port: int) -> None:
        """What lending databases needs: where the server lives and listens, and what it lent."""
        self.root = root
        self.data = root / "data"
        self.port = port
        self._names = itertools.count(1)
        self.started = False
        # Databases tests gave back, reset, by what they were copied from ("" for an empty one;
        # see lend_database) and the schema a copy of each template has.
        self.spare: dict[str, list[str]] = {}
        self.signatures: dict[str, str] = {}

    def url(self, database: str) -> str:
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def next_name(self) -> str:
        """A database name unused on this server."""
        return f"t{os.getpid()}_{next(self._names)}"

    def _run(self, *argv: str) -> None:
        cpus = self._cpus
        done = subprocess.run(
            [*self._as_user, *argv],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
            preexec_fn=None if cpus is None else lambda: os.sched_setaffinity(0, cpus),
        )
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(argv[:2])} failed ({done.returncode}): {done.stderr.strip()}\n{tail}"
            )

    def start(self, watch: int | None = None, also_remove: Path | None = None) -> None:
        """Start the server; it is stopped (its folder and ``also_remove`` deleted) if process
        ``watch`` (this one by default) dies without stopping it."""
        if self._owner is not None:
            os.chown(self.root, *self._owner)
            os.chmod(self.root, 0o700)
        self._new_cluster()
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
                "-c shared_buffers=32MB",
            ]
        )
        self._run(
            self.pg_ctl, "-D", str(self.data), "-l", str(self.root / "server.log"),
            "-o", options, "-w", "-t", "30", "start",
        )  # fmt: skip
        self.started = True
        self._watch(os.getpid() if watch is None else watch, also_remove or self.root)

    def _new_cluster(self) -> None:
        """A new cluster in ``self.data``: a copy of the one ``initdb`` made for an earlier
        server on this machine (kept, never started, under the temporary folder), or a new one.

        ``initdb`` costs ~0.6 s of CPU per test process (bootstrapping the catalogue and the
        template databases); copying its result ~0.15 s. The copy is the same files: ``initdb``
        depends only on its arguments and its version, which name the kept cluster.
        """
        initdb = [
            self.initdb, "-D", str(self.data), "-U", SERVER_USER, "--auth=trust",
            "--locale=C", "--encoding=UTF8", "--no-sync",
        ]  # fmt: skip
        version = subprocess.run(
            [self.initdb, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        key = hashlib.sha256(repr((version, initdb[3:], self._owner)).encode()).hexdigest()[:16]
        kept = Path(tempfile.gettempdir()) / f"classmentor-pg-initdb-{os.geteuid()}-{key}"
        if not (kept / "PG_VERSION").is_file():
            self._run(*initdb)
            # Another test process may be keeping the same cluster: the first rename wins.
            spare = Path(tempfile.mkdtemp(prefix=kept.name + "-", dir=kept.parent))
            done = subprocess.run(["cp", "-a", str(self.data), str(spare / "data")], check=False)
            if done.returncode == 0:
                with contextlib.suppress(OSError):
                    os.rename(spare / "data", kept)
            shutil.rmtree(spare, ignore_errors=True)
            return
        # cp -a keeps the owner (the unprivileged user the server runs as) and the modes.
        done = subprocess.run(["cp", "-a", str(kept), str(self.data)], check=False)
        if done.returncode != 0:
            shutil.rmtree(self.data, ignore_errors=True)
            self._run(*initdb)

    def _watch(self, pid: int, also_remove: Path) -> None:
        """A watchdog that stops the server and deletes its folder (and ``also_remove``) if
        process ``pid`` dies without cleaning up (killed, crashed): no server is ever left
        running."""
        as_user = " ".join(self._as_user)
        script = (
            f"while kill -0 {pid} 2>/dev/null; do sleep 1; done;"
            f" [ -d '{self.data}' ] && {as_user} '{self.pg_ctl}' -D '{self.data}'"
            f" -m immediate stop >/dev/null 2>&1; rm -rf '{self.root}' '{also_remove}'"
        )
        subprocess.Popen(
            ["/bin/sh", "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def stop(self) -> None:
        KEPT.close_all()
        try:
            if self.started:
                self._run(*self.stop_argv())
                self.started = False
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def stop_argv(self) -> list[str]:
        return [self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"]

    def describe(self) -> dict[str, Any]:
        """What another process needs to use this server, and to stop it."""
        return {
            "port": self.port,
            "root": str(self.root),
            "stop": [*self._as_user, *self.stop_argv()],
        }

    @classmethod
    def attached(cls, described: dict[str, Any]) -> PostgresServer:
        """The server another process started and described (:meth:`describe`); that process,
        or the controller, stops it: this object only lends databases on it."""
        server = cls.__new__(cls)
        server._lend_on(Path(described["root"]), int(described["port"]))
        return server


def _binary_or(name: str) -> str:
    found = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )
    if found is None:
        raise PostgresUnavailable(f"running as root and {name!r} is missing to drop privileges")
    return found


class _KeptConnections:
    """One connection per database, kept open for the resets between tests.

    A new connection is a new server process that reads the catalogue afresh: resetting a
    database through it costs the server ~9 ms, through a connection that already did ~1 ms.
    Each test runs in an event loop of its own, which an asyncpg connection cannot outlive,
    so the kept connections live in a thread with a loop of their own, for the whole session.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._kept: dict[str, Any] = {}  # url -> asyncpg.Connection
        self._lock = threading.Lock()

    def _thread_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="pg-resets", daemon=True).start()
                self._loop = loop
            return self._loop

    async def run(self, url: str, work: Callable[[Any], Awaitable[T]]) -> T:
        """``await work(connection)`` on the kept connection to ``url`` (from any event loop)."""
        done = asyncio.run_coroutine_threadsafe(self._run(url, work), self._thread_loop())
        return await asyncio.wrap_future(done)

    async def _run(self, url: str, work: Callable[[Any], Awaitable[T]]) -> T:
        import asyncpg

        for attempt in (1, 2):
            conn = self._kept.get(url)
            if conn is None or conn.is_closed():
                conn = self._kept[url] = await asyncpg.connect(url)
            try:
                return await work(conn)
            except (
                asyncpg.InterfaceError,
                asyncpg.InternalClientError,
                asyncpg.PostgresConnectionError,
                OSError,
            ):
                # A test closed it (terminated every backend of its database): once more. When
                # the server's notice arrives while the next query is being sent, asyncpg says
                # "cannot switch to state ...; another operation is in progress" (seen once, in
                # the teardown after test_a_dropped_connection_fails_one_unit_of_work_...).
                self._kept.pop(url, None)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def forget(self, url: str) -> None:
        """Close the kept connection to ``url`` (before its database is dropped)."""
        if url in self._kept:
            await self.run(url, self._close)

    async def _close(self, conn: Any) -> None:
        for url, kept in list(self._kept.items()):
            if kept is conn:
                del self._kept[url]
        await conn.close(timeout=5)

    def close_all(self) -> None:
        """Close every kept connection and stop the thread's loop (at the session's end)."""
        loop, self._loop = self._loop, None
        if loop is None:
            return

        async def close() -> None:
            for conn in self._kept.values():
                with contextlib.suppress(Exception):
                    await conn.close(timeout=5)
            self._kept.clear()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)


KEPT = _KeptConnections()


@contextlib.contextmanager
def running_server() -> Iterator[PostgresServer]:
    """Start a server and always stop it (and delete its folder) afterwards."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def shared_server() -> Iterator[PostgresServer]:
    """The server for this test process: the run's shared one in an xdist worker (started by
    the first worker that asks, stopped by the controller: :func:`finish_test_run`), or one of
    its own (stopped afterwards) in a run without workers."""
    run = os.environ.get(RUN_ENV)
    if not run:
        with running_server() as server:
            yield server
        return
    with _run_lock(Path(run)):
        described = Path(run) / "server.json"
        if described.exists():
            server = PostgresServer.attached(json.loads(described.read_text()))
        else:
            from bot.cpu import allowed_before_pin

            # Every worker's backends: on every CPU the worker could use before it was pinned.
            server = PostgresServer(cpus=allowed_before_pin())
            try:
                # The controller stops it (or, were it killed, the watchdog).
                server.start(watch=os.getppid(), also_remove=Path(run))
            except BaseException:
                server.stop()
                raise
            described.write_text(json.dumps(server.describe()))
    try:
        yield server
    finally:
        KEPT.close_all()


@contextlib.contextmanager
def _run_lock(run: Path) -> Iterator[None]:
    with open(run / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def prepare_test_run() -> Path:
    """In the xdist controller, before the workers start: the folder through which they share
    one server (see :func:`shared_server`)."""
    run = Path(tempfile.mkdtemp(prefix="classmentor-pg-run-"))
    os.environ[RUN_ENV] = str(run)
    return run


def finish_test_run(run: Path) -> None:
    """In the xdist controller, after the workers are gone: stop the shared server (if a worker
    started one) and delete its folders."""
    os.environ.pop(RUN_ENV, None)
    try:
        described = run / "server.json"
        if described.exists():
            server = json.loads(described.read_text())
            try:
                subprocess.run(server["stop"], capture_output=True, check=False, timeout=60)
            finally:
                shutil.rmtree(server["root"], ignore_errors=True)
    finally:
        shutil.rmtree(run, ignore_errors=True)


def shared_template(server: PostgresServer) -> str:
    """The migrated template for ``server``: made once per run and shared by its workers when
    the server is (:func:`migrated_template` otherwise)."""

    def migrate() -> str:
        # In a thread of its own: the first test to ask may already be running an event loop.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, migrated_template(server)).result()

    run = os.environ.get(RUN_ENV)
    if not run:
        return migrate()
    with _run_lock(Path(run)):
        kept = Path(run) / "template"
        if not kept.exists():
            kept.write_text(migrate())
        return kept.read_text()


async def create_database(server: PostgresServer, template: str | None = None) -> str:
    """A new database on ``server`` (a copy of ``template`` when given); returns its URL."""
    import asyncpg

    name = server.next_name()
    admin = await asyncpg.connect(server.url("postgres"))
    try:
        copy = f" TEMPLATE {template}" if template else ""  # WAL_LOG: faster than FILE_COPY here
        await admin.execute(f"CREATE DATABASE {name}{copy}")
    finally:
        await admin.close()
    return server.url(name)


async def drop_database(server: PostgresServer, url: str) -> None:
    """Remove a test's database (its connections closed or not)."""
    import asyncpg

    await KEPT.forget(url)
    admin = await asyncpg.connect(server.url("postgres"))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
    finally:
        await admin.close()


async def migrated_template(server: PostgresServer) -> str:
    """A database with every migration applied, to copy per test; returns its name."""
    from db.database import Database

    url = await create_database(server)
    db = await Database.open_url(url)
    try:
        await db.migrate()
    finally:
        await db.close()
    return url.rsplit("/", 1)[1]


_EMPTYING: dict[str, str] = {}


async def empty_database(url: str) -> None:
    """Make a migrated database as new again, fast: every row deleted (triggers and foreign
    keys off for it), every id sequence restarted at 1, any connection a failed test left
    inside a transaction closed. Faster than a fresh copy of the template by ~0.1 s a test."""
    await KEPT.run(url, functools.partial(_empty, url))


async def _empty(url: str, conn: Any) -> None:
    script = _EMPTYING.get(url)
    if script is None:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename <> 'schema_version' ORDER BY tablename"
        )
        identities = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND is_identity = 'YES'"
        )
        restarts = ", ".join(
            f"setval(pg_get_serial_sequence('\"{t}\"', '{c}'), 1, false)" for t, c in identities
        )
        # The replication role is this connection's, and the connection is kept: set it back.
        # A connection a failed test left inside a transaction holds locks the deletes would
        # wait for: it goes. Idle ones hold none (the warm store's, see WarmStore, stay).
        script = _EMPTYING[url] = (
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND state <> 'idle';"
            " SET session_replication_role = replica;"
            + "".join(f' DELETE FROM "{row[0]}";' for row in tables)
            + f" SELECT {restarts};"
            + " SET session_replication_role = DEFAULT;"
        )
    await conn.execute(script)


class WarmStore:
    """A PostgreSQL store's connections kept open across one test process's store tests (the
    ``db`` fixture), each test getting a fresh ``PostgresDatabase`` object on them.

    A new connection is a new server process with cold catalogue caches and no prepared
    statements: opening a store and running a typical service test through it cost the server
    ~23 ms and the test ~9.5 ms of CPU, on kept connections ~5 ms and ~3 ms (measured). The
    tests using it run in the session's event loop, which the connections live in. Between two
    tests the database is emptied as for a new one; connections a test closed, or left inside a
    transaction, are replaced by new ones. What a store object keeps itself (its commit
    listeners, busy timeout, tracer) is new for every test.
    """

    def __init__(self) -> None:
        self._kept: PostgresDatabase | None = None

    async def lend(self, url: str) -> PostgresDatabase:
        """An emptied store on ``url`` (the process's store database), on warm connections."""
        from db.postgres import PostgresDatabase

        kept = self._kept
        if kept is not None and (kept.url != url or not _reusable(kept)):
            await self.close()
            kept = None
        await empty_database(url)
        if kept is None:
            kept = self._kept = await PostgresDatabase.connect(url)
        return PostgresDatabase(url, kept._writer, kept._pool)

    async def close(self) -> None:
        """Close the kept connections (at the session's end, or when they cannot be reused)."""
        kept, self._kept = self._kept, None
        if kept is not None:
            with contextlib.suppress(Exception):
                await kept.close()


def _reusable(kept: PostgresDatabase) -> bool:
    writer, pool = kept._writer, kept._pool
    return not (writer.is_closed() or writer.is_in_transaction() or pool.is_closing())


# What a migrated database's schema is: every column, index, trigger and routine, and the
# schema version. A database given back with the same signature as a fresh copy of its
# template is that copy again once emptied.
_SIGNATURE = """
SELECT md5(concat_ws('|',
  (SELECT string_agg(concat_ws(':', table_name, column_name, data_type, is_nullable,
                               column_default, is_identity), ',' ORDER BY table_name, column_name)
     FROM information_schema.columns WHERE table_schema = current_schema()),
  (SELECT string_agg(indexdef, ',' ORDER BY indexdef)
     FROM pg_indexes WHERE schemaname = current_schema()),
  (SELECT string_agg(tgname || ':' || tgrelid::regclass::text, ',' ORDER BY tgname)
     FROM pg_trigger WHERE NOT tgisinternal),
  (SELECT string_agg(p.proname, ',' ORDER BY p.proname) FROM pg_proc p
     JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema()),
  (SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace
     WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'),
  (SELECT string_agg(version::text, ',') FROM schema_version)
))
"""


async def lend_database(server: PostgresServer, template: str | None = None) -> str:
    """A fresh database for one test: empty, or a copy of ``template``; give it back after.

    ``CREATE DATABASE`` costs the server ~0.15 s of CPU; resetting a given-back one ~0.01 s,
    so a database another test of this process gave back (and :func:`give_back` reset to
    exactly what a new one is) is lent again instead of creating one.
    """
    spare = server.spare.setdefault(template or "", [])
    if spare:
        return spare.pop()
    url = await create_database(server, template)
    if template and template not in server.signatures:
        server.signatures[template] = await KEPT.run(url, _signature)
    return url


async def give_back(server: PostgresServer, url: str, template: str | None = None) -> None:
    """Reset a lent database to what :func:`lend_database` hands out, to lend again; drop it
    instead when it no longer has the schema a new one has (a test changed it)."""
    try:
        if template:
            if await KEPT.run(url, _signature) != server.signatures.get(template):
                await drop_database(server, url)
                return
            await empty_database(url)
        else:
            await KEPT.run(url, _clear_schema)
    except Exception:
        await drop_database(server, url)
        raise
    server.spare.setdefault(template or "", []).append(url)


async def _signature(conn: Any) -> str:
    return str(await conn.fetchval(_SIGNATURE))


async def _clear_schema(conn: Any) -> None:
    """An empty database again: the connections left closed, the public schema new."""
    await conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid();"
        " DROP SCHEMA public CASCADE;"
        " CREATE SCHEMA public AUTHORIZATION pg_database_owner;"
        " GRANT USAGE ON SCHEMA public TO PUBLIC;"
    )
    others = await conn.fetchval(
        "SELECT count(*) FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%'"
        " AND nspname NOT IN ('public', 'information_schema')"
    )
    if others:
        raise RuntimeError("schemas besides public are left")
