"""The teacher dashboard's and the projector view's use cases: read-only summaries of a class.

Names never come from here (ClassMentor stores none): results carry user ids, and the web layer
reads display names from Discord. Nothing here says who asked for help.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.domain.classroom import ClassSettings, Subject
from bot.domain.gains import ClassGains, GainPeriod, class_gains, period_days
from bot.domain.weeks import Period, period_bounds, week_bounds
from bot.services.classes import ClassService
from db import dashboard as dash_sql
from db import ledger as ledger_sql
from db import mentors as mentor_sql
from db import reports as reports_sql
from db import scores as score_sql
from db.database import Database
from db.reports import AwardRow

# Words too common to tell a teacher anything about what the class struggles with.
_STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "so",
        "that",
        "the",
        "this",
        "to",
        "what",
        "when",
        "where",
        "which",
        "why",
        "with",
        "you",
        "your",
        "help",
        "please",
        "stuck",
        "question",
        "about",
    ]
)
PROJECTOR_AWARDS = 5
_WORD = re.compile(r"[^\W\d_][\w'-]{2,}")


@dataclass(frozen=True)
class Waiting:
    """A request waiting for a mentor: subject and how long (never who asked)."""

    subject: str
    waited: timedelta


@dataclass(frozen=True)
class Overview:
    """A class at a glance, for the teacher."""

    week_start: datetime
    confirmed_this_week: int
    waiting: list[Waiting]
    available: dict[int, tuple[str, ...]]  # mentor id -> subjects


@dataclass(frozen=True)
class ProjectorView:
    """What the classroom screen shows: counts only, no raw scores, nobody who asked."""

    confirmed_this_week: int
    waiting: int
    available: dict[int, tuple[str, ...]]
    # This week's public awards, newest first (what the shout-outs already told the class).
    awards: list[AwardRow]


@dataclass(frozen=True)
class Insights:
    """What the class asked for help with (topics, no names)."""

    demand: list[dash_sql.SubjectDemand]
    common_words: list[tuple[str, int]]
    recent_topics: list[tuple[str, str]]
    aspects_asked: list[tuple[str, str, int]]  # (subject, aspect, requests)
    aspect_results: list[dash_sql.AspectResult]  # weakest first


@dataclass(frozen=True)
class History:
    """Awards that stand, and the newest ledger entries."""

    awards: list[AwardRow]
    ledger: list[dash_sql.LedgerLine]


@dataclass(frozen=True)
class RosterRow:
    """One student on the teacher's roster."""

    user_id: int
    points: int
    sessions_given: int
    sessions_received: int
    badges: tuple[str, ...]


@dataclass(frozen=True)
class StudentPage:
    """What a student sees about themselves."""

    badges: tuple[str, ...]
    sessions_given: int
    sessions_received: int
    points: int
    awards: list[AwardRow]


def hash_link_token(token: str) -> str:
    """The stored form of a projector link's secret (the database never holds the secret)."""
    return hashlib.sha256(token.encode()).hexdigest()


