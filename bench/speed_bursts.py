"""Bursts at Discord's real limits: ``python -m bench.speed_bursts [--runs N] [--cpu auto|off|N]``.

Two classroom moments, each in a fresh class on the simulated Discord, which enforces Discord's
published rate limits (per-route buckets, ~5 messages per 5 s per channel, the global limit),
with the real bot and its production pauses (the shout-out poster's and the queue notice's
windows), a real SQLite file:

- **An award burst**: four teachers give 30 ``/award give`` in 10 s (one every third of a
  second, each teacher within the per-person burst limit). Measured: each teacher's reply,
  from the command to the interaction's answer, and each public shout-out, from the command to
  the moment its text is in #announcements (a message posted or edited).
- **A help rush**: 30 students ``/helpme ask`` Math within 2 s while 3 mentors are available.
  Measured: each student's answer, and how many new messages the mentors channel receives.

Both count the 429s the bot hits. Targets (issue 14): every teacher reply within 50 ms, every
shout-out visible within 15 s, every student answered within 1 s, at most 2 new messages in the
mentors channel, 0 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path

from bench.common import cpu_choice, running_room
from bot.cpu_keeper import take_a_cpu
from bot.simulator import SimUser
from bot.simulator.classroom import Classroom, text_of

AWARDS = 30
AWARD_SPAN_S = 10.0
TEACHERS = 4
ASKS = 30
ASK_SPAN_S = 2.0
MENTORS = 3
VISIBLE_WITHIN_S = 60.0  # give up waiting for a shout-out after this long (a failure)


@dataclass
class Burst:
    """What one burst measured, in seconds."""

    answers: list[float]
    visible: list[float]
    new_messages: int
    rate_limited: int
    failures: int

    def line(self, name: str) -> str:
        """One printable line of the figures."""
        answers = sorted(self.answers)
        parts = [
            f"{name}: answers p50 {1000 * answers[len(answers) // 2]:.1f} ms,"
            f" max {1000 * answers[-1]:.1f} ms"
        ]
        if self.visible:
            parts.append(f"visible max {max(self.visible):.2f} s")
        else:
            parts.append(f"{self.new_messages} new messages")
        parts.append(f"429s {self.rate_limited}, failures {self.failures}")
        return "; ".join(parts)


async def paced(
    count: int, span_s: float, one: Callable[[int], Coroutine[object, object, None]]
) -> None:
    """Start ``one(i)`` for ``count`` values of ``i`` evenly over ``span_s`` seconds."""
    start = time.perf_counter()
    tasks = []
    for i in range(count):
        delay = start + i * span_s / count - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)


async def award_burst(folder: Path) -> Burst:
    """Four teachers, 30 awards in 10 s; each reply and each shout-out timed."""
    async with running_room(folder, students=AWARDS) as room:
        await room.set_up()
        # Teachers of their own: the set-up's commands count against the class teacher's
        # per-person burst limit.
        staff = extra_members(room, "Teacher", TEACHERS, teacher=True)
        students = [room.person(f"Student {n + 1}") for n in range(AWARDS)]
        began: dict[int, float] = {}
        answers: list[float] = []
        seen: dict[int, float] = {}
        failures = 0

        async def one(n: int) -> None:
            nonlocal failures
            began[n] = time.perf_counter()
            result = await room.sim.slash(
                staff[n % TEACHERS],
                "award give",
                guild=room.guild,
                channel=room.general,
                settle=False,
                options={"student": students[n], "kind": "gold_star", "reason": marker(n)},
            )
            answers.append(time.perf_counter() - began[n])
            failures += "Shout-out on its way" not in text_of(result)

        async def watch() -> None:
            deadline = time.perf_counter() + AWARD_SPAN_S + VISIBLE_WITHIN_S
            while len(seen) < AWARDS and time.perf_counter() < deadline:
                text = "\n".join(m.content for m in room.sim.messages(room.announcements))
                now = time.perf_counter()
                for n in began:
                    if n not in seen and marker(n) in text:
                        seen[n] = now - began[n]
                await asyncio.sleep(0.02)

        with room.sim.count_rate_limits() as limited:
            watcher = asyncio.create_task(watch())
            await paced(AWARDS, AWARD_SPAN_S, one)
            await watcher
        failures += AWARDS - len(seen)
        return Burst(answers, list(seen.values()), 0, limited.count, failures)


async def help_rush(folder: Path) -> Burst:
    """Three available Math mentors, 30 students asking within 2 s; each answer timed."""
    async with running_room(folder, students=MENTORS) as room:
        await room.set_up()
        for mentor in (room.person(f"Student {n + 1}") for n in range(MENTORS)):
            await room.make_mentor(mentor)
        askers = extra_members(room, "Asker", ASKS, teacher=False)
        before = len(room.sim.messages(room.mentors_channel))
        answers: list[float] = []
        failures = 0

        async def one(n: int) -> None:
            nonlocal failures
            began = time.perf_counter()
            result = await room.sim.slash(
                askers[n],
                "helpme ask",
                guild=room.guild,
                channel=room.general,
                settle=False,
                options={"subject": "Math"},
            )
            answers.append(time.perf_counter() - began)
            text = text_of(result)
            failures += not ("asked a **Math** mentor" in text or "in line" in text)

        with room.sim.count_rate_limits() as limited:
            await paced(ASKS, ASK_SPAN_S, one)
            await room.sim.settle()
        new_messages = len(room.sim.messages(room.mentors_channel)) - before
        return Burst(answers, [], new_messages, limited.count, failures)


def extra_members(room: Classroom, name: str, count: int, *, teacher: bool) -> list[SimUser]:
    """``count`` new members of the class (with the teacher role when ``teacher``)."""
    members = []
    for n in range(count):
        user = room.sim.create_user(f"{name} {n + 1}")
        room.guild.add_member(user, roles=[room.teacher_role] if teacher else [])
        members.append(user)
    return members


def marker(n: int) -> str:
    """The award's reason, unique per award, to find its shout-out."""
    return f"Burst star {n:02d}"


async def run(runs: int) -> list[tuple[Burst, Burst]]:
    """Each burst ``runs`` times, each in a fresh class and database."""
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            awards = await award_burst(Path(folder) / "awards")
            rush = await help_rush(Path(folder) / "rush")
        results.append((awards, rush))
    return results


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m bench.speed_bursts [--runs N] [--cpu auto|off|N]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.speed_bursts", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="each burst this many times")
    parser.add_argument(
        "--cpu",
        type=cpu_choice,
        default="auto",
        help="where the bench runs, as [ops] cpu places a bot (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    keeper = take_a_cpu(args.cpu)
    try:
        results = asyncio.run(run(args.runs))
    finally:
        if keeper is not None:
            keeper.stop()
    for awards, rush in results:
        print(awards.line(f"{AWARDS} awards in {AWARD_SPAN_S:.0f} s from {TEACHERS} teachers"))
        print(rush.line(f"{ASKS} asks in {ASK_SPAN_S:.0f} s with {MENTORS} mentors"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
