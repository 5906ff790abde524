"""`classmentor scores import FILE --guild ID`: the operator's CSV import, without Discord.

The same all-or-nothing import as `/score import`. Offline there is no member list, so students
are given as Discord ids or mentions (names need the bot's view of the server).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path

from bot.clock import SystemClock
from bot.config import Config
from bot.domain.score_csv import MAX_BYTES, Member, format_report
from bot.errors import UserFacingError
from db.database import Database

OPERATOR_ID = 0  # recorded_by for imports made from the command line
_IDS = re.compile(rb"\b(\d{15,20})\b")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `scores import`."""
    scores = commands.add_parser("scores", help="quiz scores")
    actions = scores.add_subparsers(dest="scores_command", required=True)
    importer = actions.add_parser("import", help="import a CSV of scores (all or nothing)")
    importer.add_argument(
        "file", type=Path, help="CSV: student, subject, assessment, score, out_of, date[, aspect]"
    )
    importer.add_argument("--guild", type=int, required=True, help="the class's Discord server id")
    importer.set_defaults(handler=run_import)


def run_import(args: argparse.Namespace, config: Config, environ: object) -> int:
    """Exit 0 when every row was stored, 1 when the file was refused (nothing stored)."""
    path: Path = args.file
    if not path.is_file():
        print(f"classmentor: {path} is not a file", file=sys.stderr)
        return 1
    if path.stat().st_size > MAX_BYTES:
        print(f"classmentor: {path} is over 1 MiB; split it", file=sys.stderr)
        return 1
    return asyncio.run(_import(config, args.guild, path.read_bytes()))


async def _import(config: Config, guild_id: int, data: bytes) -> int:
    # The services (and the bot's features behind them) load for an import, not for the
    # command line's help.
    from bot.services.progress import ImportRejected
    from bot.wiring import build_services

    db = await Database.open_url(config.database.url)
    try:
        await db.migrate(backup_dir=config.database.backup_dir)
        services = build_services(config, db, SystemClock())
        roster = [Member(int(i), i.decode(), i.decode()) for i in set(_IDS.findall(data))]
        try:
            result = await services.progress.import_csv(guild_id, OPERATOR_ID, data, roster)
        except ImportRejected as exc:
            print(f"Nothing was imported: {len(exc.errors)} problem(s).", file=sys.stderr)
            print(format_report(exc.errors, shown=len(exc.errors)), file=sys.stderr)
            return 1
        except UserFacingError as exc:
            print(f"classmentor: {exc.message}", file=sys.stderr)
            return 1
    finally:
        await db.close()
    print(
        f"Imported {result.rows} scores ({', '.join(result.assessments)}): {result.added} new, "
        f"{result.changed} changed, {result.unchanged} unchanged."
    )
    return 0
