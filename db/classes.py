"""SQL for classes and subjects."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from bot.domain.classroom import ClassSettings, Subject
from db.engine import Connection
from db.rows import first_row
from db.timefmt import opt_from_db, to_db


def _settings(row: Any) -> ClassSettings:
    hours, minutes = row["post_time"].split(":")
    return ClassSettings(
        guild_id=row["guild_id"],
        teacher_role_id=row["teacher_role_id"],
        announcements_channel_id=row["announcements_channel_id"],
        help_channel_id=row["help_channel_id"],
        mentors_channel_id=row["mentors_channel_id"],
        timezone=row["timezone"],
        post_weekday=row["post_weekday"],
        post_time=time(int(hours), int(minutes)),
        mentor_brief=row["mentor_brief"],
        configured_at=opt_from_db(row["configured_at"]),
    )


async def get_class(conn: Connection, guild_id: int) -> ClassSettings | None:
    """The class for a guild, configured or not."""
    rows = list(
        await conn.execute_fetchall("SELECT * FROM classes WHERE guild_id = ?", (guild_id,))
    )
    return _settings(rows[0]) if rows else None


async def class_name(conn: Connection, guild_id: int) -> str:
    """The class's name (its server's name at `/setup`; "" if unknown)."""
    row = await first_row(conn, "SELECT name FROM classes WHERE guild_id = ?", (guild_id,))
    return str(row[0]) if row else ""


async def configured_classes(conn: Connection) -> list[ClassSettings]:
    """Every class that completed `/setup` and still has the bot."""
    return [
        _settings(row)
        for row in await conn.execute_fetchall(
            "SELECT * FROM classes WHERE configured_at IS NOT NULL AND left_at IS NULL"
        )
    ]


async def ensure_class(
    conn: Connection, guild_id: int, defaults: tuple[str, int, time], now: datetime
) -> None:
    """Create the class row with the configured defaults if it does not exist yet."""
    timezone, weekday, post_time = defaults
    await conn.execute(
        "INSERT INTO classes (guild_id, timezone, post_weekday, post_time, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id) DO NOTHING",
        (guild_id, timezone, weekday, post_time.strftime("%H:%M"), to_db(now)),
    )


async def save_setup(
    conn: Connection,
    guild_id: int,
    fields: dict[str, Any],
    configured_by: int,
    now: datetime,
) -> ClassSettings:
    """Update the set-up fields given (column name -> value), mark the class configured, and
    return the class as saved (``RETURNING``: no second query)."""
    allowed = {
        "name",
        "teacher_role_id",
        "announcements_channel_id",
        "help_channel_id",
        "mentors_channel_id",
        "timezone",
        "post_weekday",
        "post_time",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"not set-up fields: {sorted(unknown)}")
    values = {k: (v.strftime("%H:%M") if isinstance(v, time) else v) for k, v in fields.items()}
    assignments = "".join(f"{column} = :{column}, " for column in values)
    rows = list(
        await conn.execute_fetchall(
            f"UPDATE classes SET {assignments}configured_at = COALESCE(configured_at, :now),"
            " configured_by = :by, left_at = NULL WHERE guild_id = :guild_id RETURNING *",
            {**values, "now": to_db(now), "by": configured_by, "guild_id": guild_id},
        )
    )
    if not rows:
        raise ValueError(f"no class {guild_id}: call ensure_class first")
    return _settings(rows[0])


async def set_mentor_brief(conn: Connection, guild_id: int, text: str | None) -> None:
    """Store the class's own training brief (``None`` = use the default)."""
    await conn.execute("UPDATE classes SET mentor_brief = ? WHERE guild_id = ?", (text, guild_id))


async def mark_left(conn: Connection, guild_id: int, now: datetime) -> None:
    """Remember that the bot was removed from the guild; the data stays."""
    await conn.execute("UPDATE classes SET left_at = ? WHERE guild_id = ?", (to_db(now), guild_id))


async def mark_returned(conn: Connection, guild_id: int) -> None:
    """The bot is back in the guild."""
    await conn.execute("UPDATE classes SET left_at = NULL WHERE guild_id = ?", (guild_id,))


def _subject(row: Any) -> Subject:
    return Subject(id=row["id"], guild_id=row["guild_id"], name=row["name"], role_id=row["role_id"])


async def list_subjects(conn: Connection, guild_id: int) -> list[Subject]:
    """The class's current subjects, alphabetically."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM subjects WHERE guild_id = ? AND removed_at IS NULL ORDER BY name",
        (guild_id,),
    )
    return [_subject(row) for row in rows]


async def find_subject(conn: Connection, guild_id: int, name: str) -> Subject | None:
    """A current subject by name, case-insensitively."""
    rows = list(
        await conn.execute_fetchall(
            "SELECT * FROM subjects WHERE guild_id = ? AND name = ? AND removed_at IS NULL",
            (guild_id, name),
        )
    )
    return _subject(rows[0]) if rows else None


async def get_subject(conn: Connection, subject_id: int) -> Subject | None:
    """A subject by id, removed or not (history refers to removed ones)."""
    rows = list(await conn.execute_fetchall("SELECT * FROM subjects WHERE id = ?", (subject_id,)))
    return _subject(rows[0]) if rows else None


async def add_subject(
    conn: Connection, guild_id: int, name: str, now: datetime
) -> tuple[Subject, bool]:
    """Add a subject (or bring back a removed one); returns it and whether it is new."""
    row = await first_row(
        conn, "SELECT * FROM subjects WHERE guild_id = ? AND name = ?", (guild_id, name)
    )
    if row is not None:
        if row["removed_at"] is None:
            return _subject(row), False
        await conn.execute("UPDATE subjects SET removed_at = NULL WHERE id = ?", (row["id"],))
        return _subject(row), True
    new = await first_row(
        conn,
        "INSERT INTO subjects (guild_id, name, created_at) VALUES (?, ?, ?) RETURNING *",
        (guild_id, name, to_db(now)),
    )
    assert new is not None
    return _subject(new), True


async def remove_subject(conn: Connection, subject_id: int, now: datetime) -> None:
    """Mark a subject removed; its badges and sessions stay in the history."""
    await conn.execute("UPDATE subjects SET removed_at = ? WHERE id = ?", (to_db(now), subject_id))


async def set_subject_role(conn: Connection, subject_id: int, role_id: int | None) -> None:
    """Remember (or forget) the badge role made for a subject."""
    await conn.execute("UPDATE subjects SET role_id = ? WHERE id = ?", (role_id, subject_id))
