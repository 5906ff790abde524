"""A busy, read-only or otherwise unwritable database: every interaction is still answered.

Another process holding the write lock is a real ``sqlite3`` connection in ``BEGIN IMMEDIATE``;
a read-only file is one the operating system refuses to open for writing.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Classroom
from tests.faults import read_only_file, write_lock_held


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


async def test_a_weekly_post_due_while_the_database_is_locked_is_retried(
    classroom: Classroom,
) -> None:
    from tests.e2e.test_recognition import FRIDAY_POST, move_to, weekly_posts

    assert classroom.db is not None
    await classroom.db.set_busy_timeout(100)
    with write_lock_held(classroom.config.database.path):
        await move_to(classroom, FRIDAY_POST)
    assert weekly_posts(classroom) == []
    await move_to(classroom, FRIDAY_POST + timedelta(minutes=10))  # the retry
    assert len(weekly_posts(classroom)) == 1


async def until_deferred(room: Classroom, label: str) -> None:
    """Wait until the simulated Discord saw the bot defer an interaction (an event, not a time)."""
    for _ in range(1000):
        if any(p.label == label and p.response_type in (5, 6) for p in _interactions(room)):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{label} was never deferred")


def _interactions(room: Classroom) -> list[Any]:
    return list(room.sim.api.interactions.values())


async def test_a_slow_store_is_deferred_then_the_real_answer_follows(classroom: Classroom) -> None:
    assert classroom.bot is not None
    classroom.bot.tree.ack_after_s = 0.01
    path = classroom.config.database.path
    with write_lock_held(path):  # the store answers only once the test lets go of the lock
        give = asyncio.create_task(
            classroom.slash(
                classroom.teacher, "award give", student=classroom.dan, kind="gold_star"
            )
        )
        await until_deferred(classroom, "/award give")
    result = await give
    assert result.deferred and result.ephemeral
    assert "received **Gold star" in result.content
    assert award_rows(path) == 1


async def test_a_slow_button_is_deferred_then_its_message_is_updated(
    classroom: Classroom,
) -> None:
    from tests.e2e.test_recognition import THURSDAY_SUGGESTION, confirmed_session, move_to

    assert classroom.bot is not None
    await confirmed_session(classroom, classroom.alice, classroom.bob)
    await move_to(classroom, THURSDAY_SUGGESTION)
    (notice,) = classroom.sim.messages(classroom.mentors_channel)
    [(_, custom_id, _)] = notice.buttons()
    assert custom_id is not None
    classroom.bot.tree.ack_after_s = 0.01
    with write_lock_held(classroom.config.database.path):
        click = asyncio.create_task(classroom.sim.click(classroom.teacher, notice, custom_id))
        await until_deferred(classroom, f"component {custom_id!r}")
    await click
    await classroom.sim.settle()
    for _ in range(1000):  # the edit follows the deferral once the store answers
        if notice.buttons() == []:
            break
        await asyncio.sleep(0.01)
    assert "made" in notice.content and notice.buttons() == []
    assert award_rows(classroom.config.database.path) == 1
