"""Several ClassMentor bot processes against one simulated Discord and one database file.

Each :class:`BotProcess` is what one ``classmentor run`` would be: its own Database connection,
its own scheduler and its own gateway sessions (the shards in its config), sharing the
simulator, the SQLite file and the clock with the others. Tests start two of them to check that
shards split the classes and that the database, not the process, decides what happens once.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.app import ClassMentorBot
from bot.clock import ManualClock
from bot.config import Config, DatabaseConfig
from bot.pacing import Pacing
from bot.simulator.server import DiscordSimulator
from bot.simulator.testing import as_bot_work, running_bot, simulated_bot
from db.database import Database


@dataclass
class BotProcess:
    """One bot process running ``shard_ids`` of ``shard_count`` (all when None)."""

    sim: DiscordSimulator
    clock: ManualClock
    database: Path
    token: str
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    base_config: Config = field(default_factory=Config)
    start_timeout: float = 5.0
    # A database named by URL instead (PostgreSQL shared by processes on several machines, as
    # ``database.url`` in the config); None: the SQLite file at ``database``.
    url: str | None = None
    pacing: Pacing | None = None  # the bot's background pauses (None: production's)
    bot: ClassMentorBot | None = None
    db: Database | None = None
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    @property
    def config(self) -> Config:
        """This process's configuration: the shared one plus its shards and database."""
        discord = replace(
            self.base_config.discord, shard_count=self.shard_count, shard_ids=self.shard_ids
        )
        database = DatabaseConfig(url=self.url) if self.url else DatabaseConfig(path=self.database)
        return replace(self.base_config, discord=discord, database=database)

    async def start(self) -> ClassMentorBot:
        """Open the database (migrating it if needed) and connect this process's shards."""
        self.db = await (Database.open_url(self.url) if self.url else Database.open(self.database))
        await self.db.migrate()
        self.bot = simulated_bot(self.config, self.db, self.clock, self.pacing)
        await self._stack.enter_async_context(
            running_bot(self.sim, self.bot, self.token, timeout=self.start_timeout)
        )
        return self.bot

    async def stop(self) -> None:
        """Disconnect and close the database, as the process exiting would."""
        await self._stack.aclose()
        self._stack = contextlib.AsyncExitStack()
        if self.db is not None:
            await self.db.close()
        self.bot, self.db = None, None

    async def run_jobs(self) -> int:
        """Fire this process's jobs that are due at the clock's time, then settle."""
        if self.bot is None:
            raise RuntimeError("this bot process is not running")
        ran = await as_bot_work(self.sim, self.bot, self.bot.jobs.run_due())
        await self.sim.settle()
        return ran
