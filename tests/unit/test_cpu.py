"""``[ops] cpu``: the bot's threads on one CPU (a free, quiet one by default, or the operator's),
its chart worker on them all, and a bot moved off a CPU that other work crowds."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import discord
import pytest

import bot.cpu
from bot.cli import main
from bot.config import ConfigError, load_config
from bot.cpu import allowed_before_pin, can_pin, claim_cpu
from bot.cpu_keeper import Sample, quieter_cpu

pytestmark = pytest.mark.skipif(not can_pin(), reason="CPU affinity is Linux-only")

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.fake-token-for-tests"


def config_with(tmp_path: Path, ops: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///class.db"\n\n[ops]\n{ops}\n')
    return config


def test_the_bot_picks_its_cpu_unless_told_a_cpu_or_off(tmp_path: Path) -> None:
    assert load_config(config_with(tmp_path, "http_port = 0")).ops.cpu == "auto"
    assert load_config(config_with(tmp_path, 'cpu = "auto"')).ops.cpu == "auto"
    assert load_config(config_with(tmp_path, 'cpu = "off"')).ops.cpu == "off"
    assert load_config(config_with(tmp_path, "cpu = 1")).ops.cpu == 1


@pytest.mark.parametrize("value", ["-1", '"0"', '"fast"', "true", "1.5"])
def test_a_cpu_that_is_not_a_cpu_number_is_a_config_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r"ops\.cpu"):
        load_config(config_with(tmp_path, f"cpu = {value}"))


def test_run_refuses_a_cpu_this_process_may_not_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_with(tmp_path, "cpu = 4095")
    code = main(["run", "--config", str(config)], environ={"DISCORD_TOKEN": TOKEN})
    assert code == 2
    assert "ops.cpu: CPU 4095 is not one this process may use" in capsys.readouterr().err
    assert os.sched_getaffinity(0) != {4095}


PINNED = """
import asyncio, json, os, sys, threading
from bot.charts import ChartRenderer
from bot.cpu import pin_to_cpu
from db.database import Database

os.sched_setaffinity(0, json.loads(sys.argv[2]))  # what a bot process starts with
allowed = sorted(os.sched_getaffinity(0))
pin_to_cpu(allowed[-1])

async def run():
    db = await Database.open_url("sqlite:///" + sys.argv[1])
    threads = {t.name: sorted(os.sched_getaffinity(t.native_id)) for t in threading.enumerate()}
    charts = ChartRenderer()
    worker = sorted(await charts.render(os.sched_getaffinity, 0))
    await charts.close()
    await db.close()
    return threads, worker

threads, worker = asyncio.run(run())
print(json.dumps({"allowed": allowed, "threads": threads, "worker": worker}))
"""


def test_a_pinned_bot_runs_its_store_threads_on_that_cpu_and_charts_on_every_cpu(
    tmp_path: Path,
) -> None:
    # Its own process: pinning is for the rest of a process's life. It starts with every CPU
    # this test process had before the suite pinned it to one (tests/conftest.py).
    cpus = sorted(allowed_before_pin() or os.sched_getaffinity(0))
    done = subprocess.run(
        [sys.executable, "-c", PINNED, str(tmp_path / "class.db"), json.dumps(cpus)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["allowed"] == cpus
    cpu = seen["allowed"][-1]
    assert len(seen["threads"]) >= 2  # the event loop's thread and the store's
    assert all(cpus == [cpu] for cpus in seen["threads"].values()), seen
    assert seen["worker"] == seen["allowed"]


def test_a_cpu_claimed_by_one_process_is_not_claimed_by_another(tmp_path: Path) -> None:
    # flock locks belong to an open file, so two claims in one process contend like two bots.
    first = claim_cpu([0, 1], tmp_path)
    second = claim_cpu([0, 1], tmp_path)
    assert first is not None and second is not None
    assert (first.cpu, second.cpu) == (0, 1)
    assert claim_cpu([0, 1], tmp_path) is None  # every CPU taken: the OS places that bot
    first.release()
    again = claim_cpu([1, 0], tmp_path)
    assert again is not None and again.cpu == 0
    again.release()
    second.release()


HOLDER = """
import sys
from pathlib import Path
from bot.cpu import claim_cpu
claim = claim_cpu([int(sys.argv[2])], Path(sys.argv[1]))
print("held" if claim else "refused", flush=True)
sys.stdin.read()
"""


def test_a_killed_bots_cpu_is_free_again(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path), "3"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert claim_cpu([3], tmp_path) is None
    finally:
        holder.kill()  # SIGKILL: no clean-up of its own, the kernel frees the lock
        holder.wait(timeout=30)
    claim = claim_cpu([3], tmp_path)
    assert claim is not None and claim.cpu == 3
    claim.release()


def sample_at(at: float, own_cpu_s: float, busy: dict[int, int]) -> Sample:
    """A look at the CPUs ``at`` seconds in: ``busy`` jiffies of each CPU's 100 so far."""
    return Sample(at, own_cpu_s, {cpu: (jiffies, 100 * int(at)) for cpu, jiffies in busy.items()})


