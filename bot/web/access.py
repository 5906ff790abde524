"""What every page handler shares: the dashboard's parts, who is logged in, who may see what.

A page is shown only after :func:`class_viewer` asked Discord, through the bot, who the person is
in that class right now: a teacher (teacher role or Manage Server) sees the class's pages, anyone
else in the class only their own page, and everyone else gets 403 with nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jinja2
from aiohttp import web
from aiohttp_session import Session, get_session

from bot.clock import Clock
from bot.config import WebConfig
from bot.domain.weeks import Period
from bot.services import Services
from bot.web.chart_cache import ChartCache
from bot.web.live import LiveHub
from bot.web.login import DiscordLogin
from bot.web.members import DiscordMembers, Viewer
from bot.web.render import page
from bot.web.security import RateLimiter, csrf_token

USER_KEY = "user_id"
NAME_KEY = "name"
GUILDS_KEY = "guild_ids"

PERIODS = {
    Period.THIS_WEEK: "This week",
    Period.LAST_WEEK: "Last week",
    Period.MONTH: "This month",
    Period.TERM: "This term (13 weeks)",
    Period.ALL_TIME: "All time",
}


@dataclass
class Dashboard:
    """The dashboard's parts, built once by :class:`bot.web.server.WebDashboard`."""

    config: WebConfig
    services: Services
    members: DiscordMembers
    login: DiscordLogin
    hub: LiveHub
    env: jinja2.Environment
    login_limiter: RateLimiter
    clock: Clock
    charts: ChartCache
    # Per class: (scores version, the projector's gains block), so a commit that changed no
    # score does not recompute gains for every projector update.
    projector_gains: dict[int, tuple[str, Any]] = field(default_factory=dict)
    # Per (class, period): (help-requests version, the per-subject `/insights` summaries), since
    # summarising a year of topics takes tens of milliseconds.
    subject_insights: dict[tuple[int, str], tuple[str, Any]] = field(default_factory=dict)


DASHBOARD_KEY = web.AppKey("classmentor_dashboard", Dashboard)


def parts(request: web.Request) -> Dashboard:
    """The dashboard's parts, from the application."""
    return request.app[DASHBOARD_KEY]


async def render(
    request: web.Request, name: str, status: int = 200, **context: Any
) -> web.Response:
    """Render a page with what every page needs (who is logged in, the CSRF token)."""
    session = await get_session(request)
    user_id = session.get(USER_KEY)
    base = {
        "logged_in": user_id is not None,
        "user_name": session.get(NAME_KEY, ""),
        "csrf_token": csrf_token(session) if user_id is not None else "",
        "viewer": None,
        "section": "",
    }
    return page(parts(request).env, name, {**base, **context}, status)


async def refuse(request: web.Request) -> web.Response:
    """403 and nothing else: no hint whether the class exists or who is in it."""
    return await render(request, "forbidden.html", status=403)


class Refused(Exception):
    """The request may not see the page (answered with 401 or 403 by the error middleware)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


async def logged_in_user(request: web.Request) -> tuple[Session, int]:
    """The session and user id; 401 (a log-in page) when nobody is logged in."""
    session = await get_session(request)
    user_id = session.get(USER_KEY)
    if not isinstance(user_id, int):
        raise Refused(401)
    return session, user_id


def guild_in_path(request: web.Request) -> int:
    """The class id in the URL; a malformed one is refused like any forged URL."""
    raw = request.match_info.get("guild_id", "")
    if not raw.isdigit() or len(raw) > 20:
        raise Refused(403)
    return int(raw)


async def class_viewer(request: web.Request, *, teacher: bool) -> Viewer:
    """The logged-in person in the class of the URL, checked with Discord now.

    ``teacher=True``: only the class's teachers pass. Anyone who is not in the class (or whose
    class this is not) is refused with 403.
    """
    _, user_id = await logged_in_user(request)
    viewer = await parts(request).members.viewer(guild_in_path(request), user_id)
    if viewer is None or (teacher and not viewer.teacher):
        raise Refused(403)
    return viewer


def period_of(request: web.Request, default: Period = Period.TERM) -> Period:
    """The ``period`` query parameter, or the default when absent or unknown."""
    try:
        return Period(request.query.get("period", default.value))
    except ValueError:
        return default


@web.middleware
async def refusals(request: web.Request, handler: Any) -> web.StreamResponse:
    """Turn :class:`Refused` into the log-in page (401) or the bare 403 page."""
    try:
        response: web.StreamResponse = await handler(request)
    except Refused as exc:
        if exc.status == 401:
            return await render(request, "login_needed.html", status=401)
        return await refuse(request)
    return response
