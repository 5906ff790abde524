"""The Discord side's root: the ``commands.Bot`` subclass and its command tree.

Everything it needs comes in through the constructor (built once in :mod:`bot.wiring`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time as monotonic_time
from collections import defaultdict, deque
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import RateLimited, UserFacingError
from db import meta as meta_sql

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.config import Config
    from bot.jobs import Jobs
    from bot.wiring import Services
    from db.database import Database

log = logging.getLogger(__name__)

# Loaded in this order; a failure stops start-up (a half-loaded bot would confuse a class).
EXTENSIONS: tuple[str, ...] = (
    "cogs.setup",
    "cogs.mentors",
    "cogs.recognition",
    "cogs.help",
    "cogs.progress",
)
COMMAND_HASH_KEY = "command_tree_hash"
# Commands anyone may use before /setup (everything else replies with a hint to run it).
BEFORE_SETUP = frozenset({"setup"})
# Per-user burst limit for commands and buttons: generous for a person, tight for a script.
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
    """The command tree: a set-up gate, a burst limit, and the one error handler."""

    def __init__(self, client: ClassMentorBot) -> None:
        super().__init__(client)
        self._recent: defaultdict[int, deque[float]] = defaultdict(deque)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Refuse bursts, and commands in a class that is not set up yet."""
        try:
            self._check_burst(interaction.user.id)
            command = interaction.command
            if (
                interaction.type is discord.InteractionType.application_command
                and interaction.guild_id is not None
                and command is not None
                and command.qualified_name.split()[0] not in BEFORE_SETUP
            ):
                await self.client.services.classes.require_configured(interaction.guild_id)
        except UserFacingError as exc:
            await send_error(interaction, exc.message)
            return False
        return True

    def _check_burst(self, user_id: int) -> None:
        now = monotonic_time.monotonic()
        recent = self._recent[user_id]
        while recent and now - recent[0] > BURST_WINDOW_S:
            recent.popleft()
        if len(recent) >= BURST_LIMIT:
            raise RateLimited("Slow down a little, please: try again in a few seconds.")
        recent.append(now)

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Expected errors become a friendly private message; the rest get an error id."""
        await report_error(interaction, error)


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """The one error path, for commands, buttons and modals alike."""
    original = getattr(error, "original", error)
    if isinstance(original, UserFacingError):
        await send_error(interaction, original.message)
    elif isinstance(error, app_commands.TransformerError):
        if error.type is discord.AppCommandOptionType.user:
            await send_error(interaction, "That person isn't a member of this server.")
        else:
            await send_error(interaction, "I couldn't use one of the values you gave; try again.")
    elif isinstance(error, app_commands.CommandOnCooldown):
        await send_error(interaction, f"Please wait {error.retry_after:.0f} s and try again.")
    elif isinstance(error, app_commands.CheckFailure):
        await send_error(interaction, "You can't use that here.")
    else:
        error_id = f"E{interaction.id % 1_000_000:06d}"
        log.error(
            "unexpected error %s in interaction %s", error_id, interaction.id, exc_info=original
        )
        await send_error(
            interaction,
            f"Something went wrong on my side (error id `{error_id}`). Please try again; if it "
            "keeps happening, tell your teacher that id.",
        )


async def send_error(interaction: discord.Interaction, text: str) -> None:
    """Reply privately, whether or not the interaction was already answered."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(
                text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
        else:
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
    except discord.HTTPException:
        log.warning("could not deliver an error message for interaction %s", interaction.id)


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
        guild_ready_timeout: float = 2.0,
    ) -> None:
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
        )
        self.config = config
        self.db = db
        self.services = services
        self.jobs = jobs
        self.clock = clock
        self._extensions = extensions

    async def setup_hook(self) -> None:
        """Load features (each re-adds its persistent views), sync commands, start the jobs."""
        for name in self._extensions:
            await self.load_extension(name)
        await self.sync_commands()
        self.jobs.start(before_each=self.wait_until_ready)

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
        async with self.db.transaction() as conn:
            await meta_sql.set_value(conn, COMMAND_HASH_KEY, digest)
        log.info("synced slash commands globally")
        return True

    async def close(self) -> None:
        """Stop the jobs before the connection goes, so none fires into a closed bot."""
        self.jobs.shutdown()
        await super().close()


def command_tree_hash(tree: app_commands.CommandTree[ClassMentorBot]) -> str:
    """A stable fingerprint of the global commands, to skip needless global syncs."""
    payload = sorted(
        (command.to_dict(tree) for command in tree.get_commands()),
        key=lambda c: str(c.get("name")),
    )
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


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