class DashboardService:
    """Read-only views of a class for the web dashboard, and the projector links."""

    def __init__(self, db: Database, clock: Clock, classes: ClassService) -> None:
        self._db = db
        self._clock = clock
        self._classes = classes

    async def settings(self, guild_id: int) -> tuple[ClassSettings, list[Subject]]:
        """The class's set-up and subjects (raises NotSetUp if it has none)."""
        settings = await self._classes.require_configured(guild_id)
        return settings, await self._classes.subjects(guild_id)

    async def overview(self, guild_id: int) -> Overview:
        """This week's confirmed sessions, who waits how long, who is available now."""
        settings = await self._classes.require_configured(guild_id)
        now = self._clock.now()
        start, end = week_bounds(now, settings.zone)
        async with self._db.reading() as conn:
            confirmed = await dash_sql.confirmed_sessions(conn, guild_id, start, end)
            waiting = await dash_sql.waiting_requests(conn, guild_id)
            available = await dash_sql.available_mentors(conn, guild_id, now)
        return Overview(
            week_start=start,
            confirmed_this_week=confirmed,
            waiting=[Waiting(w.subject, max(now - w.queued_at, timedelta(0))) for w in waiting],
            available=available,
        )

    async def projector(self, guild_id: int) -> ProjectorView:
        """The projector's numbers, computed the same way as the overview's."""
        overview = await self.overview(guild_id)
        async with self._db.reading() as conn:
            awards = await reports_sql.awards_between(conn, guild_id, overview.week_start, None)
        public = [a for a in reversed(awards) if not a.private]
        return ProjectorView(
            confirmed_this_week=overview.confirmed_this_week,
            waiting=len(overview.waiting),
            available=overview.available,
            awards=public[:PROJECTOR_AWARDS],
        )

    async def _bounds(
        self, guild_id: int, period: Period
    ) -> tuple[datetime | None, datetime | None]:
        settings = await self._classes.require_configured(guild_id)
        return period_bounds(period, self._clock.now(), settings.zone)

    async def mentor_activity(self, guild_id: int, period: Period) -> list[dash_sql.MentorActivity]:
        """Per mentor: confirmed sessions, ratings and distinct classmates helped in the period."""
        start, end = await self._bounds(guild_id, period)
        async with self._db.reading() as conn:
            return await dash_sql.mentor_activity(conn, guild_id, start, end)

    async def insights(self, guild_id: int, period: Period) -> Insights:
        """Which subjects needed help, and the words that come up in topics (no names)."""
        settings = await self._classes.require_configured(guild_id)
        start, end = await self._bounds(guild_id, period)
        # Scores are dated by the class's local day; the period's last day is the one before end.
        first = start.astimezone(settings.zone).date() if start else None
        last = (end - timedelta(microseconds=1)).astimezone(settings.zone).date() if end else None
        async with self._db.reading() as conn:
            demand = await dash_sql.subject_demand(conn, guild_id, start, end)
            topics = await dash_sql.recent_topics(conn, guild_id, start)
            aspects_asked = await dash_sql.aspect_requests(conn, guild_id, start, end)
            results = await dash_sql.aspect_results(conn, guild_id, first, last)
        words: Counter[str] = Counter()
        for _, topic in topics:
            seen = {w.casefold() for w in _WORD.findall(topic)} - _STOP_WORDS
            words.update(seen)
        return Insights(
            demand=demand,
            common_words=[(w, n) for w, n in words.most_common(15) if n > 1],
            recent_topics=topics[:30],
            aspects_asked=aspects_asked,
            aspect_results=results,
        )

    async def history(self, guild_id: int) -> History:
        """Every award that stands (newest first) and the newest ledger entries."""
        await self._classes.require_configured(guild_id)
        async with self._db.reading() as conn:
            awards = await reports_sql.awards_between(conn, guild_id, None, None)
            ledger = await dash_sql.ledger_history(conn, guild_id)
        return History(awards=list(reversed(awards)), ledger=ledger)

    async def roster(self, guild_id: int) -> list[RosterRow]:
        """Everyone with a record in the class: points, sessions given and received, badges."""
        await self._classes.require_configured(guild_id)
        async with self._db.reading() as conn:
            members = await reports_sql.class_members_with_records(conn, guild_id)
            points = await ledger_sql.totals(conn, guild_id)
            given = await reports_sql.mentoring_stats(conn, guild_id, None, None)
            received = await reports_sql.sessions_received(conn, guild_id, None, None)
            badges = await mentor_sql.current_badges(conn, guild_id, None)
        subjects: dict[int, list[str]] = {}
        for badge in badges:
            subjects.setdefault(badge.user_id, []).append(badge.subject_name)
        return [
            RosterRow(
                user_id=user_id,
                points=points.get(user_id, 0),
                sessions_given=given[user_id].sessions_given if user_id in given else 0,
                sessions_received=received.get(user_id, 0),
                badges=tuple(sorted(subjects.get(user_id, ()), key=str.casefold)),
            )
            for user_id in sorted(members)
        ]

    async def student(self, guild_id: int, user_id: int) -> StudentPage:
        """A student's own page: badges, sessions, points and every award with its reason."""
        await self._classes.require_configured(guild_id)
        async with self._db.reading() as conn:
            badges = await mentor_sql.user_badges(conn, guild_id, user_id)
            given, received = await mentor_sql.help_counts(conn, guild_id, user_id)
            points = await ledger_sql.totals(conn, guild_id)
            awards = await reports_sql.awards_between(conn, guild_id, None, None, user_id)
        return StudentPage(
            badges=tuple(sorted((b.subject_name for b in badges if b.current), key=str.casefold)),
            sessions_given=given,
            sessions_received=received,
            points=points.get(user_id, 0),
            awards=list(reversed(awards)),
        )

    async def gains_by_subject(
        self, guild_id: int, period: GainPeriod = GainPeriod.TERM
    ) -> dict[str, ClassGains]:
        """Every student's gain per subject in the period, from each one's first and last score
        only (what the roster and the projector need: no pairs, no confidence)."""
        settings = await self._classes.require_configured(guild_id)
        subjects = await self._classes.subjects(guild_id)
        today = self._clock.now().astimezone(settings.zone).date()
        result: dict[str, ClassGains] = {}
        async with self._db.reading() as conn:
            days = period_days(period, today, await score_sql.get_term(conn, guild_id))
            for subject in subjects:
                points = await score_sql.subject_endpoints(
                    conn, guild_id, subject.id, days.first, days.last
                )
                result[subject.name] = class_gains(points, days)
        return result

    async def scores_version(self, guild_id: int) -> str:
        """A token that changes when the class's scores (or the day, or the term) change."""
        settings = await self._classes.require_configured(guild_id)
        today = self._clock.now().astimezone(settings.zone).date()
        async with self._db.reading() as conn:
            return f"{today}|{await dash_sql.scores_version(conn, guild_id)}"

    async def requests_version(self, guild_id: int) -> str:
        """A token that changes when the class's help requests (or the day) change."""
        settings = await self._classes.require_configured(guild_id)
        today = self._clock.now().astimezone(settings.zone).date()
        async with self._db.reading() as conn:
            return f"{today}|{await dash_sql.requests_version(conn, guild_id)}"

    # -- projector links -------------------------------------------------------------------
    async def create_projector_link(self, guild_id: int, teacher_id: int) -> str:
        """A new secret for the class's projector link; the old link stops working."""
        await self._classes.require_configured(guild_id)
        token = secrets.token_urlsafe(24)
        async with self._db.transaction() as conn:
            await dash_sql.replace_projector_link(
                conn, guild_id, hash_link_token(token), teacher_id, self._clock.now()
            )
        return token

    async def revoke_projector_link(self, guild_id: int, teacher_id: int) -> bool:
        """Stop the class's projector link; ``False`` when there was none."""
        async with self._db.transaction() as conn:
            revoked = await dash_sql.revoke_projector_links(
                conn, guild_id, teacher_id, self._clock.now()
            )
        return revoked > 0

    async def projector_class(self, token: str) -> int | None:
        """The class a projector link shows (``None`` when unknown or revoked)."""
        if not token or len(token) > 100:
            return None
        async with self._db.reading() as conn:
            return await dash_sql.projector_class(conn, hash_link_token(token))
