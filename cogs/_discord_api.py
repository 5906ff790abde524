"""Discord internals in one place: the few raw REST calls ClassMentor makes by id.

discord.py's models need a cached object (a ``Thread``, a ``Member``) for these; a bot without
the members intent, or one that just restarted, often has only ids. The raw ``bot.http`` calls
live here, named for what they do, so the cogs never reach into discord.py's internals.
"""

from __future__ import annotations

from typing import Any

import discord


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
