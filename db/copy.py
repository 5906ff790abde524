"""Moving up: copy every table of one ClassMentor database into another, empty one.

``classmentor copy-db --from sqlite:///classmentor.db --to postgresql://…`` (any pair of URLs
:meth:`Database.open_url` accepts) runs :func:`copy_database`:

1. Both ends are opened; the target is migrated to this ClassMentor's schema. The source must be
   at the same schema version (run ``classmentor migrate`` on it first) and the target must be
   empty: a copy never merges into a database that already holds a class.
2. Every table is read from one consistent snapshot of the source, in batches, and written to
   the target in one transaction, parents before the rows that point at them, ids kept. On
   PostgreSQL the rows go through ``COPY`` (asyncpg's ``copy_records_to_table``) and the id
   sequences are moved past the copied ids afterwards.
3. While the rows are written the target's own triggers are off (in the same transaction): the
   copy only inserts, so the ledger's append-only guards have nothing to guard, and the trigger
   that feeds ``point_totals`` from new ledger rows must not count the copied ledger a second
   time on top of the copied totals.
4. After the commit, the copy is verified: row counts per table and, per class, the ledger's
   entries and points and the point totals per span must be equal on both ends.

The source is only read; a failed copy rolls back whole, leaving the target empty to try again.
This module holds the raw driver calls for both engines (SQLite through aiosqlite, PostgreSQL
through asyncpg); nothing outside ``db/`` needs them.
"""

from __future__ import annotations

import importlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from db.database import Database, local_day
from db.timefmt import to_db
from db.urls import engine_of, redacted, sqlite_path

BATCH_ROWS = 5_000
# Tables an engine keeps for itself: never copied, never compared.
_ENGINE_TABLES = ("sqlite_",)

Row = tuple[Any, ...]


class CopyRefused(Exception):
    """The copy was not started: the target is not empty, the schemas differ, same database."""


class CopyError(Exception):
    """The copy could not be done (a table missing on one side, a driver error mid-copy)."""


@dataclass(frozen=True)
class TableShape:
    """A table as one end sees it: columns (with declared types), primary key, parents."""

    name: str
    columns: tuple[str, ...]
    types: dict[str, str]
    primary_key: tuple[str, ...]
    parents: frozenset[str]
    # SQLite only: a rowid the table keeps without naming it (no INTEGER PRIMARY KEY alias, not
    # WITHOUT ROWID); db/ sorts some tables by it (insertion order), so a copy keeps it.
    implicit_rowid: bool = False


@dataclass
class TableCopy:
    """One table's rows on both ends after the copy."""

    table: str
    source_rows: int
    target_rows: int

    @property
    def ok(self) -> bool:
        """The target has exactly the source's rows."""
        return self.source_rows == self.target_rows


@dataclass
class CopyReport:
    """What was copied and what the verification found."""

    source: str
    target: str
    schema_version: int
    tables: list[TableCopy] = field(default_factory=list)
    classes: int = 0
    ledger_rows: int = 0
    ledger_points: int = 0
    mismatches: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Every count and every class's sums agree."""
        return not self.mismatches

    def lines(self) -> list[str]:
        """The short report the CLI prints."""
        copied = sum(t.target_rows for t in self.tables)
        out = [
            f"Copied {copied:,} rows in {len(self.tables)} tables (schema version "
            f"{self.schema_version}) from {self.source} to {self.target} "
            f"in {self.seconds:.1f} s.",
            f"Verified: row counts of every table; ledger entries and points of "
            f"{self.classes} classes ({self.ledger_rows:,} entries, {self.ledger_points:,} "
            "points); point totals per class and span.",
        ]
        if self.mismatches:
            out.append(f"MISMATCH ({len(self.mismatches)}):")
            out += [f"  {m}" for m in self.mismatches]
        else:
            out.append("Everything matches.")
        return out


