"""Interaction latency through the simulator: action to acknowledgement."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from datetime import timedelta
from pathlib import Path

from bench.common import (
    BenchError,
    Profile,
    Results,
    bounded,
    pct,
    running_room,
    spread_ms,
)
from bot.simulator import (
    InteractionResult,
)
from bot.simulator.classroom import expect

# ----- 2. interaction latency ------------------------------------------------------------------


async def bench_latency(results: Results, folder: Path, profile: Profile) -> None:
    """Time from the user's action to the bot's acknowledgement, through the simulator."""
    section = "Interaction latency (loopback simulator)"
    print(f"\n{section}", flush=True)
    async with running_room(folder, students=30) as room:
        sim, c = room.sim, room
        await room.set_up()
        mentors, askers = c.students[:2], c.students[2:]
        for mentor in mentors:
            await room.make_mentor(mentor)
        samples: dict[str, list[float]] = {
            "/subject list": [],
            "/helpme ask (offered)": [],
            "/helpme cancel (offer withdrawn)": [],
            "/leaderboard": [],
        }
        until_quiet: dict[str, list[float]] = {name: [] for name in samples}

        async def one(name: str, step: Awaitable[InteractionResult], needle: str) -> None:
            before = len(sim.requests)
            started = time.time()
            expect(await step, needle)
            await sim.settle()
            records = sim.requests[before:]
            acks = [r.timestamp for r in records if r.route.startswith("POST /interactions/")]
            if not acks:
                raise BenchError(f"{name}: no interaction callback")
            samples[name].append(min(acks) - started)
            until_quiet[name].append(max(r.timestamp for r in records) - started)

        # Burst limit is 8 actions per user per 10 s, and /helpme has a 60 s cooldown on the
        # class clock: rotate through 28 students and move the class clock 3 s per run.
        for i in bounded(profile.latency_runs, profile.cap_s):
            student = askers[i % len(askers)]
            room.clock.advance(timedelta(seconds=3))
            await one("/subject list", room.slash(student, "subject list"), "Math")
            await one(
                "/helpme ask (offered)",
                room.slash(student, "helpme ask", subject="Math", topic="bench"),
                "asked a **Math** mentor",
            )
            await one(
                "/helpme cancel (offer withdrawn)",
                room.slash(student, "helpme cancel"),
                "Cancelled",
            )
            await one("/leaderboard", room.slash(student, "leaderboard"), "This week")
        for name, values in samples.items():
            results.add(
                section,
                f"{name}: to acknowledgement",
                spread_ms(values),
                f"n={len(values)}; last REST call of the action at p50 "
                f"{pct(until_quiet[name], 0.5) * 1000:.1f} ms",
            )


ORDER = 20


async def run_section(results: Results, folder: Path, profile: Profile) -> None:
    """This section, as ``python -m bench.run`` calls it."""
    await bench_latency(results, folder, profile)
