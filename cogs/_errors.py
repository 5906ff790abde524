"""The one error path, for slash commands, buttons, selects and forms alike.

Expected problems (:class:`~bot.errors.UserFacingError`, failed checks, bad option values) become
a friendly private reply; anything else is logged with an error id the person can quote.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.admission import PatientResponse
from bot.errors import UserFacingError
from bot.metrics import component_family
from db.errors import InteractionTaken, StoreError

log = logging.getLogger(__name__)

# Discord's error code for a second answer to one interaction.
ALREADY_ACKNOWLEDGED = 40060


def interaction_label(interaction: discord.Interaction[Any]) -> str:
    """The metrics label of an interaction: the command's name, or the button's family."""
    data: Any = interaction.data or {}
    if interaction.type is discord.InteractionType.application_command:
        command = interaction.command
        return command.qualified_name if command is not None else str(data.get("name", "?"))
    return component_family(str(data.get("custom_id", "")))


def error_outcome(error: BaseException) -> str:
    """How the one error path classifies an error for the metrics."""
    original = getattr(error, "original", error)
    if isinstance(original, StoreError):
        return "store_error"
    if isinstance(original, UserFacingError) or isinstance(
        error,
        app_commands.TransformerError | app_commands.CommandOnCooldown | app_commands.CheckFailure,
    ):
        return "user_error"
    return "error"


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """The one error path, for commands, buttons and modals alike."""
    original = getattr(error, "original", error)
    if isinstance(original, InteractionTaken) or (
        isinstance(original, discord.HTTPException) and original.code == ALREADY_ACKNOWLEDGED
    ):
        # Another process serving the same shard (a rolling restart) wrote or answered it.
        log.info("interaction %s: handled by another process", interaction.id)
        if isinstance(interaction.response, PatientResponse):
            interaction.response.relinquish()
        return
    metrics = getattr(interaction.client, "metrics", None)
    if metrics is not None:
        metrics.failed(interaction_label(interaction), error_outcome(error))
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
