"""The REST API v10 server: middleware (auth, faults, logging, errors) and the small routes.

Bigger route families live in ``rest_guilds`` and ``rest_messages``; each module exposes
``routes(api)`` returning ``(method, path, handler)`` triples registered under ``/api/v10``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from bot.simulator import payloads
from bot.simulator.errors import ApiError, invalid_form, unknown
from bot.simulator.interactions import PendingInteraction
from bot.simulator.messages import UploadedFile
from bot.simulator.oauth import OAuthProvider
from bot.simulator.ratelimit import RateLimiter, RateLimits
from bot.simulator.state import RegisteredCommand, SimGuild, World

log = logging.getLogger(__name__)

JSON = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RouteSpec = tuple[str, str, Handler]
API_PREFIX = "/api/v10"
BODY_KEY: web.RequestKey[Any] = web.RequestKey("sim_body", object)
FILES_KEY: web.RequestKey[list[UploadedFile]] = web.RequestKey("sim_files", list)

# Routes authenticated by the token in the URL, not by ``Authorization: Bot``.
_TOKEN_ROUTES = re.compile(r"^/(interactions/[^/]+/[^/]+/callback|webhooks/[^/]+/[^/]+)")
_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")


def normalise_route(route: str) -> str:
    """``"POST /channels/{channel_id}/messages"`` with placeholders reduced to ``{}``."""
    method, _, path = route.strip().partition(" ")
    path = path.strip()
    if path.startswith(API_PREFIX):
        path = path[len(API_PREFIX) :]
    return f"{method.upper()} {_PLACEHOLDER.sub('{}', path)}"


@dataclass
class RequestRecord:
    """One REST request the bot made, as the simulator saw it."""

    method: str
    path: str
    route: str
    status: int
    body: Any
    files: list[str]
    query: dict[str, str]
    timestamp: float


@dataclass
class Fault:
    """Answer the next ``count`` calls of a route with ``status``."""

    route: str
    status: int
    count: int
    retry_after: float


@dataclass
class Activity:
    """What ``settle`` watches: requests in flight and the time of the last one."""

    in_flight: int = 0
    last: float = field(default_factory=time.monotonic)
    current: dict[int, str] = field(default_factory=dict)
    # The bot may be sleeping on an exhausted rate-limit bucket until then (monotonic).
    hold_until: float = 0.0

    def touch(self) -> None:
        """Note that something happened now."""
        self.last = time.monotonic()


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response whose Content-Type is exactly ``application/json`` (no charset)."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


def no_content() -> web.Response:
    """204 No Content."""
    return web.Response(status=204)


def body(request: web.Request) -> Any:
    """The parsed JSON body (or multipart ``payload_json``) of a request."""
    return request.get(BODY_KEY)


def json_body(request: web.Request) -> JSON:
    """The body as a JSON object (400 if it is something else)."""
    data = body(request)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise invalid_form("_", "Expected an object")
    return data


def files(request: web.Request) -> list[UploadedFile]:
    """The ``files[n]`` parts of a multipart request."""
    uploaded: list[UploadedFile] = request.get(FILES_KEY, [])
    return uploaded


def snowflake_arg(request: web.Request, name: str) -> int:
    """A snowflake path parameter (404 when it is not a number)."""
    raw = request.match_info[name]
    if not raw.isdigit():
        raise ApiError(404, 0, "404: Not Found")
    return int(raw)


@dataclass(frozen=True)
class SessionStartLimits:
    """``session_start_limit`` of ``GET /gateway/bot``: IDENTIFYs per day and per 5 s."""

    total: int = 1000
    reset_after_ms: int = 86_400_000
    max_concurrency: int = 1


class RestApi:
    """Holds the state every route needs and builds the aiohttp application."""

    def __init__(
        self,
        world: World,
        *,
        token: str,
        privileged_intents: int,
        app_flags: int,
        gateway_url: Callable[[], str],
        recommended_shards: Callable[[], int] = lambda: 1,
        identify_count: Callable[[], int] = lambda: 0,
        session_limits: SessionStartLimits = SessionStartLimits(),
        rate_limits: RateLimits | None = None,
        enforce_rate_limits: bool = True,
    ) -> None:
        self.world = world
        self.limiter = RateLimiter(rate_limits, enabled=enforce_rate_limits)
        self.recommended_shards = recommended_shards
        self.identify_count = identify_count
        self.session_limits = session_limits
        self.token = token
        self.privileged_intents = privileged_intents
        self.app_flags = app_flags
        self.gateway_url = gateway_url
        self.oauth = OAuthProvider(world)  # a dashboard's Discord login
        self.requests: list[RequestRecord] = []
        self.unknown_routes: list[str] = []
        self.errors: list[str] = []
        self.faults: list[Fault] = []
        self.activity = Activity()
        self.interactions: dict[int, PendingInteraction] = {}
        self._seq = 0

    # -- application ---------------------------------------------------------------------------
    def build_app(self, extra: list[RouteSpec]) -> web.Application:
        """The aiohttp app: REST under /api/v10, attachments, plus extra (gateway) routes."""
        from bot.simulator import rest_guilds, rest_messages  # circular at import time

        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024**2)
        for method, path, handler in [
            *self.routes(),
            *rest_guilds.routes(self),
            *rest_messages.routes(self),
        ]:
            app.router.add_route(method, API_PREFIX + path, handler)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self.attachment)
        for method, path, handler in extra:
            app.router.add_route(method, path, handler)
        return app

    def fail_next(self, route: str, status: int, count: int = 1, retry_after: float = 0.05) -> None:
        """Answer the next ``count`` calls of ``route`` with ``status`` (429 or 5xx)."""
        self.faults.append(Fault(normalise_route(route), status, count, retry_after))

    def _take_fault(self, route: str) -> Fault | None:
        key = normalise_route(route)
        for fault in self.faults:
            if fault.route == key and fault.count > 0:
                fault.count -= 1
                if fault.count == 0:
                    self.faults.remove(fault)
                return fault
        return None

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        self._seq += 1
        ident = self._seq
        self.activity.in_flight += 1
        self.activity.current[ident] = f"{request.method} {request.path}"
        self.activity.touch()
        path = request.path[len(API_PREFIX) :]
        resource = request.match_info.route.resource
        template = resource.canonical[len(API_PREFIX) :] if resource is not None else path
        route = f"{request.method} {template}"
        record = RequestRecord(
            request.method, path, route, 0, None, [], dict(request.query), time.time()
        )
        try:
            response = await self._handle(request, handler, route, path, record)
        finally:
            self.activity.in_flight -= 1
            self.activity.current.pop(ident, None)
            self.activity.touch()
        record.status = response.status
        self.requests.append(record)
        return response

    async def _handle(
        self,
        request: web.Request,
        handler: Handler,
        route: str,
        path: str,
        record: RequestRecord,
    ) -> web.StreamResponse:
        try:
            await self._read_body(request)
        except (ValueError, json.JSONDecodeError):
            return json_response({"message": "400: Bad Request", "code": 0}, 400)
        record.body = request.get(BODY_KEY)
        record.files = [f.filename for f in files(request)]
        if request.match_info.http_exception is not None:
            log.warning("simulator: unknown route %s %s", request.method, path)
            self.unknown_routes.append(f"{request.method} {path}")
            return json_response({"message": "404: Not Found", "code": 0}, 404)
        if (
            not _TOKEN_ROUTES.match(path)
            and not OAuthProvider.is_oauth_call(request, path)
            and request.headers.get("Authorization") != f"Bot {self.token}"
        ):
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        fault = self._take_fault(route)
        if fault is not None:
            return self._fault_response(fault, route)
        verdict = self.limiter.check(route, path, request.match_info)
        self.activity.hold_until = max(self.activity.hold_until, verdict.busy_until)
        if not verdict.allowed:
            assert verdict.hit is not None
            log.info("simulator: rate limited (%s) %s", verdict.hit.scope, route)
            data = {
                "message": "You are being rate limited.",
                "retry_after": verdict.hit.retry_after,
                "global": verdict.hit.scope == "global",
            }
            # discord.py treats a 429 without Via as a Cloudflare ban and gives up.
            return json_response(data, 429, {**verdict.headers, "Via": "1.1 google"})
        try:
            response = await handler(request)
        except ApiError as exc:
            response = json_response(exc.body(), exc.status)
        except Exception as exc:
            # A simulator bug: answer 400 (not 500, which discord.py retries for seconds) so the
            # test fails fast, and keep the error for the report.
            log.exception("simulator: error handling %s", route)
            self.errors.append(f"{route}: {exc!r}")
            message = f"simulator error handling {route}: {exc!r}"
            response = json_response({"message": message, "code": 0}, 400)
        response.headers.update(verdict.headers)
        return response

    async def _read_body(self, request: web.Request) -> None:
        if not request.can_read_body:
            return
        content_type = request.content_type
        if content_type == "application/x-www-form-urlencoded":
            return  # OAuth2's token exchange: the handler reads the form
        if content_type.startswith("multipart/"):
            uploads: list[UploadedFile] = []
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):  # pragma: no cover
                    continue
                raw = await part.read(decode=True)
                if part.name == "payload_json":
                    request[BODY_KEY] = json.loads(raw.decode())
                else:
                    uploads.append(
                        UploadedFile(
                            field=part.name or "",
                            filename=part.filename or "file",
                            content_type=part.headers.get("Content-Type", ""),
                            data=bytes(raw),
                        )
                    )
            request[FILES_KEY] = uploads
            return
        raw_text = await request.text()
        if raw_text:
            request[BODY_KEY] = json.loads(raw_text)

    def _ratelimit_headers(self, route: str) -> dict[str, str]:
        # For injected faults: generous limits (discord.py only waits when Remaining reaches 0).
        bucket = hashlib.md5(route.encode()).hexdigest()[:16]  # a label, not security
        return {
            "X-RateLimit-Limit": "50",
            "X-RateLimit-Remaining": "49",
            "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
            "X-RateLimit-Reset-After": "1.000",
            "X-RateLimit-Bucket": bucket,
        }

    def _fault_response(self, fault: Fault, route: str) -> web.Response:
        log.info("simulator: injected %s on %s", fault.status, route)
        if fault.status == 429:
            headers = {
                **self._ratelimit_headers(route),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
                "X-RateLimit-Scope": "user",
                "Retry-After": f"{fault.retry_after:.3f}",
                # discord.py treats a 429 without Via as a Cloudflare ban and gives up.
                "Via": "1.1 google",
            }
            data = {
                "message": "You are being rate limited.",
                "retry_after": fault.retry_after,
                "global": False,
            }
            return json_response(data, 429, headers)
        return json_response({"message": "500: Internal Server Error", "code": 0}, fault.status)

    # -- helpers for handlers ------------------------------------------------------------------
    def guild(self, request: web.Request) -> SimGuild:
        """The guild in the path; 404 Unknown Guild, 403 if the bot is not in it."""
        guild = self.world.guilds.get(snowflake_arg(request, "guild_id"))
        if guild is None:
            raise unknown("Guild", 10004)
        if not guild.bot_member:
            raise ApiError(403, 50001, "Missing Access")
        return guild

    def dispatch_activity(self) -> None:
        """Note gateway activity (the bot may be about to react)."""
        self.activity.touch()

    # -- small routes --------------------------------------------------------------------------
    def routes(self) -> list[RouteSpec]:
        """Users, gateway, application and application-command routes."""
        return [
            ("GET", "/users/@me", self.get_me),
            ("GET", "/users/@me/guilds", self.oauth.my_guilds),
            ("POST", "/oauth2/token", self.oauth.token),
            ("GET", "/users/{user_id}", self.get_user),
            ("GET", "/gateway", self.get_gateway),
            ("GET", "/gateway/bot", self.get_gateway_bot),
            ("GET", "/oauth2/applications/@me", self.get_application),
            ("GET", "/applications/@me", self.get_application),
            ("GET", "/applications/{application_id}/commands", self.list_commands),
            ("PUT", "/applications/{application_id}/commands", self.put_commands),
            ("POST", "/applications/{application_id}/commands", self.post_command),
            ("GET", "/applications/{application_id}/commands/{command_id}", self.get_command),
            ("PATCH", "/applications/{application_id}/commands/{command_id}", self.patch_command),
            ("DELETE", "/applications/{application_id}/commands/{command_id}", self.delete_command),
            (
                "GET",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self.list_commands,
            ),
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self.put_commands),
            (
                "POST",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self.post_command,
            ),
            (
                "GET",
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                self.get_command,
            ),
            (
                "PATCH",
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                self.patch_command,
            ),
            (
                "DELETE",
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                self.delete_command,
            ),
        ]

    async def get_me(self, request: web.Request) -> web.Response:
        """GET /users/@me: the bot user (with a Bearer token: the person who logged in)."""
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return await self.oauth.me(request)
        return json_response(
            {**payloads.user(self.world.bot_user), "verified": True, "mfa_enabled": False}
        )

    async def get_user(self, request: web.Request) -> web.Response:
        """GET /users/{user_id}."""
        user = self.world.users.get(snowflake_arg(request, "user_id"))
        if user is None:
            raise unknown("User", 10013)
        return json_response(payloads.user(user))

    async def get_gateway(self, request: web.Request) -> web.Response:
        """GET /gateway."""
        return json_response({"url": self.gateway_url()})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        """GET /gateway/bot: the recommended shard count and what is left of the session starts."""
        limits = self.session_limits
        used = self.identify_count()
        limit = {
            "total": limits.total,
            "remaining": max(0, limits.total - used),
            "reset_after": limits.reset_after_ms,
            "max_concurrency": limits.max_concurrency,
        }
        return json_response(
            {
                "url": self.gateway_url(),
                "shards": self.recommended_shards(),
                "session_start_limit": limit,
            }
        )

    async def get_application(self, request: web.Request) -> web.Response:
        """GET /oauth2/applications/@me."""
        return json_response(payloads.application(self.world, flags=self.app_flags))

    async def attachment(self, request: web.Request) -> web.Response:
        """Serve an uploaded file's bytes (for ``Attachment.read()``)."""
        attachment_id = int(request.match_info["attachment_id"])
        for message in self.world.message_index.values():
            for item in message.attachments:
                if item.id == attachment_id:
                    return web.Response(body=item.data, headers={"Content-Type": item.content_type})
        return json_response({"message": "404: Not Found", "code": 0}, 404)

    # -- application commands ------------------------------------------------------------------
    def _command_store(
        self, request: web.Request
    ) -> tuple[dict[int, RegisteredCommand], int | None]:
        if snowflake_arg(request, "application_id") != self.world.application_id:
            raise ApiError(403, 50001, "Missing Access")
        if "guild_id" not in request.match_info:
            return self.world.global_commands, None
        guild = self.guild(request)
        return self.world.guild_commands.setdefault(guild.id, {}), guild.id

    def _validate_command(self, data: JSON) -> None:
        name = str(data.get("name", ""))
        kind = int(data.get("type", 1))
        if kind == 1:
            if not _COMMAND_NAME.match(name) or name != name.lower():
                raise invalid_form("name", "Command name is invalid")
            description = str(data.get("description", ""))
            if not 1 <= len(description) <= 100:
                raise invalid_form("description", "Must be between 1 and 100 in length.")
        elif not 1 <= len(name) <= 32:
            raise invalid_form("name", "Must be between 1 and 32 in length.")
        self._validate_options(data.get("options") or [], "options")

    def _validate_options(self, options: list[JSON], where: str) -> None:
        if len(options) > 25:
            raise invalid_form(where, "Must be 25 or fewer in length.")
        seen_optional = False
        for index, option in enumerate(options):
            name = str(option.get("name", ""))
            if not _COMMAND_NAME.match(name) or name != name.lower():
                raise invalid_form(f"{where}.{index}.name", "Command name is invalid")
            if not 1 <= len(str(option.get("description", ""))) <= 100:
                raise invalid_form(f"{where}.{index}.description", "Must be between 1 and 100.")
            if len(option.get("choices") or []) > 25:
                raise invalid_form(f"{where}.{index}.choices", "Must be 25 or fewer in length.")
            if option.get("type") in (1, 2):
                self._validate_options(option.get("options") or [], f"{where}.{index}.options")
            elif option.get("required"):
                if seen_optional:
                    raise invalid_form(
                        f"{where}.{index}.required",
                        "Required options must be placed before non-required options",
                    )
            else:
                seen_optional = True

    def _upsert(
        self, store: dict[int, RegisteredCommand], guild_id: int | None, data: JSON
    ) -> tuple[RegisteredCommand, bool]:
        self._validate_command(data)
        kind = int(data.get("type", 1))
        for existing in store.values():
            if existing.name == data.get("name") and existing.type == kind:
                existing.data = dict(data)
                existing.version = self.world.snowflake()
                return existing, False
        command = RegisteredCommand(
            id=self.world.snowflake(),
            data=dict(data),
            guild_id=guild_id,
            version=self.world.snowflake(),
        )
        store[command.id] = command
        return command, True

    async def list_commands(self, request: web.Request) -> web.Response:
        """GET the registered commands."""
        store, _ = self._command_store(request)
        return json_response([payloads.command(self.world, c) for c in store.values()])

    async def put_commands(self, request: web.Request) -> web.Response:
        """PUT (bulk overwrite): ids are kept for commands whose name and type are unchanged."""
        store, guild_id = self._command_store(request)
        data = body(request) or []
        if not isinstance(data, list):
            raise invalid_form("_", "Expected a list")
        if len(data) > 100:
            raise invalid_form("_", "Must be 100 or fewer in length.")
        old = dict(store)
        store.clear()
        result = []
        for item in data:
            kind = int(item.get("type", 1))
            match = next(
                (c for c in old.values() if c.name == item.get("name") and c.type == kind), None
            )
            if match is not None:
                store[match.id] = match
            command, _ = self._upsert(store, guild_id, item)
            result.append(payloads.command(self.world, command))
        return json_response(result)

    async def post_command(self, request: web.Request) -> web.Response:
        """POST one command (upsert by name)."""
        store, guild_id = self._command_store(request)
        command, created = self._upsert(store, guild_id, json_body(request))
        return json_response(payloads.command(self.world, command), 201 if created else 200)

    def _one_command(
        self, request: web.Request
    ) -> tuple[dict[int, RegisteredCommand], RegisteredCommand]:
        store, _ = self._command_store(request)
        command = store.get(snowflake_arg(request, "command_id"))
        if command is None:
            raise unknown("application command", 10063)
        return store, command

    async def get_command(self, request: web.Request) -> web.Response:
        """GET one command."""
        _, command = self._one_command(request)
        return json_response(payloads.command(self.world, command))

    async def patch_command(self, request: web.Request) -> web.Response:
        """PATCH one command."""
        _, command = self._one_command(request)
        merged = {**command.data, **json_body(request)}
        self._validate_command(merged)
        command.data = merged
        command.version = self.world.snowflake()
        return json_response(payloads.command(self.world, command))

    async def delete_command(self, request: web.Request) -> web.Response:
        """DELETE one command."""
        store, command = self._one_command(request)
        del store[command.id]
        return no_content()


async def wait_quiet(activity: Activity, quiet: float, timeout: float) -> None:  # noqa: ASYNC109 - the deadline is part of the error
    """Wait until no request is in flight and none has been for ``quiet`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        now = time.monotonic()
        idle_for = now - activity.last
        if activity.in_flight == 0 and idle_for >= quiet and now >= activity.hold_until:
            return
        # A bot sleeping on a rate limit is busy, not stuck: the hold is bounded by the window.
        if loop.time() > deadline and now >= activity.hold_until:
            busy = ", ".join(activity.current.values()) or "none in flight"
            raise TimeoutError(f"the bot did not go quiet within {timeout}s (requests: {busy})")
        holding = max(0.0, activity.hold_until - now)
        idle_wait = max(0.005, quiet - idle_for, holding)
        await asyncio.sleep(idle_wait if activity.in_flight == 0 else 0.005)