class _End(Protocol):
    """One end of the copy, on its own connection (raw driver; only this module uses it)."""

    engine: str

    async def close(self) -> None: ...
    async def shapes(self) -> dict[str, TableShape]: ...
    async def count(self, table: str) -> int: ...
    async def fetch(self, sql: str) -> list[Row]: ...
    def read(
        self, shape: TableShape, columns: Sequence[str], batch: int
    ) -> AsyncIterator[list[Row]]: ...
    async def begin_snapshot(self) -> None: ...
    async def end_snapshot(self) -> None: ...
    async def begin_write(self, tables: Sequence[str]) -> None: ...
    async def write(self, shape: TableShape, columns: Sequence[str], rows: list[Row]) -> None: ...
    async def finish_write(self, tables: Sequence[str]) -> None: ...
    async def abort_write(self) -> None: ...


async def copy_database(
    source_url: str,
    target_url: str,
    *,
    batch: int = BATCH_ROWS,
    progress: Callable[[str, int], None] | None = None,
) -> CopyReport:
    """Copy every table of ``source_url`` into the empty ``target_url`` and verify the copy.

    Raises :class:`CopyRefused` before writing anything when the target holds rows, the schema
    versions differ or both URLs name one database; :class:`CopyError` when the copy failed
    (rolled back). ``progress(table, rows)`` is called after each table.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    for url in (source_url, target_url):
        try:
            engine_of(url)
        except ValueError as exc:
            raise CopyError(str(exc)) from None
    if _same_database(source_url, target_url):
        raise CopyRefused("the source and the target are the same database")
    started = time.perf_counter()
    version = await _prepare(source_url, target_url)
    report = CopyReport(redacted(source_url), redacted(target_url), version)
    try:
        source = await _connect(source_url)
        try:
            target = await _connect(target_url)
            try:
                order = await _plan(source, target)
                await _copy_rows(source, target, order, batch, progress)
                await _verify(source, target, order, report)
            finally:
                await target.close()
        finally:
            await source.close()
    except (CopyRefused, CopyError):
        raise
    except Exception as exc:
        if not _is_driver_error(exc):
            raise
        raise CopyError(f"{type(exc).__name__}: {exc}") from exc
    report.seconds = time.perf_counter() - started
    return report


def _is_driver_error(exc: BaseException) -> bool:
    """sqlite3's, asyncpg's or the network's errors (a server gone, a constraint broken)."""
    return isinstance(exc, sqlite3.Error | OSError) or type(exc).__module__.startswith("asyncpg")


async def _prepare(source_url: str, target_url: str) -> int:
    """Migrate the target; refuse a source at another schema version. Returns the version."""
    source_db = await Database.open_url(source_url)
    try:
        source_version = await source_db.schema_version()
        known = await source_db.pending_migrations()  # refuses a source newer than this code
    finally:
        await source_db.close()
    if source_version == 0:
        raise CopyRefused(f"{redacted(source_url)} holds no ClassMentor schema")
    if known:
        raise CopyRefused(
            f"{redacted(source_url)} is at schema version {source_version}, older than this "
            f"ClassMentor's ({known[-1].version}): run `classmentor migrate` on it first"
        )
    target_db = await Database.open_url(target_url)
    try:
        await target_db.migrate()
        target_version = await target_db.schema_version()
    finally:
        await target_db.close()
    if target_version != source_version:
        raise CopyRefused(
            f"schema versions differ: source {source_version}, target {target_version}"
        )
    return source_version


async def _plan(source: _End, target: _End) -> list[tuple[TableShape, TableShape]]:
    """(source shape, target shape) for every table, parents first; refuses differing tables."""
    sources, targets = await source.shapes(), await target.shapes()
    missing = sorted(set(sources) - set(targets))
    if missing:
        raise CopyError(f"tables missing in the target: {', '.join(missing)}")
    # A table only the target has belongs to its engine (e.g. its migrations' bookkeeping).
    for name in sources:
        # SQLite keeps some tables' rowid (their insertion order, which db/ sorts by) without
        # naming it; PostgreSQL spells it out as a column. Copy it whenever the other end keeps
        # it too, by that name (SQLite reads and writes a rowid by name).
        for one, other in ((sources, targets), (targets, sources)):
            if _keeps_rowid(one[name], other[name]):
                one[name] = replace(one[name], columns=(*one[name].columns, "rowid"))
        shape, theirs = sources[name], targets[name]
        if set(shape.columns) != set(theirs.columns):
            diff = sorted(set(shape.columns) ^ set(theirs.columns))
            raise CopyError(f"table {name} has different columns on the two ends: {diff}")
    ordered = _parents_first({n: targets[n].parents & set(sources) for n in sources})
    return [(sources[n], targets[n]) for n in ordered]


