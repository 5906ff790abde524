"""The operator's endpoint: /healthz and /metrics of a running bot (`[ops] http_port`)."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.admission import BurstLimiter
from bot.clock import ManualClock
from bot.config import Config, ConfigError, OpsConfig
from bot.ops import OpsServer
from bot.simulator import DiscordSimulator
from bot.simulator.classroom import TOKEN, Classroom
from bot.simulator.processes import BotProcess


@pytest.fixture
async def ops(classroom: Classroom) -> AsyncIterator[OpsServer]:
    """The endpoint of the class's bot on a free loopback port."""
    assert classroom.bot is not None
    server = OpsServer(classroom.bot, "127.0.0.1", 0)
    await server.start()
    yield server
    await server.stop()


async def get(server: OpsServer | int, path: str) -> tuple[int, str, str]:
    port = server if isinstance(server, int) else server.port
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, response.headers["Content-Type"], await response.text()


def sample(text: str, name: str, **labels: str) -> float:
    """One sample's value from the Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(name + (f"{{{wanted}}}" if labels else "")) + r" (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_healthz_is_ok_while_connected_and_503_once_the_bot_is_gone(
    classroom: Classroom, ops: OpsServer
) -> None:
    status, content_type, body = await get(ops, "/healthz")
    assert status == 200 and content_type.startswith("application/json")
    assert '"gateway": {"0": true}' in body and '"database": "ok"' in body
    await classroom.stop()
    status, _, body = await get(ops, "/healthz")
    assert status == 503
    assert '"status": "unhealthy"' in body and '"0": false' in body


async def test_metrics_count_interactions_failures_latency_requests_and_429s(
    classroom: Classroom, ops: OpsServer
) -> None:
    room = classroom
    await room.slash(room.teacher, "award give", student=room.alice, kind="gold_star")
    await room.slash(room.alice, "award give", student=room.bob, kind="gold_star")  # refused
    await room.slash(room.carol, "helpme ask", subject="Math")  # no mentor yet: queued
    # Discord says 429 to the shout-out post once; discord.py waits and retries.
    room.sim.fail_next("POST /channels/{channel_id}/messages", 429)
    await room.slash(room.teacher, "award give", student=room.bob, kind="effort", points=2)
    await room.sim.settle()

    status, content_type, text = await get(ops, "/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    assert sample(text, "classmentor_interactions_total", command="award give") == 3
    assert sample(text, "classmentor_interactions_total", command="helpme ask") == 1
    failures = "classmentor_interaction_failures_total"
    assert sample(text, failures, command="award give", outcome="user_error") == 1
    assert sample(text, failures, command="helpme ask", outcome="user_error") == 0
    # Every answer counted once in the acknowledgement histogram (set-up commands included).
    acked = sample(text, "classmentor_ack_latency_seconds_count")
    assert acked >= 4
    assert sample(text, "classmentor_ack_latency_seconds_bucket", le="+Inf") == acked
    assert sample(text, "classmentor_help_queue_length") == 1
    assert sample(text, "classmentor_help_requests_open", state="queued") == 1
    assert sample(text, "classmentor_help_requests_open", state="active") == 0
    assert sample(text, "classmentor_discord_rate_limited_total", scope="user") == 1
    assert sample(text, "classmentor_gateway_connected", shard="0") == 1
    assert sample(text, "classmentor_database_up") == 1


async def test_a_burst_refusal_is_counted_as_refused(classroom: Classroom, ops: OpsServer) -> None:
    assert classroom.bot is not None
    classroom.bot.tree.burst = BurstLimiter(1, 3600.0)  # one action per person, for this test
    await classroom.slash(classroom.alice, "leaderboard")
    refused = await classroom.slash(classroom.alice, "leaderboard")
    assert "Slow down" in (refused.content or "")
    _, _, text = await get(ops, "/metrics")
    assert sample(text, "classmentor_interactions_total", command="leaderboard") == 2
    failures = "classmentor_interaction_failures_total"
    assert sample(text, failures, command="leaderboard", outcome="refused") == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_sharded_process_reports_each_of_its_shards(
    sim: DiscordSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    database = tmp_path / "classmentor.db"
    for n in range(2):
        Classroom.create(sim, clock=clock, database=database, name=f"C{n}", shard=(n, 2))
    port = free_port()
    process = BotProcess(
        sim,
        clock,
        database,
        TOKEN,
        shard_count=2,
        shard_ids=(0, 1),
        base_config=Config(ops=OpsConfig(http_port=port)),
    )
    await process.start()
    try:
        status, _, body = await get(port, "/healthz")
        assert status == 200
        assert '"gateway": {"0": true, "1": true}' in body
        assert '"shards": "shards 0-1 of 2"' in body
    finally:
        await process.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        await get(port, "/healthz")  # the endpoint closes with the bot


async def test_a_taken_port_is_a_clear_config_error(classroom: Classroom, ops: OpsServer) -> None:
    assert classroom.bot is not None
    second = OpsServer(classroom.bot, "127.0.0.1", ops.port)
    with pytest.raises(
        ConfigError, match=rf"^ops.http_port: cannot listen on 127.0.0.1:{ops.port}"
    ):
        await second.start()
