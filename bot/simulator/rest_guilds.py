"""Guild routes: guilds, roles, members, channels and threads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.simulator import payloads
from bot.simulator.errors import ApiError, invalid_form, unknown
from bot.simulator.gateway import GUILD_MEMBERS
from bot.simulator.permissions import (
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    MANAGE_ROLES,
    MANAGE_THREADS,
    has,
)
from bot.simulator.rest import RouteSpec, json_body, json_response, no_content, snowflake_arg
from bot.simulator.rest_messages import channel_or_404, require
from bot.simulator.state import (
    GUILD_CATEGORY,
    GUILD_TEXT,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    SimChannel,
    SimGuild,
    SimMember,
    SimRole,
    utcnow,
)

if TYPE_CHECKING:
    from bot.simulator.rest import RestApi

JSON = dict[str, Any]
ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)


class GuildRoutes:
    """Handlers sharing the API state."""

    def __init__(self, api: RestApi) -> None:
        self.api = api
        self.world = api.world

    # -- helpers -------------------------------------------------------------------------------
    def _member(self, guild: SimGuild, request: web.Request) -> SimMember:
        member = guild.member(snowflake_arg(request, "user_id"))
        if member is None:
            raise unknown("Member", 10007)
        return member

    def _role(self, guild: SimGuild, request: web.Request) -> SimRole:
        role = guild.roles.get(snowflake_arg(request, "role_id"))
        if role is None:
            raise unknown("Role", 10011)
        return role

    def _can_manage_role(self, guild: SimGuild, role: SimRole) -> None:
        """Discord's rule: MANAGE_ROLES, and the role must be below the bot's highest role."""
        bot_id = self.world.bot_user.id
        if not has(guild.base_permissions(bot_id), MANAGE_ROLES):
            raise ApiError(403, 50013, "Missing Permissions")
        if guild.owner_id != bot_id and role.position >= guild.top_role_position(bot_id):
            raise ApiError(403, 50013, "Missing Permissions")
        if role.managed or role.id == guild.id:
            raise ApiError(403, 50013, "Missing Permissions")

    def _thread(self, request: web.Request) -> SimChannel:
        thread = channel_or_404(self.world, request)
        if not thread.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        return thread

    # -- guilds --------------------------------------------------------------------------------
    async def get_guild(self, request: web.Request) -> web.Response:
        """GET /guilds/{guild_id} (``with_counts`` adds approximate counts)."""
        guild = self.api.guild(request)
        data = payloads.guild(self.world, guild)
        if request.query.get("with_counts") in ("true", "1"):
            data["approximate_member_count"] = len(guild.members)
            data["approximate_presence_count"] = 0
        return json_response(data)

    async def list_channels(self, request: web.Request) -> web.Response:
        """GET /guilds/{guild_id}/channels (threads excluded, as on Discord)."""
        guild = self.api.guild(request)
        return json_response([payloads.channel(self.world, c) for c in guild.channels()])

    async def create_channel(self, request: web.Request) -> web.Response:
        """POST /guilds/{guild_id}/channels (text and category channels)."""
        guild = self.api.guild(request)
        body = json_body(request)
        kind = int(body.get("type", GUILD_TEXT))
        if kind not in (GUILD_TEXT, GUILD_CATEGORY):
            raise invalid_form("type", "The simulator only creates text channels and categories")
        parent = body.get("parent_id")
        channel = self.world.create_channel(
            guild,
            str(body.get("name", "channel")),
            kind,
            topic=body.get("topic"),
            parent_id=int(parent) if parent else None,
            overwrites=body.get("permission_overwrites") or [],
        )
        return json_response(payloads.channel(self.world, channel), 201)

    async def active_threads(self, request: web.Request) -> web.Response:
        """GET /guilds/{guild_id}/threads/active."""
        guild = self.api.guild(request)
        threads = [t for t in guild.threads() if not t.archived]
        bot_id = self.world.bot_user.id
        members = [payloads.thread_member(t, bot_id) for t in threads if bot_id in t.thread_members]
        return json_response(
            {"threads": [payloads.channel(self.world, t) for t in threads], "members": members}
        )

    async def leave_guild(self, request: web.Request) -> web.Response:
        """DELETE /users/@me/guilds/{guild_id}: the bot leaves (GUILD_DELETE)."""
        guild = self.api.guild(request)
        self.world.remove_bot(guild)
        return no_content()

    # -- roles ---------------------------------------------------------------------------------
    async def list_roles(self, request: web.Request) -> web.Response:
        """GET /guilds/{guild_id}/roles."""
        guild = self.api.guild(request)
        return json_response([payloads.role(r) for r in guild.roles.values()])

    async def create_role(self, request: web.Request) -> web.Response:
        """POST /guilds/{guild_id}/roles."""
        guild = self.api.guild(request)
        if not has(guild.base_permissions(self.world.bot_user.id), MANAGE_ROLES):
            raise ApiError(403, 50013, "Missing Permissions")
        body = json_body(request)
        role = self.world.create_role(
            guild,
            str(body.get("name") or "new role"),
            permissions=int(body.get("permissions") or 0),
            color=_primary_color(body) or 0,
            hoist=bool(body.get("hoist", False)),
            mentionable=bool(body.get("mentionable", False)),
        )
        return json_response(payloads.role(role))

    async def edit_role(self, request: web.Request) -> web.Response:
        """PATCH /guilds/{guild_id}/roles/{role_id}."""
        guild = self.api.guild(request)
        role = self._role(guild, request)
        self._can_manage_role(guild, role)
        body = json_body(request)
        if "name" in body:
            role.name = str(body["name"])
        if "permissions" in body:
            role.permissions = int(body["permissions"] or 0)
        for key in ("hoist", "mentionable"):
            if key in body and body[key] is not None:
                setattr(role, key, type(getattr(role, key))(body[key]))
        color = _primary_color(body)
        if color is not None:
            role.color = color
        self.world.update_role(guild, role)
        return json_response(payloads.role(role))

    async def delete_role(self, request: web.Request) -> web.Response:
        """DELETE /guilds/{guild_id}/roles/{role_id}."""
        guild = self.api.guild(request)
        role = self._role(guild, request)
        self._can_manage_role(guild, role)
        self.world.delete_role(guild, role)
        return no_content()

    async def add_member_role(self, request: web.Request) -> web.Response:
        """PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id}."""
        guild = self.api.guild(request)
        member = self._member(guild, request)
        role = self._role(guild, request)
        self._can_manage_role(guild, role)
        self.world.set_member_roles(guild, member.user.id, [*member.roles, role.id])
        return no_content()

    async def remove_member_role(self, request: web.Request) -> web.Response:
        """DELETE /guilds/{guild_id}/members/{user_id}/roles/{role_id}."""
        guild = self.api.guild(request)
        member = self._member(guild, request)
        role = self._role(guild, request)
        self._can_manage_role(guild, role)
        self.world.set_member_roles(
            guild, member.user.id, [r for r in member.roles if r != role.id]
        )
        return no_content()

    # -- members -------------------------------------------------------------------------------
    async def get_member(self, request: web.Request) -> web.Response:
        """GET /guilds/{guild_id}/members/{user_id} (404 code 10007 Unknown Member)."""
        guild = self.api.guild(request)
        return json_response(payloads.member(guild, self._member(guild, request)))

    async def list_members(self, request: web.Request) -> web.Response:
        """GET /guilds/{guild_id}/members?limit&after (needs the members intent enabled)."""
        guild = self.api.guild(request)
        if not self.api.privileged_intents & GUILD_MEMBERS:
            raise ApiError(403, 50001, "Missing Access")
        limit = max(1, min(1000, int(request.query.get("limit", "1"))))
        after = int(request.query.get("after", "0"))
        members = sorted(guild.members.values(), key=lambda m: m.user.id)
        members = [m for m in members if m.user.id > after][:limit]
        return json_response([payloads.member(guild, m) for m in members])

    async def edit_member(self, request: web.Request) -> web.Response:
        """PATCH /guilds/{guild_id}/members/{user_id} (roles and nick)."""
        guild = self.api.guild(request)
        member = self._member(guild, request)
        body = json_body(request)
        if "roles" in body:
            wanted = [int(r) for r in body["roles"] or []]
            for role_id in set(wanted) ^ set(member.roles):
                role = guild.roles.get(role_id)
                if role is None:
                    raise unknown("Role", 10011)
                self._can_manage_role(guild, role)
            member.roles = list(dict.fromkeys(wanted))
        if "nick" in body:
            member.nick = body["nick"] or None
        self.world.member_updated(guild, member)
        return json_response(payloads.member(guild, member))

    # -- channels ------------------------------------------------------------------------------
    async def get_channel(self, request: web.Request) -> web.Response:
        """GET /channels/{channel_id}."""
        channel = channel_or_404(self.world, request)
        data = payloads.channel(self.world, channel)
        bot_id = self.world.bot_user.id
        if channel.is_thread and bot_id in channel.thread_members:
            data["member"] = payloads.thread_member(channel, bot_id)
        return json_response(data)

    async def edit_channel(self, request: web.Request) -> web.Response:
        """PATCH /channels/{channel_id}: name/topic, or thread archived/locked/invitable."""
        channel = channel_or_404(self.world, request)
        body = json_body(request)
        bot_id = self.world.bot_user.id
        if channel.is_thread:
            perms = self.world.channel_permissions(channel, bot_id)
            owns = channel.owner_id == bot_id
            if ("locked" in body or "invitable" in body) and not has(perms, MANAGE_THREADS):
                raise ApiError(403, 50013, "Missing Permissions")
            if not owns and not has(perms, MANAGE_THREADS):
                raise ApiError(403, 50013, "Missing Permissions")
            if channel.locked and channel.archived and body.get("archived") is not False:
                raise ApiError(400, 50083, "Thread is archived")
            if "archived" in body and bool(body["archived"]) != channel.archived:
                channel.archived = bool(body["archived"])
                channel.archive_timestamp = utcnow()
            if "locked" in body:
                channel.locked = bool(body["locked"])
            if "invitable" in body:
                channel.invitable = bool(body["invitable"])
            if "auto_archive_duration" in body:
                duration = int(body["auto_archive_duration"])
                if duration not in ARCHIVE_DURATIONS:
                    raise invalid_form("auto_archive_duration", "Invalid duration")
                channel.auto_archive_duration = duration
        else:
            require(self.world, channel, 1 << 4)  # MANAGE_CHANNELS
            if "topic" in body:
                channel.topic = body["topic"]
            if "permission_overwrites" in body:
                channel.permission_overwrites = list(body["permission_overwrites"] or [])
        if "name" in body:
            channel.name = str(body["name"])
        self.world.update_channel(channel)
        return json_response(payloads.channel(self.world, channel))

    async def delete_channel(self, request: web.Request) -> web.Response:
        """DELETE /channels/{channel_id}."""
        channel = channel_or_404(self.world, request)
        data = payloads.channel(self.world, channel)
        if channel.guild_id is not None:
            guild = self.world.guilds[channel.guild_id]
            if channel.id in guild.channel_ids:
                guild.channel_ids.remove(channel.id)
            event = "THREAD_DELETE" if channel.is_thread else "CHANNEL_DELETE"
            del self.world.channels[channel.id]
            self.world.dispatch(event, data, guild.id)
        return json_response(data)

    # -- threads -------------------------------------------------------------------------------
    async def create_thread(self, request: web.Request) -> web.Response:
        """POST /channels/{channel_id}/threads (public 11 / private 12)."""
        parent = channel_or_404(self.world, request)
        if parent.type != GUILD_TEXT:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        body = json_body(request)
        kind = int(body.get("type", PRIVATE_THREAD))
        if kind not in (PUBLIC_THREAD, PRIVATE_THREAD):
            raise invalid_form("type", "Invalid thread type")
        require(
            self.world,
            parent,
            CREATE_PRIVATE_THREADS if kind == PRIVATE_THREAD else CREATE_PUBLIC_THREADS,
        )
        thread = self._new_thread(parent, body, kind)
        return json_response(payloads.channel(self.world, thread), 201)

    async def create_thread_from_message(self, request: web.Request) -> web.Response:
        """POST /channels/{channel_id}/messages/{message_id}/threads (public, id = message id)."""
        parent = channel_or_404(self.world, request)
        message = self.world.message_index.get(snowflake_arg(request, "message_id"))
        if message is None or message.channel_id != parent.id:
            raise unknown("Message", 10008)
        if message.id in self.world.channels:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        require(self.world, parent, CREATE_PUBLIC_THREADS)
        thread = self._new_thread(parent, json_body(request), PUBLIC_THREAD, thread_id=message.id)
        return json_response(payloads.channel(self.world, thread), 201)

    def _new_thread(
        self, parent: SimChannel, body: JSON, kind: int, thread_id: int | None = None
    ) -> SimChannel:
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= 100:
            raise invalid_form("name", "Must be between 1 and 100 in length.")
        duration = int(body.get("auto_archive_duration") or 4320)
        if duration not in ARCHIVE_DURATIONS:
            raise invalid_form("auto_archive_duration", "Invalid duration")
        return self.world.create_thread(
            parent,
            name,
            type_=kind,
            owner=self.world.bot_user,
            invitable=bool(body.get("invitable", True)),
            auto_archive_duration=duration,
            thread_id=thread_id,
        )

    def _thread_user(self, request: web.Request) -> int:
        raw = request.match_info["user_id"]
        return self.world.bot_user.id if raw == "@me" else snowflake_arg(request, "user_id")

    async def add_thread_member(self, request: web.Request) -> web.Response:
        """PUT /channels/{thread_id}/thread-members/{user_id|@me}."""
        thread = self._thread(request)
        user_id = self._thread_user(request)
        if thread.archived:
            raise ApiError(400, 50083, "Thread is archived")
        assert thread.guild_id is not None
        guild = self.world.guilds[thread.guild_id]
        if guild.member(user_id) is None:
            raise unknown("Member", 10007)
        bot_id = self.world.bot_user.id
        if user_id != bot_id and thread.type == PRIVATE_THREAD:
            perms = self.world.channel_permissions(thread, bot_id)
            if bot_id not in thread.thread_members and not has(perms, MANAGE_THREADS):
                raise ApiError(403, 50001, "Missing Access")
        self.world.add_thread_member(thread, user_id)
        return no_content()

    async def remove_thread_member(self, request: web.Request) -> web.Response:
        """DELETE /channels/{thread_id}/thread-members/{user_id|@me}."""
        thread = self._thread(request)
        user_id = self._thread_user(request)
        if thread.archived:
            raise ApiError(400, 50083, "Thread is archived")
        bot_id = self.world.bot_user.id
        if user_id != bot_id:
            perms = self.world.channel_permissions(thread, bot_id)
            if thread.owner_id != bot_id and not has(perms, MANAGE_THREADS):
                raise ApiError(403, 50013, "Missing Permissions")
        self.world.remove_thread_member(thread, user_id)
        return no_content()

    async def get_thread_member(self, request: web.Request) -> web.Response:
        """GET /channels/{thread_id}/thread-members/{user_id}."""
        thread = self._thread(request)
        user_id = self._thread_user(request)
        if user_id not in thread.thread_members:
            raise unknown("Member", 10007)
        return json_response(self._thread_member(thread, user_id, request))

    async def list_thread_members(self, request: web.Request) -> web.Response:
        """GET /channels/{thread_id}/thread-members."""
        thread = self._thread(request)
        return json_response(
            [self._thread_member(thread, u, request) for u in thread.thread_members]
        )

    def _thread_member(self, thread: SimChannel, user_id: int, request: web.Request) -> JSON:
        data = payloads.thread_member(thread, user_id)
        if request.query.get("with_member") in ("true", "1", "True") and thread.guild_id:
            guild = self.world.guilds[thread.guild_id]
            member = guild.member(user_id)
            if member is not None:
                data["member"] = payloads.member(guild, member)
        return data


def routes(api: RestApi) -> list[RouteSpec]:
    """Guild, role, member, channel and thread routes."""
    h = GuildRoutes(api)
    g = "/guilds/{guild_id}"
    return [
        ("GET", g, h.get_guild),
        ("GET", g + "/channels", h.list_channels),
        ("POST", g + "/channels", h.create_channel),
        ("GET", g + "/threads/active", h.active_threads),
        ("DELETE", "/users/@me/guilds/{guild_id}", h.leave_guild),
        ("GET", g + "/roles", h.list_roles),
        ("POST", g + "/roles", h.create_role),
        ("PATCH", g + "/roles/{role_id}", h.edit_role),
        ("DELETE", g + "/roles/{role_id}", h.delete_role),
        ("GET", g + "/members", h.list_members),
        ("GET", g + "/members/{user_id}", h.get_member),
        ("PATCH", g + "/members/{user_id}", h.edit_member),
        ("PUT", g + "/members/{user_id}/roles/{role_id}", h.add_member_role),
        ("DELETE", g + "/members/{user_id}/roles/{role_id}", h.remove_member_role),
        ("GET", "/channels/{channel_id}", h.get_channel),
        ("PATCH", "/channels/{channel_id}", h.edit_channel),
        ("DELETE", "/channels/{channel_id}", h.delete_channel),
        ("POST", "/channels/{channel_id}/threads", h.create_thread),
        (
            "POST",
            "/channels/{channel_id}/messages/{message_id}/threads",
            h.create_thread_from_message,
        ),
        ("GET", "/channels/{channel_id}/thread-members", h.list_thread_members),
        ("GET", "/channels/{channel_id}/thread-members/{user_id}", h.get_thread_member),
        ("PUT", "/channels/{channel_id}/thread-members/{user_id}", h.add_thread_member),
        ("DELETE", "/channels/{channel_id}/thread-members/{user_id}", h.remove_thread_member),
    ]


def _primary_color(body: dict[str, Any]) -> int | None:
    """A role's colour: ``colors.primary_color`` (discord.py 2.6+) or the older ``color``."""
    colors = body.get("colors")
    if isinstance(colors, dict) and colors.get("primary_color") is not None:
        return int(colors["primary_color"])
    return int(body["color"]) if body.get("color") is not None else None