def _keeps_rowid(sqlite: TableShape, other: TableShape) -> bool:
    """Whether ``sqlite``'s implicit rowid has a counterpart in ``other`` to copy it to/from."""
    return sqlite.implicit_rowid and (other.implicit_rowid or "rowid" in other.columns)


def _parents_first(parents: dict[str, frozenset[str] | set[str]]) -> list[str]:
    """Tables ordered so a table comes after those its foreign keys point at."""
    done: list[str] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(name: str) -> None:
        if name in placed or name in visiting:  # a table pointing at itself (or a cycle)
            return
        visiting.add(name)
        for parent in sorted(parents.get(name, ())):
            if parent != name:
                place(parent)
        visiting.discard(name)
        placed.add(name)
        done.append(name)

    for name in sorted(parents):
        place(name)
    return done


async def _refuse_non_empty(target: _End, order: list[tuple[TableShape, TableShape]]) -> None:
    filled = []
    for _, shape in order:
        rows = await target.count(shape.name)
        if rows:
            filled.append(f"{shape.name} ({rows:,} rows)")
    if filled:
        raise CopyRefused(
            "the target is not empty, refusing to merge into it: "
            + ", ".join(filled[:5])
            + (" …" if len(filled) > 5 else "")
        )


async def _copy_rows(
    source: _End,
    target: _End,
    order: list[tuple[TableShape, TableShape]],
    batch: int,
    progress: Callable[[str, int], None] | None,
) -> None:
    names = [shape.name for _, shape in order]
    await source.begin_snapshot()
    try:
        await target.begin_write(names)
        try:
            # Checked inside the write transaction, which already holds the target's write
            # lock (SQLite) or its tables' locks (PostgreSQL): nothing can slip in after it.
            await _refuse_non_empty(target, order)
            for ours, theirs in order:
                columns = theirs.columns
                convert = _converter(target.engine, theirs, columns)
                copied = 0
                async for rows in source.read(ours, columns, batch):
                    await target.write(theirs, columns, [convert(row) for row in rows])
                    copied += len(rows)
                if progress is not None:
                    progress(theirs.name, copied)
            await target.finish_write(names)
        except BaseException:
            await target.abort_write()
            raise
    finally:
        await source.end_snapshot()


async def _verify(
    source: _End, target: _End, order: list[tuple[TableShape, TableShape]], report: CopyReport
) -> None:
    for _, shape in order:
        copied = TableCopy(
            shape.name, await source.count(shape.name), await target.count(shape.name)
        )
        report.tables.append(copied)
        if not copied.ok:
            report.mismatches.append(
                f"{shape.name}: {copied.source_rows} rows in the source, "
                f"{copied.target_rows} in the target"
            )
    names = {shape.name for _, shape in order}
    if "ledger" in names:
        sql = "SELECT guild_id, COUNT(*), SUM(points) FROM ledger GROUP BY guild_id"
        theirs, ours = await _keyed(source, sql), await _keyed(target, sql)
        for guild_id in sorted(set(theirs) | set(ours), key=str):
            if theirs.get(guild_id) != ours.get(guild_id):
                report.mismatches.append(
                    f"ledger of class {guild_id[0]}: source (entries, points) "
                    f"{theirs.get(guild_id)}, target {ours.get(guild_id)}"
                )
        report.ledger_rows = sum(v[0] for v in theirs.values())
        report.ledger_points = sum(v[1] for v in theirs.values())
    if "classes" in names:
        report.classes = await source.count("classes")
    if "point_totals" in names:
        sql = (
            "SELECT guild_id, span, COUNT(*), SUM(points) FROM point_totals GROUP BY guild_id, span"
        )
        theirs, ours = await _keyed(source, sql, key=2), await _keyed(target, sql, key=2)
        for key in sorted(set(theirs) | set(ours), key=str):
            if theirs.get(key) != ours.get(key):
                report.mismatches.append(
                    f"point totals of class {key[0]} ({key[1]}): source {theirs.get(key)}, "
                    f"target {ours.get(key)}"
                )


