"""Start-up: bot start to ready with many classes and their timers rebuilt."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from bench.common import (
    START,
    TOKEN,
    Profile,
    Results,
    bench_bot,
    short_route,
)
from bot.clock import ManualClock
from bot.config import Config, DatabaseConfig
from bot.services import Services
from bot.simulator import (
    DiscordSimulator,
    point_discord_at,
    running_bot,
)
from bot.simulator.classroom import Classroom
from bot.wiring import build_services
from db.database import Database
from db.timefmt import to_db

# ----- 4. start-up -----------------------------------------------------------------------------


async def seed_startup(
    db: Database, services: Services, classes: list[Classroom], clock: ManualClock
) -> int:
    """Configure every class and give each two offered and two active requests."""
    now = clock.now()
    rows, offers = [], []
    request_id = 0
    for cls in classes:
        gid = cls.guild.id
        await services.classes.setup(
            gid,
            cls.owner.id,
            teacher_role_id=cls.teacher_role.id,
            announcements_channel_id=cls.announcements.id,
            help_channel_id=cls.help_channel.id,
            mentors_channel_id=cls.mentors_channel.id,
            timezone="Europe/London",
        )
        subject = await services.classes.add_subject(gid, "Math")
        await services.classes.add_subject(gid, "English")
        for k in range(4):
            request_id += 1
            student, mentor = cls.students[k].id, cls.students[10 + k].id
            offered = k < 2
            rows.append(
                (
                    request_id,
                    gid,
                    subject.id,
                    student,
                    "offered" if offered else "active",
                    mentor,
                    to_db(now + timedelta(minutes=3)) if offered else None,
                    None if offered else 10_000_000 + request_id,
                    to_db(now),
                    to_db(now),
                    None if offered else to_db(now),
                    None if offered else to_db(now),
                )
            )
            if offered:
                offers.append((request_id, mentor, to_db(now)))
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO help_requests (id, guild_id, subject_id, student_id, state, mentor_id,"
            " offer_expires_at, thread_id, created_at, queued_at, accepted_at, last_activity_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        await conn.executemany(
            "INSERT INTO help_offers (request_id, mentor_id, offered_at) VALUES (?, ?, ?)", offers
        )
    return len(rows)


async def bench_startup(results: Results, folder: Path, profile: Profile) -> None:
    """Bot start to ready, with many classes whose jobs and timers are rebuilt."""
    section = "Start-up"
    print(f"\n{section}", flush=True)
    members = 30
    sim = DiscordSimulator(token=TOKEN)
    await sim.start()
    point_discord_at(sim)
    clock = ManualClock(START)
    config = Config(database=DatabaseConfig(path=folder / "startup.db"))
    db = await Database.open(config.database.path)
    try:
        await db.migrate()
        classes = [
            Classroom.create(
                sim,
                clock=clock,
                database=config.database.path,
                name=f"Class {i}",
                students=[f"Student {n + 1}" for n in range(members - 1)],
            )
            for i in range(profile.startup_classes)
        ]
        services = build_services(config, db, clock)
        open_requests = await seed_startup(db, services, classes, clock)
        shape = (
            f"{len(classes)} classes × {members} members, {open_requests} open requests "
            f"({open_requests // 2} offer timers, {open_requests // 2} idle timers)"
        )
        results.facts["startup_shape"] = shape
        for label in ("cold (first start: commands synced)", "warm (restart: tree unchanged)"):
            bot = bench_bot(config, db, clock)
            hook_time: list[float] = []
            original = bot.setup_hook

            async def timed_hook(
                original: Callable[[], Awaitable[None]] = original,
                hook_time: list[float] = hook_time,
            ) -> None:
                started = time.perf_counter()
                await original()
                hook_time.append(time.perf_counter() - started)

            bot.setup_hook = timed_hook  # type: ignore[method-assign]
            before = len(sim.requests)
            started = time.perf_counter()
            async with running_bot(sim, bot, TOKEN, timeout=60):
                ready = time.perf_counter() - started
                jobs = len(bot.jobs.job_ids())
                calls = sim.requests[before:]
            results.add(
                section,
                f"start → ready, {label}",
                f"{ready * 1000:.0f} ms",
                f"setup_hook {hook_time[0] * 1000:.0f} ms; {jobs} jobs; "
                f"{len(calls)} REST calls ({', '.join(sorted({short_route(r.route) for r in calls}))})",
            )
            results.facts.setdefault("startup", []).append((label, ready, hook_time[0], jobs))
        results.add(section, "scenario", shape, "ready includes guild_ready_timeout=0.1 s")
    finally:
        await db.close()
        await sim.stop()


ORDER = 40


async def run_section(results: Results, folder: Path, profile: Profile) -> None:
    """This section, as ``python -m bench.run`` calls it."""
    await bench_startup(results, folder, profile)
