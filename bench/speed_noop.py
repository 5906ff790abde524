"""A bench-only extension: ``/noop`` answers at once and touches nothing.

It runs through the same bot, command tree (set-up gate, burst limit, error path), discord.py and
simulator as the real commands, so their throughput can be reported as a ratio to it.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands


class NoopCog(commands.Cog):
    """The floor: what an interaction costs before any feature work."""

    @app_commands.command(name="noop", description="Benchmark: reply at once")
    async def noop(self, interaction: discord.Interaction) -> None:
        """Reply privately, read and write nothing."""
        await interaction.response.send_message("ok", ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    """Extension entry point."""
    await bot.add_cog(NoopCog())
