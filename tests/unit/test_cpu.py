"""``[ops] cpu``: the operator pins the bot's threads to one CPU; its chart worker keeps them all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_config
from bot.cpu import allowed_before_pin

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux-only"
)

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.fake-token-for-tests"


def config_with(tmp_path: Path, ops: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///class.db"\n\n[ops]\n{ops}\n')
    return config


def test_no_cpu_named_means_the_os_places_the_bot(tmp_path: Path) -> None:
    assert load_config(config_with(tmp_path, "http_port = 0")).ops.cpu is None
    assert load_config(config_with(tmp_path, "cpu = 1")).ops.cpu == 1


@pytest.mark.parametrize("value", ["-1", '"0"', "true", "1.5"])
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
        cwd=Path(__file__).resolve().parents[2],
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["allowed"] == cpus
    cpu = seen["allowed"][-1]
    assert len(seen["threads"]) >= 2  # the event loop's thread and the store's
    assert all(cpus == [cpu] for cpus in seen["threads"].values()), seen
    assert seen["worker"] == seen["allowed"]
