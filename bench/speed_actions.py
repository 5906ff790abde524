"""What one action costs: ``python -m bench.speed_actions [--profile N]``.

For `/award give` (public and private) and `/helpme ask` (offered to a mentor, and queued) run
through the real bot and the simulated Discord, counts per action the SQL statements run, the
hops to the database threads (every aiosqlite call waits for its thread once: an ``execute``,
a cursor's ``fetchone``, a cursor closing, a ``commit``) and the REST requests the bot made,
settled (everything that follows the reply included). ``--profile N`` also runs N of each
under cProfile and prints where the time goes (the simulator runs in the same process, so its
share shows too). Counts, not timings, are what this is for.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import pstats
import sys
import tempfile
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.common import START
from bot.clock import ManualClock
from bot.simulator import DiscordSimulator, point_discord_at
from bot.simulator.classroom import TOKEN, Classroom
from bot.simulator.rest import normalise_route
from db.database import Database

STUDENTS = 60


class _CountedQueue:
    """A worker thread's job queue, as the event loop's side sees it, counting what goes in."""

    def __init__(self, queue: Any, counter: HopCounter) -> None:
        self._queue = queue
        self._counter = counter

    def put_nowait(self, item: Any) -> None:
        self._counter.hops += 1
        self._queue.put_nowait(item)


class HopCounter:
    """Counts jobs handed to aiosqlite's worker threads, on the write and the read connection:
    every aiosqlite call, and a COMMIT queued without waiting (``queue_commit``)."""

    def __init__(self, db: Database) -> None:
        self.hops = 0
        self._conns = [c for c in (db._conn, db._reader) if c is not None]
        self._saved: list[Any] = []

    def __enter__(self) -> HopCounter:
        for conn in self._conns:
            self._saved.append(conn._tx)
            conn._tx = _CountedQueue(conn._tx, self)  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        for conn, queue in zip(self._conns, self._saved, strict=True):
            conn._tx = queue


async def measure(
    room: Classroom, name: str, action: Callable[[], Awaitable[object]]
) -> dict[str, Any]:
    """Statements, thread hops and REST requests of one settled action."""
    assert room.db is not None
    statements: list[str] = []
    first = len(room.sim.requests)
    await room.db.trace(statements.append)
    try:
        with HopCounter(room.db) as hops:
            await action()
            await room.sim.settle()
    finally:
        await room.db.trace(None)
    rest = [f"{r.method} {normalise_route(r.route)}" for r in room.sim.requests[first:]]
    return {
        "name": name,
        # SQLite reports a statement again as each trigger program it fires starts (the
        # ledger's totals trigger): count it once. BEGIN is counted as a hop, not a statement.
        "statements": [
            s
            for n, s in enumerate(statements)
            if not s.startswith("BEGIN") and (n == 0 or s != statements[n - 1])
        ],
        "hops": hops.hops,
        "rest": rest,
    }


async def run(profile: int, verbose: bool) -> None:
    """Build a class with three Math mentors, then measure each action."""
    sim = DiscordSimulator(token=TOKEN, enforce_rate_limits=False)
    await sim.start()
    point_discord_at(sim)
    with tempfile.TemporaryDirectory() as folder:
        room = Classroom.create(
            sim,
            clock=ManualClock(START),
            database=Path(folder) / "actions.db",
            students=[f"Student {n}" for n in range(STUDENTS + profile)],
        )
        await room.start()
        try:
            await room.set_up(("Math",))
            mentors = room.students[:3]
            for mentor in mentors:
                await room.make_mentor(mentor)
            askers = iter(room.students[3:])
            award_to = iter(room.students[3:])
            results = []
            results.append(
                await measure(
                    room,
                    "/award give (public)",
                    lambda: room.slash(
                        room.teacher, "award give", student=next(award_to), kind="effort"
                    ),
                )
            )
            results.append(
                await measure(
                    room,
                    "/award give (private)",
                    lambda: room.slash(
                        room.teacher,
                        "award give",
                        student=next(award_to),
                        kind="gold_star",
                        private=True,
                    ),
                )
            )
            results.append(
                await measure(
                    room,
                    "/helpme ask (offered)",
                    lambda: room.slash(next(askers), "helpme ask", subject="Math"),
                )
            )
            for _ in range(len(mentors) * 2):  # fill every mentor's session limit
                await room.slash(next(askers), "helpme ask", subject="Math")
            results.append(
                await measure(
                    room,
                    "/helpme ask (queued)",
                    lambda: room.slash(next(askers), "helpme ask", subject="Math"),
                )
            )
            for result in results:
                rest = Counter(result["rest"])
                print(
                    f"{result['name']:<24} statements {len(result['statements']):3d}"
                    f"  db thread hops {result['hops']:3d}  REST {len(result['rest']):2d}:"
                    f" {', '.join(f'{n}× {r}' if n > 1 else r for r, n in rest.items())}"
                )
                if verbose:
                    for statement in result["statements"]:
                        print("     ", " ".join(statement.split())[:150])
            if profile:
                await profiled(room, profile, award_to, askers)
        finally:
            await room.stop()
            await sim.stop()


async def profiled(room: Classroom, count: int, award_to: Any, askers: Any) -> None:
    """cProfile over ``count`` private awards, then ``count`` asks, 50 at a time each."""
    # One teacher giving them all would hit the per-person burst limit: lift it for the profile.
    assert room.bot is not None
    room.bot.tree.burst.limit = 10**9
    gate = asyncio.Semaphore(50)
    students = room.students[3:STUDENTS]

    async def award(i: int) -> None:
        async with gate:
            await room.sim.slash(
                room.teacher,
                "award give",
                guild=room.guild,
                channel=room.general,
                settle=False,
                options={
                    "student": students[i % len(students)],
                    "kind": "gold_star",
                    "private": True,
                },
            )

    async def ask(i: int) -> None:
        async with gate:
            await room.sim.slash(
                room.students[STUDENTS + i],
                "helpme ask",
                guild=room.guild,
                channel=room.general,
                settle=False,
                options={"subject": "Math"},
            )

    for name, make in (("private /award give", award), ("/helpme ask", ask)):
        profiler = cProfile.Profile()
        profiler.enable()
        await asyncio.gather(*(make(i) for i in range(count)))
        await room.sim.settle(timeout=120)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
        print(f"--- cProfile, {count} {name}, 50 in flight ---")
        print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.speed_actions", description=__doc__)
    parser.add_argument("--profile", type=int, default=0, help="also profile N awards")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each statement")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run(args.profile, args.verbose))
    return 0


if __name__ == "__main__":
    sys.exit(main())
