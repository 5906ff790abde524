"""Help requests: `/helpme ask|cancel|panel`, offers to mentors, private sessions, `/queue`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.help._cog import HelpCog, setup

if TYPE_CHECKING:
    from bot.app import ClassMentorBot

__all__ = ["HelpCog", "mentor_ready", "setup"]


async def mentor_ready(bot: ClassMentorBot, guild_id: int, user_id: int) -> None:
    """A mentor became available (`/available on`, brief read): the help desk serves the queue.

    Other features call this instead of dispatching an event, so "when is the queue served?" has
    one answer (the desk). Does nothing when the help feature is not loaded.
    """
    cog = bot.get_cog(HelpCog.__cog_name__)
    if isinstance(cog, HelpCog):
        await cog.desk.mentor_ready(guild_id, user_id)
