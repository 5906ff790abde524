"""Where the suite keeps its scratch files: in memory (tmpfs) when the machine has room.

A run creates and deletes ~9,000 files: each test's folder and store, the PostgreSQL server's
cluster and databases. On an ext4 file system without a journal (these machines' disks), every
new file makes the kernel skip the inodes deleted in the last minute (``recently_deleted`` in
``find_inode_bit``), so the more a run deletes, the slower each next file is: ~2 s of system
CPU per run, measured with ``perf`` (docs/test-suite.md, "eighth pass"). tmpfs has no such
cost, and the files are scratch: nothing in them outlives the run but what pytest keeps of a
failed test (``tmp_path_retention_policy`` in pyproject.toml).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

MEMORY = Path("/dev/shm")
# Room for a run (~150 MB of test folders, ~250 MB of PostgreSQL cluster) many times over: a
# small /dev/shm (Docker's default is 64 MB) is left alone.
NEEDED_FREE = 2 * 1024**3


def use_memory_for_scratch() -> Path | None:
    """Point ``TMPDIR`` (for this process and those it starts) at a folder of ours on tmpfs;
    return it, or None when the user chose ``TMPDIR`` or no roomy tmpfs is mounted."""
    if os.environ.get("TMPDIR") or not _roomy_tmpfs(MEMORY):
        return None
    folder = MEMORY / f"classmentor-tests-{os.geteuid()}"
    try:
        folder.mkdir(exist_ok=True)
        if folder.is_symlink() or folder.stat().st_uid != os.geteuid():
            return None  # not ours: someone else's folder (or a trap) in a shared directory
        # Others may pass through but not list it: the PostgreSQL server, which runs as the
        # postgres user when the suite runs as root, reaches its own folder inside.
        folder.chmod(0o711)
    except OSError:
        return None
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again
    return folder


def _roomy_tmpfs(path: Path) -> bool:
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
        free = shutil.disk_usage(path).free
    except OSError:
        return False
    mounted = any(
        fields[1] == str(path) and fields[2] == "tmpfs"
        for fields in (line.split() for line in mounts)
        if len(fields) > 2
    )
    return mounted and free >= NEEDED_FREE and os.access(path, os.W_OK | os.X_OK)
