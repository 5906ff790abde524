"""Mentor badges, the training brief, availability and profiles.

Discord roles are changed by the cog *before* the record is written: if Discord refuses, nothing
is recorded, and a grant or revoke can simply be repeated (both are idempotent).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.config import MentoringConfig
from bot.domain.classroom import ClassSettings, Subject
from bot.domain.durations import InvalidDuration, parse_hours, parse_until
from bot.domain.mentoring import (
    DEFAULT_BADGE_COLOUR,
    Badge,
    MentorState,
    clean_brief,
    parse_colour,
)
from bot.errors import Conflict, InvalidInput, NotFound, UserFacingError
from bot.services.classes import ClassService
from db import classes as class_sql
from db import mentors as mentor_sql
from db.database import Database

ASPECT_MAX = 40  # an aspect of a subject, e.g. "fractions"


@dataclass(frozen=True)
class GrantPlan:
    """What a grant will do, checked before Discord is touched."""

    settings: ClassSettings
    subject: Subject
    expires_at: datetime | None
    existing: Badge | None
    aspect: str | None = None
    colour: int = DEFAULT_BADGE_COLOUR


@dataclass(frozen=True)
class GrantResult:
    """A recorded grant: the badge, and whether the training brief must go out now."""

    badge: Badge
    already_held: bool
    send_brief: bool


@dataclass(frozen=True)
class SubjectMentors:
    """One subject's mentors for `/mentors`."""

    subject: str
    mentors: list[tuple[int, bool]]  # (user id, available now)


@dataclass(frozen=True)
class Profile:
    """What `/profile` shows; ``help_received`` only for the student themself or a teacher."""

    user_id: int
    current_badges: list[Badge]
    past_badges: list[Badge]
    help_given: int
    help_received: int | None
    awards: list[tuple[str, int]]


