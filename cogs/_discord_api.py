"""Discord internals in one place: the few raw REST calls ClassMentor makes by id.

discord.py's models need a cached object (a ``Thread``, a ``Member``) for these; a bot without
the members intent, or one that just restarted, often has only ids. The raw ``bot.http`` calls
live here, named for what they do, so the cogs never reach into discord.py's internals.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import discord

log = logging.getLogger(__name__)
T = TypeVar("T")

# Pauses between attempts of one outbound call on a transient Discord error (then the caller's
# fallback). Read at each call, so tests can shorten it; extensions are re-imported on every
# start, so a constant here (not in a cog module) is the one that stays patched.
RETRY_DELAYS: tuple[float, ...] = (0.5, 2.0)
# What a failed outbound call may raise: Discord's answer, or the connection itself.
SEND_ERRORS = (discord.HTTPException, aiohttp.ClientError, OSError)


def transient(error: BaseException) -> bool:
    """Whether trying again later may work (server errors, rate limits, a dropped connection)."""
    if isinstance(error, discord.HTTPException):
        return error.status >= 500 or error.status == 429
    return isinstance(error, (aiohttp.ClientError, OSError))


async def retrying(what: str, call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, tried again after each pause in :data:`RETRY_DELAYS` on a transient error."""
    delays = iter(RETRY_DELAYS)
    while True:
        try:
            return await call()
        except SEND_ERRORS as exc:
            delay = next(delays, None)
            if not transient(exc) or delay is None:
                raise
            log.info("%s failed (%s); trying again in %.1f s", what, exc, delay)
            await asyncio.sleep(delay)


async def add_thread_member(client: discord.Client, thread_id: int, user_id: int) -> None:
    """Add someone to a (private) thread by ids; adding a member twice is harmless."""
    await client.http.add_user_to_thread(thread_id, user_id)


async def close_thread(client: discord.Client, thread_id: int, reason: str) -> None:
    """Archive and lock a thread in one call (nobody can reopen it by posting)."""
    await client.http.edit_channel(thread_id, reason=reason, archived=True, locked=True)


async def fetch_member_roles(client: discord.Client, guild_id: int, user_id: int) -> list[int]:
    """A member's role ids, fetched without the members intent (NotFound when they left)."""
    member: Any = await client.http.get_member(guild_id, user_id)
    return [int(role) for role in member.get("roles", [])]


async def remove_member_role(
    client: discord.Client, guild_id: int, user_id: int, role_id: int, reason: str
) -> None:
    """Take a role from a member by ids (NotFound when the member or role is gone)."""
    await client.http.remove_role(guild_id, user_id, role_id, reason=reason)


async def fetch_member_payload(
    client: discord.Client, guild_id: int, user_id: int
) -> dict[str, Any]:
    """A member's raw payload by ids (``user``, ``nick``, ``roles``); NotFound when they left."""
    return dict(await client.http.get_member(guild_id, user_id))


async def list_member_payloads(
    client: discord.Client, guild_id: int, limit: int = 1000
) -> list[dict[str, Any]]:
    """Up to ``limit`` members' raw payloads; Forbidden without the members intent."""
    return [dict(m) for m in await client.http.get_members(guild_id, limit, None)]


async def send_dm_text(
    client: discord.Client,
    user_id: int,
    content: str,
    allowed_mentions: discord.AllowedMentions,
) -> int:
    """DM someone plain text; returns the message's id.

    The DM channel comes from discord.py's cache (one "create DM" call when it is not there), as
    with ``user.send``; the message is sent by id and its answer is not turned into a
    ``discord.Message`` (author, mentions, components parsed and thrown away) where only the id
    is needed. Raises what ``user.send`` raises (``Forbidden`` when their DMs are closed).
    """
    dm = await client.create_dm(discord.Object(user_id))
    with discord.http.handle_message_parameters(
        content=content,
        allowed_mentions=allowed_mentions,
        previous_allowed_mentions=client.allowed_mentions,
    ) as params:
        data: Any = await client.http.send_message(dm.id, params=params)
    return int(data["id"])


# discord.py's own threshold for sweeping its rate-limit table at all.
MIN_BUCKET_SWEEP = 256


class BucketSweep:
    """Drop discord.py's idle rate-limit buckets once the table has doubled since the last sweep.

    discord.py keeps a bucket per route and major id (``POST /channels/{id}/messages`` is one
    per channel) and, once it holds 256, scans every bucket for ones idle 5 minutes each time it
    makes a new one. A bot DMing a school's students (a DM channel each: private awards, offers,
    lesson questions) makes a bucket per student, so each first DM walked the whole table
    (1,200 students DMed in a burst: ~700,000 idle checks). Sweeping on doubling drops the same
    buckets (idle 5 minutes, none in use), keeps the table within twice what is live, and costs
    O(1) per new bucket on average.
    """

    def __init__(self, http: Any) -> None:
        self._http = http
        self.sweep_at = MIN_BUCKET_SWEEP

    def __call__(self) -> None:
        buckets: dict[str, Any] = self._http._buckets
        if len(buckets) < self.sweep_at:
            return
        for key in [key for key, bucket in buckets.items() if bucket.is_inactive()]:
            del buckets[key]
        self.sweep_at = max(MIN_BUCKET_SWEEP, 2 * len(buckets))


def sweep_buckets_amortised(client: discord.Client) -> None:
    """Replace discord.py's sweep of its rate-limit table on every new bucket (see
    :class:`BucketSweep`)."""
    http: Any = client.http
    http._try_clear_expired_ratelimits = BucketSweep(http)
