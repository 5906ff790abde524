"""The store's own errors: what went wrong with the store, in words an operator can act on.

:mod:`db.database` translates ``sqlite3``/``aiosqlite`` errors into these and
:func:`db.engine.translate_pg` asyncpg's (by SQLSTATE), so services and cogs never import a
driver. Each carries the sentence a student or teacher sees (``user_message``);
the exception text itself is the operator's log line.
"""

from __future__ import annotations

import sqlite3

BUSY_MESSAGE = "ClassMentor is busy, try again in a moment."


class StoreError(Exception):
    """The database could not do what was asked; nothing was written."""

    user_message = "ClassMentor can't reach its records right now. Please try again later."


class InteractionTaken(Exception):
    """Another process already wrote for this interaction (two processes briefly serving one
    shard during a rolling restart); nothing was written here, and this one stays silent."""


class StoreBusy(StoreError):
    """Another process (a backup, an admin's ``sqlite3``) held the file longer than we wait."""

    user_message = BUSY_MESSAGE


class StoreReadOnly(StoreError):
    """The database file (or its folder) cannot be written."""

    user_message = (
        "ClassMentor can't save changes right now (its records are read-only). Nothing was "
        "changed; please tell your teacher."
    )


class StoreDiskFull(StoreError):
    """The disk holding the database is full."""

    user_message = (
        "ClassMentor can't save changes right now (its disk is full). Nothing was changed; "
        "please tell your teacher."
    )


class StoreUnavailable(StoreError):
    """The file cannot be opened or read (missing, I/O error, corrupt)."""


# SQLite primary result codes (the low byte of an extended code).
_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_READONLY = {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM}
_FULL = {sqlite3.SQLITE_FULL}
_UNAVAILABLE = {
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_CORRUPT,
    sqlite3.SQLITE_NOTADB,
}


def translate(error: sqlite3.Error, path: object) -> StoreError | None:
    """The :class:`StoreError` for a driver error about the file itself, else ``None``.

    Errors about the data (a constraint, a bad statement) are not translated: they are bugs or
    races the caller handles.
    """
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return None
    primary = code & 0xFF
    what = f"database {path}: {error}"
    if primary in _BUSY:
        return StoreBusy(f"{what} (another process holds a lock; answered 'busy')")
    if primary in _READONLY:
        return StoreReadOnly(f"{what} (check the file's and folder's permissions and the mount)")
    if primary in _FULL:
        return StoreDiskFull(f"{what} (free some disk space)")
    if primary in _UNAVAILABLE:
        return StoreUnavailable(f"{what} (check the file and its disk)")
    return None


# A statement broke a uniqueness or foreign-key rule (e.g. crediting one session twice). It is
# the DB-API class sqlite3 raises, re-exported so services catch it without importing a driver;
# on PostgreSQL db.engine raises the same class for SQLSTATE class 23 (integrity violations).
IntegrityError = sqlite3.IntegrityError
