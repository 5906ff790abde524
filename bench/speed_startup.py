"""Start-up with 100 classes and 10,000 open help requests: ``python -m bench.speed_startup``.

This process runs the simulated Discord and seeds a real SQLite file; the bot runs in a child
process (so its memory is its own) with the real scheduler and clock: it rebuilds every timer,
re-adds its views, connects, and receives 100 GUILD_CREATEs. The child reports the time from the
gateway connection to ``on_ready``, the whole start, its RSS once ready, and how many log lines
start-up wrote. discord.py fires ``on_ready`` only after ``guild_ready_timeout`` passes with no new
GUILD_CREATE, so the run is made with the bot's default (``GUILD_READY_TIMEOUT_S``) and with 0.1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

CLASSES = 100
OPEN_REQUESTS = 10_000
TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.sim.token"


def rss_mib() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MiB, from /proc."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def child(url: str, gateway: str, db_path: Path, ready_timeout: float) -> dict[str, float]:
    """The bot process: start, wait for on_ready, report."""
    import discord
    import yarl

    from bot.clock import SystemClock
    from bot.config import Config, DatabaseConfig
    from bot.cpu_keeper import take_a_cpu
    from bot.wiring import build_bot
    from db.database import Database

    lines = 0

    class Count(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            nonlocal lines
            lines += 1

    logging.basicConfig(level=logging.INFO, handlers=[Count()])
    discord.http.Route.BASE = f"{url}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
    began = time.perf_counter()
    config = Config(database=DatabaseConfig(path=db_path))
    # Placed as `classmentor run` places a bot (ops.cpu, "auto" by default), before its threads.
    keeper = take_a_cpu(config.ops.cpu)
    db = await Database.open(db_path)
    bot = build_bot(config, db, SystemClock(), guild_ready_timeout=ready_timeout)
    marks: dict[str, float] = {}
    ready = asyncio.Event()

    async def on_connect() -> None:
        marks.setdefault("connect", time.perf_counter())

    async def on_ready() -> None:
        marks["ready"] = time.perf_counter()
        ready.set()

    bot.add_listener(on_connect, "on_connect")
    bot.add_listener(on_ready, "on_ready")
    task = asyncio.create_task(bot.start(TOKEN))
    await asyncio.wait_for(ready.wait(), 60)
    rss, peak = rss_mib()
    figures = {
        "connect_to_ready_s": marks["ready"] - marks["connect"],
        "start_to_ready_s": marks["ready"] - began,
        "timers": float(len(bot.jobs.job_ids())),
        "guilds": float(len(bot.guilds)),
        "rss_mib": rss,
        "peak_rss_mib": peak,
        "log_lines": float(lines),
    }
    await bot.close()
    await asyncio.gather(task, return_exceptions=True)
    await db.close()
    if keeper is not None:
        keeper.stop()
    return figures


async def seed(db_path: Path, guilds: list[tuple[int, int, int, int]]) -> None:
    """100 configured classes with Math, each with 100 open requests (half offered, half active)."""
    from db.database import Database
    from db.timefmt import to_db

    now = datetime.now(UTC)
    db = await Database.open(db_path)
    await db.migrate()
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO classes (guild_id, timezone, post_weekday, post_time, created_at,"
            " teacher_role_id, announcements_channel_id, help_channel_id, mentors_channel_id,"
            " configured_at) VALUES (?, 'Europe/London', 4, '15:00', ?, ?, ?, ?, ?, ?)",
            [
                (g, to_db(now), role, channel, channel, channel, to_db(now))
                for g, role, channel, _ in guilds
            ],
        )
        await conn.executemany(
            "INSERT INTO subjects (id, guild_id, name, created_at) VALUES (?, ?, 'Math', ?)",
            [(n + 1, g, to_db(now)) for n, (g, *_rest) in enumerate(guilds)],
        )
        per_class = OPEN_REQUESTS // len(guilds)
        requests = []
        for n, (g, _role, _channel, _) in enumerate(guilds):
            for k in range(per_class):
                offered = k % 2 == 0
                requests.append(
                    (
                        g,
                        n + 1,
                        100_000 + k,
                        "offered" if offered else "active",
                        200_000 + k,
                        to_db(now + timedelta(minutes=3)) if offered else None,
                        to_db(now),
                        to_db(now),
                        None if offered else to_db(now),
                        None if offered else to_db(now),
                    )
                )
        await conn.executemany(
            "INSERT INTO help_requests (guild_id, subject_id, student_id, state, mentor_id,"
            " offer_expires_at, created_at, queued_at, accepted_at, last_activity_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            requests,
        )
    await db.close()


async def parent(ready_timeouts: list[float]) -> list[dict[str, float]]:
    """Run the simulator and seed; start the bot in a child process per timeout."""
    from bot.simulator import DiscordSimulator

    results = []
    with tempfile.TemporaryDirectory() as folder:
        db_path = Path(folder) / "startup.db"
        async with DiscordSimulator(token=TOKEN) as sim:
            owner = sim.create_user("Owner")
            guilds = []
            for n in range(CLASSES):
                guild = sim.create_guild(f"Class {n}", owner=owner)
                role = guild.create_role("Teacher")
                channel = guild.create_text_channel("class")
                guilds.append((guild.id, role.id, channel.id, 0))
            await seed(db_path, guilds)
            for ready_timeout in ready_timeouts:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bench.speed_startup",
                    "--child",
                    sim.url,
                    sim.gateway_url,
                    str(db_path),
                    str(ready_timeout),
                    stdout=subprocess.PIPE,
                )
                out, _ = await proc.communicate()
                figures = json.loads(out.decode().strip().splitlines()[-1])
                figures["guild_ready_timeout_s"] = ready_timeout
                results.append(figures)
    return results


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m bench.speed_startup``."""
    parser = argparse.ArgumentParser(prog="python -m bench.speed_startup", description=__doc__)
    parser.add_argument("--child", nargs=4, metavar=("URL", "GATEWAY", "DB", "READY_TIMEOUT"))
    args = parser.parse_args(argv)
    if args.child:
        url, gateway, db_path, ready_timeout = args.child
        figures = asyncio.run(child(url, gateway, Path(db_path), float(ready_timeout)))
        print(json.dumps(figures))
        return 0
    from bot.app import GUILD_READY_TIMEOUT_S

    for figures in asyncio.run(parent([GUILD_READY_TIMEOUT_S, 0.1])):
        print(
            f"guild_ready_timeout {figures['guild_ready_timeout_s']:.1f} s:"
            f" connect->ready {figures['connect_to_ready_s']:.2f} s,"
            f" start->ready {figures['start_to_ready_s']:.2f} s,"
            f" {int(figures['guilds'])} guilds, {int(figures['timers'])} timers,"
            f" RSS {figures['rss_mib']:.1f} MiB (peak {figures['peak_rss_mib']:.1f}),"
            f" {int(figures['log_lines'])} log lines"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
