"""The benchmark stays runnable: its sections are found, and one runs end to end (no timings
are asserted: numbers belong in docs/benchmarks.md, not in tests)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import bench.common
from bench.run import discover, main, section_name
from bot.pacing import INSTANT
from bot.simulator.classroom import Classroom


class InstantClassroom(Classroom):
    """The benchmark's class with no background pauses (as the end-to-end tests run)."""

    @classmethod
    def create(cls, *args: Any, **kwargs: Any) -> Classroom:
        room = super().create(*args, **kwargs)
        room.pacing = INSTANT
        return room


def test_sections_are_found_in_report_order() -> None:
    names = [section_name(module) for module in discover()]
    assert names[:4] == ["outbound", "latency", "database", "startup"]


def test_one_section_runs_through_the_simulator(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Production's pacing would hold the queue notice's edit after `/helpme cancel` for its 2 s
    # window, and the section waits for it; the requests counted are the same without pauses.
    monkeypatch.setattr(bench.common, "Classroom", InstantClassroom)
    # The benchmark quietens logging for its table; leave other tests' logging as it was.
    levels = {name: logging.getLogger(name).level for name in ("", "discord")}
    try:
        assert main(["--quick", "--no-doc", "--only", "outbound"]) == 0
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    out = capsys.readouterr().out
    assert "Discord requests per action" in out
    assert "/helpme ask (mentor free: offer DM)" in out