async def _keyed(end: _End, sql: str, key: int = 1) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """Rows as {first ``key`` columns: the rest as ints} (PostgreSQL sums are numerics)."""
    return {tuple(row[:key]): tuple(int(v or 0) for v in row[key:]) for row in await end.fetch(sql)}


def _same_database(a: str, b: str) -> bool:
    if a == b:
        return True
    if engine_of(a) != "sqlite" or engine_of(b) != "sqlite":
        return False
    return sqlite_path(a).resolve() == sqlite_path(b).resolve()


async def _connect(url: str) -> _End:
    if engine_of(url) == "sqlite":
        return await _SqliteEnd.open(sqlite_path(url))
    return await _PostgresEnd.open(url)


# ----- converting values between engines ------------------------------------------------------


def _converter(engine: str, shape: TableShape, columns: Sequence[str]) -> Callable[[Row], Row]:
    """A function making a source row acceptable to the target's column types.

    SQLite keeps any value in any column, so rows bound for it only need Python types sqlite3
    binds (instants as ClassMentor's UTC text); asyncpg's binary ``COPY`` insists on the exact
    Python type of each PostgreSQL column.
    """
    if engine == "sqlite":
        return lambda row: tuple(_to_sqlite(v) for v in row)
    fixes = [_PG_CONVERSIONS.get(shape.types.get(c, "").lower()) for c in columns]
    if not any(fixes):
        return lambda row: row

    def convert(row: Row) -> Row:
        return tuple(
            v if fix is None or v is None else fix(v) for v, fix in zip(row, fixes, strict=True)
        )

    return convert


