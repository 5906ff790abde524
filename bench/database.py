"""The database on a real SQLite file, over synthetic history."""

from __future__ import annotations

import random
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    FRIDAY_POST,
    LONDON,
    START,
    BenchError,
    Profile,
    Results,
    pct,
    spread_ms,
    timed_runs,
)
from bot.clock import ManualClock
from bot.config import Config, DatabaseConfig
from bot.domain.shoutouts import PostKind
from bot.domain.weeks import week_key, week_start
from bot.services import Services
from bot.wiring import build_services
from db import mentors as mentor_sql
from db.database import Database
from db.timefmt import to_db

# ----- 3. database -----------------------------------------------------------------------------

GUILD, TEACHER = 100, 1
STUDENTS = list(range(1001, 1031))  # 30 students
MATH_MENTORS, ENGLISH_MENTORS = STUDENTS[:10], STUDENTS[10:20]
HISTORY_REQUESTS = 5_000
LEDGER_ROWS = 20_000


async def seed_class(services: Services) -> tuple[int, int]:
    """The class through the services: two subjects, 10 ready, available mentors each."""
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
    english = await services.classes.add_subject(GUILD, "English")
    for subject, mentors in (("Math", MATH_MENTORS), ("English", ENGLISH_MENTORS)):
        for user in mentors:
            plan = await services.mentors.plan_grant(GUILD, subject, user, None)
            await services.mentors.record_grant(plan, user, TEACHER)
            await services.mentors.acknowledge_brief(GUILD, user)
            await services.mentors.set_available(GUILD, user, True)
    return math.id, english.id


