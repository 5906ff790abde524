"""The one composition root: config -> database -> services -> bot.

`classmentor run`, `classmentor demo` and the end-to-end tests all build the bot here, so what is
tested is what runs.
"""

from __future__ import annotations

from bot.app import EXTENSIONS, GUILD_READY_TIMEOUT_S, ClassMentorBot, bot_class
from bot.clock import Clock
from bot.config import Config
from bot.jobs import Jobs
from bot.pacing import Pacing
from bot.services import Services
from bot.services.classes import ClassService
from bot.services.dashboard import DashboardService
from bot.services.goals import GoalService
from bot.services.help_requests import HelpService
from bot.services.lessons import LessonService
from bot.services.letters import LetterService, gains_from
from bot.services.mentors import MentorService
from bot.services.privacy import PrivacyService
from bot.services.progress import ProgressService
from bot.services.recognition import RecognitionService
from db.database import Database

__all__ = ["Services", "build_bot", "build_services"]


def build_services(config: Config, db: Database, clock: Clock) -> Services:
    """Create the services over one database and clock."""
    classes = ClassService(db, clock, config.defaults)
    progress = ProgressService(db, clock, classes)
    return Services(
        classes=classes,
        mentors=MentorService(db, clock, classes, config.mentoring),
        recognition=RecognitionService(db, clock, classes),
        help=HelpService(db, clock, classes, config.mentoring),
        privacy=PrivacyService(db, clock, classes, config.privacy),
        letters=LetterService(db, clock, classes, gains=gains_from(progress)),
        progress=progress,
        lessons=LessonService(db, clock, classes, config.mentoring),
        goals=GoalService(db, clock, classes),
        dashboard=DashboardService(db, clock, classes),
    )


def build_bot(
    config: Config,
    db: Database,
    clock: Clock,
    *,
    manual_jobs: bool = False,
    guild_ready_timeout: float = GUILD_READY_TIMEOUT_S,
    extensions: tuple[str, ...] = EXTENSIONS,
    pacing: Pacing | None = None,
    reuse_extension_modules: bool = False,
) -> ClassMentorBot:
    """The bot with its services and scheduler; the database must already be migrated.

    With ``discord.shard_count`` set it is the sharded bot running ``discord.shard_ids``.
    ``pacing`` (default: production) sets the pauses of the bot's background Discord work.
    ``reuse_extension_modules``: for a process that starts bots again and again (tests, demo,
    benchmark), see :mod:`bot.extension_modules`.
    """
    return bot_class(config.discord.shards)(
        config=config,
        db=db,
        services=build_services(config, db, clock),
        jobs=Jobs(clock, manual=manual_jobs),
        clock=clock,
        extensions=extensions,
        guild_ready_timeout=guild_ready_timeout,
        pacing=pacing,
        reuse_extension_modules=reuse_extension_modules,
    )
