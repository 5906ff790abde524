"""The one place where ClassMentor's two SQL dialects differ.

db/ is written once, in the SQL both engines understand (``?``/``:name`` placeholders,
``ON CONFLICT``, ``RETURNING``, ``CASE``, ``COALESCE``, ``CAST``). For PostgreSQL each statement
text is rewritten once (then cached): placeholders become ``$n`` and the few SQLite functions
db/ uses get their PostgreSQL spelling. The schema's differences (types, triggers, ``local_day``)
live in the migrations (``db/migrations`` and ``db/migrations/postgresql``).
"""

from __future__ import annotations

import functools
import re

# SQLite function -> PostgreSQL spelling. Each is used in db/ with simple arguments (a column).
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    # SQLite's planner hint; PostgreSQL's planner picks the partial index by itself.
    (re.compile(r"\s+INDEXED BY\s+\w+", re.IGNORECASE), ""),
    # GROUP_CONCAT(DISTINCT s.name): the distinct names joined with commas.
    (
        re.compile(r"GROUP_CONCAT\(\s*DISTINCT\s+([\w.]+)\s*\)", re.IGNORECASE),
        r"string_agg(DISTINCT CAST(\1 AS TEXT), ',')",
    ),
    (
        re.compile(r"GROUP_CONCAT\(\s*([\w.]+)\s*\)", re.IGNORECASE),
        r"string_agg(CAST(\1 AS TEXT), ',')",
    ),
    # json_extract(payload, '$.user_id'): db/ reads whole numbers (ids) out of JSON text.
    (
        re.compile(r"json_extract\(\s*([\w.]+)\s*,\s*'\$\.(\w+)'\s*\)", re.IGNORECASE),
        r"CAST(CAST(\1 AS jsonb) ->> '\2' AS BIGINT)",
    ),
)

_TOKENS = re.compile(
    r"""('(?:[^']|'')*')"""  # a string literal: left alone
    r"""|("(?:[^"]|"")*")"""  # a quoted identifier
    r"|(--[^\n]*)"  # a comment
    r"|(::)"  # a PostgreSQL cast, not a parameter
    r"|(\?)"  # a positional parameter
    r"|:([A-Za-z_][A-Za-z0-9_]*)"  # a named parameter
)


@functools.lru_cache(maxsize=4096)
def translate_sql(sql: str) -> tuple[str, tuple[str, ...] | None, bool]:
    """SQLite-style SQL as PostgreSQL: ``?`` -> ``$n``, ``:name`` -> ``$n``.

    Returns the text, the parameter names in ``$n`` order (``None`` for positional ones) and
    whether the statement returns rows (a query, or a write with ``RETURNING``).
    """
    names: list[str] = []
    positional = 0

    def swap(match: re.Match[str]) -> str:
        nonlocal positional
        if match.group(5):
            positional += 1
            return f"${positional}"
        if match.group(6):
            name = match.group(6)
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"
        return match.group(0)

    text = sql
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    text = _TOKENS.sub(swap, text)
    if positional and names:
        raise ValueError(f"mixes ? and :name parameters: {sql[:80]}")
    head = text.lstrip().split(None, 1)[0].upper() if text.strip() else ""
    returns_rows = head in {"SELECT", "WITH", "VALUES"} or bool(
        re.search(r"\bRETURNING\b", text, re.IGNORECASE)
    )
    return text, (tuple(names) if names else None), returns_rows


def schema_tables_sql(engine: str) -> str:
    """The query listing the schema's own tables (not the engine's, not migration bookkeeping)."""
    if engine == "postgresql":
        return (
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename <> 'schema_version' ORDER BY tablename"
        )
    return "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
