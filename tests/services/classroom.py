"""A configured class for service-level tests (ids only: there is no Discord at this tier)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.wiring import Services

GUILD, TEACHER = 100, 1
TEACHER_ROLE, ANNOUNCEMENTS, HELP_CHANNEL, MENTORS = 5, 20, 21, 22


async def set_up_class(
    services: Services,
    subjects: Iterable[str] = ("Math", "English"),
    timezone: str = "Europe/London",
) -> dict[str, int]:
    """Run `/setup class` and add subjects, as a teacher would; returns subject ids by name."""
    await services.classes.setup(
        GUILD,
        TEACHER,
        teacher_role_id=TEACHER_ROLE,
        announcements_channel_id=ANNOUNCEMENTS,
        help_channel_id=HELP_CHANNEL,
        mentors_channel_id=MENTORS,
        timezone=timezone,
    )
    return {name: (await services.classes.add_subject(GUILD, name)).id for name in subjects}
