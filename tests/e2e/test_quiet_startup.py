"""Start-up with many open help requests logs one summary line, not a line per timer."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from db.timefmt import to_db
from tests.e2e.conftest import Classroom

OPEN_REQUESTS = 300


async def test_a_restart_with_many_open_requests_logs_a_summary(
    classroom: Classroom, caplog: pytest.LogCaptureFixture
) -> None:
    assert classroom.db is not None
    now = classroom.clock.now()
    async with classroom.db.transaction() as conn:
        subject = next(
            iter(await conn.execute_fetchall("SELECT id FROM subjects ORDER BY id LIMIT 1"))
        )[0]
        rows = [
            (
                classroom.guild.id,
                subject,
                10_000 + n,
                "offered" if n % 2 else "active",
                9_000 + n,
                to_db(now + timedelta(minutes=3)) if n % 2 else None,
                to_db(now),
                to_db(now),
                None if n % 2 else to_db(now),
                None if n % 2 else to_db(now),
            )
            for n in range(OPEN_REQUESTS)
        ]
        await conn.executemany(
            "INSERT INTO help_requests (guild_id, subject_id, student_id, state, mentor_id,"
            " offer_expires_at, created_at, queued_at, accepted_at, last_activity_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    with caplog.at_level(logging.INFO):
        await classroom.restart()
    scheduler_lines = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith(("apscheduler", "bot.jobs"))
        and r.levelno <= logging.INFO
        and "shut down" not in r.getMessage()  # the stop before the restart
    ]
    assert len(scheduler_lines) == 1, scheduler_lines[:5]
    summary = scheduler_lines[0]
    assert f"{OPEN_REQUESTS // 2} help-offer" in summary
    assert f"{OPEN_REQUESTS // 2} help-idle" in summary
    assert classroom.bot is not None
    assert len(classroom.bot.jobs.job_ids()) >= OPEN_REQUESTS
