"""A migrated (or filled) SQLite file per test, for the price of a file copy.

Running every migration on a fresh file costs tens of milliseconds (each migration is its own
transaction, each a sync to disk); a test needs the result, not the journey. Each test process
migrates one empty template once and copies it where a test wants its database. The copy is the
same file a fresh migration makes (empty tables, the schema version, WAL mode), and the caller
still opens it with ``Database.open`` and may call ``migrate()`` (then a no-op).
Tests of the migrations themselves keep starting from an empty file.

:func:`copy_made` does the same for any file a test module fills the same way every time (the
copy tests' three classes of history): made once per process, copied per test.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from db.database import Database

__all__ = ["copy_made", "copy_migrated"]

Make = Callable[[Path], Awaitable[None]]

# Per test process: the files made once, by name, and what made each.
_made: dict[str, tuple[Make, Path]] = {}


async def copy_migrated(target: Path) -> Path:
    """Put a fully migrated, empty database at ``target`` (a new file); returns ``target``."""
    return await copy_made(target, "migrated", _migrate)


async def copy_made(target: Path, name: str, make: Make) -> Path:
    """Put at ``target`` (a new file) a copy of the SQLite database ``make`` writes at the path
    it is given, made the first time this process asks for ``name``; returns ``target``.

    ``make`` must leave its store closed (the one file is then the whole database) and make the
    same database every time.
    """
    made = _made.get(name)
    if made is None:
        folder = Path(tempfile.mkdtemp(prefix=f"classmentor-{name}-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / f"{name}.db"
        await make(path)
        # Closing the last connection checkpoints the WAL into the file and removes it: the
        # one file is the whole database.
        assert sorted(p.name for p in folder.iterdir()) == [path.name], "its store is open"
        made = _made[name] = (make, path)
    if made[0] is not make:
        raise AssertionError(f"two different databases share the name {name!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(made[1], target)
    return target


async def _migrate(path: Path) -> None:
    database = await Database.open(path)
    try:
        await database.migrate()
    finally:
        await database.close()
