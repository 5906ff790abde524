"""The benchmark stays runnable: its sections are found, and one runs end to end (no timings
are asserted: numbers belong in docs/benchmarks.md, not in tests)."""

from __future__ import annotations

import logging

import pytest

from bench.run import discover, main, section_name


def test_sections_are_found_in_report_order() -> None:
    names = [section_name(module) for module in discover()]
    assert names[:4] == ["outbound", "latency", "database", "startup"]


def test_one_section_runs_through_the_simulator(capsys: pytest.CaptureFixture[str]) -> None:
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
