"""The suite's own xdist scheduler (tests/scheduling.py), driven like xdist drives it: workers
that run a test once they know the next one (or were told to finish), and report each test."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from tests.scheduling import SuiteScheduling, pytest_sessionstart, waiting_worker


@dataclass(eq=False)
class Worker:
    """What the scheduler sees of an xdist worker (``WorkerController``)."""

    id: str
    queue: list[int] = field(default_factory=list)  # indices into its own collection
    ran: list[int] = field(default_factory=list)
    shutting_down: bool = False

    @property
    def gateway(self) -> Any:
        return SimpleNamespace(id=self.id)

    def send_runtest_some(self, indices: list[int]) -> None:
        assert not self.shutting_down
        self.queue.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True

    def can_run(self) -> bool:
        return len(self.queue) >= 2 or (self.shutting_down and bool(self.queue))


class Collected:
    """A config whose hook records the collection errors the scheduler reports."""

    def __init__(self) -> None:
        self.reports: list[pytest.CollectReport] = []
        self.stash = pytest.Stash()
        self.hook = SimpleNamespace(pytest_collectreport=self._record)

    def _record(self, report: pytest.CollectReport) -> None:
        self.reports.append(report)


FULL = [f"tests/{module}/test_{module}.py::test_{n}" for module in "abcdef" for n in range(9)]


def started(
    collections: dict[str, list[str]], config: Collected | None = None
) -> tuple[SuiteScheduling, dict[str, Worker], Collected]:
    config = config or Collected()
    scheduler = SuiteScheduling(config, len(collections), log=lambda *args: None)  # type: ignore[arg-type]
    workers = {name: Worker(name) for name in collections}
    for worker in workers.values():
        scheduler.add_node(worker)
    for name, collection in collections.items():
        scheduler.add_node_collection(workers[name], collection)
    assert scheduler.collection_is_completed
    scheduler.schedule()
    return scheduler, workers, config


def run_all(scheduler: SuiteScheduling, workers: dict[str, Worker], order: list[str]) -> None:
    """Each worker in turn runs one test when it can, until none can."""
    while any(worker.can_run() for worker in workers.values()):
        for name in order:
            worker = workers[name]
            if worker.can_run():
                index = worker.queue[0]
                worker.ran.append(index)
                worker.queue.remove(index)
                scheduler.mark_test_complete(worker, index)


def test_two_workers_share_every_test_once_from_both_ends_and_finish() -> None:
    scheduler, workers, config = started({"gw0": FULL, "gw1": FULL})
    run_all(scheduler, workers, ["gw0", "gw1"])
    gw0, gw1 = workers["gw0"].ran, workers["gw1"].ran
    assert sorted(gw0 + gw1) == list(range(len(FULL)))
    # gw0 from the front, gw1 from the back: they meet once, and modules stay whole but one.
    assert gw0[0] == 0 and gw1[0] > gw0[-1] and max(gw0) < min(gw1)
    assert abs(len(gw0) - len(gw1)) <= 3  # equally fast workers finish together
    assert scheduler.tests_finished and all(w.shutting_down for w in workers.values())
    assert config.reports == []


def test_the_waiting_worker_runs_exactly_its_tests_and_the_others_the_rest() -> None:
    waiting = [nodeid for nodeid in FULL if "test_c.py" in nodeid]
    assert waiting_worker(3) == "gw2" and waiting_worker(2) is None
    scheduler, workers, _ = started({"gw0": FULL, "gw1": FULL, "gw2": waiting})
    assert workers["gw2"].queue == list(range(len(waiting))) and workers["gw2"].shutting_down
    run_all(scheduler, workers, ["gw0", "gw1", "gw2"])
    shared = [FULL[i] for i in workers["gw0"].ran + workers["gw1"].ran]
    assert sorted(shared) == sorted(set(FULL) - set(waiting))
    assert [waiting[i] for i in workers["gw2"].ran] == waiting
    assert scheduler.tests_finished


def test_a_crashed_workers_tests_go_to_another_worker() -> None:
    scheduler, workers, _ = started({"gw0": FULL, "gw1": FULL})
    gw0 = workers["gw0"]
    running, *left = gw0.queue
    assert scheduler.remove_node(gw0) == FULL[running]
    del workers["gw0"]
    run_all(scheduler, workers, ["gw1"])
    assert sorted(workers["gw1"].ran) == [i for i in range(len(FULL)) if i != running]
    assert set(left) <= set(workers["gw1"].ran) and scheduler.tests_finished


def test_workers_that_collected_different_tests_get_none_and_the_run_ends() -> None:
    scheduler, workers, config = started({"gw0": FULL, "gw1": FULL[:-1]})
    assert [w.queue for w in workers.values()] == [[], []]
    assert len(config.reports) == 1 and config.reports[0].outcome == "failed"
    assert scheduler.tests_finished  # as with xdist's own schedulers: the error is the result


def test_the_run_counts_every_test_even_when_the_waiting_worker_collects_last() -> None:
    # xdist takes the run's count from the worker that finished collecting last: the waiting
    # worker, with no test of its own in this run, would make it 0 and the exit code 5.
    config = Collected()
    session = SimpleNamespace(config=config, testscollected=0)
    pytest_sessionstart(session)  # type: ignore[arg-type]
    scheduler, workers, _ = started({"gw0": FULL, "gw1": FULL, "gw2": []}, config)
    assert session.testscollected == len(FULL)
    run_all(scheduler, workers, ["gw0", "gw1", "gw2"])
    assert sorted(workers["gw0"].ran + workers["gw1"].ran) == list(range(len(FULL)))
