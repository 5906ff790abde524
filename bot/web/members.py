"""The dashboard's one window on Discord: who a person is in a class, names, badge roles.

Who may see what is decided here from the bot's own knowledge, asked again on every request: the
member is fetched with the bot's token (roles change; a cached member could be stale), and the
class's teacher rule (:func:`bot.domain.classroom.is_teacher`) decides. Display names, which only
label rows, are cached for a few minutes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord

from bot.domain.classroom import is_teacher
from cogs._discord_api import remove_member_role

if TYPE_CHECKING:
    from bot.app import ClassMentorBot

NAME_TTL_S = 300.0


@dataclass(frozen=True)
class Viewer:
    """A logged-in person as a member of one class."""

    guild_id: int
    user_id: int
    name: str
    teacher: bool


def discord_api_base() -> str:
    """Where discord.py sends REST calls (``https://discord.com/api/v10``, or the simulator)."""
    return str(discord.http.Route.BASE)


class DiscordMembers:
    """Members, names and roles, asked of Discord through the running bot."""

    def __init__(self, bot: ClassMentorBot) -> None:
        self._bot = bot
        self._names: dict[tuple[int, int], tuple[float, str]] = {}

    def class_name(self, guild_id: int) -> str | None:
        """The server's name, or ``None`` when the bot is not in it."""
        guild = self._bot.get_guild(guild_id)
        return guild.name if guild is not None else None

    def channel_name(self, guild_id: int, channel_id: int | None) -> str | None:
        """A channel's name in the class, or ``None`` when unset or gone."""
        guild = self._bot.get_guild(guild_id)
        channel = guild.get_channel(channel_id) if guild and channel_id else None
        return channel.name if channel is not None else None

    def role_name(self, guild_id: int, role_id: int | None) -> str | None:
        """A role's name in the class, or ``None`` when unset or gone."""
        guild = self._bot.get_guild(guild_id)
        role = guild.get_role(role_id) if guild and role_id else None
        return role.name if role is not None else None

    def shared_guilds(self, guild_ids: Iterable[int]) -> list[int]:
        """Those of ``guild_ids`` the bot is in."""
        return [g for g in guild_ids if self._bot.get_guild(g) is not None]

    async def viewer(self, guild_id: int, user_id: int) -> Viewer | None:
        """The person as a member of the class right now, or ``None`` (not a member, no bot)."""
        guild = self._bot.get_guild(guild_id)
        if guild is None:
            return None
        try:
            member = await guild.fetch_member(user_id)
        except (discord.NotFound, discord.Forbidden):
            return None
        settings = await self._bot.services.classes.get(guild_id)
        if settings is None or not settings.configured:
            return None
        roles = {role.id for role in member.roles}
        teacher = is_teacher(roles, member.guild_permissions.manage_guild, settings)
        self._names[(guild_id, user_id)] = (time.monotonic(), member.display_name)
        return Viewer(guild_id, user_id, member.display_name, teacher)

    async def display_names(self, guild_id: int, user_ids: Iterable[int]) -> dict[int, str]:
        """Server display names of those still in the server (cached for a few minutes)."""
        guild = self._bot.get_guild(guild_id)
        names: dict[int, str] = {}
        if guild is None:
            return names
        now = time.monotonic()
        for user_id in set(user_ids):
            cached = self._names.get((guild_id, user_id))
            if cached is not None and now - cached[0] < NAME_TTL_S:
                names[user_id] = cached[1]
                continue
            member = guild.get_member(user_id)
            if member is None:
                try:
                    member = await guild.fetch_member(user_id)
                except (discord.NotFound, discord.Forbidden):
                    continue  # left the server
            self._names[(guild_id, user_id)] = (now, member.display_name)
            names[user_id] = member.display_name
        return names

    async def remove_roles(self, guild_id: int, user_id: int, role_ids: Iterable[int]) -> None:
        """Take badge roles off before a privacy deletion (gone already is fine)."""
        for role_id in role_ids:
            try:
                await remove_member_role(
                    self._bot, guild_id, user_id, role_id, reason="Privacy deletion"
                )
            except discord.NotFound:
                pass
