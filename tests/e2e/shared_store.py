"""A bot process whose database is named by a URL: PostgreSQL, or a SQLite file shared on disk.

:class:`bot.simulator.processes.BotProcess` opens a SQLite file by path; the processes of a
sharded bot on several machines share a PostgreSQL database instead. This is the same process
with ``database.url`` set, as ``classmentor run`` would read it from its config.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.app import ClassMentorBot
from bot.config import Config, DatabaseConfig
from bot.simulator.processes import BotProcess
from bot.simulator.testing import running_bot
from bot.wiring import build_bot
from db.database import Database


@dataclass
class SharedStoreProcess(BotProcess):
    """A :class:`BotProcess` on ``url`` (``None``: the SQLite file at ``database``)."""

    url: str | None = None

    @property
    def database_url(self) -> str:
        """The URL this process opens."""
        return self.url or f"sqlite:///{self.database}"

    @property
    def config(self) -> Config:
        """The shared configuration plus this process's shards and database URL."""
        config = super().config
        if self.url is None:
            return config
        return replace(config, database=DatabaseConfig(url=self.url))

    async def start(self) -> ClassMentorBot:
        """Open the database by URL (migrating it if needed) and connect this process's shards."""
        self.db = await Database.open_url(self.database_url)
        await self.db.migrate()
        self.bot = build_bot(
            self.config, self.db, self.clock, manual_jobs=True, guild_ready_timeout=0
        )
        await self._stack.enter_async_context(
            running_bot(self.sim, self.bot, self.token, timeout=self.start_timeout)
        )
        return self.bot
