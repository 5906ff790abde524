"""Counting the jobs an SQLite store hands its database thread (aiosqlite's calls and the
COMMITs queued without waiting alike): how tests check that a unit of work is one hop."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from db.database import Database

__all__ = ["jobs_handed_over"]


@contextlib.contextmanager
def jobs_handed_over(db: Database) -> Iterator[list[Any]]:
    """Every job put in ``db``'s write connection's queue while the block runs, in order."""
    writer = db._conn
    assert writer is not None, "an SQLite store"
    queue = writer._tx
    jobs: list[Any] = []

    class Counted:
        def put_nowait(self, job: Any) -> None:
            jobs.append(job)
            queue.put_nowait(job)

    writer._tx = Counted()  # type: ignore[assignment]
    try:
        yield jobs
    finally:
        writer._tx = queue
