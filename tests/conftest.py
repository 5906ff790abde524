"""Fixtures shared by every test tier: a real, migrated store and a clock tests can move.

The store is an SQLite file; in tests/db and tests/services the ``db`` (and so ``services``)
fixture runs each test twice, on SQLite and on a real PostgreSQL (ids ``sqlite`` and
``postgresql``; see tests/postgres.py for the server the suite starts itself).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from bot.clock import ManualClock
from bot.config import Config
from tests import postgres, scheduling, scratch
from tests.scheduling import (  # noqa: F401 - which test runs where, and when
    pytest_ignore_collect,
    pytest_sessionstart,
    pytest_xdist_make_scheduler,
    waiting_worker,
)

# The bot and the store are imported by the fixtures that build them, not with this file: the
# xdist controller loads this file too but runs no test (~0.45 s of CPU and of start-up wall
# before the workers start); each worker imports them when it collects the tests anyway.
if TYPE_CHECKING:
    from bot.services import Services
    from db.database import Database

# A Wednesday morning in term time, so "this week" has a past and a future.
START = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    """A clock that stands still until the test moves it."""
    return ManualClock(START)


@pytest.fixture
def config() -> Config:
    """The documented defaults."""
    return Config()


# The store tests' folders: their store fixtures run on both engines, and their tests and async
# fixtures in the session's event loop (one per test process), so the ``db`` fixture's
# PostgreSQL connections outlive a test (postgres.WarmStore). Their async fixtures say
# ``loop_scope="session"`` too (a fixture's loop is its own choice).
STORE_TESTS = ("tests/db/", "tests/services/")
ENGINES = ("sqlite", "postgresql")


def _is_store_test(path: Path) -> bool:
    return any(f"/{folder}" in path.as_posix() for folder in STORE_TESTS)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``store_engine`` (behind ``db``) is both engines in tests/db and tests/services."""
    if "store_engine" not in metafunc.fixturenames:
        return
    if _is_store_test(metafunc.definition.path):
        only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
        engines = ENGINES[:1] if only_sqlite else ENGINES
        metafunc.parametrize("store_engine", engines, ids=engines)


# Allocations (less deallocations) between two young-generation collections; CPython's default
# is 700. A test process makes cyclic garbage by the million (every bot, simulator, request and
# event loop a test starts): collecting it in larger batches halved the workers' collection time
# (~2.9 s -> ~1.4 s per run) for a few MB more memory. Garbage is still collected; only later.
YOUNG_COLLECTION_THRESHOLD = 10_000


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The store tests' coroutines run in the session's event loop (see STORE_TESTS); then
    the order and the waiting worker's share (tests/scheduling.py)."""
    in_session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if item.get_closest_marker("asyncio") is not None and _is_store_test(item.path):
            item.add_marker(in_session_loop, append=False)
    scheduling.pytest_collection_modifyitems(config, items)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Keep the collector off the test process's start-up heap (bot/heap.py does the same for a
    bot process): the modules, the collected tests and their fixtures live until the process
    ends, and every full collection walked them again (~0.25 s of CPU per 9 s of tests). Then
    collect young garbage in larger batches (see above), and pin an xdist worker to its CPU."""
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, oldest)
    if hasattr(session.config, "workerinput"):
        # Pinned once collected, not when it starts: xdist hands out tests only when every
        # worker has collected, and the three collect faster on both CPUs than two of them on
        # one (~0.7 s less wall per run, measured). No test has run yet, so no thread either.
        workerinput = session.config.workerinput
        _pin_worker(workerinput["workerid"], int(workerinput["workercount"]))


@pytest.hookimpl(trylast=True)  # after the test's fixtures are torn down
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Let the garbage collector have the web servers a test stopped (its simulated Discord,
    its dashboard). aiohttp memoises each handler with its middlewares in a module-level cache
    of 1,024 entries, keyed by the handler and its application: in one process running many
    tests that kept the last ~70 tests' simulators alive, every message and request they
    recorded included (~300,000 objects), and each full collection walked them all again.
    Clearing the memo only makes the next request build its middleware chain again."""
    import aiohttp.web_app

    memo = getattr(aiohttp.web_app, "_cached_build_middleware", None)
    if memo is not None:
        memo.cache_clear()


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        # Before anything makes a temporary file; the workers and servers inherit it.
        scratch.use_memory_for_scratch()
    # In the processes that run tests: an xdist worker, or a run without workers (not xdist's
    # controller, which only hands tests out).
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        use_speed_independent_hypothesis()
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        # xdist's controller, before it starts the workers: they share one PostgreSQL server.
        config.stash[_POSTGRES_RUN] = postgres.prepare_test_run()
    config.addinivalue_line(
        "markers",
        "first_start: an end-to-end class fixture (world, classroom...) or the shard tests' "
        "school starts its bot for the very first time (it syncs its slash commands) and sets "
        "the class up through it; otherwise it starts from a snapshot, as a bot that ran before",
    )
    config.addinivalue_line(
        "markers",
        "sqlite_only(why): the test checks SQLite itself (its pragmas, its file); the db "
        "fixture runs it on SQLite only",
    )


_POSTGRES_RUN = pytest.StashKey[Path]()


@pytest.hookimpl(trylast=True)  # after xdist has stopped its workers
def pytest_unconfigure(config: pytest.Config) -> None:
    """In xdist's controller: stop the server the workers shared, also after an interrupted
    run (a controller killed outright leaves it to the server's watchdog)."""
    run = config.stash.get(_POSTGRES_RUN, None)
    if run is not None:
        postgres.finish_test_run(run)


