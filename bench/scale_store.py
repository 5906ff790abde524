"""The store at scale on PostgreSQL: leaderboards at 10k and 1M ledger rows, and copy-db's time.

``python -m bench.scale_store [--postgres ADMIN_URL] [--quick]``

One class (bench.speed_store's: 30 students, 10 Math mentors) gets its history on a SQLite
file through the bot's own INSERTs (so the totals trigger runs): 10k ledger rows and 5k past
help requests, then 1M ledger rows and 100k requests. At each size the file is moved with
``copy-db`` (db/copy.py, the command's own code) into a fresh PostgreSQL database, timed, and
every leaderboard period is read there through the services, p50/p95/p99 over 200 runs; the
same boards on the SQLite file are printed beside them. ``--quick``: 100k instead of 1M.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import time
from pathlib import Path

from bench.common import START
from bench.scale_engines import postgres_databases
from bench.speed_store import add_history, count, leaderboards, line, seed_class
from bot.clock import ManualClock
from bot.config import Config, DatabaseConfig
from bot.wiring import build_services
from db.copy import copy_database
from db.database import Database


async def boards_on(url: str, math: int) -> dict[str, dict[str, float]]:
    """Every leaderboard, timed through the services on the database at ``url``."""
    db = await Database.open_url(url)
    try:
        services = build_services(Config(database=DatabaseConfig(url=url)), db, ManualClock(START))
        return await leaderboards(services, math)
    finally:
        await db.close()


async def run(big: int, admin_url: str | None) -> dict[str, dict[str, object]]:
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        new_pg = stack.enter_context(postgres_databases(admin_url))
        source = f"sqlite:///{Path(folder) / 'school.db'}"
        db = await Database.open_url(source)
        try:
            await db.migrate()
            services = build_services(
                Config(database=DatabaseConfig(url=source)), db, ManualClock(START)
            )
            math = await seed_class(services)
            for label, requests, ledger_rows in (
                ("10k", 5_000, 10_000),
                (f"{big // 1000}k" if big < 1_000_000 else "1M", 95_000, big - 10_000),
            ):
                began = time.perf_counter()
                await add_history(db, math, requests, ledger_rows, seed=len(label))
                ledger = await count(db, "ledger")
                print(
                    f"\n{label}: {ledger:,} ledger rows, {await count(db, 'help_requests'):,}"
                    f" requests (written to SQLite in {time.perf_counter() - began:.1f} s)",
                    flush=True,
                )
                target = await new_pg()
                report = await copy_database(source, target)
                if not report.ok:
                    raise SystemExit("\n".join(report.lines()))
                copied = sum(t.target_rows for t in report.tables)
                print(
                    f"  copy-db sqlite -> postgresql: {report.seconds:.1f} s for {copied:,} rows"
                    f" ({ledger:,} ledger rows), verified",
                    flush=True,
                )
                on_pg = await boards_on(target, math)
                for name, figures in on_pg.items():
                    print(line(f"postgresql {name}", figures), flush=True)
                on_sqlite = await leaderboards(services, math)
                for name, figures in on_sqlite.items():
                    print(line(f"sqlite {name}", figures), flush=True)
                results[label] = {
                    "ledger": ledger,
                    "copied": copied,
                    "copy_s": report.seconds,
                    "postgresql": on_pg,
                    "sqlite": on_sqlite,
                }
        finally:
            await db.close()
    return results


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m bench.scale_store [--quick] [--postgres ADMIN_URL]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.scale_store", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100k ledger rows instead of 1M")
    parser.add_argument(
        "--postgres", help="admin URL of a PostgreSQL server to create databases on"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    results = asyncio.run(run(100_000 if args.quick else 1_000_000, args.postgres))
    for label, found in results.items():
        boards = found["postgresql"]
        assert isinstance(boards, dict)
        worst = max(boards.values(), key=lambda f: f["p95"])
        print(f"worst PostgreSQL leaderboard p95 at {label} ledger rows: {worst['p95']:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
