"""Use cases: each service takes the store and the clock, applies the rules, returns results.

:class:`Services` is the bundle the cogs receive; :func:`bot.wiring.build_services` builds it.
It lives here, not in ``bot.wiring``, so ``bot.app`` can name it without importing the wiring
that imports ``bot.app``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services.classes import ClassService
    from bot.services.dashboard import DashboardService
    from bot.services.goals import GoalService
    from bot.services.help_requests import HelpService
    from bot.services.lessons import LessonService
    from bot.services.letters import LetterService
    from bot.services.mentors import MentorService
    from bot.services.privacy import PrivacyService
    from bot.services.progress import ProgressService
    from bot.services.recognition import RecognitionService


@dataclass(frozen=True)
class Services:
    """Every use-case service, built once and shared by the cogs."""

    classes: ClassService
    mentors: MentorService
    recognition: RecognitionService
    help: HelpService
    privacy: PrivacyService
    letters: LetterService
    progress: ProgressService
    lessons: LessonService
    goals: GoalService
    dashboard: DashboardService
