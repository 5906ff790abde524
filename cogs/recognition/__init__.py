"""Recognition: awards, the points ledger, leaderboards and weekly shout-outs."""

from cogs.recognition._cog import RecognitionCog, setup

__all__ = ["RecognitionCog", "setup"]
