"""A simulated Discord (REST API v10 + gateway) on loopback for the real discord.py.

Typical use::

    sim = DiscordSimulator(token="test-token")
    await sim.start()
    point_discord_at(sim)
    teacher = sim.create_user("Ms Rivera")
    guild = sim.create_guild("Class 7B", owner=teacher)
    async with running_bot(sim, bot, "test-token"):
        res = await sim.slash(teacher, "helpme", guild=guild, subject="Math")
"""

from __future__ import annotations

import discord
import yarl

from bot.simulator.interactions import InteractionResult, SimModal, SimulatorError
from bot.simulator.ratelimit import Limit, RateLimitHit, RateLimits
from bot.simulator.rest import RequestRecord
from bot.simulator.server import DiscordSimulator
from bot.simulator.state import (
    SimAttachment,
    SimChannel,
    SimGuild,
    SimMember,
    SimMessage,
    SimRole,
    SimUser,
)
from bot.simulator.testing import running_bot


def point_discord_at(sim: DiscordSimulator) -> None:
    """Make discord.py talk to ``sim``: REST base URL and default gateway (process-wide)."""
    discord.http.Route.BASE = f"{sim.url}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sim.gateway_url)


__all__ = [
    "DiscordSimulator",
    "InteractionResult",
    "Limit",
    "RateLimitHit",
    "RateLimits",
    "RequestRecord",
    "SimAttachment",
    "SimChannel",
    "SimGuild",
    "SimMember",
    "SimMessage",
    "SimModal",
    "SimRole",
    "SimUser",
    "SimulatorError",
    "point_discord_at",
    "running_bot",
]
