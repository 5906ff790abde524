"""In-memory model of the simulated Discord: users, guilds, roles, channels, threads, messages.

The model knows nothing about HTTP or websockets. Whenever it changes in a way Discord would
announce on the gateway, it calls :meth:`World.dispatch`, which the server forwards to every
connected bot session.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.simulator import payloads
from bot.simulator.models import (
    DM,
    EPHEMERAL,
    GUILD_CATEGORY,
    GUILD_TEXT,
    GUILD_VOICE,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    THREAD_TYPES,
    RegisteredCommand,
    SimAttachment,
    SimChannel,
    SimMember,
    SimMessage,
    SimRole,
    SimUser,
    SnowflakeFactory,
    iter_components,
    utcnow,
)
from bot.simulator.permissions import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
)

JSON = dict[str, Any]

__all__ = [
    "DM",
    "EPHEMERAL",
    "GUILD_CATEGORY",
    "GUILD_TEXT",
    "GUILD_VOICE",
    "PRIVATE_THREAD",
    "PUBLIC_THREAD",
    "THREAD_TYPES",
    "RegisteredCommand",
    "SimAttachment",
    "SimChannel",
    "SimGuild",
    "SimMember",
    "SimMessage",
    "SimRole",
    "SimUser",
    "World",
    "WorldSnapshot",
    "iter_components",
    "utcnow",
]


class SimGuild:
    """A guild; test code builds it with create_role / add_member / create_text_channel."""

    def __init__(self, world: World, guild_id: int, name: str, owner: SimUser) -> None:
        self._world = world
        self.id = guild_id
        self.name = name
        self.owner_id = owner.id
        self.created_at = utcnow()
        self.roles: dict[int, SimRole] = {
            guild_id: SimRole(
                id=guild_id,
                guild_id=guild_id,
                name="@everyone",
                permissions=DEFAULT_EVERYONE_PERMISSIONS,
            )
        }
        self.members: dict[int, SimMember] = {}
        self.channel_ids: list[int] = []
        self.bot_member = False
        self.preferred_locale = "en-US"

    def __getstate__(self) -> dict[str, Any]:
        # In a world's snapshot the guild leaves its world behind; World.restore sets the one
        # it is restored into.
        return {name: value for name, value in vars(self).items() if name != "_world"}

    # -- reading -------------------------------------------------------------------------------
    @property
    def everyone_role(self) -> SimRole:
        """The @everyone role."""
        return self.roles[self.id]

    def channels(self) -> list[SimChannel]:
        """Non-thread channels of this guild."""
        return [c for c in (self._world.channels[i] for i in self.channel_ids) if not c.is_thread]

    def threads(self) -> list[SimChannel]:
        """Threads of this guild, archived ones included."""
        return [c for c in (self._world.channels[i] for i in self.channel_ids) if c.is_thread]

    def member(self, user: SimUser | int) -> SimMember | None:
        """The member for a user, if they are in the guild."""
        return self.members.get(user if isinstance(user, int) else user.id)

    def member_roles(self, user: SimUser | int) -> list[SimRole]:
        """The roles a member holds (without @everyone), highest first."""
        member = self.member(user)
        if member is None:
            return []
        roles = [self.roles[r] for r in member.roles if r in self.roles]
        return sorted(roles, key=lambda r: r.position, reverse=True)

    def role_named(self, name: str) -> SimRole | None:
        """The first role with this name."""
        return next((r for r in self.roles.values() if r.name == name), None)

    def channel_named(self, name: str) -> SimChannel | None:
        """The first channel or thread with this name."""
        return next(
            (
                self._world.channels[i]
                for i in self.channel_ids
                if self._world.channels[i].name == name
            ),
            None,
        )

    def base_permissions(self, user: SimUser | int) -> int:
        """Guild-level permissions from roles; the owner and administrators get everything."""
        user_id = user if isinstance(user, int) else user.id
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members.get(user_id)
        perms = self.everyone_role.permissions
        if member is not None:
            for role_id in member.roles:
                role = self.roles.get(role_id)
                if role is not None:
                    perms |= role.permissions
        if perms & ADMINISTRATOR:
            return ALL_PERMISSIONS
        return perms

    def top_role_position(self, user: SimUser | int) -> int:
        """Position of the member's highest role (0 = only @everyone)."""
        roles = self.member_roles(user)
        return roles[0].position if roles else 0

    # -- changing (each change is announced on the gateway like Discord does) -----------------
    def create_role(
        self,
        name: str,
        *,
        permissions: int = 0,
        color: int = 0,
        hoist: bool = False,
        mentionable: bool = False,
    ) -> SimRole:
        """Create a role just above @everyone (like Discord); announces GUILD_ROLE_CREATE."""
        return self._world.create_role(
            self, name, permissions=permissions, color=color, hoist=hoist, mentionable=mentionable
        )

    def add_member(
        self, user: SimUser, *, roles: Iterable[SimRole] = (), nick: str | None = None
    ) -> SimMember:
        """Add a user to the guild; announces GUILD_MEMBER_ADD."""
        return self._world.add_member(self, user, roles=[r.id for r in roles], nick=nick)

    def remove_member(self, user: SimUser) -> None:
        """Remove a user (kick/leave); announces GUILD_MEMBER_REMOVE."""
        self._world.remove_member(self, user)

    def add_role(self, user: SimUser, role: SimRole) -> None:
        """Give a member a role (as an admin would in the client); GUILD_MEMBER_UPDATE."""
        self._world.set_member_roles(self, user.id, [*self.members[user.id].roles, role.id])

    def remove_role(self, user: SimUser, role: SimRole) -> None:
        """Take a role from a member; announces GUILD_MEMBER_UPDATE."""
        roles = [r for r in self.members[user.id].roles if r != role.id]
        self._world.set_member_roles(self, user.id, roles)

    def create_text_channel(
        self, name: str, *, topic: str | None = None, overwrites: list[JSON] | None = None
    ) -> SimChannel:
        """Create a text channel; announces CHANNEL_CREATE."""
        return self._world.create_channel(
            self, name, GUILD_TEXT, topic=topic, overwrites=overwrites or []
        )

    def create_category(self, name: str) -> SimChannel:
        """Create a category channel; announces CHANNEL_CREATE."""
        return self._world.create_channel(self, name, GUILD_CATEGORY)