class MentorService:
    """Use cases around mentors."""

    def __init__(
        self, db: Database, clock: Clock, classes: ClassService, config: MentoringConfig
    ) -> None:
        self._db = db
        self._clock = clock
        self._classes = classes
        self._config = config

    async def plan_grant(
        self,
        guild_id: int,
        subject_name: str,
        user_id: int,
        until: str | None,
        aspect: str | None = None,
    ) -> GrantPlan:
        """Validate a grant (subject, lesson end, aspect) without changing anything."""
        settings = await self._classes.require_configured(guild_id)
        subject = await self._classes.subject(guild_id, subject_name)
        aspect = clean_aspect(aspect)
        expires_at = None
        if until:
            try:
                expires_at = parse_until(until, self._clock.now(), settings.zone)
            except InvalidDuration as exc:
                raise InvalidInput(str(exc)) from None
            if expires_at - self._clock.now() > timedelta(days=self._config.badge_max_days):
                raise InvalidInput(
                    f"A lesson badge can last at most {self._config.badge_max_days} days."
                )
        async with self._db.reading() as conn:
            existing = await mentor_sql.current_badge(conn, subject.id, user_id)
            colour = await mentor_sql.badge_colour(conn, guild_id)
        return GrantPlan(
            settings, subject, expires_at, existing, aspect, colour or DEFAULT_BADGE_COLOUR
        )

    async def remember_badge_role(self, subject: Subject, role_id: int | None) -> None:
        """Store the Discord role made (or found) for a subject's badge."""
        async with self._db.transaction() as conn:
            await class_sql.set_subject_role(conn, subject.id, role_id)

    async def record_grant(self, plan: GrantPlan, user_id: int, actor_id: int) -> GrantResult:
        """Write the badge (idempotent: a held badge only gets its new end time)."""
        now = self._clock.now()
        async with self._db.transaction() as conn:
            existing = await mentor_sql.current_badge(conn, plan.subject.id, user_id)
            if existing is not None:
                await mentor_sql.set_badge_expiry(conn, existing.id, plan.expires_at)
                if plan.aspect is not None:
                    await mentor_sql.set_badge_aspect(conn, existing.id, plan.aspect)
                badge_id = existing.id
            else:
                badge_id = await mentor_sql.insert_badge(
                    conn,
                    guild_id=plan.settings.guild_id,
                    subject_id=plan.subject.id,
                    user_id=user_id,
                    granted_by=actor_id,
                    now=now,
                    expires_at=plan.expires_at,
                    aspect=plan.aspect,
                )
            state = await mentor_sql.ensure_mentor(
                conn,
                plan.settings.guild_id,
                user_id,
                now=now,
                session_limit=self._config.mentor_session_limit,
            )
            badge = await mentor_sql.get_badge(conn, badge_id)
        assert badge is not None
        send_brief = not state.briefed and state.brief_sent_at is None
        return GrantResult(badge, existing is not None, send_brief)

    async def brief_sent(self, guild_id: int, user_id: int) -> None:
        """The brief reached the mentor (by DM or in the mentors channel)."""
        async with self._db.transaction() as conn:
            await mentor_sql.mark_brief_sent(conn, guild_id, user_id, self._clock.now())

    async def acknowledge_brief(self, guild_id: int, user_id: int) -> bool:
        """ "I've read this": the mentor can now receive requests. False if already done."""
        async with self._db.transaction() as conn:
            if await mentor_sql.get_mentor(conn, guild_id, user_id) is None:
                raise NotFound("You don't have a mentor badge in this class.")
            return await mentor_sql.acknowledge_brief(conn, guild_id, user_id, self._clock.now())

    async def plan_revoke(self, guild_id: int, subject_name: str, user_id: int) -> Badge:
        """The badge a revoke will end, or a clear error."""
        await self._classes.require_configured(guild_id)
        subject = await self._classes.subject(guild_id, subject_name)
        async with self._db.reading() as conn:
            badge = await mentor_sql.current_badge(conn, subject.id, user_id)
        if badge is None:
            raise NotFound(f"<@{user_id}> has no {subject.name} mentor badge.")
        return badge

    async def end_badge(self, badge_id: int, by: int | None, reason: str) -> Badge | None:
        """End a badge; returns it if this call ended it, None if it had already ended."""
        async with self._db.transaction() as conn:
            ended = await mentor_sql.end_badge(
                conn, badge_id, now=self._clock.now(), by=by, reason=reason
            )
            badge = await mentor_sql.get_badge(conn, badge_id)
        return badge if ended else None

    async def due_to_expire(self, badge_id: int) -> Badge | None:
        """A lesson badge whose end has come and which is still current."""
        async with self._db.reading() as conn:
            badge = await mentor_sql.get_badge(conn, badge_id)
        if badge is None or not badge.current or badge.expires_at is None:
            return None
        return badge if badge.expires_at <= self._clock.now() else None

    async def current_badge_by_id(self, badge_id: int) -> Badge | None:
        """A badge that has not ended yet, by id."""
        async with self._db.reading() as conn:
            badge = await mentor_sql.get_badge(conn, badge_id)
        return badge if badge is not None and badge.current else None

    async def lesson_badges(self) -> list[Badge]:
        """Every current badge with an end time, to rebuild the timers at start-up."""
        async with self._db.reading() as conn:
            return await mentor_sql.expiring_badges(conn)

    async def reconcile(self, guild_id: int, user_id: int, role_ids: Iterable[int]) -> list[Badge]:
        """End the badges whose role the member no longer has (removed by hand in Discord)."""
        held = set(role_ids)
        now = self._clock.now()
        ended: list[Badge] = []
        async with self._db.transaction() as conn:
            subjects = {s.id: s for s in await class_sql.list_subjects(conn, guild_id)}
            for badge in await mentor_sql.user_badges(conn, guild_id, user_id):
                subject = subjects.get(badge.subject_id)
                if (
                    badge.current
                    and subject is not None
                    and subject.role_id is not None
                    and subject.role_id not in held
                    and await mentor_sql.end_badge(
                        conn, badge.id, now=now, by=None, reason="role_removed"
                    )
                ):
                    ended.append(badge)
        return ended

    async def badge_holders(self, guild_id: int) -> set[int]:
        """Everyone holding a current badge in a class."""
        async with self._db.reading() as conn:
            return {b.user_id for b in await mentor_sql.current_badges(conn, guild_id)}

    async def left_class(self, guild_id: int, user_id: int) -> list[Badge]:
        """A mentor left the server: their badges end (history kept), availability off."""
        now = self._clock.now()
        async with self._db.transaction() as conn:
            badges = [b for b in await mentor_sql.user_badges(conn, guild_id, user_id) if b.current]
            for badge in badges:
                await mentor_sql.end_badge(conn, badge.id, now=now, by=None, reason="left_class")
            if badges:
                await mentor_sql.set_available_until(conn, guild_id, user_id, None)
        return badges

    async def role_deleted(self, guild_id: int, role_id: int) -> list[Badge]:
        """A badge role was deleted in Discord: its badges end; the next grant makes a new role."""
        now = self._clock.now()
        async with self._db.transaction() as conn:
            badges = await mentor_sql.badges_for_role(conn, guild_id, role_id)
            for badge in badges:
                await mentor_sql.end_badge(conn, badge.id, now=now, by=None, reason="role_deleted")
            for subject in await class_sql.list_subjects(conn, guild_id):
                if subject.role_id == role_id:
                    await class_sql.set_subject_role(conn, subject.id, None)
        return badges

    async def mentor_state(self, guild_id: int, user_id: int) -> MentorState | None:
        """A mentor's state, if they ever had a badge here."""
        async with self._db.reading() as conn:
            return await mentor_sql.get_mentor(conn, guild_id, user_id)

    async def set_available(
        self, guild_id: int, user_id: int, on: bool, duration: str | None = None
    ) -> tuple[MentorState, list[Badge]]:
        """Switch availability; it switches itself off after the duration (default from config)."""
        if on:
            try:
                length = (
                    parse_hours(duration)
                    if duration
                    else timedelta(hours=self._config.availability_hours)
                )
            except InvalidDuration as exc:
                raise InvalidInput(str(exc)) from None
        async with self._db.transaction() as conn:
            badges = await mentor_sql.user_badges(conn, guild_id, user_id)
            current = [b for b in badges if b.current]
            if not current:
                raise UserFacingError(
                    "Availability is for mentors. You don't have a mentor badge right now; "
                    "your teacher chooses mentors for each subject. If you're stuck, `/helpme` "
                    "finds you one!"
                )
            until = self._clock.now() + length if on else None
            await mentor_sql.set_available_until(conn, guild_id, user_id, until)
            state = await mentor_sql.get_mentor(conn, guild_id, user_id)
        assert state is not None
        return state, current

    async def mentors_by_subject(
        self, guild_id: int, subject_name: str | None
    ) -> list[SubjectMentors]:
        """Who mentors each subject, and who is available right now."""
        subject_id = None
        if subject_name:
            subject_id = (await self._classes.subject(guild_id, subject_name)).id
        now = self._clock.now()
        async with self._db.reading() as conn:
            subjects = await class_sql.list_subjects(conn, guild_id)
            badges = await mentor_sql.current_badges(conn, guild_id, subject_id)
            states = await mentor_sql.mentor_states(conn, guild_id)
        result = []
        for subject in subjects:
            if subject_id is not None and subject.id != subject_id:
                continue
            mentors = [
                (b.user_id, b.user_id in states and states[b.user_id].available_at(now))
                for b in badges
                if b.subject_id == subject.id
            ]
            mentors.sort(key=lambda m: not m[1])  # available first, then by grant time
            result.append(SubjectMentors(subject.name, mentors))
        return result

    async def profile(self, guild_id: int, user_id: int, *, full: bool) -> Profile:
        """A student's profile; ``full`` adds the private parts (help received, private awards)."""
        async with self._db.reading() as conn:
            badges = await mentor_sql.user_badges(conn, guild_id, user_id)
            given, received = await mentor_sql.help_counts(conn, guild_id, user_id)
            awards = await mentor_sql.award_summary(conn, guild_id, user_id, include_private=full)
        return Profile(
            user_id=user_id,
            current_badges=[b for b in badges if b.current],
            past_badges=[b for b in badges if not b.current],
            help_given=given,
            help_received=received if full else None,
            awards=awards,
        )

    async def set_badge_colour(self, guild_id: int, text: str) -> tuple[int, list[int]]:
        """Change the badge roles' colour; returns it and the existing badge roles to recolour."""
        await self._classes.require_configured(guild_id)
        try:
            colour = parse_colour(text)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        async with self._db.transaction() as conn:
            await mentor_sql.set_badge_colour(conn, guild_id, colour)
            subjects = await class_sql.list_subjects(conn, guild_id)
        return colour, [s.role_id for s in subjects if s.role_id is not None]

    async def set_brief(self, guild_id: int, text: str) -> str | None:
        """Store the class's own training brief; empty text restores the default."""
        try:
            cleaned = clean_brief(text)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        async with self._db.transaction() as conn:
            await class_sql.set_mentor_brief(conn, guild_id, cleaned)
        self._classes.forget(guild_id)
        return cleaned


def clean_aspect(raw: str | None) -> str | None:
    """An aspect (topic within a subject) for a badge, e.g. "fractions"; empty = none."""
    if raw is None:
        return None
    aspect = " ".join(raw.split())
    if len(aspect) > ASPECT_MAX:
        raise InvalidInput(f"Aspects are at most {ASPECT_MAX} characters.")
    if any(ch in aspect for ch in "@#:`<>"):
        raise InvalidInput("Aspects can't contain @, #, :, ` or angle brackets.")
    return aspect or None


def ensure_not_bot(is_bot: bool) -> None:
    """Badges and awards are for students, not bots."""
    if is_bot:
        raise Conflict("Bots can't be mentors.")
