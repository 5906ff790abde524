"""What lessons look like on Discord: the status card and the celebration post."""

from __future__ import annotations

import discord

from bot.domain.lessons import Celebration
from bot.services.lessons import LessonStatus


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def status_embed(status: LessonStatus) -> discord.Embed:
    """`/lesson status`: the lesson, its mentors, requests so far and sessions confirmed."""
    lesson = status.lesson
    embed = discord.Embed(title=f"📚 Lesson: {lesson.topic}", colour=discord.Colour.blue())
    ends = f"<t:{int(lesson.ends_at.timestamp())}:t>" if lesson.ends_at else "`/lesson end`"
    embed.description = f"Started <t:{int(lesson.started_at.timestamp())}:t> · ends {ends}"
    embed.add_field(
        name="Mentoring", value=" ".join(f"<@{uid}>" for uid in status.mentors) or "nobody"
    )
    embed.add_field(name="Help requests so far", value=str(status.counts.requests))
    embed.add_field(name="Sessions confirmed", value=str(status.counts.sessions))
    return embed


def celebration_text(celebration: Celebration) -> str:
    """The end-of-lesson post: counts and thanks; never who asked for help."""
    counts = celebration.counts
    lines = [f"🎉 **That's a wrap on today's {celebration.lesson.topic} lesson!**"]
    if counts.sessions:
        lines.append(
            f"{_plural(counts.sessions, 'help session')} confirmed, "
            f"{_plural(counts.students_helped, 'classmate')} helped."
        )
    else:
        lines.append("No help sessions were confirmed this time: everyone kept going!")
    if celebration.mentors:
        names = ", ".join(f"<@{uid}>" for uid in celebration.mentors)
        lines.append(f"🙌 Thank you to our lesson mentors: {names}!")
    return "\n".join(lines)
