"""Who sees what, through aiohttp's client against the running dashboard (no browser): the
Discord log-in, the permission matrix, CSRF, the Content-Security-Policy and the log-in limit."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from bot.clock import ManualClock
from bot.config import ConfigError
from bot.simulator import SimUser, point_discord_at
from bot.simulator.ratelimit import RateLimiter
from bot.web.server import WebDashboard
from tests.conftest import START
from tests.e2e.conftest import simulated_discord
from tests.e2e.dashboard.conftest import WebClass, web_class, without_tokens

TEACHER_PAGES = (
    "",
    "/mentors",
    "/insights",
    "/awards",
    "/roster",
    "/downloads",
    "/settings",
    "/downloads/gradebook.csv",
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def class_after_a_session(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[WebClass]:
    """One class for this module's tests that only read (~0.1 s of CPU less per test): the
    ``web`` class after one confirmed help session (Alice helped Bob in Math)."""
    async with (
        simulated_discord() as sim,
        web_class(sim, tmp_path_factory.mktemp("web"), ManualClock(START)) as driver,
    ):
        await driver.confirmed_session(driver.room.alice, driver.room.bob)
        await driver.stop_dashboard()
        yield driver


@pytest_asyncio.fixture(loop_scope="module")
async def read_only_web(class_after_a_session: WebClass) -> AsyncIterator[WebClass]:
    """The shared class with a dashboard of its own for this test (its own sessions and log-in
    limit). Tests using it change nothing the class's bot, store or simulator keeps, so each
    still sees the class as the fixture left it."""
    driver = class_after_a_session
    sim = driver.room.sim
    point_discord_at(sim)  # another module's test may have pointed it elsewhere
    # Discord's rate-limit windows start afresh, as for a test with a simulator of its own (a
    # new dashboard looks members up again: the tests together would go over a window).
    sim.api.limiter = RateLimiter(sim.api.limiter.limits, enabled=sim.api.limiter.enabled)
    await driver.start_dashboard()
    yield driver
    await driver.stop_dashboard()


# Tests that run in the module's event loop, where the shared class runs.
reads_only = pytest.mark.asyncio(loop_scope="module")


async def logged_in(web: WebClass, user: SimUser | None) -> aiohttp.ClientSession:
    """A browser-like session that went through the Discord log-in as ``user``."""
    web.log_in_as(user)
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{web.url}/login") as response:
        assert response.status == 200, await response.text()
    return http


async def test_logging_in_uses_the_token_once_and_keeps_it_nowhere(web: WebClass) -> None:
    http = await logged_in(web, web.room.teacher)
    async with http:
        async with http.get(web.url + "/") as response:
            text = await response.text()
        assert "Class 7B" in text and "(teacher)" in text
        cookie = next(iter(http.cookie_jar)).value
    oauth = web.room.sim.oauth
    assert oauth.exchanges == 1 and oauth.bearer_calls == 2  # @me and @me/guilds, once each
    # The session cookie is encrypted: neither the user id nor anything readable is in it.
    assert str(web.room.teacher.id) not in cookie and "user_id" not in cookie


@reads_only
@pytest.mark.parametrize("path", TEACHER_PAGES)
async def test_teacher_sees_every_class_page(read_only_web: WebClass, path: str) -> None:
    web = read_only_web  # after a confirmed session: every page has something to show
    async with (
        await logged_in(web, web.room.teacher) as http,
        http.get(web.class_url + path) as response,
    ):
        assert response.status == 200, await response.text()


@reads_only
async def test_server_manager_counts_as_teacher(read_only_web: WebClass) -> None:
    web = read_only_web
    async with await logged_in(web, web.room.owner) as http, http.get(web.class_url) as response:
        assert response.status == 200


@reads_only
@pytest.mark.parametrize("path", [*TEACHER_PAGES, "/downloads/letters.zip"])
async def test_student_gets_403_on_every_class_page(read_only_web: WebClass, path: str) -> None:
    web = read_only_web
    async with await logged_in(web, web.room.bob) as http:
        async with http.get(web.class_url + path) as response:
            assert response.status == 403
            text = await response.text()
        assert "Class 7B" not in without_tokens(text) and "Alice" not in without_tokens(text)


async def test_student_sees_only_their_own_page(web: WebClass) -> None:
    await web.confirmed_session(web.room.alice, web.room.bob)
    async with await logged_in(web, web.room.bob) as http:
        async with http.get(web.class_url + "/me") as response:
            assert response.status == 200
            text = await response.text()
        assert "help sessions received" in text and "Bob" in text
        assert "Alice" not in without_tokens(text)  # who helped them is not on the page
    async with await logged_in(web, web.room.alice) as http:
        async with http.get(web.class_url + "/me") as response:
            text = await response.text()
        assert re.search(r'class="number">1</span> <span class="label">help sessions given', text)


async def test_outsider_and_forged_urls_get_403(web: WebClass) -> None:
    stranger = web.room.sim.create_user("Stranger")
    async with await logged_in(web, stranger) as http:
        for path in ("", "/me", "/roster"):
            async with http.get(web.class_url + path) as response:
                assert response.status == 403
    async with await logged_in(web, web.room.teacher) as http:
        for url in (
            f"{web.url}/class/12345/roster",
            f"{web.url}/class/not-a-number",
            f"{web.url}/class/{web.room.guild.id}9",
        ):
            async with http.get(url) as response:
                assert response.status == 403, url


async def test_losing_the_teacher_role_takes_effect_on_the_next_request(web: WebClass) -> None:
    async with await logged_in(web, web.room.teacher) as http:
        async with http.get(web.class_url + "/roster") as response:
            assert response.status == 200
        member = web.room.guild.member(web.room.teacher)
        assert member is not None
        member.roles.remove(web.room.teacher_role.id)
        async with http.get(web.class_url + "/roster") as response:
            assert response.status == 403


@reads_only
async def test_not_logged_in_gets_the_login_page(read_only_web: WebClass) -> None:
    web = read_only_web
    async with aiohttp.ClientSession() as http, http.get(web.class_url) as response:
        assert response.status == 401
        assert "Log in with Discord" in await response.text()


@reads_only
async def test_tampered_cookie_is_rejected(read_only_web: WebClass) -> None:
    web = read_only_web
    async with await logged_in(web, web.room.teacher) as http:
        (cookie,) = list(http.cookie_jar)
        value = cookie.value
        forged = value[:-6] + ("AAAAAA" if not value.endswith("AAAAAA") else "BBBBBB")
        http.cookie_jar.clear()
        http.cookie_jar.update_cookies({cookie.key: forged})
        async with http.get(web.class_url) as response:
            assert response.status == 401


@reads_only
async def test_state_must_match_on_return_from_discord(read_only_web: WebClass) -> None:
    web = read_only_web
    web.log_in_as(web.room.teacher)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{web.url}/login", allow_redirects=False) as response:
            authorize = response.headers["Location"]
        async with http.get(authorize, allow_redirects=False) as response:
            back = response.headers["Location"]
        forged = re.sub(r"state=[^&]+", "state=forged", back)
        async with http.get(forged) as response:
            assert response.status == 403
        async with http.get(web.class_url) as response:
            assert response.status == 401, "no session was started"


async def test_forms_without_the_csrf_token_are_refused(web: WebClass) -> None:
    await web.confirmed_session(web.room.alice, web.room.bob)
    async with await logged_in(web, web.room.bob) as http:
        for data in ({}, {"csrf_token": "guessed"}):
            async with http.post(web.class_url + "/me/delete/confirm", data=data) as response:
                assert response.status == 403
        async with http.get(web.class_url + "/me") as response:
            assert "help sessions received" in await response.text(), "nothing was deleted"
        async with http.get(web.class_url + "/me") as response:
            token = re.search(r'name="csrf_token" value="([^"]+)"', await response.text())
        assert token is not None
        async with http.post(
            web.class_url + "/me/delete", data={"csrf_token": token[1]}
        ) as response:
            assert response.status == 200 and "Yes, delete" in await response.text()
        async with http.post(
            web.class_url + "/me/delete/confirm", data={"csrf_token": token[1]}
        ) as response:
            text = await response.text()
            assert response.status == 200 and "Deleted your data" in text


@reads_only
async def test_every_answer_carries_the_security_headers(read_only_web: WebClass) -> None:
    web = read_only_web
    async with await logged_in(web, web.room.teacher) as http:
        for url in (
            web.url + "/",
            web.class_url,
            f"{web.url}/class/1",
            f"{web.url}/static/style.css",
        ):
            async with http.get(url) as response:
                csp = response.headers.get("Content-Security-Policy", "")
                assert "default-src 'none'" in csp and "script-src 'self'" in csp, url
                assert "frame-ancestors 'none'" in csp
                assert response.headers["X-Content-Type-Options"] == "nosniff"


@reads_only
async def test_session_cookie_flags(read_only_web: WebClass) -> None:
    web = read_only_web
    web.log_in_as(web.room.teacher)
    jar = aiohttp.CookieJar(unsafe=True)
    async with (
        aiohttp.ClientSession(cookie_jar=jar) as http,
        http.get(f"{web.url}/login", allow_redirects=False) as response,
    ):
        header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Max-Age=43200" in header
    assert "Secure" not in header  # plain http here; https public_url turns it on


async def test_login_attempts_are_rate_limited(web: WebClass) -> None:
    web.log_in_as(web.room.teacher)
    statuses = []
    async with aiohttp.ClientSession() as http:
        for _ in range(12):
            async with http.get(f"{web.url}/login", allow_redirects=False) as response:
                statuses.append(response.status)
                retry_after = response.headers.get("Retry-After")
    assert statuses[:10] == [302] * 10 and statuses[10:] == [429, 429]
    assert retry_after is not None and int(retry_after) >= 1


async def test_teacher_downloads_are_the_real_files(web: WebClass) -> None:
    await web.confirmed_session(web.room.alice, web.room.bob)
    async with await logged_in(web, web.room.teacher) as http:
        async with http.get(web.class_url + "/downloads/gradebook.csv?period=all_time") as r:
            csv_text = await r.text()
            assert r.headers["Content-Disposition"].startswith("attachment")
        assert "Alice" in csv_text.splitlines()[1] or "Alice" in csv_text
        async with http.get(web.class_url + "/downloads/letters.zip?period=all_time") as r:
            assert r.status == 200 and (await r.read())[:2] == b"PK"
        async with http.get(
            web.class_url + f"/downloads/privacy.json?student={web.room.bob.id}"
        ) as r:
            document = await r.json(content_type=None)
        assert document["you"]["user_id"] == str(web.room.bob.id)


@reads_only
async def test_a_taken_port_stops_start_up_with_a_clear_message(read_only_web: WebClass) -> None:
    web = read_only_web
    assert web.room.bot is not None
    second = WebDashboard(web.config, web.secrets, web.room.bot, client_id=1)
    with pytest.raises(ConfigError, match=r"web\.port: cannot listen"):
        await second.start()


async def test_insights_show_what_insights_says_per_subject(web: WebClass) -> None:
    await web.confirmed_session(web.room.alice, web.room.bob)
    http = await logged_in(web, web.room.teacher)
    async with http, http.get(web.class_url + "/insights?period=this_week") as response:
        page = await response.text()
    assert "<h2>Math, this week</h2>" in page
    assert "1 requests" in page and "fractions (1)" in page
    assert "Bob" not in without_tokens(page)  # nobody who asked is named
