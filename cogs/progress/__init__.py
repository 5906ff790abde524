"""Learning progress: quiz scores, CSV import, gains and the gains chart."""

from cogs.progress._cog import ProgressCog, public_gains_chart, setup, weekly_gains_post
from cogs.progress._render import chart_file

__all__ = ["ProgressCog", "chart_file", "public_gains_chart", "setup", "weekly_gains_post"]
