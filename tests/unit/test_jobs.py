"""The scheduler wrapper: one-shot, weekly (in the class's zone, across DST) and interval jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.jobs import Jobs

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
async def jobs(clock: ManualClock) -> AsyncIterator[Jobs]:
    scheduler = Jobs(clock, manual=True)
    scheduler.start()
    yield scheduler
    scheduler.shutdown()


async def test_one_shot_fires_once_when_due(jobs: Jobs, clock: ManualClock) -> None:
    fired: list[datetime] = []

    async def job() -> None:
        fired.append(clock.now())

    jobs.at("offer", clock.now() + timedelta(minutes=3), job)
    clock.advance(timedelta(minutes=2))
    assert await jobs.run_due() == 0
    clock.advance(timedelta(minutes=2))
    assert await jobs.run_due() == 1
    assert await jobs.run_due() == 0
    assert jobs.next_run("offer") is None


async def test_a_past_one_shot_runs_at_once_and_replacing_keeps_one(
    jobs: Jobs, clock: ManualClock
) -> None:
    calls: list[str] = []

    async def first() -> None:
        calls.append("first")

    async def second() -> None:
        calls.append("second")

    jobs.at("x", clock.now() - timedelta(hours=1), first)  # missed while the bot was down
    jobs.at("x", clock.now() - timedelta(hours=1), second)
    assert await jobs.run_due() == 1
    assert calls == ["second"]


async def test_weekly_job_keeps_local_time_across_the_clock_change(
    clock: ManualClock,
) -> None:
    # Friday 15:00 London is 15:00 UTC in winter and 14:00 UTC in summer.
    clock.set(datetime(2027, 3, 22, 9, 0, tzinfo=UTC))
    jobs = Jobs(clock, manual=True)
    jobs.start()
    fired: list[datetime] = []

    async def post() -> None:
        fired.append(clock.now())

    try:
        jobs.weekly("weekly-post:1", LONDON, 4, time(15, 0), post)
        assert jobs.next_run("weekly-post:1") == datetime(2027, 3, 26, 15, 0, tzinfo=UTC)
        clock.advance(timedelta(days=7))
        await jobs.run_due()
        assert jobs.next_run("weekly-post:1") == datetime(2027, 4, 2, 14, 0, tzinfo=UTC)
        assert len(fired) == 1
    finally:
        jobs.shutdown()


async def test_interval_job_counts_from_our_clock(jobs: Jobs, clock: ManualClock) -> None:
    runs = 0

    async def check() -> None:
        nonlocal runs
        runs += 1

    jobs.every("check", 3600, check)
    clock.advance(timedelta(minutes=59))
    assert await jobs.run_due() == 0
    clock.advance(timedelta(minutes=2))
    assert await jobs.run_due() == 1
    clock.advance(timedelta(hours=3))
    assert await jobs.run_due() == 1  # missed runs coalesce into one
    assert runs == 2


async def test_a_failing_job_is_logged_and_others_still_run(
    jobs: Jobs, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    async def broken() -> None:
        raise RuntimeError("boom")

    async def fine() -> None:
        ran.append("fine")

    jobs.at("broken", clock.now(), broken)
    jobs.at("fine", clock.now(), fine)
    assert await jobs.run_due() == 2
    assert ran == ["fine"]
    assert "scheduled job broken failed" in caplog.text


async def test_cancel_forgets_a_job(jobs: Jobs, clock: ManualClock) -> None:
    async def never() -> None:
        raise AssertionError("cancelled jobs must not run")

    jobs.at("gone", clock.now(), never)
    jobs.cancel("gone")
    jobs.cancel("gone")  # twice is fine
    assert await jobs.run_due() == 0
    assert "gone" not in jobs.job_ids()


async def test_timers_rebuilt_before_the_start_can_be_cancelled_before_it(
    clock: ManualClock,
) -> None:
    # Start-up rebuilds every open request's timers (and cancels the ones its state has no use
    # for) before the scheduler starts: a cancelled one never fires, the others all do.
    jobs = Jobs(clock, manual=True)
    fired: list[str] = []

    def recorder(name: str) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            fired.append(name)

        return job

    for n in range(3):
        jobs.at(f"offer:{n}", clock.now() + timedelta(minutes=1), recorder(f"offer:{n}"))
        jobs.cancel(f"idle:{n}")  # never added: nothing to forget
    jobs.cancel("offer:1")
    jobs.cancel("offer:1")  # twice is fine
    jobs.start()
    try:
        assert sorted(jobs.job_ids()) == ["offer:0", "offer:2"]
        jobs.at("offer:1", clock.now() + timedelta(minutes=1), recorder("offer:1"))
        jobs.cancel("offer:0")  # after the start, cancelling works as before
        clock.advance(timedelta(minutes=2))
        assert await jobs.run_due() == 2
        assert sorted(fired) == ["offer:1", "offer:2"]
    finally:
        jobs.shutdown()
