"""Reading a spreadsheet of quiz scores: what teachers' spreadsheets really export.

UTF-8 with or without a BOM, comma or semicolon separated, Windows or Unix line endings, a header
row in any column order. Every problem is collected with its row, column and reason, so one report
tells the teacher everything to fix; the caller stores nothing unless the report is empty.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

MAX_BYTES = 1024 * 1024
MAX_ROWS = 5000
REPORT_ROWS = 20
COLUMNS = ("student", "subject", "assessment", "score", "out_of", "date")
OPTIONAL_COLUMNS = ("aspect",)
ASSESSMENT_MAX = 80
ASPECT_MAX = 40
_MENTION = re.compile(r"^<@!?(\d{15,20})>$")
_SNOWFLAKE = re.compile(r"^\d{15,20}$")


class CsvRefused(ValueError):
    """The whole file is unusable (too big, empty, not text, missing columns)."""


@dataclass(frozen=True)
class RowError:
    """One problem: the spreadsheet row (header = row 1), the column and why."""

    row: int
    column: str
    reason: str


@dataclass(frozen=True)
class ScoreRow:
    """One checked row, before the student and subject are looked up."""

    row: int
    student: str
    subject: str
    assessment: str
    score: float
    out_of: float
    taken_on: date
    aspect: str | None


@dataclass(frozen=True)
class Member:
    """A member of the class as the import sees them."""

    user_id: int
    username: str
    display_name: str


def _header_key(cell: str) -> str:
    return re.sub(r"[\s\-]+", "_", cell.strip().strip('"').casefold())


def parse_number(text: str, *, decimal_comma: bool) -> float:
    """A number as typed in a spreadsheet ('7', '7.5', or '7,5' in semicolon files)."""
    cleaned = text.strip()
    if decimal_comma:
        cleaned = cleaned.replace(",", ".")
    value = float(cleaned)  # ValueError for text
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return value


def parse_day(text: str) -> date:
    """A date written YYYY-MM-DD (or YYYY/MM/DD)."""
    return date.fromisoformat(text.strip().replace("/", "-"))


def read_rows(data: bytes, today: date) -> tuple[list[ScoreRow], list[RowError]]:
    """Decode and check every row; raises :class:`CsvRefused` when the file itself is unusable."""
    if len(data) > MAX_BYTES:
        raise CsvRefused(f"The file is over {MAX_BYTES // 1024 // 1024} MiB.")
    if not data.strip():
        raise CsvRefused("The file is empty.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvRefused(
            "The file isn't UTF-8 text. In your spreadsheet choose *Save as → CSV UTF-8*."
        ) from None
    if "\x00" in text:
        raise CsvRefused("That isn't a CSV file (it contains binary data).")
    first_line = text.lstrip().splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    header = [_header_key(c) for c in rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CsvRefused(
            f"The header row needs the columns {', '.join(COLUMNS)} (aspect is optional); "
            f"missing: {', '.join(missing)}."
        )
    body = rows[1:]
    if not body:
        raise CsvRefused("The file has a header but no scores.")
    if len(body) > MAX_ROWS:
        raise CsvRefused(f"The file has {len(body)} rows; at most {MAX_ROWS} at a time.")
    where = {name: header.index(name) for name in (*COLUMNS, *OPTIONAL_COLUMNS) if name in header}
    good: list[ScoreRow] = []
    errors: list[RowError] = []
    for number, cells in enumerate(body, start=2):
        row = _check_row(number, cells, where, delimiter == ";", today, errors)
        if row is not None:
            good.append(row)
    return good, errors


def _check_row(
    number: int,
    cells: Sequence[str],
    where: dict[str, int],
    decimal_comma: bool,
    today: date,
    errors: list[RowError],
) -> ScoreRow | None:
    def cell(name: str) -> str:
        index = where.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    found_before = len(errors)

    def bad(column: str, reason: str) -> None:
        errors.append(RowError(number, column, reason))

    for name in ("student", "subject", "assessment"):
        if not cell(name):
            bad(name, "empty")
    if len(cell("assessment")) > ASSESSMENT_MAX:
        bad("assessment", f"longer than {ASSESSMENT_MAX} characters")
    aspect = cell("aspect") or None
    if aspect is not None and len(aspect) > ASPECT_MAX:
        bad("aspect", f"longer than {ASPECT_MAX} characters")
    score = out_of = None
    try:
        score = parse_number(cell("score"), decimal_comma=decimal_comma)
        if score < 0:
            bad("score", "negative")
            score = None
    except ValueError:
        bad("score", f"not a number: {cell('score')[:20]!r}")
    try:
        out_of = parse_number(cell("out_of"), decimal_comma=decimal_comma)
        if out_of <= 0:
            bad("out_of", "must be more than 0")
            out_of = None
    except ValueError:
        bad("out_of", f"not a number: {cell('out_of')[:20]!r}")
    if score is not None and out_of is not None and score > out_of:
        bad("score", f"{score:g} is above out_of ({out_of:g})")
    taken_on = None
    try:
        taken_on = parse_day(cell("date"))
        if taken_on > today:
            bad("date", f"{taken_on.isoformat()} is in the future")
    except ValueError:
        bad("date", f"not a date (use YYYY-MM-DD): {cell('date')[:20]!r}")
    if len(errors) > found_before:
        return None
    assert score is not None and out_of is not None and taken_on is not None
    return ScoreRow(
        number,
        cell("student"),
        " ".join(cell("subject").split()),
        " ".join(cell("assessment").split()),
        score,
        out_of,
        taken_on,
        aspect,
    )


def resolve_student(text: str, members: Iterable[Member]) -> int:
    """A Discord id, a mention, or a username/display name matching exactly one member.

    Raises ValueError with the reason otherwise.
    """
    members = list(members)
    cleaned = text.strip()
    mention = _MENTION.match(cleaned)
    if mention or _SNOWFLAKE.match(cleaned):
        user_id = int(mention.group(1) if mention else cleaned)
        if any(m.user_id == user_id for m in members):
            return user_id
        raise ValueError(f"no member with id {user_id} in this server")
    wanted = cleaned.lstrip("@").casefold()
    matches = {
        m.user_id for m in members if wanted in (m.username.casefold(), m.display_name.casefold())
    }
    if not matches:
        raise ValueError(f"no member called {cleaned[:40]!r}")
    if len(matches) > 1:
        raise ValueError(f"{cleaned[:40]!r} matches {len(matches)} members: use their id")
    return matches.pop()


def format_report(errors: Sequence[RowError], shown: int = REPORT_ROWS) -> str:
    """The teacher's report: one line per problem (the first ``shown``), then how many more."""
    ordered = sorted(
        errors, key=lambda e: (e.row, COLUMNS.index(e.column) if e.column in COLUMNS else 9)
    )
    lines = [f"Row {e.row}, {e.column}: {e.reason}" for e in ordered[:shown]]
    if len(ordered) > shown:
        lines.append(f"… and {len(ordered) - shown} more problems.")
    return "\n".join(lines)


def template_csv(names: Iterable[str], subject: str = "", assessment: str = "") -> str:
    """A CSV for the teacher to fill in, one row per student of the roster."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*COLUMNS, "aspect"])
    for name in names:
        writer.writerow([name, subject, assessment, "", "", "", ""])
    return buffer.getvalue()