def test_the_bot_moves_only_when_other_work_crowds_its_cpu_and_another_idles() -> None:
    assert quieter_cpu(0, {0: 0.9, 1: 0.05}, own_share=0.85) is None  # the bot's own work
    assert quieter_cpu(0, {0: 0.9, 1: 0.05}, own_share=0.1) == 1
    assert quieter_cpu(0, {0: 0.9, 1: 0.6, 2: 0.1, 3: 0.15}, own_share=0.1) == 2
    assert quieter_cpu(0, {0: 0.9, 1: 0.5}, own_share=0.1) is None  # nowhere quieter to go
    assert quieter_cpu(0, {0: 0.4, 1: 0.0}, own_share=0.0) is None  # not crowded enough


AUTO = """
import json, os, sys, threading
from pathlib import Path
from bot.cpu_keeper import Sample, take_a_cpu

os.sched_setaffinity(0, json.loads(sys.argv[2]))  # what a bot process starts with
lock_dir = Path(sys.argv[1])
keeper = take_a_cpu("auto", lock_dir)
threading.Thread(target=sys.stdin.readline, daemon=True).start()  # a thread of the bot's
where = lambda: sorted({c for t in os.listdir("/proc/self/task") for c in os.sched_getaffinity(int(t))})
print(json.dumps({"cpu": keeper.cpu, "threads": where()}), flush=True)
if sys.argv[3] == "crowd":
    cpu, other = keeper.cpu, [c for c in json.loads(sys.argv[2]) if c != keeper.cpu][0]
    # Other work keeps the bot's CPU 90 % busy for two looks while another CPU idles.
    looks = [Sample(t, 0.05 * t, {cpu: (90 * t, 100 * t), other: (2 * t, 100 * t)}) for t in range(3)]
    crowded = keeper.look(looks[0], looks[1], False)
    stayed = where()
    keeper.look(looks[1], looks[2], crowded)
    print(json.dumps({"first look": stayed, "cpu": keeper.cpu, "threads": where()}), flush=True)
sys.stdin.readline()
keeper.stop()
"""


