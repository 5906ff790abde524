"""The one place SQLite's SQL becomes PostgreSQL's: placeholders and the few functions that differ."""

from __future__ import annotations

import pytest

from db.dialect import translate_sql
from db.engine import decode_numeric


def test_positional_placeholders_become_numbered_outside_strings_and_comments() -> None:
    text, names, rows = translate_sql(
        "SELECT a::text, '?', \"we?ird\" FROM t -- why?\n WHERE b = ? AND c = ?"
    )
    assert text == "SELECT a::text, '?', \"we?ird\" FROM t -- why?\n WHERE b = $1 AND c = $2"
    assert names is None and rows


def test_named_placeholders_are_numbered_once_each() -> None:
    text, names, rows = translate_sql("UPDATE t SET a = :now WHERE a < :now AND id = :id")
    assert text == "UPDATE t SET a = $1 WHERE a < $1 AND id = $2"
    assert names == ("now", "id") and not rows


def test_returning_makes_a_write_return_rows() -> None:
    assert translate_sql("INSERT INTO t (a) VALUES (?) RETURNING id")[2]
    assert not translate_sql("DELETE FROM t WHERE a = ?")[2]


def test_sqlite_functions_get_their_postgresql_spelling() -> None:
    text, _, _ = translate_sql(
        "SELECT GROUP_CONCAT(DISTINCT s.name) FROM x r INDEXED BY x_open"
        " WHERE json_extract(payload, '$.user_id') = :u"
    )
    assert text == (
        "SELECT string_agg(DISTINCT CAST(s.name AS TEXT), ',') FROM x r"
        " WHERE CAST(CAST(payload AS jsonb) ->> 'user_id' AS BIGINT) = $1"
    )


def test_mixing_placeholder_styles_is_refused() -> None:
    with pytest.raises(ValueError, match="mixes"):
        translate_sql("SELECT ? + :a")


def test_sums_come_back_as_sqlite_gives_them() -> None:
    assert decode_numeric("42") == 42 and isinstance(decode_numeric("42"), int)
    assert decode_numeric("2.5") == 2.5
