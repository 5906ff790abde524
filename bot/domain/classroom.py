"""A class (one Discord server) and its subjects, as the rest of the bot sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.domain.text import clean_text

SUBJECT_NAME_MAX = 40
DEFAULT_MENTOR_BRIEF = (
    "**Welcome, mentor!** Before your first session, a few things that make help really help:\n"
    "1. **Listen first.** Ask what they have tried and where exactly they got stuck.\n"
    "2. **Guide, don't give answers.** Ask questions that lead them to the next step; let them "
    "do the writing.\n"
    "3. **Be patient and kind.** Everyone gets stuck; asking for help takes courage.\n"
    "4. **Help whoever the bot sends you,** not only your friends: ClassMentor shares requests "
    "fairly between mentors.\n"
    "5. **Keep it private.** Don't tell others who asked for help or what they found hard.\n"
    "6. **Call the teacher when unsure** with the *Need the teacher* button in the session.\n"
    "Credit for a session counts once the student confirms it helped."
)


@dataclass(frozen=True)
class ClassSettings:
    """One class's set-up, made with `/setup`."""

    guild_id: int
    teacher_role_id: int | None
    announcements_channel_id: int | None
    help_channel_id: int | None
    mentors_channel_id: int | None
    timezone: str
    post_weekday: int  # 0 = Monday
    post_time: time
    mentor_brief: str | None
    configured_at: datetime | None

    @property
    def configured(self) -> bool:
        """Whether `/setup` has been completed."""
        return self.configured_at is not None

    @property
    def zone(self) -> ZoneInfo:
        """The class's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def brief_text(self) -> str:
        """The class's own training brief, or the default one."""
        return self.mentor_brief or DEFAULT_MENTOR_BRIEF


@dataclass(frozen=True)
class Subject:
    """A subject mentors can be badged for, e.g. Math."""

    id: int
    guild_id: int
    name: str
    role_id: int | None

    @property
    def badge_name(self) -> str:
        """The Discord role name shown for this subject's mentors."""
        return f"{self.name} Mentor"


def is_teacher(
    member_role_ids: set[int], can_manage_server: bool, settings: ClassSettings | None
) -> bool:
    """A teacher has the class's teacher role, or the Manage Server permission."""
    if can_manage_server:
        return True
    return (
        settings is not None
        and settings.teacher_role_id is not None
        and settings.teacher_role_id in member_role_ids
    )


def clean_subject_name(raw: str) -> str:
    """Trim and validate a subject name; raises ValueError with a friendly message."""
    name = clean_text(raw, what="A subject name", max_length=SUBJECT_NAME_MAX)
    if any(ch in name for ch in "@#:`<>"):
        raise ValueError("Subject names can't contain @, #, :, ` or angle brackets.")
    return name
