"""Flat-cost reads, measured in-process on a real SQLite file: ``python -m bench.speed_store``.

* The leaderboard of every period (and a subject board) through ``RecognitionService``, with
  10k and with 1M ledger rows in one class: the cost should not grow with history.
* Fair matching (``mentor_candidates``) with 5k and with 100k past help requests.

Prints p50 / p95 / p99 per case; ``--quick`` uses 100k ledger rows instead of 1M. Not a test:
it stops only if a step did not work (the numbers would be meaningless).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.common import START
from bot.clock import ManualClock
from bot.config import Config, DatabaseConfig
from bot.domain.weeks import Period, week_start
from bot.wiring import Services, build_services
from db import mentors as mentor_sql
from db.database import Database
from db.timefmt import to_db

LONDON = ZoneInfo("Europe/London")
GUILD, TEACHER = 100, 1
STUDENTS = list(range(1001, 1031))  # 30 students
MATH_MENTORS = STUDENTS[:10]
RUNS = 400


def pct(samples: list[float], q: float) -> float:
    """The q-quantile of samples (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timed(runs: int, step: Callable[[int], Awaitable[object]]) -> dict[str, float]:
    """p50 / p95 / p99 in ms of ``runs`` calls (after a few warm-up calls)."""
    for i in range(10):
        await step(i)
    samples = []
    for i in range(runs):
        began = time.perf_counter()
        await step(i)
        samples.append(time.perf_counter() - began)
    return {
        name: pct(samples, q) * 1000 for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
    }


async def seed_class(services: Services) -> int:
    """A configured class with Math and 10 ready, available Math mentors; returns Math's id."""
    await services.classes.setup(
        GUILD,
        TEACHER,
        teacher_role_id=5,
        announcements_channel_id=20,
        help_channel_id=21,
        mentors_channel_id=22,
        timezone="Europe/London",
    )
    math = await services.classes.add_subject(GUILD, "Math")
    for user in MATH_MENTORS:
        plan = await services.mentors.plan_grant(GUILD, "Math", user, None)
        await services.mentors.record_grant(plan, user, TEACHER)
        await services.mentors.acknowledge_brief(GUILD, user)
        await services.mentors.set_available(GUILD, user, True)
    return math.id


async def add_history(db: Database, math: int, requests: int, ledger_rows: int, seed: int) -> None:
    """Closed help requests and ledger rows (sessions, goals) spread over two years.

    Ledger rows go through the same INSERT (and so the same totals trigger) as the bot's.
    """
    rnd = random.Random(seed)
    async with db.transaction() as conn:
        first = await conn.execute_fetchall("SELECT COALESCE(MAX(id), 0) FROM help_requests")
        next_id = int(next(iter(first))[0]) + 1
        batch = []
        for request_id in range(next_id, next_id + requests):
            mentor = rnd.choice(MATH_MENTORS)
            student = rnd.choice(STUDENTS[10:])
            created = START - timedelta(minutes=rnd.randrange(30, 730 * 24 * 60))
            accepted = created + timedelta(minutes=1)
            closed = accepted + timedelta(minutes=20)
            batch.append(
                (
                    request_id,
                    GUILD,
                    math,
                    student,
                    "resolved",
                    mentor,
                    to_db(created),
                    to_db(created),
                    to_db(accepted),
                    to_db(closed),
                    rnd.randint(2, 5),
                )
            )
        await conn.executemany(
            "INSERT INTO help_requests (id, guild_id, subject_id, student_id, state, mentor_id,"
            " created_at, queued_at, accepted_at, closed_at, close_reason, rating)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'solved', ?)",
            batch,
        )
        sessions = [
            (GUILD, row[5], 15, "session", math, row[0], None, row[3], row[9]) for row in batch
        ]
        goals = [
            (
                GUILD,
                rnd.choice(STUDENTS),
                rnd.randint(1, 5),
                "goal",
                None,
                None,
                None,
                None,
                to_db(START - timedelta(minutes=rnd.randrange(30, 730 * 24 * 60))),
            )
            for _ in range(max(0, ledger_rows - len(sessions)))
        ]
        await conn.executemany(
            "INSERT INTO ledger (guild_id, user_id, points, reason, subject_id, session_id,"
            " award_id, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            sessions[:ledger_rows] + goals,
        )
    async with db.transaction() as conn:
        await conn.execute("ANALYZE")


async def count(db: Database, table: str) -> int:
    """Rows in a table."""
    async with db.reading() as conn:
        rows = await conn.execute_fetchall(f"SELECT COUNT(*) FROM {table}")
    return int(next(iter(rows))[0])


async def leaderboards(services: Services, math: int) -> dict[str, dict[str, float]]:
    """Every period, plus the Math board for this week and all time."""
    del math
    found: dict[str, dict[str, float]] = {}
    cases: list[tuple[str, Period, str | None]] = [(p.value, p, None) for p in Period]
    cases += [
        ("math this_week", Period.THIS_WEEK, "Math"),
        ("math all_time", Period.ALL_TIME, "Math"),
    ]
    for name, period, subject in cases:

        async def board(i: int, period: Period = period, subject: str | None = subject) -> None:
            result = await services.recognition.leaderboard(
                GUILD, STUDENTS[i % len(STUDENTS)], period, subject
            )
            if not result.participants:
                raise SystemExit(f"empty {period} leaderboard: the bench data is wrong")

        found[name] = await timed(RUNS, board)
    return found


async def matching(db: Database, clock: ManualClock, math: int) -> dict[str, float]:
    """``mentor_candidates`` for a Math request, as the help service runs it."""

    async def candidates(i: int) -> None:
        now = clock.now()
        async with db.reading() as conn:
            found = await mentor_sql.mentor_candidates(
                conn,
                guild_id=GUILD,
                subject_id=math,
                student_id=STUDENTS[10 + i % 20],
                now=now,
                week_start=week_start(now, LONDON),
                recent_since=now - timedelta(days=7),
            )
        if len(found) != len(MATH_MENTORS):
            raise SystemExit(f"expected {len(MATH_MENTORS)} candidates, got {len(found)}")

    return await timed(RUNS, candidates)


def line(name: str, figures: dict[str, float]) -> str:
    """One printed row."""
    return f"  {name:<28} p50 {figures['p50']:6.3f} ms  p95 {figures['p95']:6.3f} ms  p99 {figures['p99']:6.3f} ms"


async def run(big_ledger: int) -> dict[str, object]:
    """Measure at the small size, grow the history, measure again."""
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as folder:
        config = Config(database=DatabaseConfig(path=Path(folder) / "speed.db"))
        db = await Database.open(config.database.path)
        try:
            await db.migrate()
            clock = ManualClock(START)
            services = build_services(config, db, clock)
            math = await seed_class(services)
            for label, requests, ledger_rows in (
                ("small", 5_000, 10_000),
                ("big", 95_000, big_ledger - 10_000),
            ):
                began = time.perf_counter()
                await add_history(db, math, requests, ledger_rows, seed=len(label))
                sizes = {
                    "requests": await count(db, "help_requests"),
                    "ledger": await count(db, "ledger"),
                    "totals": await count(db, "point_totals"),
                }
                print(
                    f"\n{label}: {sizes['ledger']:,} ledger rows, {sizes['requests']:,} past"
                    f" requests, {sizes['totals']:,} total rows"
                    f" (inserted in {time.perf_counter() - began:.1f} s)",
                    flush=True,
                )
                boards = await leaderboards(services, math)
                for name, figures in boards.items():
                    print(line(f"leaderboard {name}", figures), flush=True)
                match = await matching(db, clock, math)
                print(line("matching", match), flush=True)
                results[label] = {"sizes": sizes, "boards": boards, "matching": match}
        finally:
            await db.close()
    return results


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m bench.speed_store [--quick]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.speed_store", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100k ledger rows instead of 1M")
    args = parser.parse_args(argv)
    results = asyncio.run(run(100_000 if args.quick else 1_000_000))
    small, big = results["small"], results["big"]
    assert isinstance(small, dict) and isinstance(big, dict)
    worst = max(big["boards"].values(), key=lambda f: f["p95"])
    print(f"\nworst leaderboard p95 at {big['sizes']['ledger']:,} rows: {worst['p95']:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
