"""OAuth2 as a Discord login uses it: authorize, token exchange, ``/users/@me`` and its guilds.

The authorization-code flow (https://discord.com/developers/docs/topics/oauth2):

1. the browser opens ``/oauth2/authorize?response_type=code&client_id=..&scope=identify guilds
   &state=..&redirect_uri=..``; Discord asks the person, then redirects to
   ``redirect_uri?code=..&state=..``. The simulator approves at once as :attr:`OAuthProvider.
   approve_as` (the test chooses who is "logged in to Discord" in the browser), or answers
   ``?error=access_denied`` when nobody is;
2. the app's server posts ``grant_type=authorization_code&code=..&redirect_uri=..`` with its
   client id and secret (form fields or HTTP Basic) to ``/api/v10/oauth2/token`` and gets a
   Bearer access token (a code works once, within 10 minutes, for the same redirect URI);
3. ``GET /api/v10/users/@me`` and ``/users/@me/guilds`` with ``Authorization: Bearer ...``.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from yarl import URL

from bot.simulator import payloads

if TYPE_CHECKING:
    from bot.simulator.state import SimUser, World

CODE_LIFETIME_S = 600
TOKEN_LIFETIME_S = 604_800
DEFAULT_CLIENT_SECRET = "sim-oauth-client-secret"


@dataclass
class _Grant:
    user_id: int
    scopes: frozenset[str]
    redirect_uri: str
    expires: float


def _error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


class OAuthProvider:
    """Discord's OAuth2 server side, for one application (the bot's)."""

    def __init__(self, world: World, client_secret: str = DEFAULT_CLIENT_SECRET) -> None:
        self.world = world
        self.client_secret = client_secret
        # Who is logged in to Discord in "the browser": authorize approves as them.
        self.approve_as: SimUser | None = None
        self._codes: dict[str, _Grant] = {}
        self._tokens: dict[str, _Grant] = {}
        # How many codes were exchanged and tokens used (tests check a token is used once).
        self.exchanges = 0
        self.bearer_calls = 0

    @property
    def client_id(self) -> int:
        """The application's id, which is its OAuth2 client id."""
        return self.world.application_id

    # -- 1. authorize --------------------------------------------------------------------------
    async def authorize(self, request: web.Request) -> web.Response:
        """GET /oauth2/authorize: check the request, approve, redirect back with a code."""
        query = request.query
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != str(self.client_id):
            return web.Response(status=400, text="Unknown application (client_id)")
        if not redirect_uri.startswith(("http://", "https://")):
            return web.Response(status=400, text="Invalid redirect_uri")
        target = URL(redirect_uri)
        state = query.get("state")
        if query.get("response_type") != "code":
            return self._back(target, state, error="unsupported_response_type")
        scopes = frozenset(query.get("scope", "").split())
        if not scopes or not scopes <= {"identify", "guilds", "email"}:
            return self._back(target, state, error="invalid_scope")
        user = self.approve_as
        if user is None:
            return self._back(target, state, error="access_denied")
        code = secrets.token_urlsafe(20)
        self._codes[code] = _Grant(user.id, scopes, redirect_uri, time.time() + CODE_LIFETIME_S)
        return self._back(target, state, code=code)

    @staticmethod
    def _back(target: URL, state: str | None, **params: str) -> web.Response:
        query = dict(target.query)
        query.update(params)
        if state is not None:
            query["state"] = state
        return web.Response(status=302, headers={"Location": str(target.with_query(query))})

    # -- 2. token exchange ---------------------------------------------------------------------
    async def token(self, request: web.Request) -> web.Response:
        """POST /api/v10/oauth2/token: trade a code for an access token."""
        form = await request.post()
        client_id, client_secret = (
            str(form.get("client_id", "")),
            str(form.get("client_secret", "")),
        )
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return _error(401, "invalid_client", "Malformed Basic credentials")
        if client_id != str(self.client_id) or not secrets.compare_digest(
            client_secret, self.client_secret
        ):
            return _error(401, "invalid_client", "Unknown client or wrong secret")
        if form.get("grant_type") != "authorization_code":
            return _error(400, "unsupported_grant_type", "Only authorization_code here")
        grant = self._codes.pop(str(form.get("code", "")), None)
        if grant is None or grant.expires < time.time():
            return _error(400, "invalid_grant", 'Invalid "code" in request.')
        if form.get("redirect_uri") != grant.redirect_uri:
            return _error(400, "invalid_grant", 'Invalid "redirect_uri" in request.')
        access = secrets.token_urlsafe(24)
        self._tokens[access] = _Grant(
            grant.user_id, grant.scopes, grant.redirect_uri, time.time() + TOKEN_LIFETIME_S
        )
        self.exchanges += 1
        return web.json_response(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_S,
                "refresh_token": secrets.token_urlsafe(24),
                "scope": " ".join(sorted(grant.scopes)),
            }
        )

    # -- 3. who is it --------------------------------------------------------------------------
    def _bearer(self, request: web.Request, scope: str) -> _Grant | web.Response:
        auth = request.headers.get("Authorization", "")
        grant = self._tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if grant is None or grant.expires < time.time():
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        if scope not in grant.scopes:
            return web.json_response({"message": "Missing Access", "code": 50001}, status=403)
        self.bearer_calls += 1
        return grant

    async def me(self, request: web.Request) -> web.Response:
        """GET /users/@me with a Bearer token: the person who logged in."""
        grant = self._bearer(request, "identify")
        if isinstance(grant, web.Response):
            return grant
        user = self.world.users[grant.user_id]
        return web.json_response({**payloads.user(user), "mfa_enabled": False, "locale": "en-GB"})

    async def my_guilds(self, request: web.Request) -> web.Response:
        """GET /users/@me/guilds with a Bearer token: the servers the person is in."""
        grant = self._bearer(request, "guilds")
        if isinstance(grant, web.Response):
            return grant
        found: list[dict[str, object]] = []
        for guild in self.world.guilds.values():
            if guild.member(grant.user_id) is None and guild.owner_id != grant.user_id:
                continue
            found.append(
                {
                    "id": str(guild.id),
                    "name": guild.name,
                    "icon": None,
                    "banner": None,
                    "owner": guild.owner_id == grant.user_id,
                    "permissions": str(guild.base_permissions(grant.user_id)),
                    "features": [],
                }
            )
        return web.json_response(found)

    @staticmethod
    def is_oauth_call(request: web.Request, path: str) -> bool:
        """Requests authenticated by OAuth2 (client secret or Bearer), not by the bot token."""
        return path == "/oauth2/token" or request.headers.get("Authorization", "").startswith(
            "Bearer "
        )
