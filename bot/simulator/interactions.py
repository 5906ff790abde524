"""Interactions a simulated user starts, and what the bot answered.

``InteractionBuilder`` makes INTERACTION_CREATE payloads the way Discord's client would (options
typed by the registered schema, resolved users/roles/channels, member with permissions);
``PendingInteraction`` records the bot's callback, edits and follow-ups so a test can read them.
"""

from __future__ import annotations

import asyncio
import mimetypes
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.simulator import payloads
from bot.simulator.models import EPHEMERAL
from bot.simulator.state import (
    SimAttachment,
    SimChannel,
    SimGuild,
    SimMessage,
    SimRole,
    SimUser,
    World,
    iter_components,
)

JSON = dict[str, Any]

APPLICATION_COMMAND, COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
OPTION_TYPES = {
    1: "subcommand",
    2: "subcommand group",
    3: "string",
    4: "integer",
    5: "boolean",
    6: "user",
    7: "channel",
    8: "role",
    9: "mentionable",
    10: "number",
    11: "attachment",
}


class SimulatorError(Exception):
    """A test asked for something Discord's client would not allow, or the bot misbehaved."""


@dataclass
class SimModal:
    """A modal the bot opened; pass it to ``sim.submit_modal``."""

    custom_id: str
    title: str
    components: list[JSON]
    user: SimUser
    guild: SimGuild | None
    channel: SimChannel
    message: SimMessage | None

    def fields(self) -> list[str]:
        """custom_ids of the inputs a user can fill in."""
        return [
            c["custom_id"]
            for c in iter_components(self.components)
            if c.get("type") in (3, 4, 5, 6, 7, 8) and "custom_id" in c
        ]


@dataclass(eq=False)
class PendingInteraction:
    """One interaction and everything the bot did about it."""

    id: int
    token: str
    type: int
    user: SimUser
    guild: SimGuild | None
    channel: SimChannel
    label: str
    source_message: SimMessage | None = None
    response_type: int | None = None
    original: SimMessage | None = None
    loading: bool = False
    followups: list[SimMessage] = field(default_factory=list)
    modal: SimModal | None = None
    choices: list[JSON] | None = None
    history: list[str] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self, what: str) -> None:
        """Remember a step, for timeout messages."""
        self.history.append(what)


@dataclass
class InteractionResult:
    """What the user saw after the bot handled an interaction."""

    interaction_id: int
    response_type: int | None
    message: SimMessage | None
    followups: list[SimMessage]
    modal: SimModal | None
    choices: list[JSON] | None
    deferred: bool

    @property
    def content(self) -> str:
        """Text of the response message ("" if none)."""
        return self.message.content if self.message else ""

    @property
    def embeds(self) -> list[JSON]:
        """Embeds of the response message."""
        return self.message.embeds if self.message else []

    @property
    def components(self) -> list[JSON]:
        """Components of the response message."""
        return self.message.components if self.message else []

    @property
    def attachments(self) -> list[SimAttachment]:
        """Files attached to the response message."""
        return self.message.attachments if self.message else []

    @property
    def ephemeral(self) -> bool:
        """Whether only the user saw the response."""
        return bool(self.message and self.message.ephemeral)

    def buttons(self) -> list[tuple[str | None, str | None, bool]]:
        """(label, custom_id, disabled) of the response's buttons."""
        return self.message.buttons() if self.message else []


def result_of(pending: PendingInteraction) -> InteractionResult:
    """Summarise a finished interaction."""
    message = pending.original
    if message is None and pending.followups:
        message = pending.followups[0]
    return InteractionResult(
        interaction_id=pending.id,
        response_type=pending.response_type,
        message=message,
        followups=list(pending.followups),
        modal=pending.modal,
        choices=pending.choices,
        deferred=pending.response_type in (5, 6),
    )


