"""The suite's scratch files go to tmpfs only when there is a roomy one and the user did not
choose a folder (tests/scratch.py)."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from tests import scratch


@pytest.fixture
def memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for /dev/shm, and the process's TMPDIR as it was after the test."""
    monkeypatch.setattr(scratch, "MEMORY", tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", tempfile.tempdir)
    monkeypatch.delenv("TMPDIR", raising=False)
    return tmp_path


def test_a_roomy_tmpfs_holds_the_runs_scratch_files(
    memory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scratch, "_roomy_tmpfs", lambda path: path == memory)
    folder = scratch.use_memory_for_scratch()
    assert folder == memory / f"classmentor-tests-{os.geteuid()}"
    assert os.environ["TMPDIR"] == str(folder)
    assert tempfile.gettempdir() == str(folder)
    # Others (the PostgreSQL server's user) may pass through, not list it.
    assert stat.S_IMODE(folder.stat().st_mode) == 0o711


def test_a_folder_the_user_chose_is_kept(memory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scratch, "_roomy_tmpfs", lambda path: True)
    monkeypatch.setenv("TMPDIR", str(memory))
    assert scratch.use_memory_for_scratch() is None
    assert os.environ["TMPDIR"] == str(memory)


def test_no_tmpfs_mounted_there_leaves_the_default(memory: Path) -> None:
    # tmp_path is a folder, never a mount point of its own.
    assert scratch.use_memory_for_scratch() is None
    assert "TMPDIR" not in os.environ


def test_a_symlink_in_its_place_is_not_followed(
    memory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scratch, "_roomy_tmpfs", lambda path: True)
    elsewhere = memory / "elsewhere"
    elsewhere.mkdir()
    (memory / f"classmentor-tests-{os.geteuid()}").symlink_to(elsewhere)
    assert scratch.use_memory_for_scratch() is None
    assert "TMPDIR" not in os.environ
