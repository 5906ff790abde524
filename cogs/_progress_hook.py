"""One call for "the class's figures moved": a session confirmed, a star given, a score recorded.

Features call :func:`class_progressed` (or :func:`session_confirmed`) instead of dispatching an
event, so "when is a class goal checked?" has one answer (the goals cog) and "who is asked for a
debrief?" another (the lessons cog). It lives outside any feature package so the help,
recognition and progress cogs can call it without importing the lessons package (no cycles).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import ClassMentorBot

log = logging.getLogger(__name__)

GOALS_COG = "GoalsCog"
LESSONS_COG = "LessonsCog"


async def class_progressed(bot: ClassMentorBot, guild_id: int) -> None:
    """Check the class goal now; never fails the caller (the goals sweep catches up)."""
    cog = bot.get_cog(GOALS_COG)
    check = getattr(cog, "check_goal", None)
    if check is None:
        return
    try:
        await check(guild_id)
    except Exception:
        log.exception("goal check failed for class %s; the sweep will retry", guild_id)


async def session_confirmed(
    bot: ClassMentorBot, guild_id: int, request_id: int, mentor_id: int, subject_name: str
) -> None:
    """A student confirmed a session: the mentor may add a private note; the goal is checked."""
    cog = bot.get_cog(LESSONS_COG)
    offer = getattr(cog, "offer_debrief", None)
    if offer is not None:
        try:
            await offer(request_id, mentor_id, subject_name)
        except Exception:
            log.exception("could not offer the debrief for request %s", request_id)
    await class_progressed(bot, guild_id)


async def scores_imported(bot: ClassMentorBot, guild_id: int) -> None:
    """A score file was imported: it may be the quiz a lesson's prizes wait for (the lessons
    cog decides them now if so); then the goal is checked. Never fails the caller."""
    cog = bot.get_cog(LESSONS_COG)
    decide = getattr(cog, "quiz_imported", None)
    if decide is not None:
        try:
            await decide(guild_id)
        except Exception:
            log.exception("could not decide the lesson prizes after an import in %s", guild_id)
    await class_progressed(bot, guild_id)
