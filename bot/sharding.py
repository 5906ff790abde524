"""Which classes a bot process serves when ClassMentor runs as several sharded processes.

Discord splits a bot's servers over gateway shards: a server belongs to shard
``(guild_id >> 22) % shard_count``, and only that shard's session receives its events and
interactions (DMs go to shard 0). A process runs a range of shards (``discord.shard_ids``), so it
rebuilds timers and runs scheduled jobs only for the classes on its shards; work for the whole
bot (the daily retention sweep, syncing commands) runs in the one process that owns shard 0.

Exactly-once is never left to this split: weekly posts, credit and awards are settled by the
database's claims and conditional updates, so two processes serving one shard during a rolling
restart still post once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# A sanity bound (Discord recommends about one shard per 1,000 servers): a typo, not a plan.
MAX_SHARDS = 4096


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord routes a server's events to."""
    return (guild_id >> 22) % shard_count


@dataclass(frozen=True)
class ShardPlan:
    """The shards one process runs; ``shard_count=None`` is the unsharded default (everything)."""

    shard_count: int | None = None
    shard_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.shard_count is None:
            if self.shard_ids:
                raise ValueError("shard ids need a shard count")
            return
        if not 1 <= self.shard_count <= MAX_SHARDS:
            raise ValueError(f"shard count must be 1-{MAX_SHARDS}, got {self.shard_count}")
        if not self.shard_ids:
            raise ValueError("a sharded process needs at least one shard id")
        if any(not 0 <= s < self.shard_count for s in self.shard_ids):
            raise ValueError(f"shard ids must be within 0-{self.shard_count - 1}")

    @classmethod
    def all_of(cls, shard_count: int) -> ShardPlan:
        """One process running every shard."""
        return cls(shard_count, tuple(range(shard_count)))

    @property
    def sharded(self) -> bool:
        """Whether the bot connects with explicit shards (discord.py's AutoShardedBot)."""
        return self.shard_count is not None

    @property
    def runs_shard_zero(self) -> bool:
        """Whether this process does the bot-wide work: command sync, daily retention, DMs."""
        return self.shard_count is None or 0 in self.shard_ids

    def owns(self, guild_id: int) -> bool:
        """Whether this process serves the class in ``guild_id`` (its timers, its jobs)."""
        if self.shard_count is None:
            return True
        return shard_of(guild_id, self.shard_count) in self.shard_ids

    def mine(self, guild_ids: Iterable[int]) -> list[int]:
        """The guild ids among ``guild_ids`` this process serves."""
        return [g for g in guild_ids if self.owns(g)]

    def describe(self) -> str:
        """For the log: 'unsharded' or 'shards 0-1 of 4'."""
        if self.shard_count is None:
            return "unsharded"
        return f"shards {format_shard_ids(self.shard_ids)} of {self.shard_count}"


def parse_shard_ids(text: str, shard_count: int) -> tuple[int, ...]:
    """``"0-3"``, ``"0,2"`` or ``"0-1,4"`` as sorted shard ids; ValueError says what is wrong."""
    ids: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        low, sep, high = part.partition("-")
        try:
            first = int(low)
            last = int(high) if sep else first
        except ValueError:
            raise ValueError(f"{part!r} is not a shard id or a range like 0-3") from None
        if first > last:
            raise ValueError(f"range {part!r} runs backwards")
        if first < 0 or last >= shard_count:
            raise ValueError(f"{part!r} is outside 0-{shard_count - 1} (shard_count {shard_count})")
        ids.update(range(first, last + 1))
    return tuple(sorted(ids))


def format_shard_ids(ids: Iterable[int]) -> str:
    """Shard ids as compact ranges: (0, 1, 2, 5) -> '0-2,5'."""
    runs: list[list[int]] = []
    for shard in sorted(ids):
        if runs and shard == runs[-1][1] + 1:
            runs[-1][1] = shard
        else:
            runs.append([shard, shard])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