class InteractionBuilder:
    """Builds INTERACTION_CREATE payloads from what a user does."""

    def __init__(self, world: World) -> None:
        self.world = world

    # -- context -------------------------------------------------------------------------------
    def new_pending(
        self,
        type_: int,
        user: SimUser,
        guild: SimGuild | None,
        channel: SimChannel,
        label: str,
        message: SimMessage | None = None,
    ) -> PendingInteraction:
        """Make the record the REST callbacks will fill in."""
        return PendingInteraction(
            id=self.world.snowflake(),
            token=f"aW50ZXJhY3Rpb24{secrets.token_urlsafe(48)}",
            type=type_,
            user=user,
            guild=guild,
            channel=channel,
            label=label,
            source_message=message,
        )

    def base_payload(self, pending: PendingInteraction, data: JSON) -> JSON:
        """Fields every interaction has: ids, token, channel, member or user, permissions."""
        world = self.world
        channel_data = payloads.channel(world, pending.channel)
        app_perms = world.channel_permissions(pending.channel, world.bot_user.id)
        payload: JSON = {
            "id": str(pending.id),
            "application_id": str(world.application_id),
            "type": pending.type,
            "data": data,
            "channel_id": str(pending.channel.id),
            "channel": channel_data,
            "token": pending.token,
            "version": 1,
            "app_permissions": str(app_perms),
            "locale": "en-US",
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        guild = pending.guild
        if guild is not None:
            member = guild.member(pending.user)
            if member is None:
                raise SimulatorError(f"{pending.user.name} is not a member of {guild.name}")
            perms = world.channel_permissions(pending.channel, pending.user.id)
            channel_data["permissions"] = str(perms)
            payload.update(
                {
                    "guild_id": str(guild.id),
                    "guild": {
                        "id": str(guild.id),
                        "locale": guild.preferred_locale,
                        "features": [],
                    },
                    "guild_locale": guild.preferred_locale,
                    "member": {**payloads.member(guild, member), "permissions": str(perms)},
                    "authorizing_integration_owners": {"0": str(guild.id)},
                    "context": 0,
                }
            )
        else:
            payload.update(
                {
                    "user": payloads.user(pending.user),
                    "authorizing_integration_owners": {"0": str(pending.user.id)},
                    "context": 1,
                }
            )
        if pending.source_message is not None:
            payload["message"] = payloads.message(world, pending.source_message)
        return payload

    # -- application commands ------------------------------------------------------------------
    def find_command(self, name: str, guild: SimGuild | None) -> tuple[JSON, int | None, int]:
        """The registered command's data, its guild id (None if global) and its id."""
        pools = []
        if guild is not None:
            pools.append(self.world.guild_commands.get(guild.id, {}))
        pools.append(self.world.global_commands)
        for pool in pools:
            for command in pool.values():
                if command.name == name and command.type == 1:
                    return command.data, command.guild_id, command.id
        known = sorted({c.name for pool in pools for c in pool.values() if c.type == 1})
        where = f"guild {guild.name!r} or globally" if guild else "globally"
        raise SimulatorError(
            f"no slash command /{name} registered {where}; registered: {known or 'none'} "
            "(did the bot sync its command tree in setup_hook?)"
        )

    def command_data(
        self,
        path: str,
        guild: SimGuild | None,
        options: Mapping[str, Any],
        *,
        focused: str | None = None,
    ) -> JSON:
        """``data`` of an application-command or autocomplete interaction."""
        names = path.split()
        if not names:
            raise SimulatorError("empty command name")
        schema, command_guild, command_id = self.find_command(names[0], guild)
        if guild is None and schema.get("contexts") is not None and 1 not in schema["contexts"]:
            raise SimulatorError(f"/{names[0]} is not available in DMs")
        resolved: dict[str, dict[str, JSON]] = {}
        level = schema.get("options") or []
        chain: list[JSON] = []
        for sub in names[1:]:
            option = next(
                (o for o in level if o.get("name") == sub and o.get("type") in (1, 2)), None
            )
            if option is None:
                subs = [o["name"] for o in level if o.get("type") in (1, 2)]
                raise SimulatorError(f"/{path}: no subcommand {sub!r} (have {subs})")
            chain.append(option)
            level = option.get("options") or []
        if any(o.get("type") in (1, 2) for o in level):
            subs = [o["name"] for o in level if o.get("type") in (1, 2)]
            raise SimulatorError(f"/{path} needs a subcommand: one of {subs}")
        leaf = self._options(path, level, options, guild, resolved, focused)
        for option in reversed(chain):
            leaf = [{"name": option["name"], "type": option["type"], "options": leaf}]
        data: JSON = {"id": str(command_id), "name": names[0], "type": 1, "options": leaf}
        if command_guild is not None:
            data["guild_id"] = str(command_guild)
        if resolved:
            data["resolved"] = resolved
        return data

    def _options(
        self,
        path: str,
        schema: list[JSON],
        given: Mapping[str, Any],
        guild: SimGuild | None,
        resolved: dict[str, dict[str, JSON]],
        focused: str | None,
    ) -> list[JSON]:
        by_name = {o["name"]: o for o in schema}
        unknown_names = [n for n in given if n not in by_name]
        if unknown_names:
            raise SimulatorError(
                f"/{path} has no option(s) {unknown_names}; options: {list(by_name)}"
            )
        result: list[JSON] = []
        for option in schema:
            name = option["name"]
            if name not in given:
                if option.get("required") and focused is None:
                    raise SimulatorError(f"/{path}: option {name!r} is required")
                continue
            value = given[name]
            entry: JSON = {"name": name, "type": option["type"]}
            if name == focused:
                # Autocomplete sends what the user has typed so far, as typed.
                entry["value"] = str(value)
                entry["focused"] = True
            else:
                entry["value"] = self._convert(path, option, value, guild, resolved)
            result.append(entry)
        return result

    def _convert(
        self,
        path: str,
        option: JSON,
        value: Any,
        guild: SimGuild | None,
        resolved: dict[str, dict[str, JSON]],
    ) -> Any:
        kind = option["type"]
        name = option["name"]
        converted: Any
        if kind == 3:
            converted = str(value)
        elif kind == 4:
            converted = int(value)
        elif kind == 5:
            converted = bool(value)
        elif kind == 10:
            converted = float(value)
        elif kind == 6 or (kind == 9 and isinstance(value, SimUser)):
            if not isinstance(value, SimUser):
                raise SimulatorError(f"/{path}: option {name!r} takes a SimUser")
            self.resolve_user(value, guild, resolved)
            converted = str(value.id)
        elif kind == 8 or (kind == 9 and isinstance(value, SimRole)):
            if not isinstance(value, SimRole):
                raise SimulatorError(f"/{path}: option {name!r} takes a SimRole")
            resolved.setdefault("roles", {})[str(value.id)] = payloads.role(value)
            converted = str(value.id)
        elif kind == 7:
            if not isinstance(value, SimChannel):
                raise SimulatorError(f"/{path}: option {name!r} takes a SimChannel")
            types = option.get("channel_types")
            if types and value.type not in types:
                raise SimulatorError(f"/{path}: option {name!r} accepts channel types {types}")
            self.resolve_channel(value, resolved)
            converted = str(value.id)
        elif kind == 11:
            attachment = self._attachment(value)
            resolved.setdefault("attachments", {})[str(attachment.id)] = {
                "id": str(attachment.id),
                "filename": attachment.filename,
                "size": attachment.size,
                "url": f"{self.world.base_url}/attachments/0/{attachment.id}/{attachment.filename}",
                "proxy_url": f"{self.world.base_url}/attachments/0/{attachment.id}/{attachment.filename}",
                "content_type": attachment.content_type,
                "ephemeral": True,
            }
            converted = str(attachment.id)
        else:
            raise SimulatorError(f"/{path}: unsupported option type {OPTION_TYPES.get(kind, kind)}")
        choices = option.get("choices")
        if choices and converted not in [c["value"] for c in choices]:
            raise SimulatorError(
                f"/{path}: {converted!r} is not a choice of {name!r}: {[c['value'] for c in choices]}"
            )
        return converted

    def _attachment(self, value: Any) -> SimAttachment:
        if isinstance(value, SimAttachment):
            attachment = value
        elif isinstance(value, tuple) and len(value) == 2:
            filename, data = value
            attachment = SimAttachment(
                id=self.world.snowflake(),
                filename=str(filename),
                # As Discord does: the type guessed from the name (text/csv for a .csv).
                content_type=mimetypes.guess_type(str(filename))[0] or "application/octet-stream",
                data=bytes(data),
            )
        else:
            raise SimulatorError("attachment options take (filename, bytes) or a SimAttachment")
        # Keep it reachable so Attachment.read() works in the bot.
        # Not a message anyone sees (ephemeral flag): it only keeps the upload reachable.
        holder = SimMessage(
            id=self.world.snowflake(), channel_id=0, author=self.world.bot_user, flags=EPHEMERAL
        )
        holder.attachments.append(attachment)
        self.world.message_index[holder.id] = holder
        return attachment

    def resolve_user(
        self, user: SimUser, guild: SimGuild | None, resolved: dict[str, dict[str, JSON]]
    ) -> None:
        """Add a user (and their member object) to resolved data."""
        resolved.setdefault("users", {})[str(user.id)] = payloads.user(user)
        member = guild.member(user) if guild is not None else None
        if member is not None and guild is not None:
            perms = guild.base_permissions(user)
            resolved.setdefault("members", {})[str(user.id)] = {
                **payloads.member(guild, member, with_user=False),
                "permissions": str(perms),
            }

    def resolve_channel(self, channel: SimChannel, resolved: dict[str, dict[str, JSON]]) -> None:
        """Add a channel to resolved data, with the fields Discord sends there."""
        data = payloads.channel(self.world, channel)
        data["permissions"] = str(self.world.channel_permissions(channel, self.world.bot_user.id))
        resolved.setdefault("channels", {})[str(channel.id)] = data

    # -- components and modals ---------------------------------------------------------------
    def component_data(
        self,
        message: SimMessage,
        custom_id: str,
        values: list[Any] | None,
        guild: SimGuild | None,
    ) -> JSON:
        """``data`` of a button click or select."""
        component = message.find_component(custom_id)
        if component is None:
            raise SimulatorError(
                f"message {message.id} has no component {custom_id!r}; buttons: {message.buttons()}"
            )
        if component.get("disabled"):
            raise SimulatorError(f"component {custom_id!r} is disabled")
        kind = int(component["type"])
        data: JSON = {"custom_id": custom_id, "component_type": kind}
        if kind == 2:
            if values is not None:
                raise SimulatorError(f"{custom_id!r} is a button: use sim.click")
            return data
        if values is None:
            raise SimulatorError(f"{custom_id!r} is a select: use sim.select with values")
        return {**data, **self.select_values(custom_id, kind, component, values, guild)}

    def select_values(
        self, custom_id: str, kind: int, component: JSON, values: list[Any], guild: SimGuild | None
    ) -> JSON:
        """``values`` (and resolved data) for a select of any kind."""
        low, high = component.get("min_values", 1), component.get("max_values", 1)
        if not low <= len(values) <= high:
            raise SimulatorError(f"select {custom_id!r} takes {low}..{high} values")
        resolved: dict[str, dict[str, JSON]] = {}
        raw: list[str] = []
        for value in values:
            if isinstance(value, SimUser):
                self.resolve_user(value, guild, resolved)
                raw.append(str(value.id))
            elif isinstance(value, SimRole):
                resolved.setdefault("roles", {})[str(value.id)] = payloads.role(value)
                raw.append(str(value.id))
            elif isinstance(value, SimChannel):
                self.resolve_channel(value, resolved)
                raw.append(str(value.id))
            else:
                raw.append(str(value))
        if kind == 3:
            allowed = [o["value"] for o in component.get("options", [])]
            bad = [v for v in raw if v not in allowed]
            if bad:
                raise SimulatorError(f"select {custom_id!r} has no option(s) {bad}; has {allowed}")
        data: JSON = {"values": raw}
        if resolved:
            data["resolved"] = resolved
        return data

    def modal_data(self, modal: SimModal, values: Mapping[str, Any]) -> JSON:
        """``data`` of a modal submit, mirroring the modal's layout."""
        unknown = [k for k in values if k not in modal.fields()]
        if unknown:
            raise SimulatorError(
                f"modal {modal.custom_id!r} has no field(s) {unknown}; {modal.fields()}"
            )
        guild = modal.guild

        def submitted(component: JSON) -> JSON | None:
            kind = component.get("type")
            if kind == 1:
                inner = [s for s in (submitted(c) for c in component.get("components", [])) if s]
                return {"type": 1, "components": inner}
            if kind == 18:
                inner_one = submitted(component["component"])
                return {"type": 18, "id": component.get("id", 0), "component": inner_one}
            custom_id = component.get("custom_id")
            if custom_id is None:
                return None
            if kind == 4:
                value = values.get(custom_id)
                if value is None and component.get("required", True):
                    raise SimulatorError(f"modal field {custom_id!r} is required")
                text = str(value or "")
                if len(text) > int(component.get("max_length", 4000)):
                    raise SimulatorError(f"modal field {custom_id!r} is too long")
                return {
                    "type": 4,
                    "id": component.get("id", 0),
                    "custom_id": custom_id,
                    "value": text,
                }
            chosen = values.get(custom_id, [])
            chosen = chosen if isinstance(chosen, list) else [chosen]
            extra = self.select_values(custom_id, int(kind or 3), component, chosen, guild)
            return {"type": kind, "id": component.get("id", 0), "custom_id": custom_id, **extra}

        components = [s for s in (submitted(c) for c in modal.components) if s]
        resolved: JSON = {}
        for row in iter_components(components):
            for key, items in (row.pop("resolved", None) or {}).items():
                resolved.setdefault(key, {}).update(items)
        data: JSON = {"custom_id": modal.custom_id, "components": components}
        if resolved:
            data["resolved"] = resolved
        return data