def _to_sqlite(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_db(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _to_int(value: Any) -> int:
    return value if type(value) is int else int(value)


def _to_instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _to_naive(value: Any) -> datetime:
    return _to_instant(value).astimezone(UTC).replace(tzinfo=None)


def _to_text(value: Any) -> str:
    if isinstance(value, datetime):
        return to_db(_to_instant(value))
    return value if isinstance(value, str) else str(value)


_PG_CONVERSIONS: dict[str, Callable[[Any], Any]] = {
    "bigint": _to_int,
    "integer": _to_int,
    "smallint": _to_int,
    "boolean": bool,
    "double precision": float,
    "real": float,
    "numeric": lambda v: Decimal(str(v)),
    "text": _to_text,
    "character varying": _to_text,
    "timestamp with time zone": _to_instant,
    "timestamp without time zone": _to_naive,
    "date": lambda v: v if isinstance(v, date) else date.fromisoformat(str(v)),
    "bytea": bytes,
}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ----- SQLite ------------------------------------------------------------------------------------


class _SqliteEnd:
    """A SQLite file on a connection of its own (the ledger trigger's ``local_day`` included)."""

    engine = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._triggers: list[str] = []

    @classmethod
    async def open(cls, path: Path) -> _SqliteEnd:
        conn = await aiosqlite.connect(path, isolation_level=None)
        await conn.execute("PRAGMA busy_timeout = 5000")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.create_function("local_day", 2, local_day, deterministic=True)
        return cls(conn)

    async def close(self) -> None:
        await self._conn.close()

    async def fetch(self, sql: str) -> list[Row]:
        return [tuple(r) for r in await self._conn.execute_fetchall(sql)]

    async def shapes(self) -> dict[str, TableShape]:
        tables = {
            str(name): str(sql or "")
            for name, sql in await self.fetch(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
            )
            if not str(name).startswith(_ENGINE_TABLES)
        }
        shapes = {}
        for name, sql in tables.items():
            info = await self.fetch(f"PRAGMA table_info({_quote(name)})")
            keys = await self.fetch(f"PRAGMA foreign_key_list({_quote(name)})")
            pk = tuple(str(c[1]) for c in sorted((c for c in info if c[5]), key=lambda c: c[5]))
            types = {str(c[1]): str(c[2]) for c in info}
            aliased = len(pk) == 1 and types[pk[0]].upper() == "INTEGER"
            shapes[name] = TableShape(
                name,
                tuple(str(c[1]) for c in info),
                types,
                pk,
                frozenset(str(k[2]) for k in keys),
                implicit_rowid=not aliased and "WITHOUT ROWID" not in sql.upper(),
            )
        return shapes

    async def count(self, table: str) -> int:
        rows = await self.fetch(f"SELECT COUNT(*) FROM {_quote(table)}")
        return int(rows[0][0])

    async def begin_snapshot(self) -> None:
        # One read transaction: every table is read as of the same commit (WAL).
        await self._conn.execute("BEGIN")

    async def end_snapshot(self) -> None:
        await self._conn.execute("COMMIT")

    async def read(
        self, shape: TableShape, columns: Sequence[str], batch: int
    ) -> AsyncIterator[list[Row]]:
        order = ", ".join(_quote(c) for c in shape.primary_key) or "rowid"
        sql = f"SELECT {', '.join(_quote(c) for c in columns)} FROM {_quote(shape.name)} ORDER BY {order}"
        async with self._conn.execute(sql) as cursor:
            while rows := await cursor.fetchmany(batch):
                yield [tuple(r) for r in rows]

    async def begin_write(self, tables: Sequence[str]) -> None:
        await self._conn.execute("BEGIN IMMEDIATE")
        # SQLite cannot switch a trigger off: drop them inside the copy's transaction and make
        # them again, from their own text, before it commits.
        triggers = await self.fetch(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
        )
        self._triggers = [str(sql) for _, sql in triggers]
        for name, _ in triggers:
            await self._conn.execute(f"DROP TRIGGER {_quote(str(name))}")

    async def write(self, shape: TableShape, columns: Sequence[str], rows: list[Row]) -> None:
        marks = ", ".join("?" for _ in columns)
        names = ", ".join(_quote(c) for c in columns)
        await self._conn.executemany(
            f"INSERT INTO {_quote(shape.name)} ({names}) VALUES ({marks})", rows
        )

    async def finish_write(self, tables: Sequence[str]) -> None:
        for sql in self._triggers:
            await self._conn.execute(sql)
        problems = await self.fetch("PRAGMA foreign_key_check")
        if problems:
            raise CopyError(f"rows point at missing parents after the copy: {problems[:3]}")
        await self._conn.execute("COMMIT")
        # Fresh statistics for the query planner: the tables went from empty to full at once.
        await self._conn.execute("ANALYZE")

    async def abort_write(self) -> None:
        if self._conn.in_transaction:
            await self._conn.execute("ROLLBACK")


# ----- PostgreSQL --------------------------------------------------------------------------------


class _PostgresEnd:
    """A PostgreSQL database on an asyncpg connection of its own."""

    engine = "postgresql"
    # The engine's own migration bookkeeping (db/postgres.py): each end keeps its own version.
    BOOKKEEPING = ("schema_version",)

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._snapshot: Any = None
        self._write: Any = None

    @classmethod
    async def open(cls, url: str) -> _PostgresEnd:
        # Imported here: a SQLite-only installation never loads the PostgreSQL driver.
        asyncpg = importlib.import_module("asyncpg")
        conn = await asyncpg.connect(url)
        # CITEXT (the case-insensitive names) has no binary codec in asyncpg, which COPY
        # needs; on the wire it is text's binary form: the UTF-8 bytes.
        schema = await conn.fetchval(
            "SELECT typnamespace::regnamespace::text FROM pg_type WHERE typname = 'citext'"
        )
        if schema is not None:
            await conn.set_type_codec(
                "citext",
                schema=schema,
                encoder=lambda text: str(text).encode(),
                decoder=lambda data: bytes(data).decode(),
                format="binary",
            )
        return cls(conn)

    async def close(self) -> None:
        await self._conn.close()

    async def fetch(self, sql: str) -> list[Row]:
        return [tuple(r) for r in await self._conn.fetch(sql)]

    async def shapes(self) -> dict[str, TableShape]:
        columns = await self._conn.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        )
        tables = {
            r[0]
            for r in await self._conn.fetch(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            )
        }
        keys = await self._conn.fetch(
            "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text, c.contype::text,"
            " ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(n, i)"
            "       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n"
            "       ORDER BY k.i)"
            " FROM pg_constraint c"
            " WHERE c.contype IN ('f', 'p') AND c.connamespace = current_schema()::regnamespace"
        )
        shapes = {}
        for name in tables - set(self.BOOKKEEPING):
            own = [(r[1], r[2]) for r in columns if r[0] == name]
            parents = frozenset(
                k[1].strip('"') for k in keys if k[0].strip('"') == name and k[2] == "f"
            )
            pk = next((tuple(k[3]) for k in keys if k[0].strip('"') == name and k[2] == "p"), ())
            shapes[name] = TableShape(name, tuple(c for c, _ in own), dict(own), pk, parents)
        return shapes

    async def count(self, table: str) -> int:
        return int(await self._conn.fetchval(f"SELECT COUNT(*) FROM {_quote(table)}"))

    async def begin_snapshot(self) -> None:
        self._snapshot = self._conn.transaction(isolation="repeatable_read", readonly=True)
        await self._snapshot.start()

    async def end_snapshot(self) -> None:
        if self._snapshot is not None:
            await self._snapshot.commit()
            self._snapshot = None

    async def read(
        self, shape: TableShape, columns: Sequence[str], batch: int
    ) -> AsyncIterator[list[Row]]:
        order = ", ".join(_quote(c) for c in shape.primary_key) or "ctid"
        sql = f"SELECT {', '.join(_quote(c) for c in columns)} FROM {_quote(shape.name)} ORDER BY {order}"
        cursor = await self._conn.cursor(sql)
        while rows := await cursor.fetch(batch):
            yield [tuple(r) for r in rows]

    async def begin_write(self, tables: Sequence[str]) -> None:
        self._write = self._conn.transaction()
        await self._write.start()
        # User triggers off for the copy (foreign keys stay checked); DDL is transactional.
        for table in tables:
            await self._conn.execute(f"ALTER TABLE {_quote(table)} DISABLE TRIGGER USER")

    async def write(self, shape: TableShape, columns: Sequence[str], rows: list[Row]) -> None:
        await self._conn.copy_records_to_table(shape.name, records=rows, columns=list(columns))

    async def finish_write(self, tables: Sequence[str]) -> None:
        for table in tables:
            await self._conn.execute(f"ALTER TABLE {_quote(table)} ENABLE TRIGGER USER")
        # Move every id sequence past the copied ids, or the next insert would collide.
        sequences = await self._conn.fetch(
            "SELECT table_name, column_name,"
            " pg_get_serial_sequence(quote_ident(table_name), column_name)"
            " FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')"
        )
        for table, column, sequence in sequences:
            if sequence is None or table not in tables:
                continue
            await self._conn.execute(
                f"SELECT setval($1, COALESCE((SELECT MAX({_quote(column)}) FROM {_quote(table)}),"
                " 0) + 1, false)",
                sequence,
            )
        await self._write.commit()
        self._write = None
        # Fresh statistics for the planner now, rather than whenever autovacuum gets to it.
        await self._conn.execute("ANALYZE")

    async def abort_write(self) -> None:
        if self._write is not None:
            await self._write.rollback()
            self._write = None
