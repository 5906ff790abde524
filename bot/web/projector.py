"""The classroom projector view: a read-only page behind a revocable secret link, updated live.

It shows only what the class may see: confirmed sessions this week, how many are waiting (never
who), mentors available now (as `/mentors` shows them). Updates arrive as server-sent events; the
browser's EventSource reconnects by itself after a restart of the bot.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from bot.web.access import Dashboard, parts, refuse, render
from bot.web.gains import projector_chart, projector_gains
from bot.web.goal import goal_meter
from bot.web.live import KEEPALIVE, Screen
from bot.web.render import AWARD_TITLES
from bot.web.security import SECURITY_HEADERS

KEEPALIVE_S = 15.0
RETRY_MS = 2000


async def snapshot(dash: Dashboard, guild_id: int) -> dict[str, Any]:
    """What the projector shows for a class, as plain data (also the SSE payload)."""
    view = await dash.services.dashboard.projector(guild_id)
    names = await dash.members.display_names(
        guild_id, [*view.available, *(a.user_id for a in view.awards)]
    )
    available = sorted(
        (
            {"name": names[uid], "subjects": ", ".join(subjects)}
            for uid, subjects in view.available.items()
            if uid in names
        ),
        key=lambda m: m["name"].casefold(),
    )
    return {
        "confirmed": view.confirmed_this_week,
        "waiting": view.waiting,
        "available": available,
        "gains": await projector_gains(dash, guild_id),
        "goal": await goal_meter(dash, guild_id),
        "awards": [
            {
                "name": names[award.user_id],
                "title": AWARD_TITLES[award.kind.value],
                "reason": award.reason,
            }
            for award in view.awards
            if award.user_id in names
        ],
    }


async def _guild_of(request: web.Request) -> int | None:
    return await parts(request).services.dashboard.projector_class(
        request.match_info.get("token", "")
    )


async def projector_page(request: web.Request) -> web.Response:
    """The page itself, filled in on the server (it works before any script runs)."""
    guild_id = await _guild_of(request)
    if guild_id is None:
        return await refuse(request)
    dash = parts(request)
    return await render(
        request,
        "projector.html",
        class_name=dash.members.class_name(guild_id) or "Our class",
        data=await snapshot(dash, guild_id),
        events_url=f"/projector/{request.match_info['token']}/events",
        chart_base=f"/projector/{request.match_info['token']}/gains.png",
    )


async def projector_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the snapshot now, then each change; ends when the link is revoked."""
    guild_id = await _guild_of(request)
    if guild_id is None:
        return await refuse(request)
    dash = parts(request)
    token = request.match_info["token"]
    response = web.StreamResponse(
        headers={
            **SECURITY_HEADERS,
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # nginx: pass events on at once
        }
    )
    await response.prepare(request)
    await response.write(f"retry: {RETRY_MS}\n\n".encode())
    transport = request.transport

    def buffered() -> int | None:
        if transport is None or transport.is_closing():
            return None
        return transport.get_write_buffer_size()

    screen = Screen(response.write, buffered)
    async with dash.hub.listen(token, guild_id, screen):
        while not screen.ended.is_set():
            try:
                await asyncio.wait_for(screen.ended.wait(), KEEPALIVE_S)
            except TimeoutError:
                await screen.send(KEEPALIVE)
    return response


async def projector_gains_chart(request: web.Request) -> web.StreamResponse:
    """The public gains chart (gains only, improvers only)."""
    guild_id = await _guild_of(request)
    if guild_id is None:
        return await refuse(request)
    return await projector_chart(parts(request), guild_id)


def routes() -> list[web.RouteDef]:
    """The projector's routes."""
    return [
        web.get("/projector/{token}", projector_page),
        web.get("/projector/{token}/events", projector_events),
        web.get("/projector/{token}/gains.png", projector_gains_chart),
    ]
