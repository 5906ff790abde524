"""A migrated SQLite file per test, for the price of a file copy.

Running every migration on a fresh file costs tens of milliseconds (each migration is its own
transaction, each a sync to disk); a test needs the result, not the journey. Each test process
migrates one empty template once and copies it where a test wants its database. The copy is the
same file a fresh migration makes (empty tables, the schema version, WAL mode), and the caller
still opens it with ``Database.open`` and may call ``migrate()`` (then a no-op).
Tests of the migrations themselves keep starting from an empty file.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from db.database import Database

__all__ = ["copy_migrated"]

_template: Path | None = None  # per test process


async def copy_migrated(target: Path) -> Path:
    """Put a fully migrated, empty database at ``target`` (a new file); returns ``target``."""
    template = await _migrated_template()
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)
    return target


async def _migrated_template() -> Path:
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="classmentor-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / "migrated.db"
        database = await Database.open(path)
        try:
            await database.migrate()
        finally:
            await database.close()
        # Closing the last connection checkpoints the WAL into the file and removes it: the
        # one file is the whole database.
        assert sorted(p.name for p in folder.iterdir()) == ["migrated.db"]
        _template = path
    return _template
