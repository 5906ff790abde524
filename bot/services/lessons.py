"""Lessons: a teacher opens one for a subject (and aspect) with chosen mentors; it ends by hand or
at its end time. Requests during the lesson prefer its mentors (see :mod:`bot.domain.matching`).

Starting checks everything first (:meth:`LessonService.plan_start`): nothing is written and
nobody is given a role until the plan is known to be good.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from bot.clock import Clock
from bot.config import MentoringConfig
from bot.domain.classroom import ClassSettings, Subject
from bot.domain.durations import InvalidDuration, parse_until
from bot.domain.gains import (
    PERIOD_LABELS,
    ClassGains,
    DayRange,
    GainPeriod,
    PublicGains,
    ScorePoint,
    local_day,
    period_days,
    public_gains,
)
from bot.domain.help_states import RequestState
from bot.domain.insights import Insights, summarise
from bot.domain.lessons import (
    PAIR_PRIZE_POINTS,
    Celebration,
    Lesson,
    LessonCounts,
    PairPrize,
    PrizeNews,
    assessment_gains,
    most_correct_groups,
    pair_winners,
    parse_mentions,
)
from bot.domain.points import LedgerReason
from bot.domain.text import TextRefused, clean_text
from bot.errors import Conflict, InvalidInput, NotFound
from bot.services.classes import ClassService
from bot.services.mentors import clean_aspect
from bot.services.progress import pair_gains
from db import classes as class_sql
from db import help_requests as help_sql
from db import ledger as ledger_sql
from db import lessons as lesson_sql
from db import mentors as mentor_sql
from db import scores as score_sql
from db.database import Connection, Database
from db.errors import IntegrityError

NO_LESSON = "There's no lesson open. A teacher starts one with `/lesson start`."
ANSWER_MAX = 300  # a meeting answer or a debrief: a few sentences


@dataclass(frozen=True)
class LessonPlan:
    """A checked `/lesson start`: who mentors, until when, and who needs a lesson badge."""

    settings: ClassSettings
    subject: Subject
    aspect: str | None
    ends_at: datetime | None
    mentor_ids: list[int]
    need_badge: list[int]  # named mentors without a current badge for the subject


@dataclass(frozen=True)
class LessonStatus:
    """What `/lesson status` shows."""

    lesson: Lesson
    mentors: list[int]
    counts: LessonCounts


@dataclass(frozen=True)
class MeetingAnswers:
    """`/lesson brief-answers`: the lesson and its mentors' answers."""

    lesson: Lesson
    mentors: list[int]
    answers: list[tuple[int, str, str]]  # (mentor, what was hard, what helped)


@dataclass(frozen=True)
class EndedLesson:
    """A lesson this call closed, with what it gave out (lesson badges to take back)."""

    lesson: Lesson
    mentors: list[int]
    lesson_badges: list[int]
    counts: LessonCounts


def _prize_lists(
    prizes: list[tuple[str, int, int, float | None]],
) -> tuple[list[PairPrize], list[list[int]]]:
    """(pair prizes, most-correct groups with their mentor first) from the prize rows."""
    groups: dict[int, list[int]] = {}
    for kind, mentor, member, _ in prizes:
        if kind == "most_correct":
            groups.setdefault(mentor, []).append(member)
    pairs = [
        PairPrize(mentor, mentee, gain or 0.0)
        for kind, mentor, mentee, gain in prizes
        if kind == "gains_pair"
    ]
    return pairs, list(groups.values())


def _gains(points: list[ScorePoint], assessment: tuple[int, str] | None) -> PublicGains | None:
    """The public gains into the assessment (gains only, improvers only)."""
    if assessment is None:
        return None
    return public_gains(ClassGains(assessment_gains(points, assessment[1])))


