"""The dashboard's web server, run inside the bot's process (aiohttp, like discord.py itself).

Built by the composition root when ``[web] enabled``; started after the bot, stopped before the
database closes. Sessions are Fernet-encrypted cookies (aiohttp-session): HttpOnly, SameSite=Lax,
Secure when the public address is https, and they expire after ``web.session_hours``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp_session import session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from bot.charts import ChartRenderer
from bot.config import ConfigError
from bot.web import auth, gains, projector, student, teacher
from bot.web.access import DASHBOARD_KEY, Dashboard, refusals
from bot.web.chart_cache import ChartCache
from bot.web.live import COALESCE_S, LiveHub
from bot.web.login import DiscordLogin
from bot.web.members import DiscordMembers, discord_api_base
from bot.web.render import STATIC, make_environment
from bot.web.security import RateLimiter, csrf_protect, security_headers

if TYPE_CHECKING:
    from bot.app import ClassMentorBot
    from bot.config import WebConfig, WebSecrets

log = logging.getLogger(__name__)

COOKIE_NAME = "classmentor_session"
LOGIN_ATTEMPTS = 10  # per address per minute: plenty for people, a wall for scripts
LOGIN_WINDOW_S = 60.0


class WebDashboard:
    """The teacher dashboard and projector view for one running bot."""

    def __init__(
        self,
        config: WebConfig,
        secrets: WebSecrets,
        bot: ClassMentorBot,
        *,
        client_id: int,
        api_base: str | None = None,
        chart_processes: bool = True,
        live_coalesce_s: float = COALESCE_S,
    ) -> None:
        self.config = config
        members = DiscordMembers(bot)
        dashboard_service = bot.services.dashboard
        self.parts = Dashboard(
            config=config,
            services=bot.services,
            members=members,
            login=DiscordLogin(
                api_base=api_base or discord_api_base(),
                client_id=client_id,
                client_secret=secrets.client_secret,
                redirect_uri=config.redirect_uri,
            ),
            hub=LiveHub(
                dashboard_service.projector_class,
                lambda guild_id: projector.snapshot(self.parts, guild_id),
                coalesce_s=live_coalesce_s,
            ),
            env=make_environment(),
            login_limiter=RateLimiter(LOGIN_ATTEMPTS, LOGIN_WINDOW_S),
            clock=bot.clock,
            # Charts render in their own worker process, started on the first chart.
            charts=ChartCache(ChartRenderer(processes=chart_processes)),
        )
        self._db = bot.db
        self._session_key = secrets.session_key
        self._runner: web.AppRunner | None = None
        self._stop_listening: Callable[[], None] | None = None
        self.port = config.port

    def build_app(self) -> web.Application:
        """The aiohttp application (also used directly by tests' test client)."""
        storage = EncryptedCookieStorage(
            Fernet(self._session_key.reveal().encode()),
            cookie_name=COOKIE_NAME,
            max_age=self.config.session_hours * 3600,
            httponly=True,
            secure=self.config.secure_cookies,
            samesite="Lax",
        )
        app = web.Application(
            middlewares=[security_headers, session_middleware(storage), refusals, csrf_protect],
            client_max_size=64 * 1024,
        )
        app[DASHBOARD_KEY] = self.parts
        app.add_routes(auth.routes())
        app.add_routes(teacher.routes())
        app.add_routes(student.routes())
        app.add_routes(gains.routes())
        app.add_routes(projector.routes())
        app.router.add_static("/static", STATIC, append_version=False)
        return app

    async def start(self) -> None:
        """Listen on ``web.host:web.port`` (port 0 picks a free one, see :attr:`port`)."""
        self._runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise ConfigError(
                f"web.port: cannot listen on {self.config.host}:{self.config.port} "
                f"({exc.strerror or exc}); is another program using it?"
            ) from None
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self._stop_listening = self._db.on_commit(self.parts.hub.changed)
        self.parts.hub.start()
        log.info(
            "dashboard listening on %s:%s (%s)", self.config.host, self.port, self.config.public_url
        )

    async def stop(self) -> None:
        """End the projector streams and stop listening."""
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
        await self.parts.hub.close()
        await self.parts.charts.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
