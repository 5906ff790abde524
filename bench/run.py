"""ClassMentor's on-demand performance benchmark: ``python -m bench.run [--quick]``.

Four parts, all on this machine and loopback only:

1. Outbound Discord requests per user action, through the real bot, the real discord.py and the
   simulated Discord (``bot.simulator``): what each action costs against the ~50 requests/s cap.
2. Interaction latency through the simulator (p50 / p95 / max).
3. The database on a real SQLite file: the matching query, the help transaction, the leaderboard
   and the weekly summary, over synthetic history inserted with a few ``executemany`` calls.
4. Start-up: bot start to ready with many classes and open requests whose timers are rebuilt.

Each part is a module of ``bench/`` (``outbound``, ``latency``, ``database``, ``startup``;
new ones are found by themselves, see :mod:`bench.common`). It prints a table and writes ``docs/benchmarks.md``. Every loop has a fixed count and a time cap.
Benchmarks are not tests: nothing here asserts on speed; it only stops if a step did not work
(the numbers would be meaningless).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import pkgutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import bench
from bench.common import (
    DOC_PATH,
    FULL,
    QUICK,
    Profile,
    Results,
    quiet_logs,
)
from bench.report import machine_facts, write_doc
from bot.simulator.classroom import DriverError


def discover() -> list[ModuleType]:
    """Every section module in ``bench/`` (one with ``ORDER`` and ``run_section``), in order."""
    found = []
    for info in pkgutil.iter_modules(bench.__path__):
        module = importlib.import_module(f"bench.{info.name}")
        if hasattr(module, "run_section") and hasattr(module, "ORDER"):
            found.append(module)
    return sorted(found, key=lambda m: (m.ORDER, m.__name__))


def section_name(module: ModuleType) -> str:
    """``bench.latency`` -> ``latency``."""
    return module.__name__.rsplit(".", 1)[-1]


async def run(profile: Profile, only: Sequence[str] = ()) -> Results:
    """Every benchmark section (or only those named), in order, each on its own files."""
    results = Results()
    with tempfile.TemporaryDirectory(prefix="classmentor-bench-") as tmp:
        for module in discover():
            name = section_name(module)
            if only and name not in only:
                continue
            folder = Path(tmp) / name
            folder.mkdir()
            await module.run_section(results, folder, profile)
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and write docs/benchmarks.md."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument(
        "--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SECTION",
        help="run only this section (repeatable): " + ", ".join(map(section_name, discover())),
    )
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    quiet_logs()
    print(f"ClassMentor benchmark ({profile.name}) on {machine_facts()}", flush=True)
    started = time.perf_counter()
    try:
        results = asyncio.run(run(profile, args.only))
    except DriverError as exc:
        print(f"benchmark stopped: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    if not args.no_doc and not args.only:
        write_doc(results, profile, elapsed)
        print(f"\nwrote {DOC_PATH} in {elapsed:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
