"""The projector's event stream, read with aiohttp: the snapshot first, then a pushed update
after an award and after a confirmed session; never a name of who asked or a score; and the
stream ends with ``revoked`` when the teacher switches the link off."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import aiohttp

from bot.simulator.classroom import Classroom, text_of
from tests.e2e.dashboard.conftest import WebClass


async def next_event(stream: aiohttp.StreamReader) -> tuple[str, dict[str, Any]]:
    """The next named event of a server-sent event stream (comments skipped)."""
    name, data = "", ""
    while True:
        line = (await asyncio.wait_for(stream.readline(), 10)).decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and name:
            return name, json.loads(data)


async def test_stream_pushes_changes_and_ends_when_revoked(web: WebClass) -> None:
    room = web.room
    reply = await room.slash(room.teacher, "dashboard projector")
    match = re.search(r"/projector/([\w-]+)>", text_of(reply))
    assert match, text_of(reply)
    events = f"{web.url}/projector/{match[1]}/events"
    async with aiohttp.ClientSession() as http, http.get(events) as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        name, first = await next_event(response.content)
        assert name == "update"
        assert first == {
            "available": [{"name": "Alice", "subjects": "Math"}],
            "awards": [],
            "confirmed": 0,
            "gains": None,
            "goal": None,
            "waiting": 0,
        }
        await room.slash(room.dan, "helpme ask", subject="English")  # no English mentor
        name, waiting = await next_event(response.content)
        assert waiting["waiting"] == 1
        assert "Dan" not in json.dumps(waiting), "never who asked"
        await web.confirmed_session(room.alice, room.bob)
        seen: list[
            dict[str, Any]
        ] = []  # asked, accepted, confirmed: one event per change the class can see
        while not seen or seen[-1]["confirmed"] == 0:
            seen.append((await next_event(response.content))[1])
            assert len(seen) <= 4, seen
        assert seen[-1]["waiting"] == 1 and seen[-1]["confirmed"] == 1
        assert all("Bob" not in json.dumps(data) for data in seen)
        await room.slash(room.teacher, "dashboard projector", action="revoke")
        name, _ = await next_event(response.content)
        assert name == "revoked"
    async with aiohttp.ClientSession() as http, http.get(events) as response:
        assert response.status == 403


async def test_projector_page_needs_a_live_link(web: WebClass) -> None:
    async with aiohttp.ClientSession() as http:
        for token in ("forged", "a" * 200):
            async with http.get(f"{web.url}/projector/{token}") as response:
                assert response.status == 403


async def test_projector_link_needs_a_teacher(web: WebClass) -> None:
    refused = await web.room.slash(web.room.bob, "dashboard projector")
    assert "teacher" in text_of(refused).lower()
    link = await web.room.slash(web.room.bob, "dashboard link")
    assert f"/class/{web.room.guild.id}/me>" in text_of(link)
    link = await web.room.slash(web.room.teacher, "dashboard link")
    assert f"/class/{web.room.guild.id}>" in text_of(link)


async def test_commands_say_when_the_dashboard_is_off(classroom: Classroom) -> None:
    for user, command in (
        (classroom.alice, "dashboard link"),
        (classroom.teacher, "dashboard projector"),
    ):
        reply = await classroom.slash(user, command)
        assert "not switched on" in text_of(reply)
