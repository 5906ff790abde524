"""The simulated Discord's OAuth2 endpoints behave as Discord's do for an authorization-code
log-in: the authorize redirect, the token exchange, and ``/users/@me`` (+ guilds) with Bearer."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest

from bot.simulator import DiscordSimulator

REDIRECT = "http://127.0.0.1:9/login/callback"


@pytest.fixture
async def sim() -> AsyncIterator[DiscordSimulator]:
    """A simulator on loopback (each test adds its people and servers)."""
    async with DiscordSimulator() as simulator:
        yield simulator


async def authorize(
    sim: DiscordSimulator, http: aiohttp.ClientSession, **query: str
) -> dict[str, list[str]]:
    params = {
        "response_type": "code",
        "client_id": str(sim.oauth.client_id),
        "scope": "identify guilds",
        "state": "s1",
        "redirect_uri": REDIRECT,
        **query,
    }
    async with http.get(
        f"{sim.url}/oauth2/authorize?{urlencode(params)}", allow_redirects=False
    ) as response:
        assert response.status == 302
        location = response.headers["Location"]
    assert location.startswith(REDIRECT)
    return parse_qs(urlsplit(location).query)


async def exchange(
    sim: DiscordSimulator, http: aiohttp.ClientSession, code: str, secret: str | None = None
) -> aiohttp.ClientResponse:
    pair = f"{sim.oauth.client_id}:{secret or sim.oauth.client_secret}".encode()
    return await http.post(
        f"{sim.url}/api/v10/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        headers={"Authorization": "Basic " + base64.b64encode(pair).decode()},
    )


async def test_login_flow_gives_the_user_and_their_servers(sim: DiscordSimulator) -> None:
    teacher = sim.create_user("Ms Rivera")
    guild = sim.create_guild("Class 7B", owner=teacher)
    sim.create_guild("Other", owner=sim.create_user("Someone"))
    sim.oauth.approve_as = teacher
    async with aiohttp.ClientSession() as http:
        back = await authorize(sim, http)
        assert back["state"] == ["s1"]
        response = await exchange(sim, http, back["code"][0])
        grant = await response.json()
        assert grant["token_type"] == "Bearer" and grant["scope"] == "guilds identify"
        bearer = {"Authorization": f"Bearer {grant['access_token']}"}
        async with http.get(f"{sim.url}/api/v10/users/@me", headers=bearer) as me:
            assert (await me.json())["id"] == str(teacher.id)
        async with http.get(f"{sim.url}/api/v10/users/@me/guilds", headers=bearer) as guilds:
            found = await guilds.json()
        assert [g["id"] for g in found] == [str(guild.id)] and found[0]["owner"] is True
        # A code works once.
        again = await exchange(sim, http, back["code"][0])
        assert again.status == 400 and (await again.json())["error"] == "invalid_grant"


async def test_refusals(sim: DiscordSimulator) -> None:
    async with aiohttp.ClientSession() as http:
        sim.oauth.approve_as = None
        assert (await authorize(sim, http))["error"] == ["access_denied"]
        sim.oauth.approve_as = sim.create_user("Bob")
        assert (await authorize(sim, http, scope="bot"))["error"] == ["invalid_scope"]
        code = (await authorize(sim, http))["code"][0]
        wrong = await exchange(sim, http, code, secret="not-the-secret")
        assert wrong.status == 401
        async with http.get(
            f"{sim.url}/api/v10/users/@me", headers={"Authorization": "Bearer forged"}
        ) as me:
            assert me.status == 401
