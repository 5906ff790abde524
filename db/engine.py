"""What db/ functions are handed: one connection interface over SQLite and PostgreSQL.

Every function in db/ takes a :data:`Connection` and speaks one SQL: SQLite's ``?`` and
``:name`` placeholders, ``INSERT ... ON CONFLICT``, ``RETURNING``. On SQLite the connection is
aiosqlite's own (nothing in between: the embedded default keeps its exact behaviour and speed).
On PostgreSQL it is :class:`PgConnection`, which offers the same calls (``execute`` awaitable or
``async with``, ``execute_fetchall``, ``executemany``, a cursor's ``fetchone``/``fetchall``/
``rowcount``) over an asyncpg connection and translates placeholders once per statement text.
The few spots where the two SQLs differ ask :mod:`db.dialect`.

Rows are addressable by name and by position on both (``sqlite3.Row``, ``asyncpg.Record``).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from db.dialect import translate_sql
from db.errors import (
    IntegrityError,
    StoreBusy,
    StoreDiskFull,
    StoreError,
    StoreReadOnly,
    StoreUnavailable,
)

if TYPE_CHECKING:
    import asyncpg

Params = Sequence[object] | Mapping[str, object]


class Cursor(Protocol):
    """The result of one statement."""

    @property
    def rowcount(self) -> int: ...

    async def fetchone(self) -> Any: ...

    async def fetchall(self) -> Iterable[Any]: ...

    async def close(self) -> None: ...


class Pending(Protocol):
    """``conn.execute(...)``: await it for the cursor, or ``async with`` it."""

    def __await__(self) -> Generator[Any, None, Cursor]: ...

    async def __aenter__(self) -> Cursor: ...

    async def __aexit__(self, *exc: Any) -> Any: ...


class Connection(Protocol):
    """A connection as db/ uses it (aiosqlite's, or :class:`PgConnection`)."""

    def execute(self, sql: str, parameters: Any = ...) -> Pending: ...

    def execute_fetchall(self, sql: str, parameters: Any = ...) -> Any: ...

    def executemany(self, sql: str, parameters: Any) -> Any: ...


def engine_of_connection(conn: Connection) -> str:
    """``"postgresql"`` for a :class:`PgConnection`, else ``"sqlite"``."""
    return "postgresql" if isinstance(conn, PgConnection) else "sqlite"


# --- PostgreSQL ------------------------------------------------------------------------------


def _args(names: tuple[str, ...] | None, parameters: Params | None) -> list[object]:
    if parameters is None:
        return []
    if names is not None:
        if not isinstance(parameters, Mapping):
            raise TypeError("named parameters need a mapping")
        return [parameters[name] for name in names]
    if isinstance(parameters, Mapping):
        raise TypeError("positional parameters need a sequence")
    return list(parameters)


def _rowcount(status: str) -> int:
    """'UPDATE 3' -> 3; 'INSERT 0 1' -> 1; statements without a count -> -1."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class PgCursor:
    """The rows (or the count) of one statement, already fetched."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount
        self.lastrowid = None

    async def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchall(self) -> list[Any]:
        rest = self._rows[self._next :]
        self._next = len(self._rows)
        return rest

    async def close(self) -> None:
        self._rows = []


class _PgPending:
    """What :meth:`PgConnection.execute` returns: awaitable, and an async context manager."""

    def __init__(self, conn: PgConnection, sql: str, parameters: Params | None) -> None:
        self._conn, self._sql, self._parameters = conn, sql, parameters

    def __await__(self) -> Generator[Any, None, PgCursor]:
        return self._conn.run(self._sql, self._parameters).__await__()

    async def __aenter__(self) -> PgCursor:
        return await self._conn.run(self._sql, self._parameters)

    async def __aexit__(self, *exc: object) -> None:
        return None


class PgConnection:
    """An asyncpg connection behind the interface db/ uses (see the module docstring)."""

    engine = "postgresql"

    def __init__(self, raw: asyncpg.Connection[Any], where: str) -> None:
        self.raw = raw
        self._where = where

    def execute(self, sql: str, parameters: Params | None = None) -> _PgPending:
        return _PgPending(self, sql, parameters)

    async def run(self, sql: str, parameters: Params | None = None) -> PgCursor:
        text, names, returns_rows = translate_sql(sql)
        args = _args(names, parameters)
        try:
            if returns_rows:
                rows = await self.raw.fetch(text, *args)
                return PgCursor(rows, len(rows))
            status = await self.raw.execute(text, *args)
        except Exception as exc:
            raise translate_pg(exc, self._where) from exc
        return PgCursor([], _rowcount(status))

    async def execute_fetchall(self, sql: str, parameters: Params | None = None) -> list[Any]:
        text, names, _ = translate_sql(sql)
        try:
            return list(await self.raw.fetch(text, *_args(names, parameters)))
        except Exception as exc:
            raise translate_pg(exc, self._where) from exc

    async def executemany(self, sql: str, parameters: Iterable[Params]) -> PgCursor:
        text, names, _ = translate_sql(sql)
        batch = [_args(names, one) for one in parameters]
        try:
            if batch:
                await self.raw.executemany(text, batch)
        except Exception as exc:
            raise translate_pg(exc, self._where) from exc
        return PgCursor([], -1)


# SQLSTATE classes and codes (https://www.postgresql.org/docs/current/errcodes-appendix.html).
_BUSY = {"55P03", "40P01", "40001", "57014"}  # lock not available, deadlock, serialization, cancel
_READONLY = {"25006", "42501"}  # read-only transaction, insufficient privilege
_FULL = {"53100"}  # disk full


def translate_pg(exc: BaseException, where: str) -> BaseException:
    """An asyncpg (or socket) error as the store's own: a broken rule is :data:`IntegrityError`
    (what services catch on both engines), a lock wait is :class:`StoreBusy`, a lost server is
    :class:`StoreUnavailable`; anything else (a bug in a statement) is returned unchanged."""
    if isinstance(exc, StoreError | IntegrityError):
        return exc
    state = getattr(exc, "sqlstate", None)
    what = f"database {where}: {exc}"
    if isinstance(state, str):
        if state.startswith("23"):
            return IntegrityError(str(exc))
        if state in _BUSY:
            return StoreBusy(f"{what} (another process holds a lock; answered 'busy')")
        if state in _READONLY:
            return StoreReadOnly(f"{what} (the server refuses writes)")
        if state in _FULL:
            return StoreDiskFull(f"{what} (free some disk space on the server)")
        if state[:2] in {"08", "57", "53", "58", "XX"}:
            return StoreUnavailable(f"{what} (check the PostgreSQL server)")
        return exc
    if isinstance(exc, OSError | ConnectionError) or type(exc).__name__ in {
        "ConnectionDoesNotExistError",
        "InterfaceError",
        "InternalClientError",
    }:
        return StoreUnavailable(f"{what} (check the PostgreSQL server)")
    return exc


def decode_numeric(text: str) -> int | float:
    """PostgreSQL's NUMERIC (what SUM over BIGINT returns) as SQLite gives it: a whole number is
    an ``int``, anything else a ``float``."""
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)
