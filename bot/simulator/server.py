"""DiscordSimulator: the loopback server plus the test-facing API (users act, tests read)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from aiohttp import web

from bot.simulator import payloads
from bot.simulator.gateway import GUILD_MEMBERS, PRIVILEGED, Gateway
from bot.simulator.interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    COMPONENT,
    MODAL_SUBMIT,
    InteractionBuilder,
    InteractionResult,
    PendingInteraction,
    SimModal,
    SimulatorError,
    result_of,
)
from bot.simulator.messages import apply_mentions
from bot.simulator.oauth import OAuthProvider
from bot.simulator.permissions import ADMINISTRATOR
from bot.simulator.ratelimit import RateLimitHit, RateLimits
from bot.simulator.rest import RequestRecord, RestApi, SessionStartLimits, wait_quiet
from bot.simulator.settle import BotWork, wait_settled
from bot.simulator.state import (
    SimChannel,
    SimGuild,
    SimMessage,
    SimUser,
    World,
    WorldSnapshot,
)

log = logging.getLogger(__name__)

JSON = dict[str, Any]

# GET /gateway/bot recommends about one shard per 1,000 guilds, as Discord roughly does.
GUILDS_PER_SHARD = 1000


class RateLimitCount:
    """The rate-limit 429s since a scenario began (live: read it during or after)."""

    def __init__(self, hits: list[RateLimitHit], start: int) -> None:
        self._hits = hits
        self._start = start

    @property
    def hits(self) -> list[RateLimitHit]:
        """The 429s answered since the scenario began, oldest first."""
        return self._hits[self._start :]

    @property
    def count(self) -> int:
        """How many 429s the scenario hit."""
        return len(self.hits)


class DiscordSimulator:
    """A simulated Discord that the real discord.py connects to over loopback.

    ``privileged_intents`` names the intents enabled "in the developer portal"
    (``"members"``, ``"presences"``, ``"message_content"``); asking for others closes the
    gateway with 4014, as Discord does. ``bot_permissions`` go on the bot's managed role.
    ``recommended_shards`` is what ``GET /gateway/bot`` recommends (by default one shard per
    1,000 guilds); ``session_limits`` is its ``session_start_limit``.
    """

    def __init__(
        self,
        token: str = "test-token",
        *,
        bot_name: str = "ClassMentor",
        privileged_intents: Iterable[str] = (),
        bot_permissions: int = ADMINISTRATOR,
        response_timeout: float = 10.0,
        host: str = "127.0.0.1",
        recommended_shards: int | None = None,
        session_limits: SessionStartLimits | None = None,
        rate_limits: RateLimits | None = None,
        enforce_rate_limits: bool = True,
    ) -> None:
        unknown_intents = set(privileged_intents) - set(PRIVILEGED)
        if unknown_intents:
            raise ValueError(f"unknown privileged intents {unknown_intents}; use {set(PRIVILEGED)}")
        self.token = token
        self.host = host
        self.response_timeout = response_timeout
        self.world = World(bot_name=bot_name, bot_permissions=bot_permissions)
        self._recommended_shards = recommended_shards
        intents = 0
        app_flags = 0
        for name in privileged_intents:
            intents |= PRIVILEGED[name]
            app_flags |= {
                "members": payloads.FLAG_GUILD_MEMBERS,
                "presences": payloads.FLAG_PRESENCE,
                "message_content": payloads.FLAG_MESSAGE_CONTENT,
            }[name]
        self.gateway = Gateway(
            self.world,
            token=token,
            privileged_intents=intents,
            app_flags=app_flags,
            url=lambda: self.gateway_url,
        )
        self.api = RestApi(
            self.world,
            token=token,
            privileged_intents=intents,
            app_flags=app_flags,
            gateway_url=lambda: self.gateway_url,
            recommended_shards=self.recommended_shards,
            identify_count=lambda: self.gateway.identify_count,
            session_limits=session_limits or SessionStartLimits(),
            rate_limits=rate_limits,
            enforce_rate_limits=enforce_rate_limits,
        )
        self.builder = InteractionBuilder(self.world)
        # Any gateway event may make the bot act: count it as activity for settle().
        self.world.sinks.append(lambda _e, _d, _g: self.api.dispatch_activity())
        self._runner: web.AppRunner | None = None
        self.port = 0
        # The bots running against this simulator (see bot.simulator.testing.running_bot).
        self._work: list[BotWork] = []

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = self.api.build_app(
            [("GET", "/", self.gateway.handle), ("GET", "/oauth2/authorize", self.oauth.authorize)]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1])
        self.world.base_url = self.url

    async def stop(self) -> None:
        """Close sockets and stop listening."""
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Base URL of the HTTP server (REST is under ``/api/v10``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def oauth(self) -> OAuthProvider:
        """Discord's OAuth2 side: set ``oauth.approve_as`` to the person logging in."""
        return self.api.oauth

    @property
    def gateway_url(self) -> str:
        """The websocket URL discord.py should connect to."""
        return f"ws://{self.host}:{self.port}/"

    def recommended_shards(self) -> int:
        """The shard count ``GET /gateway/bot`` recommends."""
        if self._recommended_shards is not None:
            return self._recommended_shards
        joined = sum(1 for g in self.world.guilds.values() if g.bot_member)
        return max(1, math.ceil(joined / GUILDS_PER_SHARD))

    @property
    def requests(self) -> list[RequestRecord]:
        """Every REST request the bot made, in order."""
        return self.api.requests

    @property
    def unknown_routes(self) -> list[str]:
        """Requests to routes the simulator does not serve (a gap to fill)."""
        return self.api.unknown_routes

    @property
    def bot_user(self) -> SimUser:
        """The bot's own user."""
        return self.world.bot_user

    @property
    def application_id(self) -> int:
        """The application id (equal to the bot user id)."""
        return self.world.application_id

    # -- building the world --------------------------------------------------------------------
    def create_user(self, name: str, *, bot: bool = False, dms_open: bool = True) -> SimUser:
        """A Discord user (add them to guilds with ``guild.add_member``)."""
        return self.world.create_user(name, bot=bot, dms_open=dms_open)

    def create_guild(
        self,
        name: str,
        *,
        owner: SimUser,
        with_bot: bool = True,
        shard: tuple[int, int] | None = None,
    ) -> SimGuild:
        """A guild with a #general channel; the bot joins unless ``with_bot=False``.

        ``shard=(shard_id, shard_count)`` gives it an id Discord routes to that shard.
        """
        return self.world.create_guild(name, owner, with_bot=with_bot, shard=shard)

    def add_bot(self, guild: SimGuild) -> None:
        """Invite the bot to a guild (GUILD_CREATE)."""
        self.world.add_bot(guild)

    def remove_bot(self, guild: SimGuild) -> None:
        """Kick the bot from a guild (GUILD_DELETE)."""
        self.world.remove_bot(guild)

    def snapshot(self) -> WorldSnapshot:
        """Everything this simulated Discord knows, detached, to start others from
        (:meth:`restore`)."""
        return self.world.snapshot()

    def restore(self, snapshot: WorldSnapshot) -> None:
        """Know what ``snapshot`` knew (the same ids), before any bot connects: a bot already
        connected would not be told."""
        if any(session.queue is not None for session in self.gateway.sessions.values()):
            raise SimulatorError("restore a snapshot before a bot connects")
        self.world.restore(snapshot)

    def close_dms(self, user: SimUser) -> None:
        """Make DMs from the bot to this user fail with 403 / 50007."""
        user.dms_open = False

    def open_dms(self, user: SimUser) -> None:
        """Let the bot DM this user again."""
        user.dms_open = True

    # -- rate limits ---------------------------------------------------------------------------
    @property
    def rate_limit_hits(self) -> list[RateLimitHit]:
        """Every 429 the simulator answered because a rate limit was exceeded (not injected)."""
        return list(self.api.limiter.hits)

    @contextlib.contextmanager
    def count_rate_limits(self) -> Iterator[RateLimitCount]:
        """Count the 429s a scenario hits: ``with sim.count_rate_limits() as hits: ...``."""
        counter = RateLimitCount(self.api.limiter.hits, len(self.api.limiter.hits))
        yield counter

    # -- faults --------------------------------------------------------------------------------
    def fail_next(self, route: str, status: int, count: int = 1, retry_after: float = 0.05) -> None:
        """Answer the next ``count`` calls of a route template with 429 or a 5xx.

        ``route`` is like ``"POST /channels/{channel_id}/messages"``; placeholder names don't
        matter. 429s carry ``retry_after`` so discord.py waits and retries.
        """
        self.api.fail_next(route, status, count, retry_after)

    async def drop_gateway(self) -> None:
        """Cut the gateway socket; discord.py should RESUME and get missed events replayed."""
        await self.gateway.drop()

    async def wait_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - the deadline is part of the error
        """Wait until the bot is connected to the gateway again (READY or RESUMED)."""
        await self.gateway.wait_connected(timeout)

    # -- reading -------------------------------------------------------------------------------
    def messages(self, channel: SimChannel) -> list[SimMessage]:
        """Visible (non-ephemeral, not deleted) messages in a channel or thread, oldest first."""
        return [m for m in self.world.messages.get(channel.id, []) if not m.deleted]

    def dms(self, user: SimUser) -> list[SimMessage]:
        """Messages in the bot's DM channel with a user."""
        channel = self.world.dm_channels.get(user.id)
        return self.messages(channel) if channel else []

    def threads(self, guild: SimGuild) -> list[SimChannel]:
        """All threads in a guild, archived ones included."""
        return guild.threads()

    def routes_called(self, route: str | None = None) -> list[RequestRecord]:
        """Requests, optionally only those of one route template."""
        from bot.simulator.rest import normalise_route

        if route is None:
            return list(self.requests)
        key = normalise_route(route)
        return [r for r in self.requests if normalise_route(r.route) == key]

    def watch(self, work: BotWork) -> None:
        """Make :meth:`settle` wait for this bot's pending work (``running_bot`` calls it)."""
        self._work.append(work)

    def unwatch(self, work: BotWork) -> None:
        """Stop waiting for a bot that is shutting down."""
        if work in self._work:
            self._work.remove(work)

    def work_of(self, client: object) -> BotWork | None:
        """The tracked work of a bot started with ``running_bot``, if any."""
        return next((w for w in self._work if w.bot is client), None)

    async def settle(self, quiet: float = 0.05, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - the deadline is part of the error
        """Wait until the bot has nothing left to do.

        For a bot started with ``running_bot``: every gateway event read, no REST in flight, and
        every task it started finished (or parked on a far timer). Without one, falls back to a
        quiet window of ``quiet`` seconds with no REST activity.
        """
        if not self._work:
            await wait_quiet(self.api.activity, quiet, timeout)
            return
        for work in list(self._work):
            await wait_settled(self.api, work, timeout)

    # -- users acting --------------------------------------------------------------------------
    async def send_message(
        self, user: SimUser, channel: SimChannel, content: str, *, embeds: list[JSON] | None = None
    ) -> SimMessage:
        """A user posts a message (MESSAGE_CREATE); returns it."""
        if channel.guild_id is not None:
            guild = self.world.guilds[channel.guild_id]
            if guild.member(user) is None:
                raise SimulatorError(f"{user.name} is not a member of {guild.name}")
        message = SimMessage(
            id=self.world.snowflake(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=user,
            content=content,
            embeds=list(embeds or []),
        )
        apply_mentions(self.world, message, None)
        self.world.store_message(message)
        return message

    async def dm_bot(self, user: SimUser, content: str) -> SimMessage:
        """A user writes to the bot in DMs."""
        return await self.send_message(user, self.world.dm_channel(user), content)

    def _context(
        self, user: SimUser, guild: SimGuild | None, channel: SimChannel | None
    ) -> tuple[SimGuild | None, SimChannel]:
        if guild is None and channel is not None and channel.guild_id is not None:
            guild = self.world.guilds[channel.guild_id]
        if guild is None:
            return None, channel or self.world.dm_channel(user)
        if channel is None:
            text = [c for c in guild.channels() if c.type == 0]
            if not text:
                raise SimulatorError(f"{guild.name} has no text channel to run the command in")
            channel = text[0]
        if not guild.bot_member:
            raise SimulatorError(f"the bot is not in {guild.name}")
        return guild, channel

    async def slash(
        self,
        user: SimUser,
        command: str,
        *,
        guild: SimGuild | None = None,
        channel: SimChannel | None = None,
        options: Mapping[str, Any] | None = None,
        settle: bool = True,
        **kw_options: Any,
    ) -> InteractionResult:
        """Run ``/command`` (``"mentor grant"`` for subcommands) and wait for the answer.

        Options come as keywords (or ``options=`` when a name clashes with a parameter):
        users as SimUser, channels as SimChannel, roles as SimRole, attachments as
        ``(filename, bytes)``. Without guild/channel it runs in the user's DMs. With
        ``settle=False`` it returns as soon as the user has an answer, without waiting for the
        bot to go quiet (for load tests with many interactions in flight).
        """
        guild, where = self._context(user, guild, channel)
        all_options = {**(options or {}), **kw_options}
        data = self.builder.command_data(command, guild, all_options)
        pending = self.builder.new_pending(APPLICATION_COMMAND, user, guild, where, f"/{command}")
        return await self._run(pending, data, settle=settle)

    async def autocomplete(
        self,
        user: SimUser,
        command: str,
        *,
        focused: str,
        value: str,
        guild: SimGuild | None = None,
        channel: SimChannel | None = None,
        options: Mapping[str, Any] | None = None,
        **kw_options: Any,
    ) -> list[JSON]:
        """Type ``value`` into option ``focused`` of ``/command``; returns the bot's choices."""
        guild, where = self._context(user, guild, channel)
        all_options = {**(options or {}), **kw_options, focused: value}
        data = self.builder.command_data(command, guild, all_options, focused=focused)
        pending = self.builder.new_pending(
            AUTOCOMPLETE, user, guild, where, f"/{command} autocomplete"
        )
        result = await self._run(pending, data)
        return result.choices or []

    async def click(self, user: SimUser, message: SimMessage, custom_id: str) -> InteractionResult:
        """Press a button on a message and wait for the bot's answer."""
        return await self._component(user, message, custom_id, None)

    async def select(
        self, user: SimUser, message: SimMessage, custom_id: str, values: list[Any]
    ) -> InteractionResult:
        """Pick values in a select menu (strings, or SimUser/SimRole/SimChannel)."""
        return await self._component(user, message, custom_id, list(values))

    async def _component(
        self, user: SimUser, message: SimMessage, custom_id: str, values: list[Any] | None
    ) -> InteractionResult:
        if message.deleted:
            raise SimulatorError(f"message {message.id} was deleted")
        channel = self.world.channels[message.channel_id]
        guild = self.world.guilds.get(message.guild_id) if message.guild_id else None
        data = self.builder.component_data(message, custom_id, values, guild)
        pending = self.builder.new_pending(
            COMPONENT, user, guild, channel, f"component {custom_id!r}", message
        )
        return await self._run(pending, data)

    async def submit_modal(
        self, user: SimUser, modal: SimModal | None, values: Mapping[str, Any]
    ) -> InteractionResult:
        """Fill in and submit a modal the bot opened (``res.modal``)."""
        if modal is None:
            raise SimulatorError("the bot did not open a modal (res.modal is None)")
        data = self.builder.modal_data(modal, values)
        pending = self.builder.new_pending(
            MODAL_SUBMIT,
            user,
            modal.guild,
            modal.channel,
            f"modal {modal.custom_id!r}",
            modal.message,
        )
        return await self._run(pending, data)

    async def _run(
        self, pending: PendingInteraction, data: JSON, *, settle: bool = True
    ) -> InteractionResult:
        if not self.gateway.connected:
            raise SimulatorError("no bot is connected to the simulated gateway")
        guild_id = pending.guild.id if pending.guild else None
        if not self.gateway.serving(guild_id):
            raise SimulatorError(
                f"no connected bot session serves {pending.guild.name if pending.guild else 'DMs'}"
                " (its shard has no session)"
            )
        payload = self.builder.base_payload(pending, data)
        self.api.interactions[pending.id] = pending
        first_request = len(self.requests)
        self.world.dispatch(
            "INTERACTION_CREATE", payload, pending.guild.id if pending.guild else None
        )
        try:
            await asyncio.wait_for(pending.done.wait(), self.response_timeout)
        except TimeoutError:
            raise SimulatorError(self._timeout_report(pending, first_request)) from None
        if settle:
            await self.settle(quiet=0.03, timeout=self.response_timeout)
        return result_of(pending)

    def _timeout_report(self, pending: PendingInteraction, first_request: int) -> str:
        requests = [
            f"{r.method} {r.path} -> {r.status}" for r in self.requests[first_request:]
        ] or ["none"]
        state = "deferred but never edited nor followed up" if pending.loading else "never answered"
        return (
            f"{pending.label} by {pending.user.name}: {state} within {self.response_timeout}s. "
            f"Steps: {pending.history or ['none']}. REST calls meanwhile: {requests}. "
            f"Unknown routes: {self.unknown_routes or 'none'}. "
            "Check the bot's log for an exception in the command."
        )

    def member_intent_enabled(self) -> bool:
        """Whether the members intent is enabled for the simulated application."""
        return bool(self.gateway.privileged_intents & GUILD_MEMBERS)