async def seed_history(db: Database, math: int, english: int) -> dict[str, int]:
    """5,000 closed help requests over ten weeks, their offers, events and ledger rows, and
    awards, undos and goal rows up to 20,000 ledger rows: a few ``executemany`` statements."""
    rnd = random.Random(7)
    requests: list[tuple[Any, ...]] = []
    offers: list[tuple[Any, ...]] = []
    events: list[tuple[int, str | None, str, int | None, str]] = []
    ledger: list[tuple[Any, ...]] = []
    for request_id in range(1, HISTORY_REQUESTS + 1):
        subject, mentors = rnd.choice(((math, MATH_MENTORS), (english, ENGLISH_MENTORS)))
        mentor = rnd.choice(mentors)
        student = rnd.choice([s for s in STUDENTS if s != mentor])
        created = START - timedelta(minutes=rnd.randrange(10, 70 * 24 * 60))
        accepted = created + timedelta(minutes=1)
        roll = rnd.random()
        if roll < 0.85:
            state, reason, rating = "resolved", "solved", rnd.randint(2, 5)
            closed = accepted + timedelta(minutes=rnd.randrange(5, 40))
        elif roll < 0.95:
            state, reason, rating, mentor_or_none = "cancelled", "cancelled", None, None
            closed = created + timedelta(minutes=2)
        else:
            state, reason, rating = "expired", "idle", None
            closed = accepted + timedelta(minutes=60)
        mentor_or_none = None if state == "cancelled" else mentor
        requests.append(
            (
                request_id,
                GUILD,
                subject,
                student,
                "synthetic",
                state,
                mentor_or_none,
                to_db(created),
                to_db(created),
                None if mentor_or_none is None else to_db(accepted),
                to_db(closed),
                student,
                reason,
                rating,
            )
        )
        offers.append(
            (
                request_id,
                mentor,
                to_db(created),
                "accepted" if mentor_or_none else "withdrawn",
                to_db(accepted),
            )
        )
        events.append((request_id, None, "queued", student, to_db(created)))
        events.append((request_id, "queued", "offered", None, to_db(created)))
        events.append((request_id, "offered", state, student, to_db(closed)))
        if state == "resolved":
            points = 10 + (rating or 0)
            ledger.append(
                (
                    GUILD,
                    mentor,
                    points,
                    "session",
                    subject,
                    request_id,
                    None,
                    student,
                    to_db(closed),
                )
            )
    awards, award_ledger = [], []
    award_count = 3_000
    for award_id in range(1, award_count + 1):
        user = rnd.choice(STUDENTS)
        at = START - timedelta(minutes=rnd.randrange(10, 70 * 24 * 60))
        undone = award_id % 10 == 0
        awards.append(
            (
                award_id,
                GUILD,
                user,
                rnd.choice(("gold_star", "effort")),
                "synthetic",
                5,
                int(award_id % 7 == 0),
                week_key(at, LONDON),
                TEACHER,
                to_db(at),
                to_db(at + timedelta(hours=1)) if undone else None,
            )
        )
        award_ledger.append((GUILD, user, 5, "award", None, None, award_id, TEACHER, to_db(at)))
        if undone:
            award_ledger.append(
                (
                    GUILD,
                    user,
                    -5,
                    "undo",
                    None,
                    None,
                    award_id,
                    TEACHER,
                    to_db(at + timedelta(hours=1)),
                )
            )
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
            to_db(START - timedelta(minutes=rnd.randrange(10, 70 * 24 * 60))),
        )
        for _ in range(LEDGER_ROWS - len(ledger) - len(award_ledger))
    ]
    ledger_sql = (
        "INSERT INTO ledger (guild_id, user_id, points, reason, subject_id, session_id, award_id,"
        " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO help_requests (id, guild_id, subject_id, student_id, topic, state,"
            " mentor_id, created_at, queued_at, accepted_at, closed_at, closed_by, close_reason,"
            " rating) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            requests,
        )
        await conn.executemany(
            "INSERT INTO help_offers (request_id, mentor_id, offered_at, outcome, decided_at)"
            " VALUES (?, ?, ?, ?, ?)",
            offers,
        )
        await conn.executemany(
            "INSERT INTO help_events (request_id, from_state, to_state, actor_id, at)"
            " VALUES (?, ?, ?, ?, ?)",
            events,
        )
        await conn.executemany(
            "INSERT INTO awards (id, guild_id, user_id, kind, reason, points, private, week_key,"
            " awarded_by, awarded_at, undone_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            awards,
        )
        await conn.executemany(ledger_sql, ledger + award_ledger + goals)
    await analyse(db)
    return {
        "requests": len(requests),
        "events": len(events),
        "awards": len(awards),
        "ledger": len(ledger) + len(award_ledger) + len(goals),
        "ledger_sessions": len(ledger),
    }


async def analyse(db: Database) -> None:
    """Fresh statistics for the query planner, as a long-running class would have."""
    async with db.transaction() as conn:
        await conn.execute("ANALYZE")


