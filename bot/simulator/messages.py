"""Turning a REST message body into a stored message: validation, attachments and mentions."""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from typing import Any

from bot.simulator.errors import ApiError, invalid_form
from bot.simulator.permissions import MENTION_EVERYONE, has
from bot.simulator.state import (
    EPHEMERAL,
    SimAttachment,
    SimChannel,
    SimMessage,
    SimUser,
    World,
    utcnow,
)

JSON = dict[str, Any]

USER_MENTION = re.compile(r"<@!?(\d{15,21})>")
ROLE_MENTION = re.compile(r"<@&(\d{15,21})>")
EVERYONE_MENTION = re.compile(r"@(everyone|here)\b")

# Flags a bot may set when sending: SUPPRESS_EMBEDS, EPHEMERAL, SUPPRESS_NOTIFICATIONS, V2.
SENDABLE_FLAGS = (1 << 2) | EPHEMERAL | (1 << 12) | (1 << 15)


@dataclass
class UploadedFile:
    """One ``files[n]`` part of a multipart request."""

    field: str
    filename: str
    content_type: str
    data: bytes


def validate(body: JSON, files: list[UploadedFile], *, editing: bool = False) -> None:
    """Reject what Discord rejects: empty messages, too long content, oversized embeds."""
    content = body.get("content")
    if content is not None and len(str(content)) > 2000:
        raise invalid_form("content", "Must be 2000 or fewer in length.")
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        raise invalid_form("embeds", "Must be 10 or fewer in length.")
    total = 0
    for embed in embeds:
        if len(embed.get("title") or "") > 256:
            raise invalid_form("embeds.0.title", "Must be 256 or fewer in length.")
        if len(embed.get("description") or "") > 4096:
            raise invalid_form("embeds.0.description", "Must be 4096 or fewer in length.")
        fields = embed.get("fields") or []
        if len(fields) > 25:
            raise invalid_form("embeds.0.fields", "Must be 25 or fewer in length.")
        total += len(embed.get("title") or "") + len(embed.get("description") or "")
        total += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in fields)
        total += len((embed.get("footer") or {}).get("text", ""))
        total += len((embed.get("author") or {}).get("name", ""))
    if total > 6000:
        raise invalid_form("embeds", "Embed size exceeds maximum size of 6000")
    components = body.get("components") or []
    if len(components) > 5 and not int(body.get("flags") or 0) & (1 << 15):
        raise invalid_form("components", "Must be 5 or fewer in length.")
    if not editing and not (
        content or embeds or files or components or body.get("sticker_ids") or body.get("poll")
    ):
        raise ApiError(400, 50006, "Cannot send an empty message")


def _guess_type(upload: UploadedFile) -> str:
    # discord.py labels every upload application/octet-stream; Discord sniffs the real type.
    if upload.content_type and upload.content_type != "application/octet-stream":
        return upload.content_type
    guessed, _ = mimetypes.guess_type(upload.filename)
    return guessed or "application/octet-stream"


def _attachments(
    world: World, body: JSON, files: list[UploadedFile], existing: list[SimAttachment]
) -> list[SimAttachment]:
    by_field = {f.field: f for f in files}
    kept = {str(a.id): a for a in existing}
    result: list[SimAttachment] = []
    if "attachments" in body and body["attachments"] is not None:
        for entry in body["attachments"]:
            key = str(entry.get("id"))
            if key in kept:
                result.append(kept[key])
                continue
            upload = by_field.pop(f"files[{key}]", None)
            if upload is None:
                continue
            result.append(
                SimAttachment(
                    id=world.snowflake(),
                    filename=entry.get("filename") or upload.filename,
                    content_type=_guess_type(upload),
                    data=upload.data,
                    description=entry.get("description"),
                )
            )
    else:
        result.extend(existing)
    # Uploads not described in ``attachments`` are still attached, as Discord does.
    for upload in by_field.values():
        result.append(
            SimAttachment(
                id=world.snowflake(),
                filename=upload.filename,
                content_type=_guess_type(upload),
                data=upload.data,
            )
        )
    return result


