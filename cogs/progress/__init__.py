"""Learning progress: quiz scores, CSV import, gains and the gains chart."""

from cogs.progress._cog import ProgressCog, setup, weekly_gains_post

__all__ = ["ProgressCog", "setup", "weekly_gains_post"]