async def count_rows(db: Database, table: str) -> int:
    """Rows in a table (bench bookkeeping)."""
    async with db.reading() as conn, conn.execute(f"SELECT COUNT(*) FROM {table}") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def bench_database(results: Results, folder: Path, profile: Profile) -> None:
    """The matching query, the help transaction, the leaderboard and the weekly summary."""
    section = "Database (real SQLite file, WAL)"
    print(f"\n{section}", flush=True)
    clock = ManualClock(START)
    config = Config(database=DatabaseConfig(path=folder / "db-bench.db"))
    db = await Database.open(config.database.path)
    try:
        await db.migrate()
        services = build_services(config, db, clock)
        math, english = await seed_class(services)
        started = time.perf_counter()
        sizes = await seed_history(db, math, english)
        results.facts["sizes"] = sizes
        results.add(
            section,
            "synthetic history inserted (executemany)",
            f"{(time.perf_counter() - started) * 1000:.0f} ms",
            f"{sizes['requests']:,} requests, {sizes['events']:,} events, "
            f"{sizes['awards']:,} awards, {sizes['ledger']:,} ledger rows",
        )

        async def candidates(i: int) -> None:
            now = clock.now()
            async with db.reading() as conn:
                found = await mentor_sql.mentor_candidates(
                    conn,
                    guild_id=GUILD,
                    subject_id=math,
                    student_id=STUDENTS[20 + i % 10],
                    now=now,
                    week_start=week_start(now, LONDON),
                    recent_since=now - timedelta(days=7),
                )
            if len(found) != len(MATH_MENTORS):
                raise BenchError(f"expected {len(MATH_MENTORS)} candidates, got {len(found)}")

        samples = await timed_runs(profile.query_runs, profile.cap_s, candidates)
        results.facts["candidates_p50_ms"] = pct(samples, 0.5) * 1000
        results.add(
            section,
            "mentor_candidates (10 mentors, 5k history)",
            spread_ms(samples),
            f"n={len(samples)}",
        )

        for period in ("this_week", "all_time"):

            async def board(i: int, period: str = period) -> None:
                shown = await services.recognition.leaderboard(GUILD, STUDENTS[i % 30], period)
                if not shown.shown:
                    raise BenchError("empty leaderboard")

            samples = await timed_runs(profile.board_runs, profile.cap_s, board)
            results.facts[f"board_{period}_p50_ms"] = pct(samples, 0.5) * 1000
            results.add(
                section,
                f"leaderboard {period} ({sizes['ledger']:,} ledger rows)",
                spread_ms(samples),
                f"n={len(samples)}; RecognitionService.leaderboard",
            )

        steps: dict[str, list[float]] = {"ask": [], "accept": [], "rate": []}

        async def flow(i: int) -> None:
            clock.advance(timedelta(seconds=3))  # 30 students x 3 s > the 60 s cooldown
            student = STUDENTS[i % len(STUDENTS)]
            t0 = time.perf_counter()
            routing = await services.help.ask(GUILD, student, "Math", "bench")
            t1 = time.perf_counter()
            if routing.offer is None:
                raise BenchError("no mentor was offered the request")
            await services.help.accept(routing.request.id, routing.offer.mentor_id)
            t2 = time.perf_counter()
            await services.help.rate(routing.request.id, student, 5)
            t3 = time.perf_counter()
            steps["ask"].append(t1 - t0)
            steps["accept"].append(t2 - t1)
            steps["rate"].append(t3 - t2)

        samples = await timed_runs(profile.flows, profile.cap_s, flow)
        rate = len(samples) / sum(samples)
        results.facts["sessions_per_s"] = rate
        results.add(
            section,
            "help transaction ask → accept → rate",
            f"{rate:,.0f} sessions/s",
            f"n={len(samples)} sequential; per flow {spread_ms(samples)}",
        )
        for name, values in steps.items():
            results.add(section, f"  HelpService.{name}", spread_ms(values))

        clock.set(FRIDAY_POST)
        week = week_key(clock.now(), LONDON)
        ledger_rows = await count_rows(db, "ledger")

        async def weekly(i: int) -> None:
            summary = await services.recognition.claim_weekly_post(GUILD)
            if summary is None or not summary.top:
                raise BenchError("the weekly summary was not computed")
            # Drop the claim (as when Discord refuses the post) so the next run computes again.
            await services.recognition.post_failed(GUILD, week, PostKind.LEADERBOARD)

        samples = await timed_runs(profile.weekly_runs, profile.cap_s, weekly)
        results.facts["weekly_p50_ms"] = pct(samples, 0.5) * 1000
        results.add(
            section,
            f"weekly summary claim + compute ({ledger_rows:,} ledger rows)",
            spread_ms(samples),
            f"n={len(samples)}; includes releasing the claim (one more transaction)",
        )
    finally:
        await db.close()


ORDER = 30


async def run_section(results: Results, folder: Path, profile: Profile) -> None:
    """This section, as ``python -m bench.run`` calls it."""
    await bench_database(results, folder, profile)
