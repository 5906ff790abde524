"""The Discord side's root: the ``commands.Bot`` subclass and its command tree.

Everything it needs comes in through the constructor (built once in :mod:`bot.wiring`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from types import ModuleType
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import extension_modules
from bot.admission import ACK_AFTER_S, AdmissionState, BurstLimiter, ShardedAdmissionState
from bot.metrics import BotMetrics
from bot.ops import OpsServer, discord_trace
from bot.pacing import Pacing
from bot.sharding import ShardPlan
from cogs._discord_api import sweep_buckets_amortised
from cogs._errors import interaction_label, report_error, send_error
from db import meta as meta_sql

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.config import Config
    from bot.jobs import Jobs
    from bot.services import Services
    from db.database import Database

__all__ = ["ClassMentorBot", "ClassMentorTree", "report_error", "send_error"]

log = logging.getLogger(__name__)

# Loaded in this order; a failure stops start-up (a half-loaded bot would confuse a class).
EXTENSIONS: tuple[str, ...] = (
    "cogs.setup",
    "cogs.mentors",
    "cogs.recognition",
    "cogs.help",
    "cogs.privacy",
    "cogs.letters",
    "cogs.progress",
    "cogs.lessons",
    "cogs.dashboard",
)
COMMAND_HASH_KEY = "command_tree_hash"
# discord.py fires on_ready this long after the last server arrived (its default is 2 s). A
# second is plenty on a healthy gateway and keeps "ready" within 2 s of connecting even with a
# hundred classes; a server arriving later is handled like any other.
GUILD_READY_TIMEOUT_S = 1.0
# Commands anyone may use before /setup (everything else replies with a hint to run it).
BEFORE_SETUP = frozenset({"setup"})
# Per-user burst limit for commands, buttons and forms (never autocomplete, which is every
# keystroke): generous for a person, tight for a script.
BURST_LIMIT = 8
BURST_WINDOW_S = 10.0


def bot_intents() -> discord.Intents:
    """The gateway intents ClassMentor uses: no privileged ones.

    guilds: roles, channels and threads; guild_messages: activity in help-session threads (only
    the timing is used; message content is not requested).
    """
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    return intents


class ClassMentorTree(app_commands.CommandTree["ClassMentorBot"]):
    """The command tree: a burst limit, a set-up gate, and the one error handler.

    Every interaction but autocomplete passes :meth:`admit` first (see :mod:`bot.admission`),
    and is deferred if nothing answered it within ``ack_after_s``.
    """

    def __init__(self, client: ClassMentorBot) -> None:
        super().__init__(client)
        self.burst = BurstLimiter(BURST_LIMIT, BURST_WINDOW_S)
        self.ack_after_s = ACK_AFTER_S
        self._refusals: set[asyncio.Task[None]] = set()

    def admit(self, interaction: discord.Interaction[Any]) -> bool:
        """Count a command, button press or form; answer and drop it when the person bursts."""
        self.client.metrics.admitted(interaction_label(interaction))
        if self.burst.allow(interaction.user.id):
            return True
        self.client.metrics.failed(interaction_label(interaction), "refused")
        task = self.client.loop.create_task(
            send_error(interaction, "Slow down a little, please: try again in a few seconds.")
        )
        self._refusals.add(task)  # keep a reference until it is sent
        task.add_done_callback(self._refusals.discard)
        return False

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Refuse commands in a class that is not set up yet (autocomplete always passes)."""
        if interaction.type is discord.InteractionType.autocomplete:
            return True
        try:
            command = interaction.command
            if (
                interaction.type is discord.InteractionType.application_command
                and interaction.guild_id is not None
                and command is not None
                and command.qualified_name.split()[0] not in BEFORE_SETUP
            ):
                await self.client.services.classes.require_configured(interaction.guild_id)
        except Exception as exc:  # answered through the one error path, never left hanging
            await report_error(interaction, exc)
            return False
        return True

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Expected errors become a friendly private message; the rest get an error id."""
        await report_error(interaction, error)


class ClassMentorBot(commands.Bot):
    """ClassMentor's bot: loads its features, re-adds persistent views, starts the jobs."""

    def __init__(
        self,
        *,
        config: Config,
        db: Database,
        services: Services,
        jobs: Jobs,
        clock: Clock,
        extensions: tuple[str, ...] = EXTENSIONS,
        guild_ready_timeout: float = GUILD_READY_TIMEOUT_S,
        metrics: BotMetrics | None = None,
        pacing: Pacing | None = None,
        reuse_extension_modules: bool = False,
    ) -> None:
        self.metrics = metrics or BotMetrics()
        # Pauses of the bot's own background Discord work (tests choose their own).
        self.pacing = pacing or Pacing()
        # ClassMentor has no voice features: discord.py's "voice will NOT be supported" warnings
        # would only worry operators.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=bot_intents(),
            tree_cls=ClassMentorTree,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            guild_ready_timeout=guild_ready_timeout,
            http_trace=discord_trace(self.metrics),  # counts 429s, times acknowledgements
            **self._shard_options(config.discord.shards),
        )
        sweep_buckets_amortised(self)  # a new DM channel's bucket costs O(1), not O(table)
        self.config = config
        # The shards this process runs (see bot.sharding); "shards" is discord.py's own name.
        self.shard_plan = config.discord.shards
        self.db = db
        self.services = services
        self.jobs = jobs
        self.clock = clock
        self._extensions = extensions
        # A process that starts many bots (tests, demo, benchmark) need not execute cogs/ again
        # at every start (see bot.extension_modules); production loads as discord.py does.
        self._reuse_extension_modules = reuse_extension_modules
        # While close() unloads the extensions: their module names, swept from sys.modules at
        # once when it is done (see _call_module_finalizers).
        self._unloaded: list[str] | None = None
        ops = config.ops
        self.ops = OpsServer(self, ops.http_host, ops.http_port) if ops.http_port else None

    @property
    def tree(self) -> ClassMentorTree:
        """The command tree, typed as ClassMentor's (it is built with ``tree_cls``)."""
        tree = super().tree
        assert isinstance(tree, ClassMentorTree)
        return tree

    @staticmethod
    def _shard_options(plan: ShardPlan) -> dict[str, Any]:
        # The unsharded bot connects as plain discord.py does: no shard options at all.
        return {}

    def owns_guild(self, guild_id: int) -> bool:
        """Whether this process serves the class in ``guild_id``: rebuild its timers, run its jobs.

        Always true for the unsharded bot. Start-up code that rebuilds per-class timers and jobs
        filters with it; bot-wide work checks ``shard_plan.runs_shard_zero`` instead.
        """
        return self.shard_plan.owns(guild_id)

    def _get_state(self, **options: Any) -> AdmissionState:
        # Every interaction passes the tree's admission and acknowledgement watchdog first.
        return AdmissionState(
            dispatch=self.dispatch,
            handlers=self._handlers,
            hooks=self._hooks,
            http=self.http,
            **options,
        )

    async def setup_hook(self) -> None:
        """Load features (each re-adds its persistent views), sync commands, start the jobs.

        Commands are global, so only the process that runs shard 0 syncs them.
        """
        log.info("starting ClassMentor (%s)", self.shard_plan.describe())
        if self.ops is not None:
            await self.ops.start()
        with extension_modules.reusing(self._reuse_extension_modules):
            for name in self._extensions:
                await self.load_extension(name)
                if self._reuse_extension_modules:
                    extension_modules.remember(name)
        if self.shard_plan.runs_shard_zero:
            await self.sync_commands()
        self.jobs.start(before_each=self.wait_until_ready)

    async def _call_module_finalizers(self, lib: ModuleType, key: str) -> None:
        """discord.py's last step of unloading an extension (its ``teardown``, then the module
        and its submodules leave ``sys.modules``); a reusing bot sweeps ``sys.modules`` in one
        pass instead of one helper call per module per extension, and once for all of them
        when it closes (~3 ms less per stop)."""
        if not self._reuse_extension_modules:
            await super()._call_module_finalizers(lib, key)
            return
        try:
            teardown = getattr(lib, "teardown")  # noqa: B009 - optional, as in discord.py
        except AttributeError:
            pass
        else:
            try:
                await teardown(self)
            except Exception:  # discord.py ignores a failing teardown too
                pass
        finally:
            # discord.py's table of loaded extensions (BotBase.__extensions, name-mangled).
            vars(self)["_BotBase__extensions"].pop(key, None)
            if self._unloaded is not None:
                self._unloaded += (lib.__name__, key)
            else:
                extension_modules.forget((lib.__name__, key))

    async def reload_extension(self, name: str, *, package: str | None = None) -> None:
        """discord.py's reload (the module is executed afresh); a reusing bot keeps the new one."""
        await super().reload_extension(name, package=package)
        if self._reuse_extension_modules:
            extension_modules.remember(self._resolve_name(name, package))

    async def sync_commands(self, *, force: bool = False) -> bool:
        """Sync slash commands: to the dev guild, or globally only when the tree changed."""
        dev_guild = self.config.discord.dev_guild_id
        if dev_guild:
            guild = discord.Object(dev_guild)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
            return True
        digest = command_tree_hash(self.tree)
        async with self.db.reading() as conn:
            stored = await meta_sql.get_value(conn, COMMAND_HASH_KEY)
        if stored == digest and not force:
            log.info("slash commands unchanged since the last sync; not syncing")
            return False
        await self.tree.sync()
        await remember_synced_tree(self.db, digest)
        log.info("synced slash commands globally")
        return True

    async def close(self) -> None:
        """Stop the jobs before the connection goes, so none fires into a closed bot."""
        self.jobs.shutdown()
        self._unloaded = []
        try:
            await super().close()
        finally:
            unloaded, self._unloaded = self._unloaded, None
            extension_modules.forget(unloaded)
        if self.ops is not None:
            await self.ops.stop()


