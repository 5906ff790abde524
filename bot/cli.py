"""`classmentor` — run the bot, check the set-up, migrate or back up the database, play the demo.

Each command imports what it needs (discord.py, aiohttp, the bot's features) when it runs: the
help, an argument error or `migrate` answer without loading the whole bot (~0.45 -> ~0.1 s).
"""

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

from bot import scores_cli
from bot.clock import SystemClock
from bot.config import (
    DEFAULT_CONFIG_PATH,
    Config,
    ConfigError,
    DatabaseConfig,
    Secret,
    WebSecrets,
    find_config_path,
    load_config,
    read_token,
    read_web_secrets,
)
from db import copy as copy_sql
from db.database import Database, DatabaseError
from db.errors import StoreError
from db.urls import redacted

log = logging.getLogger("classmentor")

EXIT_CONFIG = 2
EXIT_DATABASE = 3
EXIT_NETWORK = 4
EXIT_COPY_REFUSED = 5  # copy-db: target not empty, schema versions differ (nothing written)
EXIT_COPY_MISMATCH = 6  # copy-db: copied, but the verification found a difference


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Entry point of the `classmentor` console script; returns the exit code."""
    environ = os.environ if environ is None else environ
    args = _parser().parse_args(argv)
    try:
        path = find_config_path(args.config, environ)
        config = load_config(path)
        if path == DEFAULT_CONFIG_PATH and not path.exists() and args.command != "demo":
            print(
                f"classmentor: no {path} here; using the defaults "
                "(copy config.example.toml to config.toml to change them)",
                file=sys.stderr,
            )
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
    config_help = "path to the TOML config (default: $CLASSMENTOR_CONFIG or ./config.toml)"
    parser.add_argument("--config", help=config_help)
    # --config is accepted after the sub-command too (`classmentor check --config FILE`);
    # SUPPRESS keeps a sub-command without it from resetting one given before.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help=config_help)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_text, parents=[common])

    run = command("run", "migrate the database, then run the bot")
    run.set_defaults(handler=_run)
    check = command("check", "validate config, token and database, print the invite URL")
    check.add_argument("--client-id", type=int, help="application id (else read from the token)")
    check.add_argument(
        "--deep", action="store_true", help="also prove point totals equal the ledger's sums"
    )
    check.set_defaults(handler=_check)
    migrate = command("migrate", "apply pending database migrations")
    migrate.set_defaults(handler=_migrate)
    backup = command("backup", "copy the database safely, even while the bot runs")
    backup.add_argument("path", type=Path, help="file to write the backup to")
    backup.set_defaults(handler=_backup)
    export = command(
        "export", "write a class's gradebook CSV, or one person's privacy export (JSON)"
    )
    export.add_argument("--guild", type=int, required=True, help="the class's server id")
    export.add_argument("--out", type=Path, required=True, help="file to write")
    export.add_argument("--user", type=int, help="a person's id: their privacy export instead")
    export.add_argument(
        "--period",
        default="all_time",
        choices=["this_week", "last_week", "month", "term", "all_time"],
        help="gradebook period (default: all_time)",
    )
    export.set_defaults(handler=_export)
    demo = command("demo", "play a class week against a simulated Discord")
    demo.add_argument("--quiet", action="store_true", help="print only the summary")
    demo.set_defaults(handler=_demo)
    copy_db = command(
        "copy-db",
        "copy every class into another, empty database (e.g. SQLite to PostgreSQL) and verify",
    )
    copy_db.add_argument(
        "--from", dest="source", help="source database URL (default: the config's database.url)"
    )
    copy_db.add_argument("--to", dest="target", required=True, help="target database URL")
    copy_db.add_argument(
        "--batch",
        type=int,
        default=copy_sql.BATCH_ROWS,
        help="rows per write (default: %(default)s)",
    )
    copy_db.set_defaults(handler=_copy_db)
    scores_cli.add_parser(commands)
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
    web_secrets = read_web_secrets(config, environ) if config.web.enabled else None
    from bot.cpu_keeper import take_a_cpu

    # Before the store's threads and the event loop exist: they inherit it (bot/cpu.py).
    keeper = take_a_cpu(config.ops.cpu)
    try:
        return asyncio.run(_run_bot(config, token, web_secrets))
    finally:
        if keeper is not None:
            keeper.stop()


async def _run_bot(config: Config, token: Secret, web_secrets: WebSecrets | None = None) -> int:
    import aiohttp
    import discord

    from bot.heap import FreezeWhenReady
    from bot.wiring import build_bot

    db = await Database.open_url(config.database.url)
    try:
        applied = await db.migrate(backup_dir=config.database.backup_dir)
        if applied:
            log.info("database at version %s", applied[-1].version)
        bot = build_bot(config, db, SystemClock())
        # The start-up heap out of the collector's full passes (a process of its own: tests and
        # the demo, which start many bots in one process, do not freeze theirs).
        bot.add_listener(FreezeWhenReady().on_ready, "on_ready")
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, lambda: asyncio.ensure_future(bot.close()))
        async with bot:
            dashboard = None
            if web_secrets is not None:
                from bot.web.server import WebDashboard  # only loaded when switched on

                client_id = config.web.client_id or application_id_from_token(token) or 0
                dashboard = WebDashboard(config.web, web_secrets, bot, client_id=client_id)
                await dashboard.start()
            try:
                await bot.start(token.reveal())
            except discord.LoginFailure:
                log.error("Discord refused the token: check DISCORD_TOKEN / discord.token_file")
                return EXIT_CONFIG
            except ConfigError as exc:  # found while starting (the ops port is taken)
                log.error("%s", exc)
                return EXIT_CONFIG
            except discord.PrivilegedIntentsRequired:
                log.error(
                    "Discord refused the gateway intents; see README, 'Creating the Discord "
                    "application', step 3 (leave the privileged intents off)"
                )
                return EXIT_CONFIG
            except (aiohttp.ClientConnectionError, discord.GatewayNotFound, TimeoutError) as exc:
                # No network, DNS or firewall: one line for the operator, not a traceback.
                log.error(
                    "cannot reach Discord (%s): check this machine's internet connection, DNS "
                    "and firewall, then start again",
                    _reason(exc),
                )
                return EXIT_NETWORK
            finally:
                if dashboard is not None:
                    await dashboard.stop()
        log.info("ClassMentor stopped")
        return 0
    finally:
        await db.close()


def _where(database: DatabaseConfig) -> str:
    """The store for messages: the SQLite file, or the URL without its password."""
    return str(database.path) if database.engine == "sqlite" else redacted(database.url)


def _reason(exc: BaseException) -> str:
    """A short cause for a connection failure, without the chain of wrappers."""
    cause = getattr(exc, "os_error", None) or exc.__cause__ or exc
    return str(cause) or type(cause).__name__


def _check(args: argparse.Namespace, config: Config, environ: Mapping[str, str]) -> int:
    from bot.app import bot_intents, required_permissions

    print(
        f"Config: OK (database {_where(config.database)}, default zone {config.defaults.timezone})"
    )
    client_id = args.client_id
    exit_code = 0
    try:
        token = read_token(config, environ)
    except ConfigError as exc:
        print(f"Token: missing — `classmentor run` needs one ({exc})")
    else:
        problem = token_problem(token)
        if problem is None:
            print("Token: found, well-formed (Discord checks it when the bot starts)")
            client_id = client_id or application_id_from_token(token)
        else:
            print(f"Token: not a bot token — {problem}")
            exit_code = EXIT_CONFIG
    status = asyncio.run(_check_database(config.database, deep=args.deep))
    print(status)
    exit_code = _check_web(config, environ, client_id) or exit_code
    intents = bot_intents()
    used = [name for name, enabled in intents if enabled]
    print(f"Gateway intents: {', '.join(used)} (no privileged intents needed)")
    plan = config.discord.shards
    role = "syncs commands, runs retention" if plan.runs_shard_zero else "per-class work only"
    print(f"Shards: {plan.describe()} ({role})")
    if config.ops.http_port:
        print(
            f"Ops endpoint: http://{config.ops.http_host}:{config.ops.http_port}/healthz, /metrics"
        )
    permissions = required_permissions()
    if client_id:
        print("Invite URL: " + invite_url(client_id, permissions.value))
    elif exit_code:
        print("Invite URL: printed once the token is fixed (or pass --client-id APPLICATION_ID)")
    else:
        print(
            "Invite URL: pass --client-id APPLICATION_ID (or set the token) to print it; "
            f"permissions integer {permissions.value}, scopes bot applications.commands"
        )
    return exit_code


async def _check_database(database: DatabaseConfig, *, deep: bool = False) -> str:
    path = database.path if database.engine == "sqlite" else redacted(database.url)
    if database.engine == "sqlite" and not database.path.exists():
        return f"Database: {path} does not exist yet; `classmentor run` creates it"
    db = await Database.open_url(database.url)
    try:
        pending = await db.pending_migrations()
        version = await db.schema_version()
        integrity = await db.integrity_check()
        totals = None
        if deep and not pending:
            from db import ledger as ledger_sql

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


def _check_web(config: Config, environ: Mapping[str, str], client_id: int | None) -> int:
    """Say whether the dashboard is on and set up; print the redirect URI to register."""
    web = config.web
    if not web.enabled:
        print("Web dashboard: off ([web] enabled = false)")
        return 0
    print(
        f"Web dashboard: on, listening on {web.host}:{web.port}, people open {web.public_url}"
        + ("" if web.secure_cookies else " (http: cookies not marked Secure; use https in class)")
    )
    print(
        f"OAuth2 redirect URI to register (Developer Portal -> OAuth2 -> Redirects): "
        f"{web.redirect_uri}"
    )
    if not (web.client_id or client_id):
        print("Web dashboard: set web.client_id (the application id) or the bot token")
        return EXIT_CONFIG
    try:
        read_web_secrets(config, environ)
    except ConfigError as exc:
        print(f"Web dashboard secrets: {exc}")
        return EXIT_CONFIG
    print("Web dashboard secrets: OAuth2 client secret and session key found, well-formed")
    return 0


def invite_url(client_id: int, permissions: int) -> str:
    """The OAuth2 URL a server admin opens to add the bot with exactly what it needs."""
    return (
        f"https://discord.com/oauth2/authorize?client_id={client_id}"
        f"&scope=bot+applications.commands&permissions={permissions}"
    )


def token_problem(token: Secret) -> str | None:
    """What is wrong with the shape of a bot token, or ``None`` when it looks right.

    A bot token is three parts separated by dots, the first being the bot's id in base64. Only
    Discord can say whether it is valid; this catches a wrong copy (the client secret, the
    public key, a truncated paste) before the bot tries to log in.
    """
    parts = token.reveal().split(".")
    if len(parts) != 3 or not all(parts):
        return (
            f"it has {len(parts)} part(s) separated by dots, a bot token has 3; copy it again "
            "from the Developer Portal's Bot tab (Reset Token), not the client secret or public key"
        )
    if application_id_from_token(token) is None:
        return (
            "its first part is not a bot id in base64; copy it again from the Developer "
            "Portal's Bot tab (Reset Token)"
        )
    return None


def application_id_from_token(token: Secret) -> int | None:
    """A bot token's first part is its user (= application) id in base64."""
    head = token.reveal().split(".")[0]
    try:
        return int(base64.b64decode(head + "=" * (-len(head) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def _migrate(args: argparse.Namespace, config: Config, environ: Mapping[str, str]) -> int:
    async def migrate() -> int:
        db = await Database.open_url(config.database.url)
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
        if config.database.engine == "sqlite" and not config.database.path.exists():
            raise DatabaseError(f"{config.database.path} does not exist")
        db = await Database.open_url(config.database.url)
        try:
            target = await db.backup(args.path)
        finally:
            await db.close()
        print(f"Backed up {_where(config.database)} to {target}")
        return 0

    return asyncio.run(backup())


def _copy_db(args: argparse.Namespace, config: Config, environ: Mapping[str, str]) -> int:
    """Exit 0 copied and verified, 3 a database problem, 5 refused, 6 a verification mismatch."""

    def progress(table: str, rows: int) -> None:
        print(f"  {table:<28} {rows:>12,} rows", flush=True)

    try:
        report = asyncio.run(
            copy_sql.copy_database(
                args.source or config.database.url,
                args.target,
                batch=args.batch,
                progress=progress,
            )
        )
    except copy_sql.CopyRefused as exc:
        print(f"classmentor: copy-db refused: {exc}", file=sys.stderr)
        return EXIT_COPY_REFUSED
    except (copy_sql.CopyError, StoreError) as exc:
        print(f"classmentor: copy-db failed (nothing written): {exc}", file=sys.stderr)
        return EXIT_DATABASE
    print("\n".join(report.lines()))
    return 0 if report.ok else EXIT_COPY_MISMATCH


def _demo(args: argparse.Namespace, config: Config, environ: Mapping[str, str]) -> int:
    from bot.demo import run_demo  # the simulator is only loaded for the demo

    return asyncio.run(run_demo(quiet=args.quiet))


def _export(args: argparse.Namespace, config: Config, environ: Mapping[str, str]) -> int:
    import json

    from bot.errors import UserFacingError
    from bot.services.letters import gradebook_csv
    from bot.wiring import build_services

    async def export() -> int:
        if config.database.engine == "sqlite" and not config.database.path.exists():
            raise DatabaseError(f"{config.database.path} does not exist")
        db = await Database.open_url(config.database.url)
        try:
            if await db.pending_migrations():
                raise DatabaseError("the database needs `classmentor migrate` first")
            services = build_services(config, db, SystemClock())
            try:
                if args.user is not None:
                    document = await services.privacy.export_document(args.guild, args.user)
                    data = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
                    what = f"privacy export of user {args.user}"
                else:
                    rows = await services.letters.gradebook(args.guild, args.period)
                    data = gradebook_csv(rows, {})  # names live on Discord, not in the store
                    what = f"gradebook ({len(rows)} students, {args.period})"
            except UserFacingError as exc:
                print(f"classmentor: {exc.message}", file=sys.stderr)
                return 1
        finally:
            await db.close()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(data)
        print(f"Wrote the {what} to {args.out}")
        return 0

    return asyncio.run(export())
