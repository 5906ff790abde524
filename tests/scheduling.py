"""Which test runs where, and in what order, in the parallel run.

Tests that mostly wait on real time (a production window a test proves, a lock timeout, a rate
limit's reset) leave their worker's CPU idle while they wait: each worker is pinned to a CPU
(tests/conftest.py ``_pin_worker``), and the other worker cannot use it. With three or more
workers the last one is the *waiting worker*: it collects only the waiting tests
(:data:`WAITING`) and runs them all, so their waits overlap the other workers' CPU work instead
of idling a core. It is pinned like the others, beside the last of them (it needs little CPU;
unpinned it measured ~1 s more CPU per run). The other workers share every other
test through :class:`SuiteScheduling`: the first takes tests from the front of the collection,
the others from the back, in chunks that shrink as the tests run out, so they finish together
and each module's tests mostly stay on one worker (its module fixtures set up once). With two
workers (or one) there is no waiting worker and the waiting tests are shared like the rest.

The collection order puts the few long tests first (:data:`LONG_FIRST`): started early they
overlap with everything else. They land on the first worker, with every test that renders a
chart, so only that worker starts a chart worker (importing matplotlib is ~0.7 s of CPU per test
process). Only the order and the worker change; which tests run, and what they check, does not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from xdist.workermanage import WorkerController

__all__ = [
    "pytest_collection_modifyitems",
    "pytest_ignore_collect",
    "pytest_sessionstart",
    "pytest_xdist_make_scheduler",
    "waiting_worker",
]

# Node id prefixes of the tests that mostly wait on real time, not the CPU (measured: wall
# minus CPU per file), for the waiting worker. None renders a chart (the waiting worker would
# start a chart worker of its own); the PostgreSQL server is the run's (tests/postgres.py).
WAITING = (
    # Discord's rate-limit windows (each test waits for a bucket's reset).
    "tests/simulator/test_rate_limits.py::",
    # The queue notice's production 2 s window.
    "tests/e2e/test_queue_notice.py::",
    # Busy timeouts against a held SQLite write lock.
    "tests/e2e/test_busy_store.py::",
    # Bot processes started pinned to a CPU (waits for their start and their answer).
    "tests/unit/test_cpu.py::",
    # Lock and statement timeouts on PostgreSQL, two stores and CLI processes on one database.
    "tests/db/test_postgres.py::",
    "tests/db/test_class_write_locks.py::",
    "tests/db/test_cli_postgres.py::",
    "tests/db/test_two_processes.py::",
)

# Node id prefixes of tests that take seconds each (they wait on a subprocess, a browser or
# real-time windows), longest first.
LONG_FIRST = (
    "tests/e2e/dashboard/test_browser.py::",
    "tests/test_layers.py::test_every_module_imports_on_its_own_in_a_fresh_interpreter",
    "tests/unit/test_bench.py::",
    "tests/e2e/test_queue_notice.py::",
    "tests/e2e/test_postgres_shards.py::",
    "tests/e2e/test_demo.py::",
    "tests/simulator/test_rate_limits.py::",
    # Lock timeouts (a held write lock waited out).
    "tests/e2e/test_busy_store.py::",
    "tests/db/test_class_write_locks.py::",
    "tests/e2e/dashboard/test_gains.py::",
    "tests/e2e/dashboard/test_projector.py::",
    # The other tests that render a chart: with the browser, gains and demo tests above they
    # run on the first worker, the only one that then starts a chart worker.
    "tests/e2e/test_progress.py::",
    "tests/e2e/test_lessons.py::",
    "tests/e2e/test_weekly_pair_prize.py::",
)


def waiting_worker(count: int) -> str | None:
    """The id of the waiting worker among ``count`` xdist workers (the last one), if any."""
    return f"gw{count - 1}" if count >= 3 else None


def _is_waiting_worker(config: pytest.Config) -> bool:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is None:
        return False
    return bool(workerinput["workerid"] == waiting_worker(int(workerinput["workercount"])))


def _waiting(nodeid: str) -> bool:
    return nodeid.startswith(WAITING)


_SESSION = pytest.StashKey[pytest.Session]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Keep the session where the scheduler finds it (it corrects the run's test count)."""
    session.config.stash[_SESSION] = session


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The waiting worker does not import the test modules it will not run (~0.6 s of CPU)."""
    if not _is_waiting_worker(config) or not collection_path.name.startswith("test_"):
        return None
    if collection_path.suffix != ".py":
        return None
    try:
        relative = collection_path.relative_to(config.rootpath).as_posix()
    except ValueError:
        return None
    return not any(prefix.startswith(relative + "::") for prefix in WAITING)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Move the long tests to the front, keeping every other test's relative order; on the
    waiting worker, keep only the waiting tests."""
    if _is_waiting_worker(config):
        items[:] = [item for item in items if _waiting(item.nodeid)]

    def rank(item: pytest.Item) -> int:
        for place, prefix in enumerate(LONG_FIRST):
            if item.nodeid.startswith(prefix):
                return place
        return len(LONG_FIRST)

    items.sort(key=rank)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> SuiteScheduling | None:
    """:class:`SuiteScheduling` for xdist's default distribution (``--dist load``)."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.workermanage import parse_tx_spec_config

    return SuiteScheduling(config, len(parse_tx_spec_config(config)), log.suitesched)


class SuiteScheduling:
    """pytest-xdist's scheduler for this suite (see the module's docstring).

    Implements xdist's ``Scheduling`` protocol. Indices sent to a worker are into that
    worker's own collection (the waiting worker collects a part of the tests); the shared queue
    holds indices into the full collection, which every other worker collects identically.
    """

    def __init__(self, config: pytest.Config, numnodes: int, log: Callable[..., None]) -> None:
        self.numnodes = numnodes
        self.config = config
        self.log = log
        self.waiting_id = waiting_worker(self.numnodes)
        self.node2collection: dict[WorkerController, list[str]] = {}
        self.node2pending: dict[WorkerController, list[int]] = {}
        self.collection: list[str] | None = None
        self.index: dict[str, int] = {}  # node id -> place in the full collection
        self.pending: list[int] = []  # the shared queue, in collection order

    # -- xdist's Scheduling protocol -----------------------------------------------------------

    @property
    def nodes(self) -> list[WorkerController]:
        return list(self.node2pending)

    @property
    def collection_is_completed(self) -> bool:
        return len(self.node2collection) >= self.numnodes

    @property
    def tests_finished(self) -> bool:
        if not self.collection_is_completed or self.pending:
            return False
        return all(len(pending) < 2 for pending in self.node2pending.values())

    @property
    def has_pending(self) -> bool:
        return bool(self.pending) or any(self.node2pending.values())

    def add_node(self, node: WorkerController) -> None:
        assert node not in self.node2pending
        self.node2pending[node] = []

    def add_node_collection(self, node: WorkerController, collection: Sequence[str]) -> None:
        assert node in self.node2pending
        if self.collection is not None and not self._fits(node, list(collection)):
            return  # a replacement worker that collected something else: it gets no tests
        self.node2collection[node] = list(collection)

    def mark_test_complete(
        self, node: WorkerController, item_index: int, duration: float = 0
    ) -> None:
        self.node2pending[node].remove(item_index)
        self.check_schedule(node)

    def mark_test_pending(self, item: str) -> None:
        assert self.collection is not None
        self.pending.insert(0, self.index[item])
        for node in self.nodes:
            self.check_schedule(node)

    def remove_pending_tests_from_node(
        self, node: WorkerController, indices: Sequence[int]
    ) -> None:
        raise NotImplementedError  # only for schedulers that steal tests back

    def remove_node(self, node: WorkerController) -> str | None:
        """A worker finished or crashed: what it had not run goes back to the shared queue
        (the first of them, the one it was running, is the crash's)."""
        pending = self.node2pending.pop(node)
        collection = self.node2collection.get(node, [])
        if not pending:
            return None
        crashed, *rest = (collection[local] for local in pending)
        self.pending[:0] = sorted(self.index[nodeid] for nodeid in rest)
        for other in self.nodes:
            self.check_schedule(other)
        return crashed

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is not None:
            for node in self.nodes:
                self.check_schedule(node)
            return
        if not self._collections_agree():
            self.log("**Different tests collected, aborting run**")
            return
        assert self.collection is not None
        # xdist counts the run's tests from whichever worker finished collecting last, and the
        # waiting worker collects only the waiting tests: last, it made the progress figures
        # wrong and a run without waiting tests end with exit code 5, "no tests collected".
        session = self.config.stash.get(_SESSION, None)
        if session is not None:
            session.testscollected = len(self.collection)
        waiting = self._waiting_node()
        shared = list(range(len(self.collection)))
        if waiting is not None:
            # Everything it collected, at once; then it may finish.
            local = list(range(len(self.node2collection[waiting])))
            if local:
                self.node2pending[waiting].extend(local)
                waiting.send_runtest_some(local)
            waiting.shutdown()
            taken = {self.index[nodeid] for nodeid in self.node2collection[waiting]}
            shared = [place for place in shared if place not in taken]
        self.pending[:] = shared
        for node in self.nodes:
            self.check_schedule(node)

    # -- the shared queue ----------------------------------------------------------------------

    def check_schedule(self, node: WorkerController, duration: float = 0) -> None:
        """Top the worker up from its end of the queue while it has fewer than three tests (a
        worker runs a test only once it knows the next one), or let it finish."""
        if node.shutting_down or node is self._waiting_node() or self.collection is None:
            return
        if not self.pending:
            node.shutdown()
            return
        if len(self.node2pending[node]) >= 3:
            return
        sharing = sum(1 for other in self.nodes if other is not self._waiting_node())
        chunk = max(3 - len(self.node2pending[node]), len(self.pending) // (4 * max(sharing, 1)))
        front = self._takes_from_front(node)
        chunk = self._to_module_end(chunk, from_front=front)
        if front:
            places, self.pending[:chunk] = self.pending[:chunk], []
        else:
            places, self.pending[-chunk:] = self.pending[-chunk:], []
        # A sharing worker collected the full collection (see _fits): its indices are ours.
        self.node2pending[node].extend(places)
        node.send_runtest_some(places)
        self.log("tests in the shared queue:", len(self.pending))

    def _to_module_end(self, chunk: int, *, from_front: bool) -> int:
        """Grow a chunk (by at most itself) to its module's end, so a module's tests run
        together on one worker."""
        assert self.collection is not None
        collection = self.collection
        chunk = min(chunk, len(self.pending))
        limit = min(2 * chunk, len(self.pending))

        def module(nth: int) -> str:
            place = self.pending[nth] if from_front else self.pending[-1 - nth]
            return collection[place].split("::", 1)[0]

        while chunk < limit and module(chunk) == module(chunk - 1):
            chunk += 1
        return chunk

    def _takes_from_front(self, node: WorkerController) -> bool:
        """The lowest-numbered sharing worker (gw0) takes from the front, the others from the
        back."""
        sharing = [other for other in self.nodes if other is not self._waiting_node()]
        first = min(sharing, key=lambda other: int(other.gateway.id.removeprefix("gw")))
        return node is first

    def _waiting_node(self) -> WorkerController | None:
        for node in self.node2pending:
            if node.gateway.id == self.waiting_id:
                return node
        return None

    def _fits(self, node: WorkerController, collection: list[str]) -> bool:
        assert self.collection is not None
        if node.gateway.id == self.waiting_id:
            return all(nodeid in self.index for nodeid in collection)
        return collection == self.collection

    def _collections_agree(self) -> bool:
        """Every worker but the waiting one collected the same tests; the waiting one a part
        of them. Reports the difference otherwise, as xdist's own schedulers do."""
        from xdist.report import report_collection_diff

        full = [
            (node, collection)
            for node, collection in self.node2collection.items()
            if node.gateway.id != self.waiting_id
        ]
        if not full:
            return False
        first, reference = full[0]
        agree = True
        for node, collection in full[1:]:
            message = report_collection_diff(
                reference, collection, first.gateway.id, node.gateway.id
            )
            if message:
                agree = False
                self._report(node, message)
        self.collection = reference
        self.index = {nodeid: place for place, nodeid in enumerate(reference)}
        waiting = self._waiting_node()
        if waiting is not None:
            strays = [n for n in self.node2collection.get(waiting, []) if n not in self.index]
            if strays:
                agree = False
                self._report(waiting, f"collected tests the others did not: {strays[:5]}")
        if not agree:
            self.collection = None
        return agree

    def _report(self, node: WorkerController, message: str) -> None:
        self.log(message)
        report = pytest.CollectReport(
            nodeid=node.gateway.id, outcome="failed", longrepr=message, result=[]
        )
        self.config.hook.pytest_collectreport(report=report)
