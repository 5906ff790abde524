"""A test-only extension with a command that fails unexpectedly (a bug, not a user error)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

if TYPE_CHECKING:
    from bot.app import ClassMentorBot


class Broken(commands.Cog):
    """Holds one command that raises."""

    @app_commands.command(name="crash", description="Always fails")
    async def crash(self, interaction: discord.Interaction) -> None:
        """Raise something no one planned for."""
        raise RuntimeError("the database caught fire")


async def setup(bot: ClassMentorBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Broken())
