"""How fast the bot paces its own background Discord work.

Kept in a plain module (not a cog) and handed to the bot by the composition root: extension
modules are re-imported at every start, so a pace set on them would not hold, and a test or a
benchmark chooses its own :class:`Pacing` through :func:`bot.wiring.build_bot`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["INSTANT", "Pacing"]


@dataclass(frozen=True)
class Pacing:
    """Pauses that keep background work within Discord's limits (defaults: production)."""

    # Between members in the hourly badge check: at most 10 checks a second, a fifth of
    # Discord's global budget.
    badge_check_pause_s: float = 0.1
    # At most one write (post or edit) per live queue notice per window: a burst of requests
    # makes one message and a few edits, well within a channel's ~5 messages per 5 s.
    queue_notice_window_s: float = 2.0
    # At most one new shout-out message per channel per window: 2.5 per 5 s, half Discord's
    # limit; what arrives meanwhile goes out together in the next one.
    shout_out_window_s: float = 2.0


# No pauses: for tests that step through a flow one settled action at a time.
INSTANT = Pacing(badge_check_pause_s=0.0, queue_notice_window_s=0.0, shout_out_window_s=0.0)
