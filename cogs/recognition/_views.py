"""The persistent one-click award button and the shout-out post."""

from __future__ import annotations

import logging

import discord

from bot.errors import InvalidInput
from bot.services.recognition import TutorSuggestion
from cogs._components import PersistentItem, view_of
from cogs._shared import (
    NO_PINGS,
    bot_of,
    clip,
    guild_id_of,
    require_teacher,
)

log = logging.getLogger(__name__)


class AwardSuggestionButton(
    PersistentItem[discord.ui.Button[discord.ui.View]],
    template=r"award:suggest:(?P<guild>\d+):(?P<week>\d{4}-\d{2}-\d{2}):(?P<user>\d+)",
):
    """One click makes the suggested mentor tutor of the week; works after restarts."""

    def __init__(self, guild_id: int, week: str, user_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Award tutor of the week",
                emoji="🏆",
                style=discord.ButtonStyle.success,
                custom_id=f"award:suggest:{guild_id}:{week}:{user_id}",
            )
        )
        self.guild_id = guild_id
        self.week = week
        self.user_id = user_id

    async def run(self, interaction: discord.Interaction) -> None:
        """Teacher only (checked here); a second click says it is already done."""
        if guild_id_of(interaction) != self.guild_id:
            raise InvalidInput("This button belongs to another class.")
        await require_teacher(interaction, "award tutor of the week")
        bot = bot_of(interaction)
        result = await bot.services.recognition.award_suggested(
            self.guild_id, interaction.user.id, self.week, self.user_id
        )
        content = interaction.message.content if interaction.message else ""
        await interaction.response.edit_message(
            content=clip(
                f"{content}\n✅ <@{interaction.user.id}> made <@{self.user_id}> tutor of the week.",
                2000,
            ),
            view=None,
            allowed_mentions=NO_PINGS,
        )
        if result.shout_out_channel_id is not None:
            # Posted from the outbox by the cog's shout-out poster.
            bot.dispatch("shout_out_queued", result.shout_out_channel_id)


def suggestion_view(suggestion: TutorSuggestion) -> discord.ui.View | None:
    """The "Award" button, when there is someone to award."""
    if suggestion.suggestion is None:
        return None
    return view_of(
        AwardSuggestionButton(
            suggestion.guild_id, suggestion.week_key, suggestion.suggestion.user_id
        )
    )
