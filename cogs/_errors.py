"""The one error path, for slash commands, buttons, selects and forms alike.

Expected problems (:class:`~bot.errors.UserFacingError`, failed checks, bad option values) become
a friendly private reply; anything else is logged with an error id the person can quote.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.errors import UserFacingError
from db.errors import StoreError

log = logging.getLogger(__name__)


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """The one error path, for commands, buttons and modals alike."""
    original = getattr(error, "original", error)
    if isinstance(original, UserFacingError):
        await send_error(interaction, original.message)
    elif isinstance(original, StoreError):
        log.warning("interaction %s refused: %s", interaction.id, original)
        await send_error(interaction, original.user_message)
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
