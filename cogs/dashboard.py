"""`/dashboard link` and `/dashboard projector`: the way into the web dashboard from Discord."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserFacingError
from cogs._shared import NO_PINGS, bot_of, guild_id_of, member_is_teacher, require_teacher

if TYPE_CHECKING:
    from bot.app import ClassMentorBot

NOT_ENABLED = (
    "The web dashboard is not switched on for this bot. Whoever runs ClassMentor can turn it on "
    "with `[web] enabled = true` (see the README, 'Teacher dashboard')."
)


def _base_url(interaction: discord.Interaction) -> str:
    web = bot_of(interaction).config.web
    if not web.enabled:
        raise UserFacingError(NOT_ENABLED)
    return web.public_url


class DashboardCog(commands.Cog):
    """Links to the class's pages and to the classroom projector view."""

    group = app_commands.Group(
        name="dashboard", description="The class's web dashboard", guild_only=True
    )

    def __init__(self, bot: ClassMentorBot) -> None:
        self.bot = bot

    @group.command(name="link", description="The web address of your class dashboard (private)")
    async def link(self, interaction: discord.Interaction) -> None:
        """Teachers get the class's pages, students their own page; log-in is with Discord."""
        base = _base_url(interaction)
        guild_id = guild_id_of(interaction)
        settings = await self.bot.services.classes.require_configured(guild_id)
        if member_is_teacher(interaction, settings):
            url, what = f"{base}/class/{guild_id}", "the class dashboard"
        else:
            url, what = f"{base}/class/{guild_id}/me", "your page"
        await interaction.response.send_message(
            f"Open {what}: <{url}>\nYou log in with your Discord account; nobody else sees "
            "your page.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @group.command(
        name="projector", description="A read-only link for the classroom screen (teacher)"
    )
    @app_commands.describe(action="Make a new link (the old one stops working) or switch it off")
    @app_commands.choices(
        action=[
            app_commands.Choice(name="Make a new link", value="create"),
            app_commands.Choice(name="Switch the link off", value="revoke"),
        ]
    )
    async def projector(
        self, interaction: discord.Interaction, action: app_commands.Choice[str] | None = None
    ) -> None:
        """Create (replacing the old one) or revoke the class's projector link."""
        await require_teacher(interaction, "manage the projector link")
        guild_id = guild_id_of(interaction)
        service = self.bot.services.dashboard
        if action is not None and action.value == "revoke":
            revoked = await service.revoke_projector_link(guild_id, interaction.user.id)
            text = (
                "The projector link is switched off; screens showing it stop updating."
                if revoked
                else "There was no projector link to switch off."
            )
        else:
            base = _base_url(interaction)
            token = await service.create_projector_link(guild_id, interaction.user.id)
            text = (
                f"Projector link: <{base}/projector/{token}>\nIt shows the class goal, the class's gains this term "
                "(gains only), this week's help sessions and stars, mentors free now and how many "
                "are waiting — never who asked, never scores. Anyone with "
                "the link can watch it, so show it on the classroom screen only. Making a new "
                "link switches this one off; `/dashboard projector action:Switch the link off` "
                "stops it."
            )
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)


async def setup(bot: ClassMentorBot) -> None:
    """Extension entry point."""
    await bot.add_cog(DashboardCog(bot))