def _pin_worker(worker_id: str, count: int) -> None:
    """Each xdist worker on a CPU of its own, as ``[ops] cpu`` does for a bot process: a test's
    bot, simulator and database threads hand work to each other all the time, and across two
    CPUs each hand-off is a wake-up on the other CPU (docs/benchmarks-speed.md, "One CPU per bot
    process"). Measured: ~10 % less CPU and ~3-4 s less wall per run on two cores. What a worker
    starts (Chromium, bot processes) shares its CPU; the chart worker and the run's PostgreSQL
    server use them all.

    The waiting worker (tests/scheduling.py) needs little CPU: it shares the last sharing
    worker's CPU, not the first's, which starts with the browser tests and the chart worker
    (measured ~0.5 s less wall, ~1 s less CPU than unpinned)."""
    import os

    from bot.cpu import can_pin, pin_to_cpu

    if not can_pin():
        return

    cpus = sorted(os.sched_getaffinity(0))
    number = int(worker_id.removeprefix("gw"))
    if worker_id == waiting_worker(count):
        number = count - 2
    pin_to_cpu(cpus[number % len(cpus)])


def use_speed_independent_hypothesis() -> None:
    """No property test may depend on the machine's speed.

    Hypothesis's default deadline (200 ms per example) fails a test when one example happens to
    be slow, and on two shared cores one can be: a full garbage collection, the other worker,
    PostgreSQL or Chromium taking the core. Its "too slow" health check times the data
    generation the same way. Each test still runs every example it asks for and asserts the
    same. Loaded before the test modules are imported: ``@settings(...)`` copies the profile's
    values when it decorates.
    """
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "classmentor", deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    settings.load_profile("classmentor")


@pytest.fixture
def store_engine() -> str:
    """The engine the ``db`` fixture opens (SQLite unless parametrised, see above)."""
    return "sqlite"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    """The run's PostgreSQL server (shared by the xdist workers; a server of its own in a run
    without workers), stopped and deleted when the run ends.

    Skips when the server binaries are missing, or fails when CLASSMENTOR_REQUIRE_POSTGRES=1.
    """
    try:
        server_cm = postgres.shared_server()
        server = server_cm.__enter__()
    except postgres.PostgresUnavailable as exc:
        if postgres.required():
            pytest.fail(f"{exc} ({postgres.REQUIRE_ENV}=1 makes PostgreSQL tests mandatory)")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    try:
        yield server
    finally:
        server_cm.__exit__(None, None, None)


@pytest.fixture(scope="session")
def postgres_template(postgres_server: postgres.PostgresServer) -> str:
    """A migrated database on the test server that per-test databases are copied from (one
    per run: the workers share it)."""
    return postgres.shared_template(postgres_server)


@pytest.fixture(scope="session")
def postgres_store_url(postgres_server: postgres.PostgresServer, postgres_template: str) -> str:
    """The migrated database the ``db`` fixture empties and reuses for each test of a process."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(
            asyncio.run, postgres.create_database(postgres_server, postgres_template)
        ).result()


@pytest_asyncio.fixture(loop_scope="session")  # see STORE_TESTS
async def postgres_url(postgres_server: postgres.PostgresServer) -> AsyncIterator[str]:
    """The URL of a fresh, empty PostgreSQL database (reset or dropped after the test)."""
    url = await postgres.lend_database(postgres_server)
    yield url
    await postgres.give_back(postgres_server, url)


@pytest_asyncio.fixture(loop_scope="session")  # see STORE_TESTS
async def migrated_postgres_url(
    postgres_server: postgres.PostgresServer, postgres_template: str
) -> AsyncIterator[str]:
    """The URL of a fresh PostgreSQL database with every migration applied (a template copy,
    reset or dropped after the test)."""
    url = await postgres.lend_database(postgres_server, postgres_template)
    yield url
    await postgres.give_back(postgres_server, url, postgres_template)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def warm_postgres() -> AsyncIterator[postgres.WarmStore]:
    """The PostgreSQL store connections the ``db`` fixture keeps warm in this test process."""
    store = postgres.WarmStore()
    yield store
    await store.close()


@pytest_asyncio.fixture(loop_scope="session")  # see STORE_TESTS
async def db(
    request: pytest.FixtureRequest,
    store_engine: str,
    tmp_path: Path,
    warm_postgres: postgres.WarmStore,
) -> AsyncIterator[Database]:
    """A real store with every migration applied: an SQLite file, or (``store_engine``
    ``postgresql``) an emptied PostgreSQL database on connections kept warm between tests."""
    from db.database import Database
    from tests.fast_db import copy_migrated

    if store_engine != "postgresql":
        # A copy of a file migrated once per process: the same schema, without 15 migrations.
        database = await Database.open(await copy_migrated(tmp_path / "classmentor.db"))
        await database.migrate()
        yield database
        await database.close()
        return
    # Sync session fixtures only: an async one cannot be set up from inside this one.
    url = request.getfixturevalue("postgres_store_url")
    yield await warm_postgres.lend(url)


@pytest.fixture
def services(config: Config, db: Database, clock: ManualClock) -> Services:
    """All services over the test database and clock."""
    from bot.wiring import build_services

    return build_services(config, db, clock)