def start_bot(tmp_path: Path, cpus: list[int], mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", AUTO, str(tmp_path), json.dumps(cpus), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def read_json(bot: subprocess.Popen[str]) -> dict[str, object]:
    assert bot.stdout is not None
    line = bot.stdout.readline()
    assert line, "the bot process ended early"
    found: dict[str, object] = json.loads(line)
    return found


def stop(bot: subprocess.Popen[str]) -> None:
    bot.communicate("\n\n", timeout=30)
    assert bot.returncode == 0


def every_cpu_before_the_suite_pinned_this_worker() -> list[int]:
    cpus = sorted(allowed_before_pin() or os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("choosing a CPU needs a machine with two")
    return cpus[:2]


def test_two_bots_on_one_host_each_take_a_cpu_of_their_own(tmp_path: Path) -> None:
    cpus = every_cpu_before_the_suite_pinned_this_worker()
    first = start_bot(tmp_path, cpus, "stay")
    second = None
    try:
        one = read_json(first)
        second = start_bot(tmp_path, cpus, "stay")
        two = read_json(second)
        assert one["threads"] == [one["cpu"]]  # every thread of the bot on its CPU
        assert two["threads"] == [two["cpu"]]
        assert {one["cpu"], two["cpu"]} == set(cpus)
    finally:
        for bot in (first, second):
            if bot is not None:
                stop(bot)


def test_a_bot_crowded_on_its_cpu_moves_every_thread_to_a_quiet_one(tmp_path: Path) -> None:
    cpus = every_cpu_before_the_suite_pinned_this_worker()
    bot = start_bot(tmp_path, cpus, "crowd")
    try:
        started = read_json(bot)
        moved = read_json(bot)
        assert moved["first look"] == [started["cpu"]]  # one crowded look is not enough
        assert moved["cpu"] != started["cpu"]
        assert moved["threads"] == [moved["cpu"]]
        # The CPU it left is free for another bot; the one it took is not.
        left = claim_cpu([int(str(started["cpu"]))], tmp_path)
        assert left is not None
        left.release()
        assert claim_cpu([int(str(moved["cpu"]))], tmp_path) is None
    finally:
        stop(bot)


UNCLAIMABLE = """
import json, logging, os, sys
from pathlib import Path
from bot.cpu_keeper import take_a_cpu

logging.basicConfig(level=logging.INFO, format="%(message)s")
os.sched_setaffinity(0, json.loads(sys.argv[2]))
keeper = take_a_cpu("auto", Path(sys.argv[1]))
print(json.dumps({"keeper": keeper is not None, "cpus": sorted(os.sched_getaffinity(0))}))
"""


def test_a_bot_that_cannot_claim_a_cpu_says_so_and_runs_where_the_os_puts_it(
    tmp_path: Path,
) -> None:
    cpus = every_cpu_before_the_suite_pinned_this_worker()
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    done = subprocess.run(
        [sys.executable, "-c", UNCLAIMABLE, str(not_a_directory), json.dumps(cpus)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
    )
    assert json.loads(done.stdout) == {"keeper": False, "cpus": cpus}
    assert "cannot take a CPU of its own" in done.stderr


def test_run_takes_a_cpu_of_its_own_by_default_and_gives_it_back_when_it_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cpus = every_cpu_before_the_suite_pinned_this_worker()
    worker_cpus = os.sched_getaffinity(0)
    # Discord unreachable (port 9 refuses), so `run` starts, takes its CPU and stops at once.
    monkeypatch.setattr(discord.http.Route, "BASE", "http://127.0.0.1:9/api/v10")
    monkeypatch.setattr(bot.cpu, "default_lock_dir", lambda: tmp_path)
    caplog.set_level(logging.INFO, logger="bot.cpu_keeper")
    config = config_with(tmp_path, "http_port = 0")  # ops.cpu not named: "auto"
    os.sched_setaffinity(0, cpus)  # as a bot process starts: every CPU
    try:
        code = main(["run", "--config", str(config)], environ={"DISCORD_TOKEN": TOKEN})
        ran_on = os.sched_getaffinity(0)
    finally:
        os.sched_setaffinity(0, worker_cpus)
    assert code == 4  # "cannot reach Discord"
    assert len(ran_on) == 1
    (cpu,) = ran_on
    assert f"running on CPU {cpu} of {cpus} (ops.cpu = auto)" in caplog.text
    assert "cpu-keeper" not in {thread.name for thread in threading.enumerate()}
    freed = claim_cpu([cpu], tmp_path)  # the stopped bot's CPU is free for the next
    assert freed is not None
    freed.release()
