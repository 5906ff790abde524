"""Scale-out throughput: 1 bot process on SQLite vs 2 sharded processes on PostgreSQL.

``python -m bench.scale_engines [--postgres ADMIN_URL] [--block N] [--rounds R]``

100 classes on the simulated Discord (spread over 2 shards), each with a teacher role, 3
teachers, 30 students and 3 ready Math mentors. For each configuration the bots run as real OS
processes (``bench.scale_worker``: each its own core, as in production) against the one
simulator this process runs; this process drives ``/helpme ask``, ``/award give`` (private) and
the bench-only ``/noop`` with 50 interactions in flight, spread over all classes.

Configurations (``--configs``): ``sqlite:1`` one unsharded process on a SQLite file (the
default deployment), ``postgresql:2`` shards 0 and 1 of 2 in two processes on one PostgreSQL
database; also ``sqlite:2`` (two processes sharing a SQLite file) and ``postgresql:1``.

Each command runs in R blocks, each block between two ``/noop`` blocks: a command's ratio is its
rate over the mean of the ``/noop`` rates around it (the floor of the same processes, same
simulator, same moment). Reported: median rate and ratio per configuration, and the ratio of
the PostgreSQL configuration's rate to SQLite's. Failures (an error reply, no answer) and lost
writes (rows counted afterwards) are reported and should be 0.

Without ``--postgres`` the PostgreSQL configurations use a server started for the run in a
temporary folder (tests/postgres.py's), when the machine has the binaries.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.common import START
from bench.speed_throughput import load
from bot.clock import ManualClock
from bot.config import Config, DatabaseConfig
from bot.simulator import (
    DiscordSimulator,
    InteractionResult,
    SimChannel,
    SimGuild,
    SimRole,
    SimulatorError,
    SimUser,
)
from bot.wiring import build_services
from db.database import Database

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.scale.token"
CLASSES = 100
TEACHERS, STUDENTS, MENTORS = 3, 30, 3
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Room:
    """One class on the simulated Discord."""

    guild: SimGuild
    owner: SimUser
    teacher_role: SimRole
    teachers: list[SimUser]
    students: list[SimUser]
    channels: dict[str, SimChannel]

    @property
    def mentors(self) -> list[SimUser]:
        return self.students[:MENTORS]

    @property
    def askers(self) -> list[SimUser]:
        return self.students[MENTORS:]


def build_rooms(sim: DiscordSimulator, classes: int) -> list[Room]:
    """``classes`` class servers, alternately on shard 0 and 1 of 2."""
    rooms = []
    for n in range(classes):
        owner = sim.create_user(f"Owner {n}")
        guild = sim.create_guild(f"Class {n}", owner=owner, shard=(n % 2, 2))
        role = guild.create_role("Teacher")
        teachers = [sim.create_user(f"Teacher {n}.{t}") for t in range(TEACHERS)]
        for teacher in teachers:
            guild.add_member(teacher, roles=[role])
        students = [sim.create_user(f"Student {n}.{s}") for s in range(STUDENTS)]
        for student in students:
            guild.add_member(student)
        channels = {
            name: guild.create_text_channel(name)
            for name in ("general", "announcements", "help", "mentors")
        }
        rooms.append(Room(guild, owner, role, teachers, students, channels))
    return rooms


async def seed(url: str, rooms: list[Room]) -> None:
    """Every class set up with Math and its ready, available mentors (through the services)."""
    db = await Database.open_url(url)
    try:
        await db.migrate()
        services = build_services(Config(database=DatabaseConfig(url=url)), db, ManualClock(START))
        for room in rooms:
            gid = room.guild.id
            await services.classes.setup(
                gid,
                room.owner.id,
                teacher_role_id=room.teacher_role.id,
                announcements_channel_id=room.channels["announcements"].id,
                help_channel_id=room.channels["help"].id,
                mentors_channel_id=room.channels["mentors"].id,
                timezone="Europe/London",
            )
            await services.classes.add_subject(gid, "Math")
            for mentor in room.mentors:
                plan = await services.mentors.plan_grant(gid, "Math", mentor.id, None)
                await services.mentors.record_grant(plan, mentor.id, room.owner.id)
                await services.mentors.acknowledge_brief(gid, mentor.id)
                await services.mentors.set_available(gid, mentor.id, True)
    finally:
        await db.close()


async def count_rows(url: str, table: str) -> int:
    """Rows in a table, for the lost-writes check."""
    db = await Database.open_url(url)
    try:
        row = await db.fetch_one(f"SELECT COUNT(*) FROM {table}")
        return int(row[0]) if row else 0
    finally:
        await db.close()


@contextlib.asynccontextmanager
async def bot_processes(
    sim: DiscordSimulator, url: str, processes: int
) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """``processes`` bot processes: one unsharded, or shards split over them (of 2)."""
    specs: list[dict[str, object]] = []
    for n in range(processes):
        spec: dict[str, object] = {
            "api": sim.url,
            "gateway": sim.gateway_url,
            "token": TOKEN,
            "database": url,
        }
        if processes > 1:
            spec["shard_count"] = processes
            spec["shard_ids"] = [n]
        specs.append(spec)
    started: list[asyncio.subprocess.Process] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        for spec in specs:  # one at a time: the first migrates and syncs the commands
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.scale_worker",
                json.dumps(spec),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=ROOT,
                env=env,
            )
            started.append(proc)
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 120)
            if line.strip() != b"ready":
                raise RuntimeError(f"bot process did not start: {line!r}")
        yield started
    finally:
        for proc in started:
            if proc.returncode is None:
                assert proc.stdin is not None
                proc.stdin.close()
        for proc in started:
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def wait_for_commands(sim: DiscordSimulator, guild: SimGuild) -> None:
    """Until the process owning shard 0 has synced the commands (``/noop`` among them)."""
    for _ in range(3000):
        try:
            sim.builder.command_data("noop", guild, {})
            return
        except SimulatorError:
            await asyncio.sleep(0.01)
    raise RuntimeError("the commands were never synced")


def fine(text: str) -> bool:
    return bool(text) and "Slow down" not in text and "went wrong" not in text


@dataclass
class Figures:
    """One command in one configuration: per-block rates and ratios to the /noop around it."""

    rates: list[float]
    ratios: list[float]
    failures: int = 0
    lost: int = 0

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)


async def measure(
    sim: DiscordSimulator, url: str, rooms: list[Room], rounds: int, block: int
) -> dict[str, Figures]:
    """``/helpme ask`` and ``/award give`` in ``rounds`` blocks, each between /noop blocks."""

    def slash(
        room: Room, user: SimUser, command: str, **options: object
    ) -> Awaitable[InteractionResult]:
        return sim.slash(
            user,
            command,
            guild=room.guild,
            channel=room.channels["general"],
            settle=False,
            options=options,
        )

    # Spread over every class; each student asks once, each teacher gives a few awards.
    askers = [
        (room, s) for i in range(STUDENTS - MENTORS) for room in rooms for s in [room.askers[i]]
    ]
    everyone = [(room, u) for room in rooms for u in (*room.students, *room.teachers)]
    teachers = [(room, t) for i in range(TEACHERS) for room in rooms for t in [room.teachers[i]]]
    used = {"noop": 0, "ask": 0, "award": 0}

    def noop(i: int) -> Awaitable[InteractionResult]:
        room, user = everyone[(used["noop"] + i) % len(everyone)]
        return slash(room, user, "noop")

    def ask(i: int) -> Awaitable[InteractionResult]:
        room, user = askers[used["ask"] + i]
        return slash(room, user, "helpme ask", subject="Math")

    def award(i: int) -> Awaitable[InteractionResult]:
        room, teacher = teachers[(used["award"] + i) % len(teachers)]
        student = room.askers[(used["award"] + i) // len(teachers) % len(room.askers)]
        return slash(room, teacher, "award give", student=student, kind="gold_star", private=True)

    figures = {name: Figures([], []) for name in ("/noop", "/helpme ask", "/award give")}
    asks = min(block, len(askers) // max(1, rounds))
    requests_before = await count_rows(url, "help_requests")
    awards_before = await count_rows(url, "awards")
    for _ in range(rounds):
        for name, make, size, key in (
            ("/helpme ask", ask, asks, "ask"),
            ("/award give", award, block, "award"),
        ):
            before, failed = await load(block, noop, lambda t: "ok" in t)
            used["noop"] += block
            rate, failures = await load(size, make, fine)
            used[key] += size
            after, failed_after = await load(block, noop, lambda t: "ok" in t)
            used["noop"] += block
            figures["/noop"].rates += [before, after]
            figures["/noop"].failures += failed + failed_after
            figures[name].rates.append(rate)
            figures[name].ratios.append(rate / ((before + after) / 2))
            figures[name].failures += failures
            # Teachers' burst limit (8 per 10 s) must not shape the numbers.
            await asyncio.sleep(0.5)
    figures["/noop"].ratios = [1.0]
    figures["/helpme ask"].lost = (
        used["ask"]
        - figures["/helpme ask"].failures
        - (await count_rows(url, "help_requests") - requests_before)
    )
    figures["/award give"].lost = (
        used["award"]
        - figures["/award give"].failures
        - (await count_rows(url, "awards") - awards_before)
    )
    return figures


async def run_config(
    engine: str, processes: int, url: str, classes: int, rounds: int, block: int
) -> dict[str, Figures]:
    """A fresh simulator and database, seeded, then the bot processes and the load."""
    sim = DiscordSimulator(token=TOKEN, enforce_rate_limits=False, response_timeout=60)
    await sim.start()
    try:
        rooms = build_rooms(sim, classes)
        await seed(url, rooms)
        async with bot_processes(sim, url, processes):
            await wait_for_commands(sim, rooms[0].guild)
            return await measure(sim, url, rooms, rounds, block)
    finally:
        await sim.stop()


@contextlib.contextmanager
def postgres_databases(admin_url: str | None) -> Iterator[Callable[[], Awaitable[str]]]:
    """A function making a fresh, empty database on a PostgreSQL server; returns its URL.

    With ``admin_url`` on that server (``createdb``); else on a throw-away server in a temporary
    folder, started (as the ``postgres`` user when run as root) and removed afterwards.
    """
    if admin_url is not None:
        names = iter(range(1, 1_000_000))

        async def on_given() -> str:
            name = f"classmentor_bench_{os.getpid()}_{next(names)}"
            created = await asyncio.create_subprocess_exec(
                "createdb", "--maintenance-db", admin_url, name
            )
            if await created.wait() != 0:
                raise RuntimeError(f"createdb {name} failed")
            return f"{admin_url.rpartition('/')[0]}/{name}"

        yield on_given
        return
    from tests import postgres  # the suite's throw-away server

    with postgres.running_server() as server:

        async def on_own() -> str:
            return await postgres.create_database(server)

        yield on_own


async def main_async(args: argparse.Namespace) -> dict[str, dict[str, Figures]]:
    results: dict[str, dict[str, Figures]] = {}
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as folder:
        new_pg: Callable[[], Awaitable[str]] | None = None
        # Configurations take turns (A, B, A, B...): on a shared machine the load drifts over
        # minutes, and taking turns spreads that drift over all of them alike.
        for repeat in range(args.repeat):
            for config in args.configs.split(","):
                engine, _, count = config.partition(":")
                processes = int(count or 1)
                if engine == "sqlite":
                    url = f"sqlite:///{Path(folder) / f'scale-{processes}-{repeat}.db'}"
                else:
                    if new_pg is None:
                        new_pg = stack.enter_context(postgres_databases(args.postgres))
                    url = await new_pg()
                print(
                    f"{config} (turn {repeat + 1}): {args.classes} classes,"
                    f" {processes} process(es) ...",
                    flush=True,
                )
                figures = await run_config(
                    engine, processes, url, args.classes, args.rounds, args.block
                )
                for name, f in figures.items():
                    print(
                        f"  {name:<12} {f.rate:7.0f}/s  {f.ratio * 100:5.1f} % of /noop"
                        f"  failures {f.failures}  lost {f.lost}",
                        flush=True,
                    )
                    kept = results.setdefault(config, {}).setdefault(name, Figures([], []))
                    kept.rates += f.rates
                    kept.ratios += f.ratios
                    kept.failures += f.failures
                    kept.lost += f.lost
    return results


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m bench.scale_engines``."""
    parser = argparse.ArgumentParser(prog="python -m bench.scale_engines", description=__doc__)
    parser.add_argument("--configs", default="sqlite:1,postgresql:2")
    parser.add_argument("--classes", type=int, default=CLASSES)
    parser.add_argument("--rounds", type=int, default=3, help="blocks per command")
    parser.add_argument(
        "--repeat", type=int, default=1, help="turns of every configuration, taken in turn"
    )
    parser.add_argument("--block", type=int, default=400, help="interactions per block")
    parser.add_argument(
        "--postgres", help="admin URL of a PostgreSQL server to create databases on"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    results = asyncio.run(main_async(args))
    names = list(results)
    print(f"\nAll turns, medians of the blocks ({args.repeat} x {args.rounds} per command):")
    for config, figures in results.items():
        for name, f in figures.items():
            print(
                f"  {config:<14} {name:<12} {f.rate:7.0f}/s  {f.ratio * 100:5.1f} % of /noop"
                f"  failures {f.failures}  lost {f.lost}"
            )
    base = names[0]
    for other in names[1:]:
        first, last = results[base], results[other]
        print(f"\n{other} vs {base} (same machine, same run):")
        for name in ("/helpme ask", "/award give"):
            print(
                f"  {name:<12} rate x{last[name].rate / first[name].rate:.2f}"
                f"   ratio to /noop {first[name].ratio * 100:.1f} % -> {last[name].ratio * 100:.1f} %"
            )
        print(f"  {'/noop':<12} rate x{last['/noop'].rate / first['/noop'].rate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