Sink = Callable[[str, JSON, "int | None"], None]


@dataclass(frozen=True)
class WorldSnapshot:
    """What a :class:`World` knew at one moment (:meth:`World.snapshot`)."""

    state: bytes


class World:
    """Everything the simulated Discord knows. Single-threaded: used from one event loop."""

    def __init__(
        self, *, bot_name: str = "ClassMentor", bot_permissions: int = ADMINISTRATOR
    ) -> None:
        self.snowflake = SnowflakeFactory()
        self.application_id = self.snowflake()
        # Discord makes the bot user's id equal to the application id for new applications.
        self.bot_user = SimUser(id=self.application_id, name=bot_name, bot=True)
        self.bot_permissions = bot_permissions
        self.users: dict[int, SimUser] = {self.bot_user.id: self.bot_user}
        self.guilds: dict[int, SimGuild] = {}
        self.channels: dict[int, SimChannel] = {}
        self.messages: dict[int, list[SimMessage]] = {}
        self.message_index: dict[int, SimMessage] = {}
        self.dm_channels: dict[int, SimChannel] = {}
        self.global_commands: dict[int, RegisteredCommand] = {}
        self.guild_commands: dict[int, dict[int, RegisteredCommand]] = {}
        self.sinks: list[Sink] = []
        self.base_url = ""

    # -- snapshots -----------------------------------------------------------------------------
    # What belongs to one running simulator, not to what Discord knows: its connected sessions'
    # listeners and its address.
    _OWN = frozenset({"sinks", "base_url"})

    def snapshot(self) -> WorldSnapshot:
        """Everything this world knows (not its listeners or address), detached: for
        :meth:`restore` into other simulators; later changes to one reach no other."""
        state = {name: value for name, value in vars(self).items() if name not in self._OWN}
        # A pickle, not a deep copy: the same objects, made ~5x faster by pickle's C code.
        return WorldSnapshot(pickle.dumps(state, pickle.HIGHEST_PROTOCOL))

    def restore(self, snapshot: WorldSnapshot) -> None:
        """Know exactly what ``snapshot`` knew (ids included), keeping this simulator's own
        listeners and address. Announces nothing: for a world no bot has connected to yet."""
        state: dict[str, Any] = pickle.loads(snapshot.state)  # our own bytes, from snapshot()
        for guild in state["guilds"].values():
            guild._world = self
        vars(self).update(state)

    # -- events --------------------------------------------------------------------------------
    def dispatch(self, event: str, data: JSON, guild_id: int | None = None) -> None:
        """Send a gateway dispatch to every connected bot session."""
        for sink in list(self.sinks):
            sink(event, data, guild_id)

    # -- users ---------------------------------------------------------------------------------
    def create_user(self, name: str, *, bot: bool = False, dms_open: bool = True) -> SimUser:
        """Create a user who exists on Discord (not yet in any guild)."""
        user = SimUser(id=self.snowflake(), name=name.lower().replace(" ", "_"), global_name=name)
        user.bot = bot
        user.dms_open = dms_open
        self.users[user.id] = user
        return user

    # -- guilds --------------------------------------------------------------------------------
    def create_guild(
        self,
        name: str,
        owner: SimUser,
        *,
        with_bot: bool = True,
        shard: tuple[int, int] | None = None,
    ) -> SimGuild:
        """Create a guild with its owner as a member; GUILD_CREATE if the bot is in it.

        ``shard=(shard_id, shard_count)`` picks an id that lands on that shard.
        """
        guild_id = self.snowflake() if shard is None else self.snowflake.on_shard(*shard)
        guild = SimGuild(self, guild_id, name, owner)
        self.guilds[guild.id] = guild
        guild.members[owner.id] = SimMember(user=owner)
        self.create_channel(guild, "general", GUILD_TEXT, announce=False)
        if with_bot:
            self.add_bot(guild)
        return guild

    def add_bot(self, guild: SimGuild) -> None:
        """Install the bot in a guild: managed role, bot member, then GUILD_CREATE."""
        role = SimRole(
            id=self.snowflake(),
            guild_id=guild.id,
            name=self.bot_user.name,
            permissions=self.bot_permissions,
            position=max((r.position for r in guild.roles.values()), default=0) + 1,
            managed=True,
            bot_id=self.bot_user.id,
        )
        guild.roles[role.id] = role
        guild.members[self.bot_user.id] = SimMember(user=self.bot_user, roles=[role.id])
        guild.bot_member = True
        self.dispatch("GUILD_CREATE", payloads.guild_create(self, guild, joined=True), guild.id)

    def remove_bot(self, guild: SimGuild) -> None:
        """Kick the bot from a guild; dispatches GUILD_DELETE (without ``unavailable``)."""
        guild.bot_member = False
        guild.members.pop(self.bot_user.id, None)
        self.dispatch("GUILD_DELETE", {"id": str(guild.id)}, guild.id)

    def create_role(
        self,
        guild: SimGuild,
        name: str,
        *,
        permissions: int = 0,
        color: int = 0,
        hoist: bool = False,
        mentionable: bool = False,
    ) -> SimRole:
        """Create a role at position 1 and shift the others up, as Discord does."""
        shifted = [r for r in guild.roles.values() if r.position >= 1]
        for other in shifted:
            other.position += 1
        role = SimRole(
            id=self.snowflake(),
            guild_id=guild.id,
            name=name,
            permissions=permissions,
            color=color,
            position=1,
            hoist=hoist,
            mentionable=mentionable,
        )
        guild.roles[role.id] = role
        if guild.bot_member:
            self.dispatch(
                "GUILD_ROLE_CREATE",
                {"guild_id": str(guild.id), "role": payloads.role(role)},
                guild.id,
            )
            for other in shifted:
                self.dispatch(
                    "GUILD_ROLE_UPDATE",
                    {"guild_id": str(guild.id), "role": payloads.role(other)},
                    guild.id,
                )
        return role

    def update_role(self, guild: SimGuild, role: SimRole) -> None:
        """Announce a role change."""
        if guild.bot_member:
            self.dispatch(
                "GUILD_ROLE_UPDATE",
                {"guild_id": str(guild.id), "role": payloads.role(role)},
                guild.id,
            )

    def delete_role(self, guild: SimGuild, role: SimRole) -> None:
        """Delete a role, taking it from every member."""
        guild.roles.pop(role.id, None)
        for member in guild.members.values():
            if role.id in member.roles:
                member.roles.remove(role.id)
        if guild.bot_member:
            self.dispatch(
                "GUILD_ROLE_DELETE",
                {"guild_id": str(guild.id), "role_id": str(role.id)},
                guild.id,
            )

    def add_member(
        self, guild: SimGuild, user: SimUser, *, roles: list[int], nick: str | None = None
    ) -> SimMember:
        """Add a member; announces GUILD_MEMBER_ADD."""
        self.users.setdefault(user.id, user)
        member = SimMember(user=user, roles=list(roles), nick=nick)
        guild.members[user.id] = member
        if guild.bot_member:
            data = payloads.member(guild, member)
            data["guild_id"] = str(guild.id)
            self.dispatch("GUILD_MEMBER_ADD", data, guild.id)
        return member

    def remove_member(self, guild: SimGuild, user: SimUser) -> None:
        """Remove a member; announces GUILD_MEMBER_REMOVE."""
        if guild.members.pop(user.id, None) is not None and guild.bot_member:
            self.dispatch(
                "GUILD_MEMBER_REMOVE",
                {"guild_id": str(guild.id), "user": payloads.user(user)},
                guild.id,
            )

    def set_member_roles(self, guild: SimGuild, user_id: int, roles: list[int]) -> None:
        """Replace a member's roles; announces GUILD_MEMBER_UPDATE when they changed."""
        member = guild.members[user_id]
        unique = list(dict.fromkeys(r for r in roles if r != guild.id))
        if unique == member.roles:
            return
        member.roles = unique
        self.member_updated(guild, member)

    def member_updated(self, guild: SimGuild, member: SimMember) -> None:
        """Announce GUILD_MEMBER_UPDATE."""
        if guild.bot_member:
            data = payloads.member(guild, member)
            data["guild_id"] = str(guild.id)
            self.dispatch("GUILD_MEMBER_UPDATE", data, guild.id)

    # -- channels ------------------------------------------------------------------------------
    def create_channel(
        self,
        guild: SimGuild,
        name: str,
        type_: int,
        *,
        topic: str | None = None,
        parent_id: int | None = None,
        overwrites: list[JSON] | None = None,
        announce: bool = True,
    ) -> SimChannel:
        """Create a guild channel; announces CHANNEL_CREATE."""
        channel = SimChannel(
            id=self.snowflake(),
            type=type_,
            name=name,
            guild_id=guild.id,
            parent_id=parent_id,
            position=len(guild.channels()),
            topic=topic,
            permission_overwrites=list(overwrites or []),
        )
        self.channels[channel.id] = channel
        self.messages[channel.id] = []
        guild.channel_ids.append(channel.id)
        if announce and guild.bot_member:
            self.dispatch("CHANNEL_CREATE", payloads.channel(self, channel), guild.id)
        return channel

    def create_thread(
        self,
        parent: SimChannel,
        name: str,
        *,
        type_: int,
        owner: SimUser,
        invitable: bool = True,
        auto_archive_duration: int = 4320,
        thread_id: int | None = None,
    ) -> SimChannel:
        """Create a thread; announces THREAD_CREATE (with ``newly_created``)."""
        assert parent.guild_id is not None
        guild = self.guilds[parent.guild_id]
        thread = SimChannel(
            id=thread_id or self.snowflake(),
            type=type_,
            name=name,
            guild_id=parent.guild_id,
            parent_id=parent.id,
            owner_id=owner.id,
            invitable=invitable,
            auto_archive_duration=auto_archive_duration,
        )
        thread.thread_members[owner.id] = utcnow()
        self.channels[thread.id] = thread
        self.messages[thread.id] = []
        guild.channel_ids.append(thread.id)
        if guild.bot_member:
            data = payloads.channel(self, thread)
            data["newly_created"] = True
            if owner.id == self.bot_user.id:
                data["member"] = payloads.thread_member(thread, owner.id)
            self.dispatch("THREAD_CREATE", data, guild.id)
        return thread

    def add_thread_member(self, thread: SimChannel, user_id: int) -> None:
        """Add a user to a thread; announces THREAD_MEMBERS_UPDATE."""
        if user_id in thread.thread_members:
            return
        thread.thread_members[user_id] = utcnow()
        self._thread_members_update(thread, added=[user_id], removed=[])

    def remove_thread_member(self, thread: SimChannel, user_id: int) -> None:
        """Remove a user from a thread; announces THREAD_MEMBERS_UPDATE."""
        if thread.thread_members.pop(user_id, None) is None:
            return
        self._thread_members_update(thread, added=[], removed=[user_id])

    def _thread_members_update(
        self, thread: SimChannel, *, added: list[int], removed: list[int]
    ) -> None:
        assert thread.guild_id is not None
        guild = self.guilds[thread.guild_id]
        if not guild.bot_member:
            return
        added_payloads = []
        for user_id in added:
            entry = payloads.thread_member(thread, user_id)
            member = guild.member(user_id)
            if member is not None:
                entry["member"] = payloads.member(guild, member)
            added_payloads.append(entry)
        data: JSON = {
            "id": str(thread.id),
            "guild_id": str(guild.id),
            "member_count": min(len(thread.thread_members), 50),
        }
        if added_payloads:
            data["added_members"] = added_payloads
        if removed:
            data["removed_member_ids"] = [str(u) for u in removed]
        self.dispatch("THREAD_MEMBERS_UPDATE", data, guild.id)

    def update_channel(self, channel: SimChannel) -> None:
        """Announce THREAD_UPDATE or CHANNEL_UPDATE after a change."""
        if channel.guild_id is None or not self.guilds[channel.guild_id].bot_member:
            return
        event = "THREAD_UPDATE" if channel.is_thread else "CHANNEL_UPDATE"
        self.dispatch(event, payloads.channel(self, channel), channel.guild_id)

    def dm_channel(self, user: SimUser) -> SimChannel:
        """The bot's DM channel with a user (created on first use)."""
        channel = self.dm_channels.get(user.id)
        if channel is None:
            channel = SimChannel(id=self.snowflake(), type=DM, name=None, recipient=user)
            self.channels[channel.id] = channel
            self.messages[channel.id] = []
            self.dm_channels[user.id] = channel
        return channel

    # -- messages ------------------------------------------------------------------------------
    def store_message(self, message: SimMessage, *, announce: bool = True) -> None:
        """Keep a message and announce MESSAGE_CREATE (never for ephemeral messages)."""
        self.message_index[message.id] = message
        if message.ephemeral:
            return
        self.messages.setdefault(message.channel_id, []).append(message)
        channel = self.channels.get(message.channel_id)
        if channel is not None:
            channel.last_message_id = message.id
            channel.message_count += 1
        if announce:
            self.dispatch("MESSAGE_CREATE", payloads.message_event(self, message), message.guild_id)

    def message_updated(self, message: SimMessage) -> None:
        """Announce MESSAGE_UPDATE."""
        if not message.ephemeral:
            self.dispatch("MESSAGE_UPDATE", payloads.message_event(self, message), message.guild_id)

    def delete_message(self, message: SimMessage) -> None:
        """Delete a message; announces MESSAGE_DELETE."""
        message.deleted = True
        bucket = self.messages.get(message.channel_id, [])
        if message in bucket:
            bucket.remove(message)
        if message.ephemeral:
            return
        data: JSON = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        self.dispatch("MESSAGE_DELETE", data, message.guild_id)

    # -- permissions ---------------------------------------------------------------------------
    def channel_permissions(self, channel: SimChannel, user_id: int) -> int:
        """Permissions of a user in a channel (threads use their parent's overwrites)."""
        if channel.guild_id is None:
            return ALL_PERMISSIONS & ~ADMINISTRATOR
        guild = self.guilds[channel.guild_id]
        base = guild.base_permissions(user_id)
        if base == ALL_PERMISSIONS:
            return base
        source = channel
        if channel.is_thread and channel.parent_id in self.channels:
            source = self.channels[channel.parent_id]
        member = guild.member(user_id)
        role_ids = set(member.roles) if member else set()
        perms = base
        allow = deny = 0
        for overwrite in source.permission_overwrites:
            target = int(overwrite["id"])
            if overwrite.get("type", 0) == 0 and target == guild.id:
                perms = (perms & ~int(overwrite.get("deny", 0))) | int(overwrite.get("allow", 0))
            elif overwrite.get("type", 0) == 0 and target in role_ids:
                allow |= int(overwrite.get("allow", 0))
                deny |= int(overwrite.get("deny", 0))
        perms = (perms & ~deny) | allow
        for overwrite in source.permission_overwrites:
            if overwrite.get("type", 0) == 1 and int(overwrite["id"]) == user_id:
                perms = (perms & ~int(overwrite.get("deny", 0))) | int(overwrite.get("allow", 0))
        return perms
