"""Reading teachers' spreadsheets: encodings, separators, any column order, row-level reports."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.score_csv import (
    MAX_ROWS,
    CsvRefused,
    Member,
    RowError,
    format_report,
    read_rows,
    resolve_student,
    template_csv,
)

TODAY = date(2026, 11, 20)
MEMBERS = [
    Member(100000000000000001, "alice_w", "Alice"),
    Member(100000000000000002, "bob", "Bob"),
    Member(100000000000000003, "bob2", "Bob"),
]


def test_bom_semicolons_crlf_and_any_column_order() -> None:
    data = (
        "\ufeffdate;score;student;out_of;assessment;subject\r\n2026-11-19;7,5;Alice;10;Q1;Math\r\n"
    )
    rows, errors = read_rows(data.encode(), TODAY)
    assert errors == []
    (row,) = rows
    assert (row.student, row.subject, row.assessment, row.score, row.out_of) == (
        "Alice",
        "Math",
        "Q1",
        7.5,
        10,
    )
    assert row.taken_on == date(2026, 11, 19) and row.row == 2


def test_every_bad_cell_is_reported_with_row_and_column() -> None:
    data = (
        "student,subject,assessment,score,out_of,date\n"
        "Alice,Math,Q1,-1,10,2026-11-19\n"
        ",Math,Q1,5,0,2026-13-01\n"
        "Bob,Math,Q1,5,10,2027-01-01\n"
    )
    rows, errors = read_rows(data.encode(), TODAY)
    assert rows == []
    assert RowError(2, "score", "negative") in errors
    assert RowError(3, "student", "empty") in errors
    assert RowError(3, "out_of", "must be more than 0") in errors
    assert any(e.row == 3 and e.column == "date" for e in errors)
    assert RowError(4, "date", "2027-01-01 is in the future") in errors


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"student,subject\nA,Math\n", "missing: assessment, score, out_of, date"),
        (b"student,subject,assessment,score,out_of,date\n", "no scores"),
        (b"\xff\xfe\x00s", "isn't UTF-8"),
        (b"x" * (1024 * 1024 + 1), "over 1 MiB"),
    ],
)
def test_unusable_files_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(CsvRefused, match=reason):
        read_rows(data, TODAY)


def test_too_many_rows_is_refused() -> None:
    body = "".join("a,Math,Q,1,2,2026-11-01\n" for _ in range(MAX_ROWS + 1))
    with pytest.raises(CsvRefused, match="5001 rows"):
        read_rows(("student,subject,assessment,score,out_of,date\n" + body).encode(), TODAY)


def test_students_by_id_mention_or_unique_name() -> None:
    alice = MEMBERS[0].user_id
    assert resolve_student(str(alice), MEMBERS) == alice
    assert resolve_student(f"<@!{alice}>", MEMBERS) == alice
    assert resolve_student("ALICE_W", MEMBERS) == alice
    with pytest.raises(ValueError, match="matches 2 members"):
        resolve_student("Bob", MEMBERS)
    with pytest.raises(ValueError, match="no member called"):
        resolve_student("Zed", MEMBERS)
    with pytest.raises(ValueError, match="no member with id"):
        resolve_student("999999999999999999", MEMBERS)


def test_report_shows_twenty_rows_and_counts_the_rest() -> None:
    errors = [RowError(n, "score", "negative") for n in range(2, 32)]
    report = format_report(errors)
    assert report.count("\n") == 20
    assert report.endswith("… and 10 more problems.")


def test_template_round_trips_through_the_reader() -> None:
    text = template_csv(["Alice", "Bob"], "Math")
    filled = text.replace("Alice,Math,,,,,", "Alice,Math,Q1,5,10,2026-11-19,")
    filled = filled.replace("Bob,Math,,,,,", "Bob,Math,Q1,6,10,2026-11-19,")
    rows, errors = read_rows(filled.encode("utf-8-sig"), TODAY)
    assert errors == [] and [r.student for r in rows] == ["Alice", "Bob"]


@given(st.lists(st.integers(0, 100), min_size=1, max_size=30), st.sampled_from([",", ";"]))
def test_valid_rows_always_read_back(scores: list[int], sep: str) -> None:
    lines = [sep.join(["student", "subject", "assessment", "score", "out_of", "date"])]
    lines += [
        sep.join([f"s{i}", "Math", "Q", str(v), "100", "2026-11-01"]) for i, v in enumerate(scores)
    ]
    rows, errors = read_rows("\r\n".join(lines).encode(), TODAY)
    assert errors == []
    assert [r.score for r in rows] == scores
