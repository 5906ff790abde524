"""`classmentor` — run the bot, check the set-up, migrate or back up the database, play the demo."""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import discord

from bot.app import bot_intents, required_permissions
from bot.clock import SystemClock
from bot.config import Config, ConfigError, Secret, find_config_path, load_config, read_token
from bot.wiring import build_bot
from db import ledger as ledger_sql
from db.database import Database, DatabaseError

log = logging.getLogger("classmentor")

EXIT_CONFIG = 2
EXIT_DATABASE = 3


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Entry point of the `classmentor` console script; returns the exit code."""
    environ = os.environ if environ is None else environ
    args = _parser().parse_args(argv)
    try:
        config = load_config(find_config_path(args.config, environ))
        _setup_logging(config.log_level)
        return int(args.handler(args, config, environ))
    except ConfigError as exc:
        print(f"classmentor: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except DatabaseError as exc:
        print(f"classmentor: database error: {exc}", file=sys.stderr)
        return EXIT_DATABASE
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="classmentor", description="ClassMentor: peer mentoring for a class on Discord."
    )
    parser.add_argument(
        "--config", help="path to the TOML config (default: $CLASSMENTOR_CONFIG or ./config.toml)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="migrate the database, then run the bot")
    run.set_defaults(handler=_run)
    check = commands.add_parser("check", help="validate config and database, print the invite URL")
    check.add_argument("--client-id", type=int, help="application id (else read from the token)")
    check.add_argument(
        "--deep", action="store_true", help="also prove point totals equal the ledger's sums"
    )
    check.set_defaults(handler=_check)
    migrate = commands.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(handler=_migrate)
    backup = commands.add_parser("backup", help="copy the database safely, even while the bot runs")
    backup.add_argument("path", type=Path, help="file to write the backup to")
    backup.set_defaults(handler=_backup)
    demo = commands.add_parser("demo", help="play a class week against a simulated Discord")
    demo.add_argument("--quiet", action="store_true", help="print only the summary")
    demo.set_defaults(handler=_demo)
    return parser


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # discord.py's own INFO lines are useful; its DEBUG is a firehose of payloads.
    logging.getLogger("discord").setLevel(max(logging.INFO, getattr(logging, level)))


def _run(args: argparse.Namespace, config: Config, environ: Mapping[str, str]) -> int:
    token = read_token(config, environ)
    return asyncio.run(_run_bot(config, token))


async def _run_bot(config: Config, token: Secret) -> int:
    db = await Database.open(config.database.path)
    try:
        applied = await db.migrate(backup_dir=config.database.backup_dir)
        if applied:
            log.info("database at version %s", applied[-1].version)
        bot = build_bot(config, db, SystemClock())
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, lambda: asyncio.ensure_future(bot.close()))
        async with bot:
            try:
                await bot.start(token.reveal())
            except discord.LoginFailure:
                log.error("Discord refused the token: check DISCORD_TOKEN / discord.token_file")
                return EXIT_CONFIG
            except discord.PrivilegedIntentsRequired:
                log.error("Discord refused the gateway intents; see README, 'Intents'")
                return EXIT_CONFIG
        log.info("ClassMentor stopped")
        return 0
    finally:
        await db.close()


def _check(args: argparse.Namespace, config: Config, environ: Mapping[str, str]) -> int:
    print(f"Config: OK (database {config.database.path}, default zone {config.defaults.timezone})")
    client_id = args.client_id
    try:
        token = read_token(config, environ)
        print("Token: found")
        client_id = client_id or application_id_from_token(token)
    except ConfigError as exc:
        print(f"Token: missing — `classmentor run` needs one ({exc})")
    status = asyncio.run(_check_database(config.database.path, deep=args.deep))
    print(status)
    intents = bot_intents()
    used = [name for name, enabled in intents if enabled]
    print(f"Gateway intents: {', '.join(used)} (no privileged intents needed)")
    permissions = required_permissions()
    if client_id:
        print("Invite URL: " + invite_url(client_id, permissions.value))
    else:
        print(
            "Invite URL: pass --client-id APPLICATION_ID (or set the token) to print it; "
            f"permissions integer {permissions.value}, scopes bot applications.commands"
        )
    return 0


async def _check_database(path: Path, *, deep: bool = False) -> str:
    if not path.exists():
        return f"Database: {path} does not exist yet; `classmentor run` creates it"
    db = await Database.open(path)
    try:
        pending = await db.pending_migrations()
        version = await db.schema_version()
        integrity = await db.integrity_check()
        totals = None
        if deep and not pending:
            async with db.reading() as conn:
                totals = await ledger_sql.totals_mismatches(conn)
    finally:
        await db.close()
    state = f"{len(pending)} migration(s) pending" if pending else "up to date"
    line = f"Database: {path}, schema version {version}, {state}, integrity {integrity}"
    if totals is not None:
        found = "equal the ledger's sums" if not totals else "DIFFER: " + "; ".join(totals)
        line += f"\nPoint totals: {found}"
    return line


def invite_url(client_id: int, permissions: int) -> str:
    """The OAuth2 URL a server admin opens to add the bot with exactly what it needs."""
    return (
        f"https://discord.com/oauth2/authorize?client_id={client_id}"
        f"&scope=bot+applications.commands&permissions={permissions}"
    )


def application_id_from_token(token: Secret) -> int | None:
    """A bot token's first part is its user (= application) id in base64."""
    head = token.reveal().split(".")[0]
    try:
        return int(base64.b64decode(head + "=" * (-len(head) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def _migrate(args: argparse.Namespace, config: Config, environ: Mapping[str, str]) -> int:
    async def migrate() -> int:
        db = await Database.open(config.database.path)
        try:
            applied = await db.migrate(backup_dir=config.database.backup_dir)
            version = await db.schema_version()
        finally:
            await db.close()
        names = ", ".join(m.name for m in applied) or "nothing to do"
        print(f"Migrations applied: {names}. Schema version {version}.")
        return 0

    return asyncio.run(migrate())


def _backup(args: argparse.Namespace, config: Config, environ: Mapping[str, str]) -> int:
    async def backup() -> int:
        if not config.database.path.exists():
            raise DatabaseError(f"{config.database.path} does not exist")
        db = await Database.open(config.database.path)
        try:
            target = await db.backup(args.path)
        finally:
            await db.close()
        print(f"Backed up {config.database.path} to {target}")
        return 0

    return asyncio.run(backup())


def _demo(args: argparse.Namespace, config: Config, environ: Mapping[str, str]) -> int:
    from bot.demo import run_demo  # the simulator is only loaded for the demo

    return asyncio.run(run_demo(quiet=args.quiet))
