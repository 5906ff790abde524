"""Mentor badges, the training brief, availability, `/mentors` and `/profile`."""

from cogs.mentors._cog import MentorsCog, setup

__all__ = ["MentorsCog", "setup"]
