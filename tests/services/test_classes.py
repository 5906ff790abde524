"""Class set-up at the service level."""

from __future__ import annotations

from datetime import time

import pytest

from bot.errors import Conflict, InvalidInput, NotConfigured, NotFound
from bot.wiring import Services
from db.database import Database

GUILD = 100


async def test_setup_creates_a_configured_class_with_defaults(services: Services) -> None:
    with pytest.raises(NotConfigured, match="/setup"):
        await services.classes.require_configured(GUILD)
    settings = await services.classes.setup(GUILD, 1, teacher_role_id=5, announcements_channel_id=6)
    assert settings.configured
    assert (settings.timezone, settings.post_weekday, settings.post_time) == (
        "Europe/London",
        4,
        time(15, 0),
    )
    changed = await services.classes.setup(GUILD, 1, timezone="America/New_York", post_time="09:30")
    assert changed.teacher_role_id == 5 and changed.timezone == "America/New_York"
    assert changed.post_time == time(9, 30)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Base"}, "don't know the time zone"),
        ({"post_time": "3 o'clock"}, "HH:MM"),
        ({"post_time": "25:00"}, "HH:MM"),
        ({"post_weekday": 9}, "Monday to Sunday"),
    ],
)
async def test_bad_setup_values_change_nothing(
    services: Services, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await services.classes.setup(GUILD, 1, **kwargs)  # type: ignore[arg-type]
    assert await services.classes.get(GUILD) is None


async def test_subjects_are_case_insensitive_and_removal_keeps_history(services: Services) -> None:
    await services.classes.setup(GUILD, 1)
    math = await services.classes.add_subject(GUILD, "  Math ")
    assert math.name == "Math"
    with pytest.raises(Conflict):
        await services.classes.add_subject(GUILD, "MATH")
    with pytest.raises(InvalidInput):
        await services.classes.add_subject(GUILD, "@everyone")
    removed = await services.classes.remove_subject(GUILD, "math")
    assert await services.classes.subjects(GUILD) == []
    assert await services.classes.subject_by_id(removed.id) == removed
    again = await services.classes.add_subject(GUILD, "Math")
    assert again.id == math.id  # same subject back, history attached
    with pytest.raises(NotFound):
        await services.classes.remove_subject(GUILD, "History")


async def test_settings_read_from_memory_follow_every_change(services: Services) -> None:
    """Settings are kept in memory once read, and every command that changes them is seen."""
    await services.classes.setup(GUILD, 1, teacher_role_id=5, timezone="Europe/London")
    assert (await services.classes.require_configured(GUILD)).timezone == "Europe/London"
    await services.classes.setup(GUILD, 1, timezone="Asia/Tokyo", post_weekday=0)
    seen = await services.classes.require_configured(GUILD)
    assert (seen.timezone, seen.post_weekday) == ("Asia/Tokyo", 0)
    await services.mentors.set_brief(GUILD, "Be kind, ask what they tried first.")
    assert (await services.classes.require_configured(GUILD)).mentor_brief == (
        "Be kind, ask what they tried first."
    )
    await services.classes.bot_removed(GUILD)
    assert await services.classes.bot_returned(GUILD) is not None
    assert (await services.classes.require_configured(GUILD)).timezone == "Asia/Tokyo"


async def test_settings_are_read_from_the_database_once(services: Services, db: Database) -> None:
    await services.classes.setup(GUILD, 1, teacher_role_id=5)
    statements: list[str] = []
    await db.trace(statements.append)
    for _ in range(5):
        await services.classes.require_configured(GUILD)
    await db.trace(None)
    assert [s for s in statements if "FROM classes" in s] == []
