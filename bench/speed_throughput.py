"""Throughput at 50 interactions in flight through the simulated Discord: ``python -m bench.speed_throughput``.

The real bot, the real discord.py and ``bot.simulator`` on loopback, a real SQLite file. Each
command is reported as interactions per second and as a ratio to ``/noop`` (a command that answers
at once, through the same tree) measured in the same run, before and after the others.

``/award give`` is measured twice: private (the student is told by DM, mostly a student the bot
never DMed: "/award private") and the default, public award (a shout-out, posted from the outbox
in coalesced batches: "/award public"); ``/helpme ask`` routes to 10 mentors, queueing the rest. Rate limits: by default the simulator does *not* enforce Discord's
caps here, because every DM and mentors-channel post counts against the 50 requests/s global cap:
with it on, ``/award give`` and ``/helpme ask`` measure Discord's cap, not the bot.
``--discord-limits`` turns enforcement on and reports the 429s hit. Failures (an error reply or
no answer) and lost writes (rows counted after the run) are reported; both should be 0.

``--rounds R`` measures instead ``/award give`` (private: to a student the bot never DMed, and to
one it DMed before; public) and ``/helpme ask`` in R blocks, each block between two ``/noop`` blocks, and prints the median of the blocks' ratios: on
a shared machine the load changes within seconds, so a ratio to the ``/noop`` measured around
the same block is steadier than one to a ``/noop`` from a minute earlier.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import discord

from bench.common import START, bench_bot, cpu_choice
from bench.speed_actions import HopCounter
from bot.app import BURST_WINDOW_S
from bot.clock import ManualClock
from bot.config import Config, DatabaseConfig
from bot.cpu_keeper import take_a_cpu
from bot.heap import freeze_start_up_heap
from bot.simulator import (
    DiscordSimulator,
    InteractionResult,
    SimUser,
    point_discord_at,
    running_bot,
)
from bot.simulator.interactions import SimulatorError
from db.database import Database

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.sim.token"
IN_FLIGHT = 50
TEACHERS = 400  # the per-person burst limit (8 per 10 s) applies to teachers too
STUDENTS = 1_200
MENTORS = 10
CLASS_SIZE = 30  # students ranked on the first leaderboard
PACED_RATE, PACED_COUNT = 200.0, 600  # answer latency at a steady 200 interactions/s (30 students)
AWARD_PACED_RATE, AWARD_PACED_COUNT = 50.0, 300  # a private award's answer latency at 50/s


def text_of(result: InteractionResult) -> str:
    """Everything the user saw, for failure checks."""
    parts = [result.content, *(str(e) for e in result.embeds)]
    parts += [m.content for m in result.followups]
    return " ".join(p for p in parts if p)


def freeze_history() -> None:
    """Before each measured phase or block: move everything alive (after one collection) to the
    collector's permanent generation.

    The simulated Discord runs in this process and keeps every message and interaction it ever
    saw; CPython's full collections walk all of it (7-77 ms a pass by the end of a run,
    collecting nothing), and whichever phase a pass falls in pays for it: ±10 % on a 600-long
    phase. A bot on its own keeps no such history (discord.py's message cache is bounded), so
    this keeps the bench's Discord out of the measurement; what the bot makes during a phase is
    collected as before.
    """
    freeze_start_up_heap()


async def load(
    count: int, make: Callable[[int], Awaitable[InteractionResult]], ok: Callable[[str], bool]
) -> tuple[float, int]:
    """``count`` interactions with ``IN_FLIGHT`` at a time; returns (per second, failures)."""
    freeze_history()
    gate = asyncio.Semaphore(IN_FLIGHT)
    failures = 0

    async def one(i: int) -> None:
        nonlocal failures
        async with gate:
            try:
                result = await make(i)
            except (SimulatorError, TimeoutError):
                failures += 1
                return
            if not ok(text_of(result)):
                failures += 1

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return count / (time.perf_counter() - began), failures


class CollectorTime:
    """Time CPython's cyclic garbage collector spends while in use (and its full passes)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0
        self._began = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        self.seconds += time.perf_counter() - self._began
        self.full += info["generation"] == 2

    def __enter__(self) -> CollectorTime:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


CPU_EACH: dict[str, float] = {}  # whole-run protocol: process CPU per interaction, by phase


async def measured(
    name: str,
    count: int,
    make: Callable[[int], Awaitable[InteractionResult]],
    ok: Callable[[str], bool],
) -> tuple[float, int]:
    """:func:`load`, noting the whole process's CPU time per interaction (bot, simulator and
    database threads) under ``name``: steadier than rates on a shared machine."""
    began = time.process_time()
    result = await load(count, make, ok)
    CPU_EACH[name] = CPU_EACH.get(name, 0.0) + (time.process_time() - began) / count
    return result


async def paced(
    per_second: float, count: int, make: Callable[[int], Awaitable[InteractionResult]]
) -> dict[str, float]:
    """Start ``count`` interactions at a steady ``per_second``; answer latency p50/p99 in ms."""
    latencies: list[float] = []
    failures = 0
    freeze_history()

    async def one(i: int) -> None:
        nonlocal failures
        began = time.perf_counter()
        try:
            await make(i)
        except (SimulatorError, TimeoutError):
            failures += 1
            return
        latencies.append(time.perf_counter() - began)

    tasks = []
    start = time.perf_counter()
    for i in range(count):
        delay = start + i / per_second - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    latencies.sort()

    def pick(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {"p50": pick(0.5), "p99": pick(0.99), "failures": float(failures)}


async def interleaved(
    rounds: int,
    count: int,
    noop: Callable[[int], Awaitable[InteractionResult]],
    commands: dict[
        str, tuple[Callable[[int], Awaitable[InteractionResult]], Callable[[str], bool]]
    ],
    settle: Callable[[], Awaitable[None]],
) -> dict[str, list[float]]:
    """Each command in ``rounds`` blocks, each block between two ``/noop`` blocks.

    On a shared machine the load changes within seconds: a ratio to the ``/noop`` measured
    right before and after the same block is steadier than one to a ``/noop`` from a minute
    earlier. Returns, per command, the ratio of each block (and ``/noop`` rates under "/noop").
    After each block the bot's follow-up work (DMs, offers, queue notices) is settled before
    the ``/noop`` after it, so that work never slows the floor it is compared with; a second
    ratio (key ``"<command> settled"``) counts the block until settled, follow-ups included
    (for commands whose follow-ups wait on a timer, e.g. coalesced shout-outs, it includes
    that wait).
    """
    block = max(1, count // rounds)
    ratios: dict[str, list[float]] = {name: [] for name in commands}
    ratios.update({f"{name} settled": [] for name in commands})
    ratios["/noop"] = []
    used = dict.fromkeys(commands, 0)
    noops = 0

    cpu: dict[str, list[float]] = {name: [] for name in ("/noop", *commands)}

    async def floor() -> float:
        nonlocal noops
        base = noops
        began = time.process_time()
        rate, _ = await load(block, lambda i: noop(base + i), lambda t: "ok" in t)
        cpu["/noop"].append((time.process_time() - began) / block)
        noops += block
        ratios["/noop"].append(rate)
        return rate

    for _ in range(rounds):
        for name, (make, ok) in commands.items():
            before = await floor()
            base = used[name]
            began, cpu_began = time.perf_counter(), time.process_time()
            rate, _ = await load(block, lambda i, m=make, b=base: m(b + i), ok)  # type: ignore[misc]
            await settle()
            settled = block / (time.perf_counter() - began)
            cpu[name].append((time.process_time() - cpu_began) / block)
            used[name] += block
            after = await floor()
            ratios[name].append(rate / ((before + after) / 2))
            ratios[f"{name} settled"].append(settled / ((before + after) / 2))
    # CPU time of the whole process (bot, simulator, database threads) per interaction, follow-up
    # work included: less sensitive than rates to other jobs on the machine. As "rates" per
    # CPU-second, so that the ratio to /noop reads like the throughput ratios.
    for name, seconds in cpu.items():
        ratios[f"{name} cpu"] = [1 / s for s in seconds]
    return ratios


async def rows(db: Database, table: str) -> int:
    """Rows in a table (lost-write check)."""
    row = await db.fetch_one(f"SELECT COUNT(*) FROM {table}")
    return int(row[0]) if row else 0


async def run(
    count: int, discord_limits: bool, rounds: int = 0, only: str = ""
) -> dict[str, dict[str, float]]:
    """Build the class, then measure each command (or ``only`` one, for a profiler)."""
    results: dict[str, dict[str, float]] = {}
    sim = DiscordSimulator(token=TOKEN, enforce_rate_limits=discord_limits, response_timeout=30)
    await sim.start()
    point_discord_at(sim)
    owner = sim.create_user("Owner")
    guild = sim.create_guild("Class 7B", owner=owner)
    teacher_role = guild.create_role("Teacher")
    teachers: list[SimUser] = []
    for n in range(TEACHERS):
        teacher = sim.create_user(f"Teacher {n}")
        guild.add_member(teacher, roles=[teacher_role])
        teachers.append(teacher)
    students: list[SimUser] = []
    for n in range(STUDENTS):
        student = sim.create_user(f"Student {n}")
        guild.add_member(student)
        students.append(student)
    general = guild.create_text_channel("general")
    announcements = guild.create_text_channel("announcements")
    help_channel = guild.create_text_channel("help")
    mentors_channel = guild.create_text_channel("mentors")
    with tempfile.TemporaryDirectory() as folder:
        config = Config(database=DatabaseConfig(path=Path(folder) / "throughput.db"))
        db = await Database.open(config.database.path)
        await db.migrate()
        bot = bench_bot(config, db, ManualClock(START), noop=True)
        try:
            async with running_bot(sim, bot, TOKEN, timeout=30):

                async def slash(
                    user: SimUser, command: str, **options: object
                ) -> InteractionResult:
                    return await sim.slash(
                        user, command, guild=guild, channel=general, settle=False, options=options
                    )

                set_up = await sim.slash(
                    owner,
                    "setup class",
                    guild=guild,
                    channel=general,
                    teacher_role=teacher_role,
                    announcements=announcements,
                    help_channel=help_channel,
                    mentors_channel=mentors_channel,
                    timezone="Europe/London",
                )
                assert "Class set up" in set_up.content, set_up.content
                await sim.slash(
                    teachers[0], "subject add", guild=guild, channel=general, name="Math"
                )
                mentors = students[:MENTORS]
                for n, mentor in enumerate(mentors, start=1):
                    granted = await sim.slash(
                        teachers[n],  # one teacher each: the burst limit is per person
                        "mentor grant",
                        guild=guild,
                        channel=general,
                        student=mentor,
                        subject="Math",
                    )
                    assert "Math" in text_of(granted), text_of(granted)
                    await bot.services.mentors.acknowledge_brief(guild.id, mentor.id)
                    await bot.services.mentors.set_available(guild.id, mentor.id, True)
                await sim.settle(timeout=30)
                # As `classmentor run` does once the bot is ready (bot/heap.py); here the
                # simulator's class of 1,600 people is start-up state too.
                freeze_start_up_heap()

                def noop(i: int) -> Awaitable[InteractionResult]:
                    return slash(students[i % STUDENTS], "noop")

                def award(i: int) -> Awaitable[InteractionResult]:
                    student = students[MENTORS + i % (STUDENTS - MENTORS)]
                    return slash(
                        teachers[i % TEACHERS],
                        "award give",
                        student=student,
                        kind="gold_star",
                        private=True,
                    )

                # The second half of the school was DMed by the bot before (an earlier award,
                # an offer): its DM channels are known, if the bot kept them.
                dmed_before = students[STUDENTS // 2 :]

                def award_again(i: int) -> Awaitable[InteractionResult]:
                    return slash(
                        teachers[i % TEACHERS],
                        "award give",
                        student=dmed_before[i % len(dmed_before)],
                        kind="effort",
                        private=True,
                    )

                def public_award(i: int) -> Awaitable[InteractionResult]:
                    # The default: a shout-out, posted from the outbox in coalesced batches.
                    student = students[MENTORS + i % (STUDENTS - MENTORS)]
                    return slash(
                        teachers[-1 - i % TEACHERS], "award give", student=student, kind="effort"
                    )

                def board(i: int) -> Awaitable[InteractionResult]:
                    return slash(students[i % STUDENTS], "leaderboard", period="all_time")

                askers = students[MENTORS:]

                def ask(i: int) -> Awaitable[InteractionResult]:
                    return slash(askers[i % len(askers)], "helpme ask", subject="Math")

                def fine(text: str) -> bool:
                    return "Slow down" not in text and "went wrong" not in text

                # A class of 30 ranked students, as a real class has, for the first leaderboard.
                for n, student in enumerate(students[MENTORS : MENTORS + CLASS_SIZE]):
                    await bot.services.recognition.give_award(
                        guild.id,
                        teachers[-1 - n].id,
                        student.id,
                        student_is_bot=False,
                        kind="effort",
                        points=1 + n % 7,
                    )
                if only == "leaderboard-big":
                    # The board with ~1,000 ranked students, as `/leaderboard*` meets it after
                    # the award phases of a whole run.
                    for n, student in enumerate(students[MENTORS + CLASS_SIZE : MENTORS + 1_000]):
                        await bot.services.recognition.give_award(
                            guild.id,
                            teachers[n % TEACHERS].id,
                            student.id,
                            student_is_bot=False,
                            kind="effort",
                            points=1 + n % 7,
                        )
                    await sim.settle(timeout=120)  # their shout-outs
                    freeze_start_up_heap()
                if only:
                    # One command alone (`--only`), e.g. under py-spy: nothing else in the profile.
                    make = {
                        "noop": noop,
                        "leaderboard": board,
                        "leaderboard-big": board,
                        "award-private": award,
                        "award-public": public_award,
                        "ask": ask,
                    }[only]
                    total = min(count, len(askers)) if only == "ask" else count  # one ask each
                    statements: list[str] = []
                    await db.trace(statements.append)
                    collections = CollectorTime()
                    with HopCounter(db) as hops, collections:
                        wall, loop_cpu = time.perf_counter(), time.thread_time()
                        rate, failures = await measured(only, total, make, fine)
                        wall, loop_cpu = time.perf_counter() - wall, time.thread_time() - loop_cpu
                        await sim.settle(timeout=120)
                    await db.trace(None)
                    # How busy the event loop's thread was: near 100 % means CPU-bound there.
                    CPU_EACH["loop busy"] = loop_cpu / wall
                    CPU_EACH["loop cpu"] = loop_cpu / total
                    # Per interaction, follow-up work (shout-outs, offers, notices) included.
                    CPU_EACH["hops"] = hops.hops / total
                    CPU_EACH["statements"] = len(statements) / total
                    CPU_EACH["gc"] = collections.seconds / total
                    CPU_EACH["gc full"] = collections.full
                    results[only] = {"rate": rate, "ratio": 0, "failures": failures, "lost": 0}
                    return results
                if rounds:
                    for student in dmed_before:
                        await bot.create_dm(discord.Object(student.id))
                    blocks = await interleaved(
                        rounds,
                        min(count, len(askers)),
                        noop,
                        {
                            "/award private": (award, fine),
                            "/award private (DMed before)": (award_again, fine),
                            "/award public": (public_award, fine),
                            "/helpme ask": (ask, fine),
                        },
                        lambda: sim.settle(timeout=120),
                    )
                    for name, values in blocks.items():
                        values.sort()
                        results[name] = {
                            "rate": values[len(values) // 2],
                            "ratio": values[0],
                            "failures": values[-1],
                            "lost": -1,
                        }
                    return results
                with sim.count_rate_limits() as limited:
                    noop_before = await measured("/noop", count, noop, lambda t: "ok" in t)
                    board_rate = await measured("/leaderboard", count, board, fine)
                    await asyncio.sleep(BURST_WINDOW_S)  # let every user's burst window clear
                    paced_runs = {
                        name: await paced(PACED_RATE, PACED_COUNT, make)
                        for name, make in (("/noop", noop), ("/leaderboard", board))
                    }
                    # The teacher's wait for a private award, at a rate the bot keeps up with
                    # (students the throughput phase below does not use).
                    paced_runs["/award private"] = await paced(
                        AWARD_PACED_RATE, AWARD_PACED_COUNT, lambda i: award(PACED_COUNT + i)
                    )
                    await asyncio.sleep(BURST_WINDOW_S)
                    awards_before = await rows(db, "awards")
                    award_rate = await measured("/award private", count, award, fine)
                    awards_written = await rows(db, "awards") - awards_before
                    await sim.settle(timeout=120)  # the DMs, before the next phase
                    # The default award (public: a coalesced shout-out) by the same teachers.
                    awards_before = await rows(db, "awards")
                    public_rate = await measured("/award public", count, public_award, fine)
                    public_written = await rows(db, "awards") - awards_before
                    await sim.settle(timeout=120)  # the shout-outs, before the next phase
                    big_board_rate = await measured("/leaderboard*", count, board, fine)
                    asks = min(count, len(askers))
                    requests_before = await rows(db, "help_requests")
                    ask_rate = await measured("/helpme ask", asks, ask, fine)
                    requests_written = await rows(db, "help_requests") - requests_before
                    await sim.settle(timeout=120)
                    # A student's wait for `/helpme ask` at 200/s, by students who have not
                    # asked yet (every mentor is busy by now: these queue, as most asks do).
                    paced_asks = min(PACED_COUNT, len(askers) - asks)
                    if paced_asks > 0:
                        await asyncio.sleep(BURST_WINDOW_S)
                        paced_runs["/helpme ask"] = await paced(
                            PACED_RATE, paced_asks, lambda i: ask(asks + i)
                        )
                        await sim.settle(timeout=120)
                    noop_after = await measured("/noop", count, noop, lambda t: "ok" in t)
                floor = (noop_before[0] + noop_after[0]) / 2
                results["/noop"] = {
                    "rate": floor,
                    "ratio": 1.0,
                    "failures": noop_before[1] + noop_after[1],
                    "lost": 0,
                }
                for name, (rate, failures), lost in (
                    ("/leaderboard", board_rate, 0),
                    ("/leaderboard*", big_board_rate, 0),
                    ("/award private", award_rate, count - award_rate[1] - awards_written),
                    ("/award public", public_rate, count - public_rate[1] - public_written),
                    ("/helpme ask", ask_rate, asks - ask_rate[1] - requests_written),
                ):
                    results[name] = {
                        "rate": rate,
                        "ratio": rate / floor,
                        "failures": failures,
                        "lost": lost,
                    }
                for name, figures in paced_runs.items():
                    results[f"paced {name}"] = {
                        "rate": figures["p50"],
                        "ratio": figures["p99"],
                        "failures": figures["failures"],
                        "lost": 0,
                    }
                results["429s"] = {
                    "rate": float(limited.count),
                    "ratio": 0,
                    "failures": 0,
                    "lost": 0,
                }
        finally:
            await db.close()
            await sim.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m bench.speed_throughput [--count N] [--discord-limits] [--cpu N]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.speed_throughput", description=__doc__)
    parser.add_argument("--count", type=int, default=1_000, help="interactions per command")
    parser.add_argument(
        "--discord-limits", action="store_true", help="enforce Discord's rate limits"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=0,
        help="instead: /award give and /helpme ask in R blocks, each between two /noop blocks;"
        " prints the median and range of the blocks' ratios",
    )
    parser.add_argument(
        "--only",
        choices=("noop", "leaderboard", "leaderboard-big", "award-private", "award-public", "ask"),
        default="",
        help="instead: only this command, --count times (for a profiler such as py-spy)",
    )
    parser.add_argument(
        "--cpu",
        type=cpu_choice,
        default="auto",
        help="where the bench runs, as [ops] cpu places a bot: auto (the bot's default: a free,"
        " quiet CPU of its own), off (wherever the OS puts it) or a CPU number; the in-process"
        " simulated Discord shares the bot's CPU (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    keeper = take_a_cpu(args.cpu)
    print(f"ops.cpu = {args.cpu}: on CPUs {sorted(os.sched_getaffinity(0))}")
    try:
        results = asyncio.run(run(args.count, args.discord_limits, args.rounds, args.only))
    finally:
        if keeper is not None:
            keeper.stop()
    if args.only:
        figures = results[args.only]
        cpu = CPU_EACH.get(args.only, 0.0)
        print(
            f"{args.only}: {figures['rate']:.0f}/s, failures {int(figures['failures'])},"
            f" CPU {cpu * 1000:.2f} ms each ({CPU_EACH['loop cpu'] * 1000:.2f} ms on the event"
            " loop's thread, busy"
            f" {100 * CPU_EACH['loop busy']:.0f} % of the time;"
            f" settled, per interaction: {CPU_EACH['statements']:.2f} statements (as traced),"
            f" {CPU_EACH['hops']:.2f} database-thread hops;"
            f" collector {CPU_EACH['gc'] * 1000:.3f} ms ({int(CPU_EACH['gc full'])} full passes)"
        )
        return 0
    if args.rounds:
        print(f"{IN_FLIGHT} in flight, {args.rounds} rounds, {args.count} per command")
        noop_cpu = results.get("/noop cpu", {}).get("rate", 0.0)
        for name, figures in results.items():
            if name.endswith(" cpu"):
                print(
                    f"  {name:<28} median {1000 / figures['rate']:7.3f} ms CPU each"
                    f"  ({100 * figures['rate'] / noop_cpu:.1f} % of /noop's CPU rate)"
                    if noop_cpu
                    else ""
                )
                continue
            unit = "/s" if name == "/noop" else " % of the /noop around it"
            scale = 1 if name == "/noop" else 100
            print(
                f"  {name:<28} median {figures['rate'] * scale:7.1f}{unit}"
                f"  (min {figures['ratio'] * scale:.1f}, max {figures['failures'] * scale:.1f})"
            )
        return 0
    print(f"{IN_FLIGHT} in flight, {args.count} interactions per command")
    print(
        f"  (/leaderboard ranks {CLASS_SIZE} students; /leaderboard* ranks ~1,000 after the awards)"
    )
    for name, figures in results.items():
        if name == "429s":
            print(f"  429s hit: {int(figures['rate'])}")
            continue
        if name.startswith("paced"):
            rate = AWARD_PACED_RATE if name.endswith("/award private") else PACED_RATE
            print(
                f"  {name[6:]:<14} at {rate:.0f}/s: answer p50 {figures['rate']:.1f} ms,"
                f" p99 {figures['ratio']:.1f} ms, failures {int(figures['failures'])}"
            )
            continue
        cpu = CPU_EACH.get(name, 0.0) / (2 if name == "/noop" else 1)  # /noop: before and after
        print(
            f"  {name:<14} {figures['rate']:8.0f}/s  {figures['ratio'] * 100:5.1f} % of /noop"
            f"  failures {int(figures['failures'])}  lost writes {int(figures['lost'])}"
            f"  CPU {cpu * 1000:.2f} ms each"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
