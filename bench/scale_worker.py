"""One bot process for ``bench.scale_engines``: the real bot in its own OS process (its own core).

``python -m bench.scale_worker SPEC_JSON`` connects to the simulated Discord the parent runs
(its REST and gateway URLs), on the database the spec names, running the spec's shards. It
prints ``ready`` once every guild has arrived and runs until its standard input closes or it
gets SIGTERM, then closes the bot and the database, as ``classmentor run`` would.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from dataclasses import replace

import discord
import yarl

from bench.common import START, bench_bot
from bot.clock import ManualClock
from bot.config import Config, DatabaseConfig
from db.database import Database


async def serve(spec: dict[str, object]) -> None:
    """Run the bot the spec describes until told to stop."""
    discord.http.Route.BASE = f"{spec['api']}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(str(spec["gateway"]))
    shard_count = spec.get("shard_count")
    shard_ids = spec.get("shard_ids")
    base = Config()
    config = replace(
        base,
        discord=replace(
            base.discord,
            shard_count=int(shard_count) if isinstance(shard_count, int) else None,
            shard_ids=tuple(shard_ids) if isinstance(shard_ids, list) else None,
        ),
        database=DatabaseConfig(url=str(spec["database"])),
    )
    db = await Database.open_url(str(spec["database"]))
    await db.migrate()
    bot = bench_bot(config, db, ManualClock(START), noop=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.read(1) else None)
    task = asyncio.create_task(bot.start(str(spec["token"])))
    try:
        while not bot.is_ready():
            if task.done():
                task.result()
                return
            await asyncio.sleep(0.01)
        print("ready", flush=True)
        await stop.wait()
    finally:
        await bot.close()
        await asyncio.gather(task, return_exceptions=True)
        await db.close()


def main() -> int:
    """Entry point: ``python -m bench.scale_worker SPEC_JSON``."""
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(serve(json.loads(sys.argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
