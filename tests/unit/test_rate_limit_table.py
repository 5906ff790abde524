"""discord.py's rate-limit table under a bot that DMs a whole school (cogs/_discord_api.py)."""

from __future__ import annotations

import asyncio

import discord

from cogs._discord_api import MIN_BUCKET_SWEEP, sweep_buckets_amortised


async def test_idle_buckets_are_dropped_and_live_ones_kept_as_the_table_grows() -> None:
    client = discord.Client(intents=discord.Intents.none())
    sweep_buckets_amortised(client)
    http = client.http
    now = asyncio.get_running_loop().time()
    for n in range(10 * MIN_BUCKET_SWEEP):
        bucket = http.get_ratelimit(f"POST /channels/{{channel_id}}/messages:{n}")
        if n % 4:  # three DM channels in four were last used 6 minutes ago, nothing waits on them
            bucket._last_request = now - 360
    live = [key for key, bucket in http._buckets.items() if not bucket.is_inactive()]
    # Every bucket in use is there, and the table stays within twice what is live.
    assert len(live) == 10 * MIN_BUCKET_SWEEP // 4
    assert len(http._buckets) <= 2 * len(live)
    # A bucket in use is the same object on the next request (its limits are kept).
    key = live[-1]
    assert http.get_ratelimit(key) is http._buckets[key]
    await client.close()
