"""Home, log-in with Discord (OAuth2 authorization code), log-out."""

from __future__ import annotations

import logging
import secrets

from aiohttp import web
from aiohttp_session import get_session, new_session

from bot.web.access import (
    GUILDS_KEY,
    NAME_KEY,
    USER_KEY,
    parts,
    render,
)
from bot.web.login import LoginFailed
from bot.web.security import csrf_token

log = logging.getLogger(__name__)

STATE_KEY = "oauth_state"
MAX_GUILDS = 200  # a session cookie stays small


def _client_key(request: web.Request) -> str:
    return request.remote or "unknown"


async def _limited(request: web.Request) -> web.Response | None:
    """429 when this address tried to log in too often (a script, not a person)."""
    limiter = parts(request).login_limiter
    key = _client_key(request)
    if limiter.allow(key):
        return None
    response = await render(
        request,
        "error.html",
        status=429,
        title="Too many log-in attempts",
        message="Please wait a minute, then try again.",
    )
    response.headers["Retry-After"] = str(limiter.retry_after(key))
    return response


async def home(request: web.Request) -> web.Response:
    """The classes the person can open, or the log-in button."""
    session = await get_session(request)
    user_id = session.get(USER_KEY)
    if not isinstance(user_id, int):
        return await render(request, "home.html", classes=[])
    dash = parts(request)
    classes = []
    guild_ids = [int(g) for g in session.get(GUILDS_KEY, [])]
    for guild_id in dash.members.shared_guilds(guild_ids):
        viewer = await dash.members.viewer(guild_id, user_id)
        if viewer is None:
            continue
        classes.append(
            {
                "name": dash.members.class_name(guild_id) or "Your class",
                "url": f"/class/{guild_id}" if viewer.teacher else f"/class/{guild_id}/me",
                "role": "teacher" if viewer.teacher else "student",
            }
        )
    return await render(request, "home.html", classes=classes)


async def login(request: web.Request) -> web.StreamResponse:
    """Start the Discord log-in: remember a fresh ``state``, go to Discord."""
    refused = await _limited(request)
    if refused is not None:
        return refused
    session = await get_session(request)
    state = secrets.token_urlsafe(24)
    session[STATE_KEY] = state
    raise web.HTTPFound(parts(request).login.authorize_url(state))


async def callback(request: web.Request) -> web.StreamResponse:
    """Discord sent the person back: check ``state``, learn who it is, start a new session."""
    refused = await _limited(request)
    if refused is not None:
        return refused
    session = await get_session(request)
    expected = session.pop(STATE_KEY, None)
    state = request.query.get("state", "")
    if not isinstance(expected, str) or not secrets.compare_digest(expected, state):
        return await render(
            request,
            "error.html",
            status=403,
            title="That log-in link has expired",
            message="Start again from the log-in button.",
        )
    if "error" in request.query or "code" not in request.query:
        return await render(
            request,
            "error.html",
            status=403,
            title="Log-in cancelled",
            message="Discord did not confirm who you are. Start again from the log-in button.",
        )
    try:
        identity = await parts(request).login.identify(request.query["code"])
    except LoginFailed as exc:
        log.warning("dashboard log-in failed: %s", exc)
        return await render(
            request,
            "error.html",
            status=502,
            title="Discord did not answer",
            message="ClassMentor could not confirm your log-in with Discord. Try again soon.",
        )
    # A new session (new cookie) at log-in, so a cookie planted before cannot ride along.
    fresh = await new_session(request)
    fresh[USER_KEY] = identity.user_id
    fresh[NAME_KEY] = identity.name[:100]
    fresh[GUILDS_KEY] = [str(g) for g in identity.guild_ids[:MAX_GUILDS]]
    csrf_token(fresh)
    log.info("dashboard log-in by user %s", identity.user_id)
    raise web.HTTPFound("/")


async def logout(request: web.Request) -> web.StreamResponse:
    """End the session (a POST with the CSRF token, so no other site can log you out)."""
    session = await get_session(request)
    session.invalidate()
    raise web.HTTPFound("/")


def routes() -> list[web.RouteDef]:
    """The log-in routes."""
    return [
        web.get("/", home),
        web.get("/login", login),
        web.get("/login/callback", callback),
        web.post("/logout", logout),
    ]
