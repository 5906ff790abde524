"""A busy, read-only or otherwise unwritable database: every interaction is still answered.

Another process holding the write lock is a real ``sqlite3`` connection in ``BEGIN IMMEDIATE``;
a read-only file is one the operating system refuses to open for writing.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.conftest import Classroom


@contextmanager
def write_lock_held(path: Path) -> Iterator[None]:
    """Another process's connection holding the database's write lock (like a backup tool)."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


@contextmanager
def read_only_file(path: Path) -> Iterator[None]:
    """The database file cannot be opened for writing (for root too: the immutable flag)."""
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip("cannot make a file read-only for root here (no chattr)")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)


def award_rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM awards").fetchone()[0])


async def test_locked_database_defers_then_says_busy_and_writes_nothing(
    classroom: Classroom, caplog: pytest.LogCaptureFixture
) -> None:
    assert classroom.bot is not None and classroom.db is not None
    path = classroom.config.database.path
    # Fast test: wait 0.3 s for the lock instead of 5 s, defer straight away instead of at 2 s.
    await classroom.db.set_busy_timeout(300)
    classroom.bot.tree.ack_after_s = 0.01
    caplog.set_level(logging.WARNING)
    with write_lock_held(path):
        result = await classroom.slash(
            classroom.teacher, "award give", student=classroom.alice, kind="gold_star"
        )
        asked = await classroom.slash(classroom.bob, "helpme ask", subject="Math")
    for answer in (result, asked):
        assert answer.deferred  # acknowledged before the store answered
        assert answer.ephemeral
        assert "ClassMentor is busy, try again in a moment." in answer.content
        assert "went wrong" not in answer.content
    assert award_rows(path) == 0
    assert classroom.sim.messages(classroom.announcements) == []
    refused = [r for r in caplog.records if "another process holds a lock" in r.getMessage()]
    assert refused and all(r.exc_info is None for r in refused)  # one clear line, no traceback
    # The lock is gone: the same command works, exactly once.
    again = await classroom.slash(
        classroom.teacher, "award give", student=classroom.alice, kind="gold_star"
    )
    assert "received **Gold star" in again.content
    assert award_rows(path) == 1


async def test_fast_store_answers_directly_without_deferring(classroom: Classroom) -> None:
    result = await classroom.slash(classroom.alice, "subject list")
    assert not result.deferred
    assert "**English**, **Math**" in result.content


async def test_read_only_database_gets_a_clear_answer_and_no_crash(
    classroom: Classroom, caplog: pytest.LogCaptureFixture
) -> None:
    path = classroom.config.database.path
    await classroom.stop()
    with read_only_file(path):
        await classroom.start()  # starts: reads work, nothing to migrate
        caplog.set_level(logging.WARNING)
        result = await classroom.slash(
            classroom.teacher, "award give", student=classroom.alice, kind="gold_star"
        )
        assert "read-only" in result.content and "Nothing was changed" in result.content
        assert any("permissions" in r.getMessage() for r in caplog.records)
        listed = await classroom.slash(classroom.alice, "subject list")  # reading still works
        assert "**English**, **Math**" in listed.content
        await classroom.stop()
    await classroom.start()
    assert award_rows(path) == 0
