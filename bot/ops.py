"""The operator's HTTP endpoint (``[ops] http_port``, off by default): /healthz and /metrics.

``/healthz`` answers 200 with JSON when every shard this process runs has its gateway session
connected and the database answers, 503 with the same JSON otherwise (a load balancer or
Kubernetes probe reads the status; a person reads the body). ``/metrics`` is Prometheus' text
format from :class:`bot.metrics.BotMetrics`, with the database-backed gauges read per scrape.

Discord's side is observed through discord.py's public ``http_trace`` hook: every REST answer
passes :func:`discord_trace`, which counts 429s and times interaction callbacks (the
acknowledgement Discord waits 3 s for), without touching the request path.
"""

from __future__ import annotations

import asyncio
import logging
import re
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
import discord
from aiohttp import web

from bot.config import ConfigError
from bot.metrics import CONTENT_TYPE, BotMetrics
from db.errors import StoreError

if TYPE_CHECKING:
    from bot.services import Services
    from bot.sharding import ShardPlan
    from db.database import Database

log = logging.getLogger(__name__)

# POST /interactions/{id}/{token}/callback is the acknowledgement.
_CALLBACK = re.compile(r"/interactions/(\d+)/[^/]+/callback$")
# A database that does not answer within this long is reported down.
DB_PROBE_TIMEOUT_S = 2.0


class Monitored(Protocol):
    """What the endpoint reads from the bot (ClassMentorBot: a protocol keeps imports one-way)."""

    db: Database
    services: Services
    metrics: BotMetrics
    shard_plan: ShardPlan

    def owns_guild(self, guild_id: int) -> bool:
        """Whether this process serves the class in ``guild_id``."""
        ...

    def is_closed(self) -> bool:
        """Whether the bot was closed."""
        ...

    def is_ready(self) -> bool:
        """Whether the bot's gateway sessions are ready."""
        ...


def discord_trace(metrics: BotMetrics) -> aiohttp.TraceConfig:
    """An aiohttp trace for the bot's HTTP session: 429s and acknowledgement latency."""

    async def on_request_end(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        response = params.response
        if response.status == 429:
            metrics.discord_rate_limited(response.headers.get("X-RateLimit-Scope", ""))
            return
        match = _CALLBACK.search(params.url.path)
        if match and params.method == "POST" and response.status < 300:
            # From Discord's clock (the id's timestamp) to ours: needs an NTP-synced host.
            created = discord.utils.snowflake_time(int(match.group(1)))
            metrics.acknowledged((discord.utils.utcnow() - created).total_seconds())

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_request_end)
    return trace


async def health(bot: Monitored) -> tuple[bool, dict[str, Any]]:
    """Whether this process is healthy, and the details (gateway per shard, database)."""
    shards = gateway_status(bot)
    try:
        await asyncio.wait_for(bot.db.schema_version(), DB_PROBE_TIMEOUT_S)
        database = "ok"
    except (TimeoutError, StoreError, OSError, ValueError) as exc:
        database = f"unreachable: {type(exc).__name__}"
    healthy = bool(shards) and all(shards.values()) and database == "ok"
    body = {
        "status": "ok" if healthy else "unhealthy",
        "shards": bot.shard_plan.describe(),
        "gateway": {str(shard): connected for shard, connected in shards.items()},
        "database": database,
    }
    return healthy, body


def gateway_status(bot: Monitored) -> dict[int, bool]:
    """Connected or not, per shard this process should run (0 for the unsharded bot)."""
    if bot.is_closed():
        return dict.fromkeys(bot.shard_plan.shard_ids or (0,), False)
    if isinstance(bot, discord.AutoShardedClient):
        running = bot.shards
        return {
            shard: shard in running and not running[shard].is_closed() and bot.is_ready()
            for shard in bot.shard_plan.shard_ids
        }
    ws = getattr(bot, "ws", None)
    return {0: bot.is_ready() and ws is not None and bool(ws.open)}


async def refresh_gauges(bot: Monitored) -> None:
    """Read the database-backed gauges for this process's classes (scrape time)."""
    metrics = bot.metrics
    _, body = await health(bot)
    for shard, connected in body["gateway"].items():
        metrics.shard_connected.labels(shard).set(1 if connected else 0)
    metrics.database_up.set(1 if body["database"] == "ok" else 0)
    if body["database"] != "ok":
        return
    counts = await bot.services.help.open_counts(bot.owns_guild)
    for state, count in counts.items():
        metrics.open_requests.labels(state).set(count)
    metrics.queue_length.set(counts.get("queued", 0))


class OpsServer:
    """The aiohttp server behind ``[ops] http_port``."""

    def __init__(self, bot: Monitored, host: str, port: int) -> None:
        self.bot = bot
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        """The routes (also handy for aiohttp's test client)."""
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics)
        return app

    async def start(self) -> None:
        """Listen; ``port`` 0 picks a free one (read it back from ``port``)."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self.stop()
            raise ConfigError(
                f"ops.http_port: cannot listen on {self.host}:{self.port} ({exc.strerror or exc})"
            ) from None
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        log.info("ops endpoint on http://%s:%s (/healthz, /metrics)", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def healthz(self, request: web.Request) -> web.Response:
        """200 when every shard is connected and the database answers; 503 otherwise."""
        healthy, body = await health(self.bot)
        return web.json_response(body, status=200 if healthy else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus text format."""
        try:
            await refresh_gauges(self.bot)
        except StoreError as exc:  # the counters are still worth serving
            log.warning("metrics: database gauges not read (%s)", exc)
        response = web.Response(body=self.bot.metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response
