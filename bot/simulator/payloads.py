"""JSON shapes as Discord documents them: snowflakes and permissions as strings, ISO timestamps."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.simulator.state import (
        RegisteredCommand,
        SimAttachment,
        SimChannel,
        SimGuild,
        SimMember,
        SimMessage,
        SimRole,
        SimUser,
        World,
    )

JSON = dict[str, Any]

# Application flags Discord sets when a privileged intent is enabled in the developer portal.
FLAG_PRESENCE = 1 << 13
FLAG_GUILD_MEMBERS = 1 << 15
FLAG_MESSAGE_CONTENT = 1 << 19


def iso(value: datetime | None) -> str | None:
    """ISO-8601 with an offset, as Discord sends timestamps."""
    return value.isoformat() if value is not None else None


def user(u: SimUser) -> JSON:
    """A user object."""
    return {
        "id": str(u.id),
        "username": u.name,
        "discriminator": "0",
        "global_name": u.global_name,
        "avatar": None,
        "bot": u.bot,
        "system": False,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
    }


def role(r: SimRole) -> JSON:
    """A role object."""
    data: JSON = {
        "id": str(r.id),
        "name": r.name,
        "color": r.color,
        "colors": {"primary_color": r.color, "secondary_color": None, "tertiary_color": None},
        "hoist": r.hoist,
        "icon": None,
        "unicode_emoji": None,
        "position": r.position,
        "permissions": str(r.permissions),
        "managed": r.managed,
        "mentionable": r.mentionable,
        "flags": 0,
    }
    if r.bot_id is not None:
        data["tags"] = {"bot_id": str(r.bot_id)}
    return data


def member(guild: SimGuild, m: SimMember, *, with_user: bool = True) -> JSON:
    """A guild member object (``user`` included unless it's a resolved-data member)."""
    data: JSON = {
        "nick": m.nick,
        "avatar": None,
        "banner": None,
        "roles": [str(r) for r in m.roles],
        "joined_at": iso(m.joined_at),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
    }
    if with_user:
        data["user"] = user(m.user)
    return data


def thread_member(thread: SimChannel, user_id: int) -> JSON:
    """A thread member object."""
    joined = thread.thread_members.get(user_id, thread.created_at)
    return {
        "id": str(thread.id),
        "user_id": str(user_id),
        "join_timestamp": iso(joined),
        "flags": 0,
    }


def channel(world: World, c: SimChannel) -> JSON:
    """A channel object (guild channel, thread or DM)."""
    last = str(c.last_message_id) if c.last_message_id else None
    if c.recipient is not None:
        return {
            "id": str(c.id),
            "type": c.type,
            "last_message_id": last,
            "recipients": [user(c.recipient)],
            "flags": 0,
        }
    data: JSON = {
        "id": str(c.id),
        "type": c.type,
        "guild_id": str(c.guild_id),
        "name": c.name,
        "position": c.position,
        "permission_overwrites": list(c.permission_overwrites),
        "parent_id": str(c.parent_id) if c.parent_id else None,
        "topic": c.topic,
        "nsfw": c.nsfw,
        "last_message_id": last,
        "rate_limit_per_user": 0,
        "flags": 0,
    }
    if c.is_thread:
        del data["permission_overwrites"], data["topic"], data["position"]
        data.update(
            {
                "owner_id": str(c.owner_id),
                "member_count": min(len(c.thread_members), 50),
                "message_count": c.message_count,
                "total_message_sent": c.message_count,
                "thread_metadata": {
                    "archived": c.archived,
                    "auto_archive_duration": c.auto_archive_duration,
                    "archive_timestamp": iso(c.archive_timestamp),
                    "locked": c.locked,
                    "invitable": c.invitable,
                    "create_timestamp": iso(c.created_at),
                },
            }
        )
    return data


def guild(world: World, g: SimGuild) -> JSON:
    """A guild object as ``GET /guilds/{id}`` returns it."""
    return {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "owner_id": str(g.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 1,
        "explicit_content_filter": 0,
        "roles": [role(r) for r in g.roles.values()],
        "emojis": [],
        "stickers": [],
        "features": [],
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "vanity_url_code": None,
        "description": None,
        "banner": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": g.preferred_locale,
        "public_updates_channel_id": None,
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
    }


def guild_create(
    world: World, g: SimGuild, *, include_members: bool = True, joined: bool = False
) -> JSON:
    """The GUILD_CREATE payload: the guild plus channels, threads and members.

    After READY Discord sends ``unavailable: false``; for a guild the bot just joined the key
    is absent, which is how discord.py tells on_guild_available from on_guild_join.
    """
    data = guild(world, g)
    if include_members:
        members = list(g.members.values())
    else:
        members = [m for m in g.members.values() if m.user.id == world.bot_user.id]
    bot_member = g.members.get(world.bot_user.id)
    data.update(
        {
            "joined_at": iso(bot_member.joined_at if bot_member else g.created_at),
            "large": len(g.members) > 250,
            "unavailable": False,
            "member_count": len(g.members),
            "voice_states": [],
            "members": [member(g, m) for m in members],
            "channels": [channel(world, c) for c in g.channels()],
            "threads": [channel(world, t) for t in g.threads() if not t.archived],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }
    )
    if joined:
        del data["unavailable"]
    return data


def attachment(world: World, message: SimMessage, a: SimAttachment) -> JSON:
    """An attachment object; its URL is served by the simulator."""
    url = f"{world.base_url}/attachments/{message.channel_id}/{a.id}/{a.filename}"
    data: JSON = {
        "id": str(a.id),
        "filename": a.filename,
        "size": a.size,
        "url": url,
        "proxy_url": url,
        "content_type": a.content_type,
    }
    if a.description is not None:
        data["description"] = a.description
    if message.ephemeral:
        data["ephemeral"] = True
    return data


def message(world: World, m: SimMessage) -> JSON:
    """A message object as REST returns it."""
    users = [world.users[u] for u in m.mention_user_ids if u in world.users]
    data: JSON = {
        "id": str(m.id),
        "channel_id": str(m.channel_id),
        "author": user(m.author),
        "content": m.content,
        "timestamp": iso(m.timestamp),
        "edited_timestamp": iso(m.edited_timestamp),
        "tts": m.tts,
        "mention_everyone": m.mention_everyone,
        "mentions": [user(u) for u in users],
        "mention_roles": [str(r) for r in m.mention_role_ids],
        "attachments": [attachment(world, m, a) for a in m.attachments],
        "embeds": list(m.embeds),
        "reactions": [],
        "pinned": m.pinned,
        "type": m.type,
        "flags": m.flags,
        "components": list(m.components),
    }
    if m.webhook_id is not None:
        data["webhook_id"] = str(m.webhook_id)
        data["application_id"] = str(world.application_id)
    if m.message_reference is not None:
        data["message_reference"] = m.message_reference
        ref_id = m.message_reference.get("message_id")
        ref = world.message_index.get(int(ref_id)) if ref_id else None
        data["referenced_message"] = message(world, ref) if ref is not None else None
    if m.interaction_id is not None:
        data["interaction_metadata"] = {
            "id": str(m.interaction_id),
            "type": 2,
            "user": user(m.author),
            "authorizing_integration_owners": {},
        }
    return data


def message_event(world: World, m: SimMessage) -> JSON:
    """MESSAGE_CREATE / MESSAGE_UPDATE payload: a message plus guild_id and member."""
    data = message(world, m)
    if m.guild_id is not None:
        data["guild_id"] = str(m.guild_id)
        g = world.guilds.get(m.guild_id)
        author_member = g.member(m.author) if g is not None else None
        if author_member is not None and g is not None and m.webhook_id is None:
            data["member"] = member(g, author_member, with_user=False)
        mentions = []
        for u in data["mentions"]:
            mm = g.member(int(u["id"])) if g is not None else None
            if mm is not None and g is not None:
                u = {**u, "member": member(g, mm, with_user=False)}
            mentions.append(u)
        data["mentions"] = mentions
    return data


def strip_content(data: JSON) -> JSON:
    """What a bot without the message-content intent receives for others' messages."""
    return {**data, "content": "", "embeds": [], "attachments": [], "components": []}


def application(world: World, *, flags: int) -> JSON:
    """The application object (``GET /oauth2/applications/@me``)."""
    return {
        "id": str(world.application_id),
        "name": world.bot_user.name,
        "icon": None,
        "description": "",
        "rpc_origins": [],
        "bot_public": True,
        "bot_require_code_grant": False,
        "bot": user(world.bot_user),
        "owner": user(world.bot_user),
        "team": None,
        "verify_key": "0" * 64,
        "flags": flags,
        "summary": "",
        "tags": [],
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "approximate_guild_count": len([g for g in world.guilds.values() if g.bot_member]),
        "integration_types_config": {"0": {}},
    }


def command(world: World, c: RegisteredCommand) -> JSON:
    """An application command as Discord returns it after registration."""
    data: JSON = {
        "type": 1,
        "description": "",
        "options": [],
        "default_member_permissions": None,
        "nsfw": False,
        **c.data,
        "id": str(c.id),
        "application_id": str(world.application_id),
        "version": str(c.version),
    }
    if c.guild_id is not None:
        data["guild_id"] = str(c.guild_id)
    return data
