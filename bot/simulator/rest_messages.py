"""Message routes: channel messages, DMs, interaction callbacks and webhook follow-ups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.simulator import payloads
from bot.simulator.errors import ApiError, invalid_form, unknown
from bot.simulator.interactions import PendingInteraction, SimModal
from bot.simulator.messages import apply_edit, build_message
from bot.simulator.permissions import (
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    has,
)
from bot.simulator.rest import (
    RouteSpec,
    json_body,
    json_response,
    no_content,
    snowflake_arg,
)
from bot.simulator.rest import files as uploaded_files
from bot.simulator.state import EPHEMERAL, SimChannel, SimMessage, World

if TYPE_CHECKING:
    from bot.simulator.rest import RestApi

JSON = dict[str, Any]
LOADING = 1 << 7  # the "Bot is thinking..." message of a deferred response


def channel_or_404(world: World, request: web.Request) -> SimChannel:
    """The channel in the path (404 Unknown Channel)."""
    channel = world.channels.get(snowflake_arg(request, "channel_id"))
    if channel is None or (
        channel.guild_id is not None and not world.guilds[channel.guild_id].bot_member
    ):
        raise unknown("Channel", 10003)
    return channel


def require(world: World, channel: SimChannel, *bits: int) -> None:
    """403 Missing Permissions unless the bot has every bit in the channel."""
    perms = world.channel_permissions(channel, world.bot_user.id)
    if not has(perms, VIEW_CHANNEL):
        raise ApiError(403, 50001, "Missing Access")
    for bit in bits:
        if not has(perms, bit):
            raise ApiError(403, 50013, "Missing Permissions")


def check_can_send(world: World, channel: SimChannel) -> None:
    """Permission, closed-DM and archived-thread checks before the bot posts."""
    if channel.recipient is not None:
        if not channel.recipient.dms_open:
            raise ApiError(403, 50007, "Cannot send messages to this user")
        return
    require(world, channel, SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES)
    if channel.is_thread and channel.archived:
        if channel.locked:
            raise ApiError(400, 50083, "Thread is archived")
        # Sending to an archived (not locked) thread unarchives it.
        channel.archived = False
        world.update_channel(channel)


class MessageRoutes:
    """Handlers; kept in a class so they share the API state."""

    def __init__(self, api: RestApi) -> None:
        self.api = api
        self.world = api.world

    # -- channel messages ----------------------------------------------------------------------
    async def create(self, request: web.Request) -> web.Response:
        """POST /channels/{channel_id}/messages (JSON or multipart)."""
        channel = channel_or_404(self.world, request)
        check_can_send(self.world, channel)
        body = json_body(request)
        if int(body.get("flags") or 0) & EPHEMERAL:
            # Only interaction responses can be ephemeral; Discord ignores the flag here.
            body["flags"] = int(body["flags"]) & ~EPHEMERAL
        message = build_message(
            self.world, channel, self.world.bot_user, body, uploaded_files(request)
        )
        self.world.store_message(message)
        return json_response(payloads.message(self.world, message))

    def _message(self, request: web.Request, channel: SimChannel) -> SimMessage:
        message = self.world.message_index.get(snowflake_arg(request, "message_id"))
        if (
            message is None
            or message.channel_id != channel.id
            or message.deleted
            or message.ephemeral
        ):
            raise unknown("Message", 10008)
        return message

    async def get(self, request: web.Request) -> web.Response:
        """GET /channels/{channel_id}/messages/{message_id}."""
        channel = channel_or_404(self.world, request)
        if channel.recipient is None:
            require(self.world, channel, READ_MESSAGE_HISTORY)
        return json_response(payloads.message(self.world, self._message(request, channel)))

    async def history(self, request: web.Request) -> web.Response:
        """GET /channels/{channel_id}/messages?limit&before&after&around (newest first)."""
        channel = channel_or_404(self.world, request)
        if channel.recipient is None:
            require(self.world, channel, READ_MESSAGE_HISTORY)
        limit = max(1, min(100, int(request.query.get("limit", "50"))))
        items = sorted(self.world.messages.get(channel.id, []), key=lambda m: m.id)
        if "before" in request.query:
            before = int(request.query["before"])
            items = [m for m in items if m.id < before][-limit:]
        elif "after" in request.query:
            after = int(request.query["after"])
            items = [m for m in items if m.id > after][:limit]
        elif "around" in request.query:
            around = int(request.query["around"])
            index = next((i for i, m in enumerate(items) if m.id >= around), len(items))
            start = max(0, index - limit // 2)
            items = items[start : start + limit]
        else:
            items = items[-limit:]
        return json_response([payloads.message(self.world, m) for m in reversed(items)])

    async def edit(self, request: web.Request) -> web.Response:
        """PATCH /channels/{channel_id}/messages/{message_id} (own messages only)."""
        channel = channel_or_404(self.world, request)
        message = self._message(request, channel)
        if message.author.id != self.world.bot_user.id or message.webhook_id is not None:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        apply_edit(self.world, message, json_body(request), uploaded_files(request))
        self.world.message_updated(message)
        return json_response(payloads.message(self.world, message))

    async def delete(self, request: web.Request) -> web.Response:
        """DELETE /channels/{channel_id}/messages/{message_id}."""
        channel = channel_or_404(self.world, request)
        message = self._message(request, channel)
        self.world.delete_message(message)
        return no_content()

    async def typing(self, request: web.Request) -> web.Response:
        """POST /channels/{channel_id}/typing."""
        channel_or_404(self.world, request)
        return no_content()

    async def open_dm(self, request: web.Request) -> web.Response:
        """POST /users/@me/channels {recipient_id}: the DM channel (opening never fails)."""
        body = json_body(request)
        user = self.world.users.get(int(body.get("recipient_id", 0)))
        if user is None:
            raise invalid_form("recipient_id", "Unknown user")
        return json_response(payloads.channel(self.world, self.world.dm_channel(user)))

    # -- interaction callbacks -----------------------------------------------------------------
    def _pending(self, request: web.Request, id_key: str, token_key: str) -> PendingInteraction:
        pending = self.api.interactions.get(snowflake_arg(request, id_key))
        if pending is None or pending.token != request.match_info[token_key]:
            raise unknown("interaction", 10062)
        return pending

    async def callback(self, request: web.Request) -> web.Response:
        """POST /interactions/{interaction_id}/{interaction_token}/callback."""
        pending = self._pending(request, "interaction_id", "interaction_token")
        body = json_body(request)
        kind = int(body.get("type", 0))
        data = body.get("data") or {}
        pending.note(f"callback type {kind}")
        if pending.response_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        world = self.world
        from_component = pending.type in (3, 5) and pending.source_message is not None
        if kind == 4:
            message = build_message(
                world,
                pending.channel,
                world.bot_user,
                data,
                uploaded_files(request),
                webhook_id=world.application_id,
                interaction_id=pending.id,
                type_=20 if pending.type == 2 else 0,
            )
            pending.original = message
            world.store_message(message)
        elif kind == 5:
            flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
            message = SimMessage(
                id=world.snowflake(),
                channel_id=pending.channel.id,
                guild_id=pending.channel.guild_id,
                author=world.bot_user,
                flags=flags,
                type=20 if pending.type == 2 else 0,
                webhook_id=world.application_id,
                interaction_id=pending.id,
            )
            pending.original = message
            pending.loading = True
            world.store_message(message)
        elif kind in (6, 7):
            if not from_component:
                raise ApiError(
                    400, 50035, "Invalid Form Body: only valid for component interactions"
                )
            assert pending.source_message is not None
            pending.original = pending.source_message
            if kind == 7:
                apply_edit(world, pending.source_message, data, uploaded_files(request))
                world.message_updated(pending.source_message)
        elif kind == 8:
            if pending.type != 4:
                raise ApiError(400, 50035, "Invalid Form Body: only valid for autocomplete")
            choices = list(data.get("choices") or [])
            if len(choices) > 25:
                raise invalid_form("data.choices", "Must be 25 or fewer in length.")
            pending.choices = choices
        elif kind == 9:
            if pending.type in (4, 5):
                raise ApiError(400, 50035, "Invalid Form Body: cannot answer with a modal here")
            pending.modal = SimModal(
                custom_id=str(data.get("custom_id")),
                title=str(data.get("title")),
                components=list(data.get("components") or []),
                user=pending.user,
                guild=pending.guild,
                channel=pending.channel,
                message=pending.source_message,
            )
        else:
            raise invalid_form("type", f"Unsupported interaction callback type {kind}")
        pending.response_type = kind
        if kind != 5:
            pending.done.set()
        if request.query.get("with_response") not in ("1", "true", "True"):
            return no_content()
        return json_response(self._callback_response(pending, kind))

    def _callback_response(self, pending: PendingInteraction, kind: int) -> JSON:
        interaction: JSON = {
            "id": str(pending.id),
            "type": pending.type,
            "activity_instance_id": None,
        }
        resource: JSON = {"type": kind}
        message = pending.original if kind in (4, 5, 7) else None
        if message is not None:
            interaction.update(
                {
                    "response_message_id": str(message.id),
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": message.ephemeral,
                }
            )
            resource["message"] = payloads.message(self.world, message)
        return {"interaction": interaction, "resource": resource}

    # -- webhook follow-ups --------------------------------------------------------------------
    def _webhook(self, request: web.Request) -> PendingInteraction:
        if snowflake_arg(request, "webhook_id") != self.world.application_id:
            raise unknown("Webhook", 10015)
        for pending in self.api.interactions.values():
            if pending.token == request.match_info["webhook_token"]:
                if pending.response_type is None:
                    raise unknown("Webhook", 10015)
                return pending
        raise unknown("Webhook", 10015)

    def _webhook_message(self, request: web.Request, pending: PendingInteraction) -> SimMessage:
        raw = request.match_info["message_id"]
        if raw == "@original":
            if pending.original is None:
                raise unknown("Message", 10008)
            return pending.original
        message_id = int(raw) if raw.isdigit() else 0
        for message in [pending.original, *pending.followups]:
            if message is not None and message.id == message_id and not message.deleted:
                return message
        raise unknown("Message", 10008)

    async def followup(self, request: web.Request) -> web.Response:
        """POST /webhooks/{application_id}/{token}: a follow-up message."""
        pending = self._webhook(request)
        body = json_body(request)
        files = uploaded_files(request)
        world = self.world
        pending.note("follow-up")
        if pending.loading and pending.original is not None:
            # The first follow-up after a "thinking" defer replaces the loading message,
            # keeping the defer's ephemerality (Discord ignores the follow-up's flag here).
            message = pending.original
            build_message(world, pending.channel, world.bot_user, body, files)  # validates
            apply_edit(world, message, body, files, pings=True)
            message.flags &= ~LOADING
            pending.loading = False
            world.message_updated(message)
        else:
            message = build_message(
                world,
                pending.channel,
                world.bot_user,
                body,
                files,
                webhook_id=world.application_id,
                interaction_id=pending.id,
            )
            world.store_message(message)
        pending.followups.append(message)
        pending.done.set()
        if request.query.get("wait") in ("1", "true", "True"):
            return json_response(payloads.message(world, message))
        return no_content()

    async def get_webhook_message(self, request: web.Request) -> web.Response:
        """GET /webhooks/{application_id}/{token}/messages/{message_id|@original}."""
        pending = self._webhook(request)
        return json_response(payloads.message(self.world, self._webhook_message(request, pending)))

    async def edit_webhook_message(self, request: web.Request) -> web.Response:
        """PATCH /webhooks/{application_id}/{token}/messages/{message_id|@original}."""
        pending = self._webhook(request)
        message = self._webhook_message(request, pending)
        pending.note(f"edit {request.match_info['message_id']}")
        first_real_send = bool(message.flags & LOADING)
        apply_edit(
            self.world, message, json_body(request), uploaded_files(request), pings=first_real_send
        )
        message.flags &= ~LOADING
        if message is pending.original:
            pending.loading = False
        self.world.message_updated(message)
        pending.done.set()
        return json_response(payloads.message(self.world, message))

    async def delete_webhook_message(self, request: web.Request) -> web.Response:
        """DELETE /webhooks/{application_id}/{token}/messages/{message_id|@original}."""
        pending = self._webhook(request)
        message = self._webhook_message(request, pending)
        self.world.delete_message(message)
        pending.note(f"delete {request.match_info['message_id']}")
        pending.done.set()
        return no_content()


def routes(api: RestApi) -> list[RouteSpec]:
    """Message, DM, interaction-callback and webhook routes."""
    h = MessageRoutes(api)
    webhook = "/webhooks/{webhook_id}/{webhook_token}"
    return [
        ("POST", "/channels/{channel_id}/messages", h.create),
        ("GET", "/channels/{channel_id}/messages", h.history),
        ("GET", "/channels/{channel_id}/messages/{message_id}", h.get),
        ("PATCH", "/channels/{channel_id}/messages/{message_id}", h.edit),
        ("DELETE", "/channels/{channel_id}/messages/{message_id}", h.delete),
        ("POST", "/channels/{channel_id}/typing", h.typing),
        ("POST", "/users/@me/channels", h.open_dm),
        ("POST", "/interactions/{interaction_id}/{interaction_token}/callback", h.callback),
        ("POST", webhook, h.followup),
        ("GET", webhook + "/messages/{message_id}", h.get_webhook_message),
        ("PATCH", webhook + "/messages/{message_id}", h.edit_webhook_message),
        ("DELETE", webhook + "/messages/{message_id}", h.delete_webhook_message),
    ]
