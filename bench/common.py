"""What every benchmark section shares: profiles, results, timing helpers, a running class.

A section is a module in ``bench/`` with ``ORDER`` (its place in the report) and
``async def run_section(results, folder, profile)``; ``python -m bench.run`` finds and runs them.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import EXTENSIONS, ClassMentorBot
from bot.clock import Clock, ManualClock
from bot.config import Config, ConfigError, CpuChoice, parse_cpu
from bot.simulator import (
    DiscordSimulator,
    SimMessage,
    point_discord_at,
)
from bot.simulator.classroom import Classroom, DriverError, button_id
from bot.wiring import build_bot
from db.database import Database

# A Wednesday morning in term time (as in the tests): the week has a past and a future.
START = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
THURSDAY_SUGGESTION = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
FRIDAY_POST = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.bench.token"
GLOBAL_LIMIT = 50  # requests/s per bot (Discord's global rate limit)
DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def bench_bot(config: Config, db: Database, clock: Clock, *, noop: bool = False) -> ClassMentorBot:
    """The real bot as the benches start it: jobs fired only when a bench advances ``clock``,
    ready 0.1 s after its last server arrived, and the bench-only ``/noop`` when a bench
    measures against it (``noop``)."""
    return build_bot(
        config,
        db,
        clock,
        manual_jobs=True,
        guild_ready_timeout=0.1,
        extensions=(*EXTENSIONS, "bench.speed_noop") if noop else EXTENSIONS,
    )


class BenchError(DriverError):
    """A step did not do what it should: its numbers would mean nothing."""


@dataclass(frozen=True)
class Profile:
    """How many runs each loop does (sizes of the synthetic data stay the same)."""

    name: str
    latency_runs: int
    query_runs: int
    flows: int
    board_runs: int
    weekly_runs: int
    startup_classes: int
    cap_s: float  # time cap for each loop


FULL = Profile("full", 40, 1000, 400, 200, 100, 50, 12.0)
QUICK = Profile("quick", 4, 50, 20, 20, 10, 10, 1.5)


@dataclass
class Row:
    """One line of the results table."""

    section: str
    name: str
    value: str
    detail: str = ""


@dataclass
class Results:
    """Everything measured, plus facts the summary paragraph needs."""

    rows: list[Row] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    routes: dict[str, list[str]] = field(default_factory=dict)

    def add(self, section: str, name: str, value: str, detail: str = "") -> None:
        """Record one result and show it at once."""
        self.rows.append(Row(section, name, value, detail))
        print(f"  {name:<46} {value:>20}  {detail}", flush=True)


# ----- small helpers -------------------------------------------------------------------------


def bounded(count: int, cap_s: float) -> Iterator[int]:
    """0..count-1, stopping early once ``cap_s`` seconds have passed (at least one run)."""
    started = time.perf_counter()
    for i in range(count):
        if i and time.perf_counter() - started > cap_s:
            return
        yield i


def pct(samples: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def spread_ms(samples: list[float]) -> str:
    """p50 / p95 / max of seconds, in milliseconds."""
    return (
        f"{pct(samples, 0.5) * 1000:.2f} / {pct(samples, 0.95) * 1000:.2f} / "
        f"{max(samples) * 1000:.2f} ms"
    )


async def timed_runs(
    count: int, cap_s: float, step: Callable[[int], Awaitable[object]]
) -> list[float]:
    """Run ``step(i)`` up to ``count`` times (time-capped); the wall time of each run."""
    samples = []
    for i in bounded(count, cap_s):
        started = time.perf_counter()
        await step(i)
        samples.append(time.perf_counter() - started)
    return samples


def is_interaction_route(route: str) -> bool:
    """Interaction callbacks and follow-ups (webhook with the interaction token).

    Discord does not count these against the bot's global rate limit.
    """
    path = route.split(" ", 1)[-1]
    return path.startswith("/interactions/") or path.startswith("/webhooks/")


def short_route(route: str) -> str:
    """``POST /channels/{channel_id}/messages`` -> ``POST /channels/{}/messages``."""
    method, _, path = route.partition(" ")
    parts = ["{}" if p.startswith("{") else p for p in path.split("/")]
    return f"{method} {'/'.join(parts)}"


def button(message: SimMessage, label: str) -> str:
    """The custom id of the enabled button with this label."""
    return button_id(message, label)


def quiet_logs() -> None:
    """The bot's logs would drown the table."""
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("discord").setLevel(logging.ERROR)


# ----- a class on the simulated Discord --------------------------------------------------------


@contextlib.asynccontextmanager
async def running_room(folder: Path, students: int) -> AsyncIterator[Classroom]:
    """Simulator + database + the real bot for one set-up-ready class, torn down in order."""
    async with DiscordSimulator(token=TOKEN) as sim:
        point_discord_at(sim)
        names = [f"Student {i + 1}" for i in range(students)]
        room = Classroom.create(
            sim, clock=ManualClock(START), database=folder / "room.db", students=names
        )
        room.start_timeout = 30
        await room.start()
        try:
            yield room
        finally:
            await room.stop()


def cpu_choice(value: str) -> CpuChoice:
    """A bench's ``--cpu`` argument, read as ``[ops] cpu`` is: "auto", "off" or a CPU number."""
    try:
        return parse_cpu(int(value) if value.isdigit() else value)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