class LessonService:
    """Use cases of lessons."""

    def __init__(
        self, db: Database, clock: Clock, classes: ClassService, config: MentoringConfig
    ) -> None:
        self._db = db
        self._clock = clock
        self._classes = classes
        self._config = config

    async def plan_start(
        self,
        guild_id: int,
        subject_name: str,
        aspect: str | None,
        mentors: str | None,
        until: str | None,
    ) -> LessonPlan:
        """Check a `/lesson start` without changing anything; one clear error otherwise."""
        settings = await self._classes.require_configured(guild_id)
        subject = await self._classes.subject(guild_id, subject_name)
        aspect = clean_aspect(aspect)
        now = self._clock.now()
        ends_at = None
        if until:
            try:
                ends_at = parse_until(until, now, settings.zone)
            except InvalidDuration as exc:
                raise InvalidInput(f"`until`: {exc}") from None
        async with self._db.reading() as conn:
            if await lesson_sql.open_lesson(conn, guild_id) is not None:
                raise Conflict(
                    "A lesson is already open in this class. End it with `/lesson end` first."
                )
            holders = [
                b.user_id for b in await mentor_sql.current_badges(conn, guild_id, subject.id)
            ]
        if mentors:
            try:
                mentor_ids = parse_mentions(mentors)
            except ValueError as exc:
                raise InvalidInput(str(exc)) from None
        else:
            mentor_ids = holders
        if not mentor_ids:
            raise InvalidInput(
                f"No mentors available for {subject.name}: name the lesson's mentors "
                "(`mentors: @Alice @Bob`) or badge some with `/mentor grant` first."
            )
        need_badge = [uid for uid in mentor_ids if uid not in holders]
        return LessonPlan(settings, subject, aspect, ends_at, mentor_ids, need_badge)

    async def record_start(self, plan: LessonPlan, teacher_id: int) -> Lesson:
        """Open the lesson and make its mentors available until it ends (one transaction)."""
        now = self._clock.now()
        available_until = plan.ends_at or now + timedelta(hours=self._config.availability_hours)
        try:
            async with self._db.transaction() as conn:
                lesson_id = await lesson_sql.insert_lesson(
                    conn,
                    guild_id=plan.settings.guild_id,
                    subject_id=plan.subject.id,
                    aspect=plan.aspect,
                    started_by=teacher_id,
                    now=now,
                    ends_at=plan.ends_at,
                )
                for uid in plan.mentor_ids:
                    await lesson_sql.add_mentor(conn, lesson_id, uid, None)
                    await mentor_sql.ensure_mentor(
                        conn,
                        plan.settings.guild_id,
                        uid,
                        now=now,
                        session_limit=self._config.mentor_session_limit,
                    )
                    await mentor_sql.set_available_until(
                        conn, plan.settings.guild_id, uid, available_until
                    )
                lesson = await lesson_sql.get_lesson(conn, lesson_id)
        except IntegrityError:
            raise Conflict(
                "A lesson is already open in this class. End it with `/lesson end` first."
            ) from None
        assert lesson is not None
        return lesson

    async def attach_badge(self, lesson: Lesson, user_id: int, badge_id: int) -> None:
        """Remember the lesson badge given to a mentor, to take it back when the lesson ends."""
        async with self._db.transaction() as conn:
            await lesson_sql.add_mentor(conn, lesson.id, user_id, badge_id)

    async def set_panel(self, lesson: Lesson, channel_id: int, message_id: int) -> None:
        """Remember the lesson's help panel message."""
        async with self._db.transaction() as conn:
            await lesson_sql.set_panel(conn, lesson.id, channel_id, message_id)

    async def last_panel(self, guild_id: int) -> tuple[int, int] | None:
        """The help panel the previous lesson posted, to refresh instead of posting again."""
        async with self._db.reading() as conn:
            return await lesson_sql.last_panel(conn, guild_id)

    async def status(self, guild_id: int) -> LessonStatus:
        """The open lesson, its mentors and what happened so far."""
        await self._classes.require_configured(guild_id)
        async with self._db.reading() as conn:
            lesson = await lesson_sql.open_lesson(conn, guild_id)
            if lesson is None:
                raise NotFound(NO_LESSON)
            mentors = [uid for uid, _ in await lesson_sql.mentors(conn, lesson.id)]
            counts = await lesson_sql.counts(conn, lesson, self._clock.now())
        return LessonStatus(lesson, mentors, counts)

    async def open_lesson(self, guild_id: int) -> Lesson | None:
        """The class's open lesson, if any."""
        async with self._db.reading() as conn:
            return await lesson_sql.open_lesson(conn, guild_id)

    async def end(self, guild_id: int, by: int) -> EndedLesson:
        """`/lesson end`: close the class's open lesson."""
        await self._classes.require_configured(guild_id)
        lesson = await self.open_lesson(guild_id)
        if lesson is None:
            raise NotFound(NO_LESSON)
        ended = await self._end(lesson.id, by)
        if ended is None:
            raise Conflict("That lesson has just ended.")
        return ended

    async def end_if_due(self, lesson_id: int) -> EndedLesson | None:
        """The lesson's end time came: close it (None if it is not due or already ended)."""
        async with self._db.reading() as conn:
            lesson = await lesson_sql.get_lesson(conn, lesson_id)
        if lesson is None or not lesson.open or lesson.ends_at is None:
            return None
        if lesson.ends_at > self._clock.now():
            return None
        return await self._end(lesson_id, None)

    async def _end(self, lesson_id: int, by: int | None) -> EndedLesson | None:
        now = self._clock.now()
        async with self._db.transaction() as conn:
            lesson = await lesson_sql.get_lesson(conn, lesson_id)
            if lesson is None or not lesson.open:
                return None
            # Quizzes recorded "during or right after the lesson" count for its prizes: with
            # confirmed sessions, the prizes wait for the quiz window; without any there is no
            # pair to name, so they are decided (empty) now.
            paired = bool(await lesson_sql.lesson_sessions(conn, lesson, now))
            window = timedelta(minutes=self._config.lesson_quiz_minutes if paired else 0)
            if not await lesson_sql.end_lesson(conn, lesson_id, now, by, now + window):
                return None
            lesson = await lesson_sql.get_lesson(conn, lesson_id)
            assert lesson is not None
            mentors = await lesson_sql.mentors(conn, lesson_id)
            for uid, _ in mentors:
                # Lesson mentors were made available for the lesson; they stop with it.
                await mentor_sql.set_available_until(conn, lesson.guild_id, uid, None)
            counts = await lesson_sql.counts(conn, lesson)
            if not window:
                await self._decide_prizes(conn, lesson, now)
                lesson = dataclasses.replace(lesson, prize_decided_at=now)
        return EndedLesson(
            lesson,
            [uid for uid, _ in mentors],
            [badge for _, badge in mentors if badge is not None],
            counts,
        )

    # --- the prizes: decided once, when the quiz is in --------------------------------------

    async def decide_if_due(self, lesson_id: int) -> bool:
        """The quiz window closed: decide the lesson's prizes (False if not due or decided)."""
        async with self._db.reading() as conn:
            lesson = await lesson_sql.get_lesson(conn, lesson_id)
        if lesson is None or not lesson.prize_waiting:
            return False
        if lesson.prize_due_at is not None and lesson.prize_due_at > self._clock.now():
            return False
        async with self._db.transaction() as conn:
            return await self._decide_prizes(conn, lesson, self._clock.now())

    async def decide_now(self, guild_id: int) -> Lesson:
        """`/lesson prize`: the teacher says the quiz is in; decide the waiting prizes now."""
        await self._classes.require_configured(guild_id)
        async with self._db.reading() as conn:
            lesson = await lesson_sql.waiting_prize(conn, guild_id)
        if lesson is None:
            raise NotFound(
                "No lesson is waiting for its quiz: a lesson's prizes are decided when it ends "
                "(or when its quiz window closes)."
            )
        async with self._db.transaction() as conn:
            if not await self._decide_prizes(conn, lesson, self._clock.now()):
                raise Conflict("That lesson's prizes have just been decided.")
        return lesson

    async def quiz_imported(self, guild_id: int) -> Lesson | None:
        """A score file was imported: when it brought the waiting lesson's quiz (scores for its
        subject recorded after it ended), the quiz is in and the prizes are decided now. Returns
        the lesson whose prizes this call decided."""
        async with self._db.reading() as conn:
            lesson = await lesson_sql.waiting_prize(conn, guild_id)
            if lesson is None or not await lesson_sql.quiz_recorded_after_end(conn, lesson):
                return None
        async with self._db.transaction() as conn:
            decided = await self._decide_prizes(conn, lesson, self._clock.now())
        return lesson if decided else None

    async def waiting_prizes(self) -> list[Lesson]:
        """Ended lessons whose prizes wait for the quiz, to rebuild their deadlines at start-up."""
        async with self._db.reading() as conn:
            return await lesson_sql.waiting_prizes(conn)

    async def _decide_prizes(self, conn: Connection, lesson: Lesson, now: datetime) -> bool:
        """Decide the lesson's prizes once: the conditional update on ``prize_decided_at`` picks
        one winner among the deadline, the teacher and an import (in any process); False for
        the others, which change nothing.

        Biggest gains pair: the progress issue's pair rule over the sessions confirmed during
        the lesson, with every score recorded until now (ties share; each winner gets points in
        the ledger once). Most correct answers: the group(s) of a mentor and those they helped
        with the best mean result on the newest assessment recorded during the lesson or its
        quiz window.
        """
        if not await lesson_sql.claim_prize_decision(conn, lesson.id, now):
            return False
        assert lesson.ended_at is not None
        cutoff = min(now, lesson.prize_due_at or now)
        settings = await class_sql.get_class(conn, lesson.guild_id)
        assert settings is not None
        sessions = await lesson_sql.lesson_sessions(conn, lesson, lesson.ended_at)
        mentee_points = []
        for mentee in sorted({student for student, _, _ in sessions}):
            # A decision made late (the bot was down at the deadline) still sees the scores
            # of the quiz window only.
            mentee_points += await score_sql.subject_points(
                conn, lesson.guild_id, lesson.subject_id, user_id=mentee, recorded_until=cutoff
            )
        pairs = pair_gains(mentee_points, sessions, DayRange(None, None), settings)
        winners = pair_winners((p.mentor_id, p.mentee_id, p.gain.points) for p in pairs)
        rewarded: set[int] = set()
        for prize in winners:
            await lesson_sql.add_prize(
                conn, lesson.id, "gains_pair", prize.mentor_id, prize.mentee_id, prize.gain
            )
            for person in (prize.mentor_id, prize.mentee_id):
                if person in rewarded:
                    continue  # in two winning pairs: the prize once
                rewarded.add(person)
                await ledger_sql.add_entry(
                    conn,
                    guild_id=lesson.guild_id,
                    user_id=person,
                    points=PAIR_PRIZE_POINTS,
                    reason=LedgerReason.GAINS_PAIR,
                    created_at=now,
                    subject_id=lesson.subject_id,
                    lesson_id=lesson.id,
                )
        assessment = await lesson_sql.lesson_assessment(conn, lesson, cutoff)
        if assessment is None:
            return True
        percents = await lesson_sql.assessment_percents(conn, assessment[0])
        groups: dict[int, set[int]] = {}
        for student, mentor, _ in sessions:
            groups.setdefault(mentor, set()).add(student)
        for group in most_correct_groups(groups, percents):
            for member in group:
                await lesson_sql.add_prize(conn, lesson.id, "most_correct", group[0], member, None)
        return True

    async def ending_lessons(self) -> list[Lesson]:
        """Open lessons with an end time, to rebuild their timers at start-up."""
        async with self._db.reading() as conn:
            return await lesson_sql.ending_lessons(conn)

    async def cancel_start(self, lesson_id: int) -> EndedLesson | None:
        """Undo a start Discord refused half-way: the lesson is removed, no celebration."""
        async with self._db.transaction() as conn:
            lesson = await lesson_sql.get_lesson(conn, lesson_id)
            if lesson is None:
                return None
            mentors = await lesson_sql.mentors(conn, lesson_id)
            for uid, _ in mentors:
                await mentor_sql.set_available_until(conn, lesson.guild_id, uid, None)
            await lesson_sql.delete_lesson(conn, lesson_id)
        return EndedLesson(
            lesson,
            [uid for uid, _ in mentors],
            [badge for _, badge in mentors if badge is not None],
            LessonCounts(0, 0, 0),
        )

    async def pending_celebrations(self) -> list[Lesson]:
        """Ended lessons whose celebration post has not gone out (a crash, Discord down)."""
        async with self._db.reading() as conn:
            return await lesson_sql.pending_celebrations(conn)

    async def celebration(self, lesson_id: int) -> Celebration | None:
        """The celebration of an ended lesson, or None when it was already posted.

        While the prizes wait for the quiz it names none and says when they are decided; once
        decided it carries them (and the prize post is then not needed)."""
        async with self._db.reading() as conn:
            if not await lesson_sql.is_celebration_pending(conn, lesson_id):
                return None
            lesson = await lesson_sql.get_lesson(conn, lesson_id)
            assert lesson is not None
            mentors = [uid for uid, _ in await lesson_sql.mentors(conn, lesson_id)]
            counts = await lesson_sql.counts(conn, lesson)
            prizes = await lesson_sql.prizes(conn, lesson_id)
            assessment, points = await self._assessment(conn, lesson, self._quiz_cutoff(lesson))
        waiting = lesson.prize_waiting
        pair_prizes, most_correct = ([], []) if waiting else _prize_lists(prizes)
        return Celebration(
            lesson,
            counts,
            mentors,
            assessment=assessment[1] if assessment else None,
            pair_prizes=pair_prizes,
            most_correct=most_correct,
            gains=_gains(points, assessment),
            prize_due_at=lesson.prize_due_at if waiting else None,
        )

    async def celebrated(
        self, lesson_id: int, message_id: int | None, celebration: Celebration
    ) -> None:
        """The celebration went out: never again (nor the prizes, when it carried them)."""
        async with self._db.transaction() as conn:
            await lesson_sql.mark_celebrated(conn, lesson_id, message_id)
            if celebration.prize_due_at is None:
                await lesson_sql.mark_prize_posted(conn, lesson_id, message_id)

    async def pending_prize_posts(self) -> list[Lesson]:
        """Lessons whose decided prizes are not posted yet (a crash, Discord down)."""
        async with self._db.reading() as conn:
            return await lesson_sql.pending_prize_posts(conn)

    async def prize_news(self, lesson_id: int) -> PrizeNews | None:
        """The post naming the prizes decided after the celebration; None when there is nothing
        to post (already out, or the celebration is still to go and will carry them)."""
        async with self._db.reading() as conn:
            lesson = await lesson_sql.get_lesson(conn, lesson_id)
            if (
                lesson is None
                or lesson.prize_decided_at is None
                or await lesson_sql.is_celebration_pending(conn, lesson_id)
                or not await lesson_sql.is_prize_post_pending(conn, lesson_id)
            ):
                return None
            prizes = await lesson_sql.prizes(conn, lesson_id)
            assessment, points = await self._assessment(conn, lesson, self._quiz_cutoff(lesson))
            assert lesson.ended_at is not None
            shown = await lesson_sql.lesson_assessment(conn, lesson, lesson.ended_at)
        pair_prizes, most_correct = _prize_lists(prizes)
        return PrizeNews(
            lesson,
            assessment[1] if assessment else None,
            pair_prizes,
            most_correct,
            # the celebration showed the chart of a quiz recorded during the lesson already
            gains=_gains(points, assessment) if assessment != shown else None,
        )

    async def prize_posted(self, lesson_id: int, message_id: int | None) -> None:
        """The prize post went out: never again."""
        async with self._db.transaction() as conn:
            await lesson_sql.mark_prize_posted(conn, lesson_id, message_id)

    def _quiz_cutoff(self, lesson: Lesson) -> datetime:
        """Scores recorded until then count: the lesson's end while its prizes wait, else the
        moment they were decided (at most the end of the quiz window)."""
        if lesson.prize_decided_at is None:
            return lesson.ended_at or self._clock.now()
        return min(lesson.prize_decided_at, lesson.prize_due_at or lesson.prize_decided_at)

    @staticmethod
    async def _assessment(
        conn: Connection, lesson: Lesson, until: datetime
    ) -> tuple[tuple[int, str] | None, list[ScorePoint]]:
        assessment = await lesson_sql.lesson_assessment(conn, lesson, until)
        points = (
            await score_sql.subject_points(conn, lesson.guild_id, lesson.subject_id)
            if assessment
            else []
        )
        return assessment, points

    async def record_answers(self, lesson_id: int, user_id: int, hard: str, helped: str) -> Lesson:
        """A lesson mentor answers the meeting's two questions (for the teacher only)."""
        try:
            hard = clean_text(hard, what="Your first answer", max_length=ANSWER_MAX, multiline=True)
            helped = clean_text(
                helped, what="Your second answer", max_length=ANSWER_MAX, multiline=True
            )
        except TextRefused as exc:
            raise InvalidInput(str(exc)) from None
        async with self._db.transaction() as conn:
            lesson = await lesson_sql.get_lesson(conn, lesson_id)
            if lesson is None or not await lesson_sql.is_mentor(conn, lesson_id, user_id):
                raise NotFound("These questions are for that lesson's mentors.")
            await lesson_sql.save_answers(conn, lesson_id, user_id, hard, helped, self._clock.now())
        return lesson

    async def brief_answers(self, guild_id: int) -> MeetingAnswers:
        """The open (or last) lesson's mentor meeting answers."""
        await self._classes.require_configured(guild_id)
        async with self._db.reading() as conn:
            lesson = await lesson_sql.latest_lesson(conn, guild_id)
            if lesson is None:
                raise NotFound("No lessons yet: `/lesson start` opens one.")
            mentors = [uid for uid, _ in await lesson_sql.mentors(conn, lesson.id)]
            answers = await lesson_sql.answers(conn, lesson.id)
        return MeetingAnswers(lesson, mentors, answers)

    async def lesson_mentor_ids(self, lesson_id: int) -> list[int]:
        """A lesson's mentors."""
        async with self._db.reading() as conn:
            return [uid for uid, _ in await lesson_sql.mentors(conn, lesson_id)]

    async def record_debrief(self, request_id: int, mentor_id: int, text: str) -> None:
        """The mentor's optional note after a confirmed session: at most 300 characters, once."""
        try:
            note = clean_text(text, what="Your note", max_length=ANSWER_MAX, multiline=True)
        except TextRefused as exc:
            raise InvalidInput(str(exc)) from None
        async with self._db.transaction() as conn:
            request = await help_sql.get_request(conn, request_id)
            if request is None or request.mentor_id != mentor_id:
                raise NotFound("Only the mentor of that session can add a note to it.")
            if request.state is not RequestState.RESOLVED:
                raise Conflict("Notes are for sessions the student confirmed.")
            if not await lesson_sql.save_debrief(
                conn, request_id, mentor_id, note, self._clock.now()
            ):
                raise Conflict("You already added a note to this session. Thank you!")

    async def insights(
        self, guild_id: int, subject_name: str, period: GainPeriod = GainPeriod.TERM
    ) -> tuple[str, str, Insights]:
        """(subject, period label, summary) of what the class struggled with (teachers only)."""
        settings = await self._classes.require_configured(guild_id)
        subject = await self._classes.subject(guild_id, subject_name)
        async with self._db.reading() as conn:
            term = await score_sql.get_term(conn, guild_id)
            days = period_days(period, local_day(self._clock.now(), settings.zone), term)
            since = (
                datetime.combine(days.first, time(0), settings.zone).astimezone(UTC)
                if days.first
                else None
            )
            until = (
                datetime.combine(days.last + timedelta(days=1), time(0), settings.zone).astimezone(
                    UTC
                )
                if days.last
                else None
            )
            facts = await lesson_sql.request_facts(conn, guild_id, subject.id, since, until)
        return subject.name, PERIOD_LABELS[period], summarise(facts)
