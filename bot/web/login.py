"""Discord login: the OAuth2 authorization-code flow, as the client (the dashboard's server).

The access token is used for two calls (who is this, which servers are they in) and dropped:
it is never stored, logged or put in the session. Only the user id, name and server ids stay.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from bot.config import Secret

log = logging.getLogger(__name__)

SCOPES = "identify guilds"
TIMEOUT = aiohttp.ClientTimeout(total=10)


class LoginFailed(Exception):
    """Discord did not confirm who the person is (a bad code, a refusal, Discord unreachable)."""


@dataclass(frozen=True)
class Identity:
    """Who logged in, and the servers they are in (as Discord said at log-in)."""

    user_id: int
    name: str
    guild_ids: tuple[int, ...]


class DiscordLogin:
    """Builds the authorize URL and turns a returned code into an :class:`Identity`."""

    def __init__(
        self, *, api_base: str, client_id: int, client_secret: Secret, redirect_uri: str
    ) -> None:
        self._api_base = api_base.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri

    def authorize_url(self, state: str) -> str:
        """Where the browser goes to log in (Discord's site, not under /api)."""
        origin = URL(self._api_base).origin()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": str(self._client_id),
                "scope": SCOPES,
                "state": state,
                "redirect_uri": self.redirect_uri,
            }
        )
        return f"{origin}/oauth2/authorize?{query}"

    def _basic_auth(self) -> str:
        # The client's credentials as HTTP Basic (what Discord's token endpoint prefers).
        pair = f"{self._client_id}:{self._client_secret.reveal()}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    async def identify(self, code: str) -> Identity:
        """Exchange the code, ask who it is and where they are, forget the token."""
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            try:
                async with http.post(
                    f"{self._api_base}/oauth2/token",
                    data={
                        "grant_type": "authorization_code",
                        "code": code,
                        "redirect_uri": self.redirect_uri,
                    },
                    headers={"Authorization": self._basic_auth()},
                ) as response:
                    if response.status != 200:
                        raise LoginFailed(f"token exchange answered {response.status}")
                    grant = await response.json()
                token = str(grant.get("access_token", ""))
                if not token:
                    raise LoginFailed("token exchange gave no access token")
                headers = {"Authorization": f"Bearer {token}"}
                async with http.get(f"{self._api_base}/users/@me", headers=headers) as response:
                    if response.status != 200:
                        raise LoginFailed(f"/users/@me answered {response.status}")
                    user = await response.json()
                async with http.get(
                    f"{self._api_base}/users/@me/guilds", headers=headers
                ) as response:
                    if response.status != 200:
                        raise LoginFailed(f"/users/@me/guilds answered {response.status}")
                    guilds = await response.json()
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                raise LoginFailed(f"could not reach Discord ({type(exc).__name__})") from None
            finally:
                token = ""  # the access token goes no further than this function
        try:
            return Identity(
                user_id=int(user["id"]),
                name=str(user.get("global_name") or user.get("username") or user["id"]),
                guild_ids=tuple(int(g["id"]) for g in guilds),
            )
        except (KeyError, TypeError, ValueError):
            raise LoginFailed("Discord's answer about the user was not understood") from None
