"""The gateway websocket: HELLO, heartbeats, IDENTIFY/READY, RESUME with replay, dispatches.

Sharding works as on Discord: an IDENTIFY with ``shard: [shard_id, shard_count]`` opens a session
that gets only the guilds with ``(guild_id >> 22) % shard_count == shard_id`` (READY,
GUILD_CREATE) and only their events (interactions included); DMs go to shard 0. Any number of
sessions may be open at once, also two for the same shard (a rolling restart).

Frames are plain text JSON: discord.py asks for ``compress=zlib-stream`` but only inflates
binary frames, so text frames are always understood.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bot.simulator import payloads
from bot.simulator.state import World

log = logging.getLogger(__name__)

JSON = dict[str, Any]

# Opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes)
DISPATCH, HEARTBEAT, IDENTIFY, RESUME, REQUEST_MEMBERS = 0, 1, 2, 6, 8
INVALID_SESSION, HELLO, HEARTBEAT_ACK = 9, 10, 11
INVALID_SHARD = 4010

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
PRIVILEGED = {
    "members": GUILD_MEMBERS,
    "presences": GUILD_PRESENCES,
    "message_content": MESSAGE_CONTENT,
}

HEARTBEAT_INTERVAL_MS = 41250
REPLAY_LIMIT = 2000

_GUILD_EVENTS = (
    "GUILD_CREATE",
    "GUILD_UPDATE",
    "GUILD_DELETE",
    "GUILD_ROLE_CREATE",
    "GUILD_ROLE_UPDATE",
    "GUILD_ROLE_DELETE",
    "CHANNEL_CREATE",
    "CHANNEL_UPDATE",
    "CHANNEL_DELETE",
    "THREAD_CREATE",
    "THREAD_UPDATE",
    "THREAD_DELETE",
    "THREAD_MEMBERS_UPDATE",
    "THREAD_MEMBER_UPDATE",
)
_MEMBER_EVENTS = ("GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE")
_MESSAGE_EVENTS = ("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE")


def shard_for(guild_id: int, shard_count: int) -> int:
    """The shard Discord routes a guild's events to."""
    return (guild_id >> 22) % shard_count


@dataclass(eq=False)
class Session:
    """One identified bot session; it outlives a dropped socket so RESUME can replay."""

    session_id: str
    intents: int
    shard: tuple[int, int] | None = None  # (shard_id, shard_count); None: unsharded
    seq: int = 0
    log: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=REPLAY_LIMIT))
    queue: asyncio.Queue[str | None] | None = None
    alive: bool = True

    def serves(self, guild_id: int | None) -> bool:
        """Whether this session gets a guild's events (``None``: DMs, which go to shard 0)."""
        if self.shard is None:
            return True
        shard_id, shard_count = self.shard
        if guild_id is None:
            return shard_id == 0
        return shard_for(guild_id, shard_count) == shard_id

    @property
    def connected(self) -> bool:
        """Whether a socket is attached right now."""
        return self.alive and self.queue is not None

    def wants(self, event: str, data: JSON, bot_id: int) -> JSON | None:
        """The payload this session gets for an event, or None if its intents exclude it."""
        if event in _GUILD_EVENTS and not self.intents & GUILDS:
            return None
        if event in _MEMBER_EVENTS and not self.intents & GUILD_MEMBERS:
            return None
        if event in _MESSAGE_EVENTS:
            in_guild = "guild_id" in data
            if not self.intents & (GUILD_MESSAGES if in_guild else DIRECT_MESSAGES):
                return None
            if event != "MESSAGE_DELETE" and in_guild and not self.intents & MESSAGE_CONTENT:
                author = int(data.get("author", {}).get("id", 0))
                mentioned = any(int(u["id"]) == bot_id for u in data.get("mentions", []))
                if author != bot_id and not mentioned:
                    return payloads.strip_content(data)
        if event == "GUILD_CREATE" and not self.intents & GUILD_MEMBERS:
            # Without the members intent Discord only includes the bot itself.
            members = [m for m in data.get("members", []) if int(m["user"]["id"]) == bot_id]
            return {**data, "members": members}
        return data

    def push(self, event: str, data: JSON) -> None:
        """Number, remember and (if connected) send a dispatch."""
        self.seq += 1
        frame = json.dumps({"op": DISPATCH, "t": event, "s": self.seq, "d": data})
        self.log.append((self.seq, frame))
        if self.queue is not None:
            self.queue.put_nowait(frame)


