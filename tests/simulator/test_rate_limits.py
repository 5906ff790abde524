"""The simulator enforces Discord's rate limits, and the real discord.py lives with them.

Windows are shrunk (a fraction of a second) so the tests do not wait seconds; the rules are the
published ones: per-route buckets per channel, a global cap that interaction callbacks and
follow-ups don't count against, and headers from which discord.py paces itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest

from bot.simulator import (
    DiscordSimulator,
    Limit,
    RateLimits,
    point_discord_at,
    running_bot,
)
from bot.simulator.ratelimit import RateLimiter
from tests.simulator.sample_bot import SampleBot

MESSAGES = "POST /channels/{channel_id}/messages"


async def _simulator(limits: RateLimits) -> DiscordSimulator:
    sim = DiscordSimulator(token="test-token", response_timeout=5.0, rate_limits=limits)
    await sim.start()
    point_discord_at(sim)
    return sim


@pytest.fixture
async def tight() -> AsyncIterator[DiscordSimulator]:
    """5 messages per 0.4 s per channel (the global cap as on Discord)."""
    sim = await _simulator(RateLimits(message_create=Limit(5, 0.4)))
    yield sim
    await sim.stop()


@pytest.fixture
async def tight_global() -> AsyncIterator[DiscordSimulator]:
    """A global cap of 8 requests per second (wide, so a burst lands in one window)."""
    sim = await _simulator(RateLimits(global_cap=Limit(8, 1.0)))
    yield sim
    await sim.stop()


def _text_channel(bot: discord.Client, channel_id: int) -> discord.TextChannel:
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_discord_py_paces_one_channel_from_the_headers_without_a_429(
    tight: DiscordSimulator,
) -> None:
    teacher = tight.create_user("Ms Rivera")
    guild = tight.create_guild("Class 7B", owner=teacher)
    desk = guild.create_text_channel("desk")
    async with running_bot(tight, SampleBot()) as bot:
        channel = _text_channel(bot, desk.id)
        with tight.count_rate_limits() as limited:
            await asyncio.gather(*(channel.send(f"note {n}") for n in range(12)))
            await tight.settle()
    assert sorted(m.content for m in tight.messages(desk)) == sorted(f"note {n}" for n in range(12))
    # discord.py read Limit/Remaining/Reset-After and waited instead of overrunning the bucket.
    assert limited.count == 0


async def test_each_channel_has_its_own_bucket() -> None:
    limiter = RateLimiter(RateLimits(message_create=Limit(5, 60.0)))
    for n in range(5):
        assert limiter.check(MESSAGES, "/channels/1/messages", {"channel_id": "1"}).allowed, n
    refused = limiter.check(MESSAGES, "/channels/1/messages", {"channel_id": "1"})
    other = limiter.check(MESSAGES, "/channels/2/messages", {"channel_id": "2"})
    assert not refused.allowed
    assert refused.headers["X-RateLimit-Scope"] == "user"
    assert 0 < float(refused.headers["Retry-After"]) <= 60
    assert other.allowed
    assert other.headers["X-RateLimit-Remaining"] == "4"
    assert [hit.scope for hit in limiter.hits] == ["user"]


async def test_a_burst_over_the_global_cap_gets_429s_and_discord_py_recovers(
    tight_global: DiscordSimulator,
) -> None:
    tight = tight_global
    teacher = tight.create_user("Ms Rivera")
    guild = tight.create_guild("Class 7B", owner=teacher)
    # 12 sends: 8 go through, 4 are refused and go through after one wait for the reset.
    rooms = [guild.create_text_channel(f"room-{n}") for n in range(12)]
    async with running_bot(tight, SampleBot()) as bot:
        await tight.settle()
        with tight.count_rate_limits() as limited:
            # One message per channel: no route bucket is full, only the global cap is.
            await asyncio.gather(
                *(_text_channel(bot, room.id).send(f"hello {room.name}") for room in rooms)
            )
            await tight.settle()
    for room in rooms:
        assert [m.content for m in tight.messages(room)] == [f"hello {room.name}"]
    assert limited.count >= 1
    assert {hit.scope for hit in limited.hits} == {"global"}


async def test_interaction_callbacks_and_follow_ups_are_exempt_from_the_global_cap(
    sim: DiscordSimulator,
) -> None:
    teacher = sim.create_user("Ms Rivera")
    guild = sim.create_guild("Class 7B", owner=teacher)
    async with running_bot(sim, SampleBot()):
        await sim.settle()
        # From now on the global cap allows nothing: only exempt routes can get through.
        sim.api.limiter = RateLimiter(RateLimits(global_cap=Limit(0, 60.0)))
        with sim.count_rate_limits() as limited:
            for _ in range(4):
                res = await sim.slash(teacher, "slow", guild=guild)  # defer, then follow up
                assert [m.content for m in res.followups] == ["done"]
        assert limited.count == 0


async def test_every_answer_carries_the_rate_limit_headers(tight: DiscordSimulator) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{tight.url}/api/v10/users/@me", headers={"Authorization": "Bot test-token"}
        ) as response,
    ):
        assert response.status == 200
        for name in ("Limit", "Remaining", "Reset", "Reset-After", "Bucket"):
            assert f"X-RateLimit-{name}" in response.headers


async def test_enforcement_can_be_switched_off() -> None:
    limiter = RateLimiter(RateLimits(message_create=Limit(1, 60.0)), enabled=False)
    for _ in range(10):
        assert limiter.check(MESSAGES, "/channels/1/messages", {"channel_id": "1"}).allowed
    assert limiter.hits == []


async def test_a_bucket_emptied_elsewhere_gets_a_429_and_discord_py_retries() -> None:
    # Wide enough that the bucket is still empty when the bot sends (a few milliseconds later).
    tight = await _simulator(RateLimits(message_create=Limit(5, 0.5)))
    try:
        await _emptied_bucket_scenario(tight)
    finally:
        await tight.stop()


async def _emptied_bucket_scenario(tight: DiscordSimulator) -> None:
    teacher = tight.create_user("Ms Rivera")
    guild = tight.create_guild("Class 7B", owner=teacher)
    desk = guild.create_text_channel("desk")
    async with running_bot(tight, SampleBot()) as bot:
        await tight.settle()
        # Another process of the same bot used up the channel's bucket a moment ago.
        for _ in range(5):
            params = {"channel_id": str(desk.id)}
            assert tight.api.limiter.check(
                MESSAGES, f"/channels/{desk.id}/messages", params
            ).allowed
        with tight.count_rate_limits() as limited:
            await _text_channel(bot, desk.id).send("after the wait")
            await tight.settle()
    assert [m.content for m in tight.messages(desk)] == ["after the wait"]
    assert [hit.scope for hit in limited.hits] == ["user"]
    assert limited.hits[0].retry_after > 0