class ShardedClassMentorBot(ClassMentorBot, commands.AutoShardedBot):
    """ClassMentor on discord.py's AutoShardedBot: this process runs ``discord.shard_ids``."""

    @staticmethod
    def _shard_options(plan: ShardPlan) -> dict[str, Any]:
        return {"shard_count": plan.shard_count, "shard_ids": list(plan.shard_ids)}

    def _get_state(self, **options: Any) -> ShardedAdmissionState:
        return ShardedAdmissionState(
            dispatch=self.dispatch,
            handlers=self._handlers,
            hooks=self._hooks,
            http=self.http,
            **options,
        )


def bot_class(plan: ShardPlan) -> type[ClassMentorBot]:
    """The sharded bot when shards are configured; otherwise the plain one, as before."""
    return ShardedClassMentorBot if plan.sharded else ClassMentorBot


def command_tree_hash(tree: app_commands.CommandTree[ClassMentorBot]) -> str:
    """A stable fingerprint of the global commands, to skip needless global syncs."""
    payload = sorted(
        (command.to_dict(tree) for command in tree.get_commands()),
        key=lambda c: str(c.get("name")),
    )
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


async def remember_synced_tree(db: Database, digest: str) -> None:
    """Record that Discord holds the global commands whose :func:`command_tree_hash` is
    ``digest``: the next start with the same tree does not sync again."""
    async with db.transaction() as conn:
        await meta_sql.set_value(conn, COMMAND_HASH_KEY, digest)


def required_permissions() -> discord.Permissions:
    """Exactly the server permissions the bot asks for in its invite URL."""
    return discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        create_private_threads=True,
        manage_threads=True,  # archive and lock finished help sessions
        embed_links=True,
        attach_files=True,  # the gains chart
        read_message_history=True,
        manage_roles=True,  # mentor badges are roles
    )
