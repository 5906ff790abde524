"""Test order for the parallel run: the few long tests first.

pytest-xdist hands tests to its workers in collection order, so a long test collected last (the
fresh-interpreter layer check, a real browser, the benchmark) would run alone at the
end while the other worker sits idle. Started first, they overlap with everything else. They
also land on one worker together (pytest-xdist's first batch for each worker is a run of
consecutive tests), which keeps the tests that wait on real time off the other worker and the
chart worker's start to one process. Only the order changes; which tests run, and what they
check, does not.
"""

from __future__ import annotations

import pytest

__all__ = ["pytest_collection_modifyitems"]

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
    # Lock timeouts (a held write lock waited out): with the waits above on one worker, not
    # waiting at the same moment as them on the other, which leaves both cores idle.
    "tests/e2e/test_busy_store.py::",
    "tests/db/test_class_write_locks.py::",
    "tests/e2e/dashboard/test_gains.py::",
    "tests/e2e/dashboard/test_projector.py::",
    # The other tests that render a chart. pytest-xdist's first batch for a worker is the first
    # quarter of the tests split between the workers (~129 each), so with the browser, gains
    # and demo tests above these run on the same worker: only that worker's chart worker
    # starts (importing matplotlib is ~0.7 s of CPU per test process). Were one to land on the
    # other worker, it would start its own, as before.
    "tests/e2e/test_progress.py::",
    "tests/e2e/test_lessons.py::",
    "tests/e2e/test_weekly_pair_prize.py::",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the long tests to the front, keeping every other test's relative order."""

    def rank(item: pytest.Item) -> int:
        for place, prefix in enumerate(LONG_FIRST):
            if item.nodeid.startswith(prefix):
                return place
        return len(LONG_FIRST)

    items.sort(key=rank)
