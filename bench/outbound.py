"""Outbound Discord requests per user action, through the real bot and the simulator."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    FRIDAY_POST,
    GLOBAL_LIMIT,
    THURSDAY_SUGGESTION,
    BenchError,
    Profile,
    Results,
    is_interaction_route,
    running_room,
    short_route,
)
from bot.simulator.classroom import expect

# ----- 1. outbound requests per action ---------------------------------------------------------


async def bench_requests(results: Results, folder: Path) -> None:
    """REST calls the bot makes for each user action, route by route."""
    section = "Discord requests per action"
    print(f"\n{section}", flush=True)
    async with running_room(folder, students=4) as room:
        sim, c = room.sim, room
        alice, bob, carol, dan = c.students
        counts: dict[str, int] = {}
        limited: dict[str, int] = {}

        async def measure(
            name: str, step: Awaitable[object], *, leave_out: str | None = None
        ) -> Any:
            before = len(sim.requests)
            value = await step
            await sim.settle()
            records = sim.requests[before:]
            if leave_out is not None:
                # Another job fired at the same instant: report its calls on their own row.
                other = [r for r in records if short_route(r.route) == leave_out]
                records = [r for r in records if short_route(r.route) != leave_out]
                if other:
                    results.add(
                        section,
                        "  hourly badge check (fired at the same instant)",
                        f"{len(other)} ({len(other)} global)",
                        f"{len(other)}× {leave_out}: one GET per badge holder per class, hourly",
                    )
            counts[name] = len(records)
            limited[name] = sum(1 for r in records if not is_interaction_route(r.route))
            tally = Counter(short_route(r.route) for r in records)
            results.routes[name] = [
                f"{n}× {route}" if n > 1 else route for route, n in tally.items()
            ]
            results.add(
                section,
                name,
                f"{counts[name]} ({limited[name]} global)",
                ", ".join(results.routes[name]),
            )
            return value

        await measure(
            "/setup class",
            room.slash(
                c.owner,
                "setup class",
                teacher_role=c.teacher_role,
                announcements=c.announcements,
                help_channel=c.help_channel,
                mentors_channel=c.mentors_channel,
                timezone="Europe/London",
            ),
        )
        expect(
            await measure("/subject add", room.slash(c.teacher, "subject add", name="Math")),
            "Added",
        )
        await room.slash(c.teacher, "subject add", name="English")
        await measure("/mentor grant (first badge, brief DM)", room.grant(alice))
        await measure("brief acknowledgement", room.acknowledge(alice))
        expect(await measure("/available on", room.slash(alice, "available on")), "available")
        asked = await measure(
            "/helpme ask (mentor free: offer DM)",
            room.slash(carol, "helpme ask", subject="Math", topic="adding fractions"),
        )
        expect(asked, "asked a **Math** mentor")
        accepted = await measure(
            "accept (session thread opened)", room.click(alice, room.offer_to(alice), "Accept")
        )
        expect(accepted, "You accepted")
        prompt = await measure(
            "solved (rating prompt)", room.click(carol, room.thread_starter(), "Solved")
        )
        expect(prompt, "Did this help?")
        if prompt.message is None:
            raise BenchError("the rating prompt has no message")
        rated = await measure(
            "rate 5 (credit, thread archived)", room.click(carol, prompt.message, "5")
        )
        expect(rated, "Solved!")
        await room.slash(alice, "available off")
        await sim.settle()
        queued = await measure(
            "/helpme ask (nobody free: queued)", room.slash(dan, "helpme ask", subject="Math")
        )
        expect(queued, "No Math mentor is free")
        await room.slash(dan, "helpme cancel")
        await sim.settle()
        awarded = await measure(
            "/award give (shout-out)",
            room.slash(c.teacher, "award give", student=bob, kind="gold_star", reason="Kind help"),
        )
        expect(awarded, "Shout-out on its way")
        expect(await measure("/leaderboard", room.slash(carol, "leaderboard")), "This week")
        # Jobs overdue from the jump (periodic checks) run first, unmeasured, one second early.
        member_route = "GET /guilds/{}/members/{}"
        room.clock.set(THURSDAY_SUGGESTION - timedelta(seconds=1))
        await room.run_jobs()
        await sim.settle()
        room.clock.set(THURSDAY_SUGGESTION)
        await measure("tutor suggestion (Thu 15:00 job)", room.run_jobs(), leave_out=member_route)
        room.clock.set(FRIDAY_POST - timedelta(seconds=1))
        await room.run_jobs()
        await sim.settle()
        room.clock.set(FRIDAY_POST)
        posts_before = len(sim.messages(c.announcements))
        await measure("weekly post (Fri 15:00 job)", room.run_jobs(), leave_out=member_route)
        if len(sim.messages(c.announcements)) != posts_before + 1:
            raise BenchError("the weekly post did not go out")

    flow = [
        "/helpme ask (mentor free: offer DM)",
        "accept (session thread opened)",
        "solved (rating prompt)",
        "rate 5 (credit, thread archived)",
    ]
    total = sum(counts[name] for name in flow)
    total_limited = sum(limited[name] for name in flow)
    results.facts.update(flow_total=total, flow_limited=total_limited, counts=counts)
    results.add(
        section, "one complete help flow (ask → rated)", f"{total} ({total_limited} global)"
    )
    results.add(
        section,
        f"complete help flows/s within {GLOBAL_LIMIT} req/s",
        f"{GLOBAL_LIMIT / total_limited:.1f} ({GLOBAL_LIMIT / total:.1f} counting all)",
        "global-limited calls only (interaction replies are exempt); all calls in brackets",
    )


ORDER = 10


async def run_section(results: Results, folder: Path, profile: Profile) -> None:
    """This section, as ``python -m bench.run`` calls it."""
    await bench_requests(results, folder)
