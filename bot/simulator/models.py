"""Plain records of the simulated Discord: users, roles, members, channels, messages, commands."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]
DISCORD_EPOCH_MS = 1420070400000

# Channel types (https://discord.com/developers/docs/resources/channel#channel-object-channel-types)
GUILD_TEXT = 0
DM = 1
GUILD_VOICE = 2
GUILD_CATEGORY = 4
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
THREAD_TYPES = (10, PUBLIC_THREAD, PRIVATE_THREAD)

EPHEMERAL = 1 << 6


class SnowflakeFactory:
    """Makes increasing snowflakes with a real timestamp, so ordering by id works."""

    def __init__(self) -> None:
        self._last = 0
        self._counter = itertools.count()

    # A copy (a world's snapshot) goes on from the same last id; the counter starts afresh.
    def __getstate__(self) -> dict[str, int]:
        return {"last": self._last}

    def __setstate__(self, state: dict[str, int]) -> None:
        self._last = state["last"]
        self._counter = itertools.count()

    def __call__(self) -> int:
        now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = (now_ms << 22) | (next(self._counter) & 0xFFF)
        # Never go backwards, even when many ids are made in one millisecond.
        self._last = max(candidate, self._last + 1)
        return self._last

    def on_shard(self, shard_id: int, shard_count: int) -> int:
        """A fresh snowflake that Discord would route to ``shard_id`` of ``shard_count``.

        A guild's shard is ``(guild_id >> 22) % shard_count``: the timestamp part is moved on
        by at most ``shard_count - 1`` milliseconds, so ids still increase.
        """
        if not 0 <= shard_id < shard_count:
            raise ValueError(f"shard {shard_id} is not one of {shard_count} shards")
        stamp = self() >> 22
        stamp += (shard_id - stamp) % shard_count
        self._last = max(stamp << 22, self._last + 1)
        return self._last


def utcnow() -> datetime:
    """Current time in UTC (timestamps in payloads are ISO-8601)."""
    return datetime.now(UTC)


@dataclass(eq=False)
class SimUser:
    """A Discord user. ``dms_open=False`` makes DMs from the bot fail with 50007."""

    id: int
    name: str
    global_name: str | None = None
    bot: bool = False
    dms_open: bool = True

    @property
    def mention(self) -> str:
        """The ``<@id>`` mention string."""
        return f"<@{self.id}>"


@dataclass(eq=False)
class SimRole:
    """A guild role; the @everyone role's id equals the guild id."""

    id: int
    guild_id: int
    name: str
    permissions: int = 0
    color: int = 0
    position: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    bot_id: int | None = None

    @property
    def mention(self) -> str:
        """The ``<@&id>`` mention string."""
        return f"<@&{self.id}>"


@dataclass(eq=False)
class SimMember:
    """A user's membership of a guild."""

    user: SimUser
    roles: list[int] = field(default_factory=list)
    joined_at: datetime = field(default_factory=utcnow)
    nick: str | None = None


@dataclass(eq=False)
class SimChannel:
    """A guild channel, a thread (type 11/12) or a DM channel (type 1)."""

    id: int
    type: int
    name: str | None
    guild_id: int | None = None
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    nsfw: bool = False
    permission_overwrites: list[JSON] = field(default_factory=list)
    recipient: SimUser | None = None
    # Thread-only fields.
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    auto_archive_duration: int = 4320
    archive_timestamp: datetime = field(default_factory=utcnow)
    created_at: datetime = field(default_factory=utcnow)
    thread_members: dict[int, datetime] = field(default_factory=dict)
    message_count: int = 0
    last_message_id: int | None = None

    @property
    def is_thread(self) -> bool:
        """Whether this channel is a thread."""
        return self.type in THREAD_TYPES

    @property
    def mention(self) -> str:
        """The ``<#id>`` mention string."""
        return f"<#{self.id}>"


@dataclass(eq=False)
class SimAttachment:
    """A file uploaded with a message; the bytes are kept for assertions."""

    id: int
    filename: str
    content_type: str
    data: bytes
    description: str | None = None

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)


@dataclass(eq=False)
class SimMessage:
    """A message as stored by the simulator (ephemeral ones included)."""

    id: int
    channel_id: int
    author: SimUser
    content: str = ""
    guild_id: int | None = None
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    flags: int = 0
    attachments: list[SimAttachment] = field(default_factory=list)
    timestamp: datetime = field(default_factory=utcnow)
    edited_timestamp: datetime | None = None
    type: int = 0
    tts: bool = False
    pinned: bool = False
    mention_user_ids: list[int] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    pinged_user_ids: list[int] = field(default_factory=list)
    pinged_role_ids: list[int] = field(default_factory=list)
    pinged_everyone: bool = False
    message_reference: JSON | None = None
    webhook_id: int | None = None
    interaction_id: int | None = None
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        """Whether only the invoking user can see this message."""
        return bool(self.flags & EPHEMERAL)

    def buttons(self) -> list[tuple[str | None, str | None, bool]]:
        """(label, custom_id, disabled) of every button, in display order."""
        return [
            (c.get("label"), c.get("custom_id"), bool(c.get("disabled", False)))
            for c in iter_components(self.components)
            if c.get("type") == 2
        ]

    def find_component(self, custom_id: str) -> JSON | None:
        """The component with this custom_id, searching nested rows and containers."""
        for component in iter_components(self.components):
            if component.get("custom_id") == custom_id:
                return component
        return None


def iter_components(components: Iterable[JSON]) -> Iterable[JSON]:
    """Walk components depth-first (action rows, containers, sections, labels)."""
    for component in components:
        yield component
        children = list(component.get("components", []))
        if "accessory" in component:
            children.append(component["accessory"])
        if "component" in component:
            children.append(component["component"])
        yield from iter_components(children)


@dataclass
class RegisteredCommand:
    """An application command the bot registered (global when guild_id is None)."""

    id: int
    data: JSON
    guild_id: int | None
    version: int

    @property
    def name(self) -> str:
        """The command's name."""
        return str(self.data["name"])

    @property
    def type(self) -> int:
        """1 chat input, 2 user, 3 message."""
        return int(self.data.get("type", 1))