class Gateway:
    """Serves the websocket and fans World events out to the live sessions."""

    def __init__(
        self,
        world: World,
        *,
        token: str,
        privileged_intents: int,
        app_flags: int,
        url: Callable[[], str],
    ) -> None:
        self.world = world
        self.token = token
        self.privileged_intents = privileged_intents
        self.app_flags = app_flags
        self._url = url
        self.sessions: dict[str, Session] = {}
        self.identify_count = 0
        self.resume_count = 0
        self.received: list[JSON] = []
        self._sockets: set[web.WebSocketResponse] = set()
        self._transports: dict[web.WebSocketResponse, asyncio.Transport | None] = {}
        self._ready = asyncio.Event()
        world.sinks.append(self.dispatch)

    # -- fan-out -------------------------------------------------------------------------------
    def dispatch(self, event: str, data: JSON, guild_id: int | None) -> None:
        """World sink: send an event to every live session that serves its guild and wants it."""
        for session in list(self.sessions.values()):
            if not session.alive or not session.serves(guild_id):
                continue
            shaped = session.wants(event, data, self.world.bot_user.id)
            if shaped is not None:
                session.push(event, shaped)

    @property
    def connected(self) -> bool:
        """Whether some session currently has a socket (after READY or RESUMED)."""
        return self._ready.is_set()

    def serving(self, guild_id: int | None) -> list[Session]:
        """The connected sessions that get this guild's events (its shard's, or unsharded)."""
        return [s for s in self.sessions.values() if s.connected and s.serves(guild_id)]

    def connected_shards(self) -> dict[int, int]:
        """Connected sharded sessions per shard id (two during a rolling restart)."""
        counts: dict[int, int] = {}
        for session in self.sessions.values():
            if session.connected and session.shard is not None:
                counts[session.shard[0]] = counts.get(session.shard[0], 0) + 1
        return counts

    async def wait_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - the deadline is part of the error
        """Wait until a bot session is connected (READY or RESUMED sent)."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def drop(self) -> None:
        """Cut every socket without a close frame, as a network failure would."""
        self._ready.clear()
        for ws in list(self._sockets):
            transport = self._transports.get(ws)
            if transport is not None:
                transport.abort()
            else:  # pragma: no cover - aiohttp always gives a transport
                await ws.close(code=4000)

    async def close_all(self) -> None:
        """Close every socket (simulator shutdown)."""
        for ws in list(self._sockets):
            await ws.close(code=1001)

    # -- one connection ------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """aiohttp handler for the gateway URL."""
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        self._sockets.add(ws)
        self._transports[ws] = request.transport
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        writer = asyncio.create_task(self._writer(ws, queue))
        session: Session | None = None
        queue.put_nowait(
            json.dumps({"op": HELLO, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
        )
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                self.received.append(frame)
                op = frame.get("op")
                if op == HEARTBEAT:
                    queue.put_nowait(json.dumps({"op": HEARTBEAT_ACK}))
                elif op == IDENTIFY:
                    session = await self._identify(ws, queue, frame.get("d") or {})
                elif op == RESUME:
                    session = await self._resume(ws, queue, frame.get("d") or {})
                elif op == REQUEST_MEMBERS and session is not None:
                    self._request_members(session, frame.get("d") or {})
        finally:
            self._sockets.discard(ws)
            self._transports.pop(ws, None)
            if session is not None and session.queue is queue:
                session.queue = None
                # A clean close (1000/1001) ends the session; anything else may be resumed.
                if ws.close_code in (1000, 1001):
                    session.alive = False
                    self.sessions.pop(session.session_id, None)
            if not any(s.queue is not None for s in self.sessions.values()):
                self._ready.clear()
            queue.put_nowait(None)
            with contextlib.suppress(Exception):
                await writer
        return ws

    async def _writer(self, ws: web.WebSocketResponse, queue: asyncio.Queue[str | None]) -> None:
        # One writer per socket keeps frames in order without awaiting inside World events.
        while (frame := await queue.get()) is not None:
            if ws.closed:
                return
            try:
                await ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return

    async def _identify(
        self, ws: web.WebSocketResponse, queue: asyncio.Queue[str | None], data: JSON
    ) -> Session | None:
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        intents = int(data.get("intents", 0))
        missing = intents & sum(PRIVILEGED.values()) & ~self.privileged_intents
        if missing:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return None
        try:
            shard = parse_shard(data.get("shard"))
        except ValueError:
            await ws.close(code=INVALID_SHARD, message=b"Invalid shard.")
            return None
        self.identify_count += 1
        session = Session(session_id=secrets.token_hex(16), intents=intents, shard=shard)
        self.sessions[session.session_id] = session
        session.queue = queue
        bot = self.world.bot_user
        ready: JSON = {
            "v": 10,
            "user": {**payloads.user(bot), "verified": True, "mfa_enabled": False, "email": None},
            "guilds": [
                {"id": str(g.id), "unavailable": True}
                for g in self.world.guilds.values()
                if g.bot_member and session.serves(g.id)
            ],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self._url(),
            "application": {"id": str(self.world.application_id), "flags": self.app_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "geo_ordered_rtc_regions": [],
            "guild_join_requests": [],
            "user_settings": {},
            "auth": {},
        }
        if session.shard is not None:
            ready["shard"] = list(session.shard)
        session.push("READY", ready)
        for guild in self.world.guilds.values():
            if guild.bot_member and session.serves(guild.id):
                shaped = session.wants(
                    "GUILD_CREATE", payloads.guild_create(self.world, guild), bot.id
                )
                if shaped is not None:
                    session.push("GUILD_CREATE", shaped)
        self._ready.set()
        return session

    async def _resume(
        self, ws: web.WebSocketResponse, queue: asyncio.Queue[str | None], data: JSON
    ) -> Session | None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or not session.alive or data.get("token") != self.token:
            queue.put_nowait(json.dumps({"op": INVALID_SESSION, "d": False}))
            return None
        self.resume_count += 1
        last_seen = int(data.get("seq") or 0)
        for seq, frame in session.log:
            if seq > last_seen:
                queue.put_nowait(frame)
        session.queue = queue
        session.push("RESUMED", {})
        self._ready.set()
        return session

    def _request_members(self, session: Session, data: JSON) -> None:
        guild = self.world.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        members = list(guild.members.values())
        user_ids = data.get("user_ids")
        if user_ids:
            wanted = {int(u) for u in user_ids}
            members = [m for m in members if m.user.id in wanted]
        query = data.get("query")
        if query:
            members = [m for m in members if m.user.name.lower().startswith(str(query).lower())]
        chunk: JSON = {
            "guild_id": str(guild.id),
            "members": [payloads.member(guild, m) for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        session.push("GUILD_MEMBERS_CHUNK", chunk)


def parse_shard(value: object) -> tuple[int, int] | None:
    """IDENTIFY's ``shard`` as ``(id, count)``, ``None`` when absent; ValueError when invalid."""
    if value is None:
        return None
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"shard must be [shard_id, shard_count], got {value!r}")
    shard_id, shard_count = value
    if shard_count < 1 or not 0 <= shard_id < shard_count:
        raise ValueError(f"shard {shard_id} is not one of {shard_count} shards")
    return (shard_id, shard_count)
