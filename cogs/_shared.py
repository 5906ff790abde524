"""What every cog needs: the teacher check, subject autocomplete, safe mentions, clipping."""

from __future__ import annotations

from typing import TYPE_CHECKING, ParamSpec, TypeVar, cast

import discord
from discord import app_commands

from bot.domain.classroom import ClassSettings, is_teacher
from bot.errors import NotTeacher, UserFacingError

if TYPE_CHECKING:
    from bot.app import ClassMentorBot

NO_PINGS = discord.AllowedMentions.none()
P = ParamSpec("P")
S = TypeVar("S")


def only_pings(*user_ids: int) -> discord.AllowedMentions:
    """Allow pinging exactly these users and nobody else (no roles, no @everyone)."""
    return discord.AllowedMentions(
        everyone=False, roles=False, replied_user=False, users=[discord.Object(u) for u in user_ids]
    )


def bot_of(interaction: discord.Interaction) -> ClassMentorBot:
    """The ClassMentor bot that received the interaction."""
    return cast("ClassMentorBot", interaction.client)


def guild_id_of(interaction: discord.Interaction) -> int:
    """The class (guild) id; ClassMentor commands only work inside a server."""
    if interaction.guild_id is None:
        raise UserFacingError("ClassMentor works inside your class's server, not in DMs.")
    return interaction.guild_id


def member_is_teacher(interaction: discord.Interaction, settings: ClassSettings | None) -> bool:
    """Whether the person has the class's teacher role or Manage Server."""
    user = interaction.user
    role_ids = {role.id for role in user.roles} if isinstance(user, discord.Member) else set()
    return is_teacher(role_ids, interaction.permissions.manage_guild, settings)


async def require_teacher(interaction: discord.Interaction, action: str) -> ClassSettings:
    """The class's settings, if the person is a teacher; :class:`NotTeacher` otherwise.

    Checked here in code: a command's default permissions are only a default server admins can
    change.
    """
    settings = await bot_of(interaction).services.classes.require_configured(
        guild_id_of(interaction)
    )
    if not member_is_teacher(interaction, settings):
        raise NotTeacher(action)
    return settings


def require_manage_server(interaction: discord.Interaction, action: str) -> None:
    """Only people with Manage Server may set a class up."""
    if not interaction.permissions.manage_guild:
        raise UserFacingError(f"Only someone with the Manage Server permission can {action}.")


async def subject_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """The class's subjects matching what was typed (at most 25, Discord's limit)."""
    if interaction.guild_id is None:
        return []
    subjects = await bot_of(interaction).services.classes.subjects(interaction.guild_id)
    typed = current.casefold().strip()
    return [
        app_commands.Choice(name=s.name, value=s.name)
        for s in subjects
        if typed in s.name.casefold()
    ][:25]


def clip(text: str, limit: int) -> str:
    """Shorten text to Discord's limits, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