def apply_mentions(world: World, message: SimMessage, allowed: JSON | None) -> None:
    """Work out who the message mentions and who it actually pings, as Discord does.

    Without ``allowed_mentions`` every mention in the content pings; with it, only what its
    ``parse`` list or explicit ``users``/``roles`` allow. @everyone and non-mentionable roles
    also need the author to have MENTION_EVERYONE.
    """
    content = message.content or ""
    user_ids = list(dict.fromkeys(int(m) for m in USER_MENTION.findall(content)))
    role_ids = list(dict.fromkeys(int(m) for m in ROLE_MENTION.findall(content)))
    everyone = bool(EVERYONE_MENTION.search(content))
    if allowed is None:
        parse = {"users", "roles", "everyone"}
        allowed_users: set[int] = set()
        allowed_roles: set[int] = set()
        replied_user = True
    else:
        parse = set(allowed.get("parse") or [])
        allowed_users = {int(u) for u in allowed.get("users") or []}
        allowed_roles = {int(r) for r in allowed.get("roles") or []}
        replied_user = bool(allowed.get("replied_user", False))

    pinged_users = [u for u in user_ids if "users" in parse or u in allowed_users]
    pinged_users = [u for u in pinged_users if u in world.users]
    guild = world.guilds.get(message.guild_id) if message.guild_id else None
    can_mention_everyone = True
    if guild is not None:
        channel = world.channels[message.channel_id]
        can_mention_everyone = has(
            world.channel_permissions(channel, message.author.id), MENTION_EVERYONE
        )
    mention_roles = [r for r in role_ids if "roles" in parse or r in allowed_roles]
    if guild is not None:
        mention_roles = [r for r in mention_roles if r in guild.roles]
        mention_roles = [
            r for r in mention_roles if guild.roles[r].mentionable or can_mention_everyone
        ]
    else:
        mention_roles = []
    ping_everyone = everyone and "everyone" in parse and can_mention_everyone
    if replied_user and message.message_reference:
        ref_id = message.message_reference.get("message_id")
        ref = world.message_index.get(int(ref_id)) if ref_id else None
        if ref is not None and ref.author.id not in pinged_users:
            pinged_users.append(ref.author.id)

    message.mention_user_ids = pinged_users
    message.mention_role_ids = mention_roles
    message.mention_everyone = ping_everyone
    message.pinged_user_ids = list(pinged_users)
    message.pinged_role_ids = list(mention_roles)
    message.pinged_everyone = ping_everyone
    if message.flags & (1 << 12):  # SUPPRESS_NOTIFICATIONS: mentions shown, nobody notified.
        message.pinged_user_ids, message.pinged_role_ids = [], []
        message.pinged_everyone = False


def build_message(
    world: World,
    channel: SimChannel,
    author: SimUser,
    body: JSON,
    files: list[UploadedFile],
    *,
    webhook_id: int | None = None,
    interaction_id: int | None = None,
    type_: int = 0,
    extra_flags: int = 0,
) -> SimMessage:
    """Validate a create-message body and make the message (not stored yet)."""
    validate(body, files)
    flags = (int(body.get("flags") or 0) & SENDABLE_FLAGS) | extra_flags
    reference = body.get("message_reference")
    if reference is not None:
        ref_id = int(reference.get("message_id", 0))
        if ref_id not in world.message_index and reference.get("fail_if_not_exists", True):
            raise invalid_form("message_reference", "Unknown message")
        reference = {
            "type": reference.get("type", 0),
            "message_id": str(ref_id),
            "channel_id": str(reference.get("channel_id") or channel.id),
            **({"guild_id": str(channel.guild_id)} if channel.guild_id else {}),
        }
        type_ = 19 if type_ == 0 else type_
    message = SimMessage(
        id=world.snowflake(),
        channel_id=channel.id,
        guild_id=channel.guild_id,
        author=author,
        content=str(body.get("content") or ""),
        embeds=[_normalise_embed(e) for e in body.get("embeds") or []],
        components=list(body.get("components") or []),
        flags=flags,
        tts=bool(body.get("tts", False)),
        type=type_,
        message_reference=reference,
        webhook_id=webhook_id,
        interaction_id=interaction_id,
    )
    message.attachments = _attachments(world, body, files, [])
    apply_mentions(world, message, body.get("allowed_mentions"))
    return message


def apply_edit(
    world: World,
    message: SimMessage,
    body: JSON,
    files: list[UploadedFile],
    *,
    pings: bool = False,
) -> None:
    """Apply a PATCH body to a message (only the fields present change).

    Edits don't notify anyone on Discord, so the pinged lists stay as they were unless
    ``pings`` (the first edit of a deferred "thinking" response is its real send).
    """
    validate(body, files, editing=True)
    if "content" in body:
        message.content = str(body["content"] or "")
    if "embeds" in body:
        message.embeds = [_normalise_embed(e) for e in body["embeds"] or []]
    if "components" in body:
        message.components = list(body["components"] or [])
    if "flags" in body and body["flags"] is not None:
        # Only SUPPRESS_EMBEDS can be toggled on edit; ephemerality never changes.
        message.flags = (message.flags & ~(1 << 2)) | (int(body["flags"]) & (1 << 2))
    if "attachments" in body or files:
        message.attachments = _attachments(world, body, files, message.attachments)
    message.edited_timestamp = utcnow()
    if "content" in body or "allowed_mentions" in body:
        before = (message.pinged_user_ids, message.pinged_role_ids, message.pinged_everyone)
        apply_mentions(world, message, body.get("allowed_mentions"))
        if not pings:
            message.pinged_user_ids, message.pinged_role_ids, message.pinged_everyone = before


def _normalise_embed(embed: JSON) -> JSON:
    # Discord fills in ``type: rich`` and drops nulls.
    data = {k: v for k, v in embed.items() if v is not None}
    data.setdefault("type", "rich")
    return data
