"""Mentor rounds: `/rounds` shows a mentor the live board of waiting requests; Take is exactly-once.

The board shows topic, aspect and waiting time, never who asked: the student's name appears only
in the private session thread the take opens (the help desk opens it, as after an Accept).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.domain.rounds import BoardEntry
from cogs._components import PersistentItem, view_of
from cogs._shared import NO_PINGS, bot_of, guild_id_of

if TYPE_CHECKING:
    from bot.app import ClassMentorBot
    from bot.services.help_requests import Accepted

Button = discord.ui.Button[discord.ui.View]


def board_embed(entries: list[BoardEntry], now: datetime) -> discord.Embed:
    """The board: what each waiting classmate is stuck on and for how long (no names)."""
    embed = discord.Embed(title="🚶 Mentor rounds: who's waiting", colour=discord.Colour.teal())
    lines = []
    for entry in entries:
        waited = max(0, int((now - entry.waiting_since).total_seconds() // 60))
        aspect = f" · {entry.aspect}" if entry.aspect else ""
        topic = f": {discord.utils.escape_markdown(entry.topic)}" if entry.topic else ""
        lines.append(f"**#{entry.request_id} {entry.subject_name}**{aspect}{topic} · {waited} min")
    embed.description = "\n".join(lines) or "Nobody is waiting for your subjects right now. 🎉"
    embed.set_footer(text="Take one to open a private thread with them. Refresh for the latest.")
    return embed


def board_view(entries: list[BoardEntry]) -> discord.ui.View:
    """A Take button per waiting request, and Refresh."""
    return view_of(*(TakeButton(entry.request_id) for entry in entries), RefreshButton())


async def _board(interaction: discord.Interaction) -> tuple[discord.Embed, discord.ui.View]:
    bot = bot_of(interaction)
    entries = await bot.services.help.board(guild_id_of(interaction), interaction.user.id)
    return board_embed(entries, bot.clock.now()), board_view(entries)


async def settle_take(bot: ClassMentorBot, accepted: Accepted) -> None:
    """The help desk opens the session thread (and tidies a withdrawn offer)."""
    desk: Any = getattr(bot.get_cog("HelpCog"), "desk", None)
    if desk is not None:
        await desk.settle(accepted)


class TakeButton(PersistentItem[Button], template=r"rounds:take:(?P<request>\d+)"):
    """Take one waiting request from the board."""

    def __init__(self, request_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=f"Take #{request_id}",
                style=discord.ButtonStyle.success,
                custom_id=f"rounds:take:{request_id}",
            )
        )
        self.request_id = request_id

    async def run(self, interaction: discord.Interaction) -> None:
        """Exactly once: the loser of a race gets a kind word through the error path."""
        bot = bot_of(interaction)
        accepted = await bot.services.help.take(self.request_id, interaction.user.id)
        embed, view = await _board(interaction)
        await interaction.response.edit_message(
            content=f"✅ You took request #{self.request_id} ({accepted.request.subject_name}). "
            "I'm opening a private thread in the help channel for you both.",
            embed=embed,
            view=view,
            allowed_mentions=NO_PINGS,
        )
        await settle_take(bot, accepted)


class RefreshButton(PersistentItem[Button], template=r"rounds:refresh"):
    """Show the board as it is now."""

    def __init__(self) -> None:
        super().__init__(
            discord.ui.Button(
                label="Refresh", style=discord.ButtonStyle.secondary, custom_id="rounds:refresh"
            )
        )

    async def run(self, interaction: discord.Interaction) -> None:
        """Re-read the waiting requests."""
        embed, view = await _board(interaction)
        await interaction.response.edit_message(
            content=None, embed=embed, view=view, allowed_mentions=NO_PINGS
        )


ROUNDS_ITEMS = (TakeButton, RefreshButton)
