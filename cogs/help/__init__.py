"""Help requests: `/helpme ask|cancel|panel`, offers to mentors, private sessions, `/queue`."""

from __future__ import annotations

from cogs.help._cog import HelpCog, setup

__all__ = ["HelpCog", "setup"]
