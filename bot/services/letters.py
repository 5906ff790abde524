"""Letters home and the teacher's gradebook export: facts from the store, rendered off the loop.

Gains (quiz progress) come in through :class:`GainsSource`; the composition root passes
:func:`gains_from` over the progress service. Each student gets only their own gains, in
percentage points (never a raw score); a letter names only improvements, the gradebook all.
Without a source, letters and the gradebook simply have no gains section or columns.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime

from bot.clock import Clock
from bot.domain.gains import Gain
from bot.domain.points import AwardKind
from bot.domain.weeks import Period, period_bounds
from bot.errors import InvalidInput, NotFound
from bot.letters.content import (
    AWARD_TITLES,
    DEFAULT_GREETING,
    DEFAULT_SIGN_OFF,
    NOTE_MAX_LENGTH,
    TEMPLATE_MAX_LENGTH,
    AwardLine,
    GainLine,
    Letter,
    LetterFacts,
    MentoringSection,
    safe_filename,
)
from bot.letters.pdf import render_letter, render_zip
from bot.services.classes import ClassService
from bot.services.progress import ProgressService
from db import ledger as ledger_sql
from db import reports as reports_sql
from db.database import Database

PERIOD_WORDS = {
    Period.THIS_WEEK: "this week",
    Period.LAST_WEEK: "last week",
    Period.MONTH: "this month",
    Period.TERM: "this term",
    Period.ALL_TIME: "so far this year",
}
# (guild, start, end) -> per student, their gains in words, per subject.
GainsSource = Callable[
    [int, datetime | None, datetime | None], Awaitable[Mapping[int, tuple[GainLine, ...]]]
]


def gains_from(progress: ProgressService) -> GainsSource:
    """The progress feature's gains per student and subject, as a letter and gradebook say them."""

    async def source(
        guild_id: int, start: datetime | None, end: datetime | None
    ) -> Mapping[int, tuple[GainLine, ...]]:
        found = await progress.gains_between(guild_id, start, end)
        return {
            user_id: tuple(
                GainLine(subject, gain_words(gain), round(gain.points, 1))
                for subject, gain in gains
            )
            for user_id, gains in found.items()
        }

    return source


def gain_words(gain: Gain) -> str:
    """A gain in words for a parent: points and the two assessments, never the scores."""
    points = round(gain.points)
    if points > 0:
        how = f"up {points} percentage point{'s' if points != 1 else ''}"
    elif points < 0:
        how = f"down {-points} percentage point{'s' if points != -1 else ''}"
    else:
        how = "steady"
    return f"{how} from {gain.baseline.assessment} to {gain.latest.assessment}"


@dataclass(frozen=True)
class GradebookRow:
    """One student's line in the gradebook export."""

    user_id: int
    sessions_given: int
    sessions_received: int
    average_rating: float | None
    stars: int
    points: int
    gains: tuple[GainLine, ...]


class LetterService:
    """Letters home (one or the class's), the letter template, and the gradebook CSV."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        classes: ClassService,
        *,
        gains: GainsSource | None = None,
        executor: Executor | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._classes = classes
        self._gains = gains
        self._executor = executor

    def _period(self, period: Period | str) -> Period:
        try:
            return Period(period)
        except ValueError:
            raise InvalidInput("Pick a period from the list.") from None

    async def _window(
        self, guild_id: int, period: Period
    ) -> tuple[datetime | None, datetime | None]:
        settings = await self._classes.require_configured(guild_id)
        term = await self._classes.term(guild_id) if period is Period.TERM else None
        return period_bounds(period, self._clock.now(), settings.zone, term.start if term else None)

    async def _gains_for(
        self, guild_id: int, start: datetime | None, end: datetime | None
    ) -> Mapping[int, tuple[GainLine, ...]]:
        return await self._gains(guild_id, start, end) if self._gains else {}

    async def facts(self, guild_id: int, period: Period | str) -> dict[int, LetterFacts]:
        """Per student with something to praise in the period: their letter's facts."""
        window = self._period(period)
        start, end = await self._window(guild_id, window)
        settings = await self._classes.require_configured(guild_id)
        async with self._db.reading() as conn:
            mentoring = await reports_sql.mentoring_stats(conn, guild_id, start, end)
            awards = await reports_sql.awards_between(conn, guild_id, start, end)
        gains = await self._gains_for(guild_id, start, end)
        by_student: dict[int, list[AwardLine]] = {}
        for award in awards:
            by_student.setdefault(award.user_id, []).append(
                AwardLine(
                    AWARD_TITLES[award.kind],
                    award.reason,
                    award.awarded_at.astimezone(settings.zone).date(),
                )
            )
        result: dict[int, LetterFacts] = {}
        for student in sorted(set(mentoring) | set(by_student) | set(gains)):
            stats = mentoring.get(student)
            facts = LetterFacts(
                student_id=student,
                mentoring=(
                    MentoringSection(stats.sessions_given, stats.average_rating, stats.subjects)
                    if stats
                    else None
                ),
                awards=tuple(by_student.get(student, ())),
                # A letter home praises: it names the subjects the child improved in.
                gains=tuple(g for g in gains.get(student, ()) if g.points is None or g.points > 0),
            )
            if facts.has_praise:
                result[student] = facts
        return result

    async def template(self, guild_id: int) -> reports_sql.LetterTemplate:
        """The class's greeting and sign-off (the defaults until a teacher sets them)."""
        async with self._db.reading() as conn:
            stored = await reports_sql.get_letter_template(conn, guild_id)
        return stored or reports_sql.LetterTemplate(DEFAULT_GREETING, DEFAULT_SIGN_OFF)

    async def set_template(
        self, guild_id: int, teacher_id: int, greeting: str | None, sign_off: str | None
    ) -> reports_sql.LetterTemplate:
        """Change the greeting and/or sign-off; ``{student}`` becomes the child's name."""
        await self._classes.require_configured(guild_id)
        current = await self.template(guild_id)
        new = reports_sql.LetterTemplate(
            _template_text(greeting, "greeting") if greeting is not None else current.greeting,
            _template_text(sign_off, "sign-off") if sign_off is not None else current.sign_off,
        )
        async with self._db.transaction() as conn:
            await reports_sql.set_letter_template(
                conn, guild_id, new, teacher_id, self._clock.now()
            )
        return new

    async def letter(
        self,
        guild_id: int,
        student_id: int,
        *,
        student_name: str,
        teacher_name: str,
        class_name: str,
        period: Period | str = Period.TERM,
        note: str = "",
    ) -> Letter:
        """One student's letter; a clear refusal when the period has nothing to praise."""
        if len(note) > NOTE_MAX_LENGTH:
            raise InvalidInput(f"Keep the note under {NOTE_MAX_LENGTH} characters.")
        window = self._period(period)
        facts = (await self.facts(guild_id, window)).get(student_id)
        if facts is None:
            raise NotFound(
                f"I have nothing to praise {student_name} for {PERIOD_WORDS[window]} yet (no "
                "confirmed help sessions given, awards or gains). Try a longer period."
            )
        return await self._compose(
            guild_id, facts, student_name, teacher_name, class_name, window, note
        )

    async def class_letters(
        self,
        guild_id: int,
        names: Mapping[int, str],
        *,
        teacher_name: str,
        class_name: str,
        period: Period | str = Period.TERM,
    ) -> list[tuple[str, Letter]]:
        """(file name, letter) for every student in ``names`` with something to praise."""
        window = self._period(period)
        facts = await self.facts(guild_id, window)
        letters: list[tuple[str, Letter]] = []
        used: set[str] = set()
        for student_id, student_facts in facts.items():
            name = names.get(student_id)
            if name is None:  # not in the server any more: no letter to send home
                continue
            letter = await self._compose(
                guild_id, student_facts, name, teacher_name, class_name, window, ""
            )
            filename = safe_filename(name, str(student_id))
            if filename in used:
                filename = f"{filename}-{student_id}"
            used.add(filename)
            letters.append((f"{filename}.pdf", letter))
        if not letters:
            raise NotFound(
                f"Nobody in the class has anything to praise for {PERIOD_WORDS[window]} yet. "
                "Try a longer period."
            )
        return letters

    async def _compose(
        self,
        guild_id: int,
        facts: LetterFacts,
        student_name: str,
        teacher_name: str,
        class_name: str,
        period: Period,
        note: str,
    ) -> Letter:
        template = await self.template(guild_id)
        settings = await self._classes.require_configured(guild_id)
        return Letter(
            class_name=class_name,
            teacher_name=teacher_name,
            student_name=student_name,
            period_label=PERIOD_WORDS[period],
            issued_on=self._clock.now().astimezone(settings.zone).date(),
            greeting=template.greeting,
            sign_off=template.sign_off,
            facts=facts,
            note=note.strip(),
        )

    async def render(self, letter: Letter) -> bytes:
        """The letter as a PDF, rendered in a worker thread (the event loop stays free)."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, render_letter, letter
        )

    async def render_batch(self, letters: list[tuple[str, Letter]]) -> bytes:
        """Several letters as one ZIP, rendered in a worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, render_zip, letters)

    # ----- the gradebook --------------------------------------------------------------------

    async def gradebook(self, guild_id: int, period: Period | str) -> list[GradebookRow]:
        """One row per student with a record in the class (in the period's numbers)."""
        window = self._period(period)
        start, end = await self._window(guild_id, window)
        async with self._db.reading() as conn:
            people = await reports_sql.class_members_with_records(conn, guild_id)
            mentoring = await reports_sql.mentoring_stats(conn, guild_id, start, end)
            received = await reports_sql.sessions_received(conn, guild_id, start, end)
            awards = await reports_sql.awards_between(conn, guild_id, start, end)
            points = await ledger_sql.totals(conn, guild_id, start=start, end=end)
        gains = await self._gains_for(guild_id, start, end)
        people |= set(gains)  # a student with quiz results but no other record yet
        if not people:
            raise NotFound("This class has no records yet: nothing to export.")
        stars: dict[int, int] = {}
        for award in awards:
            if award.kind is AwardKind.GOLD_STAR:
                stars[award.user_id] = stars.get(award.user_id, 0) + 1
        rows = []
        for user_id in sorted(people):
            stats = mentoring.get(user_id)
            rows.append(
                GradebookRow(
                    user_id=user_id,
                    sessions_given=stats.sessions_given if stats else 0,
                    sessions_received=received.get(user_id, 0),
                    average_rating=stats.average_rating if stats else None,
                    stars=stars.get(user_id, 0),
                    points=points.get(user_id, 0),
                    gains=tuple(gains.get(user_id, ())),
                )
            )
        return rows


def gradebook_csv(rows: list[GradebookRow], names: Mapping[int, str]) -> bytes:
    """The gradebook as CSV (UTF-8 with BOM so spreadsheet programs read names correctly)."""
    subjects = sorted({g.subject for row in rows for g in row.gains}, key=str.casefold)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "student_id",
            "name",
            "sessions_given",
            "sessions_received",
            "average_rating_as_mentor",
            "gold_stars",
            "points",
            *(f"gain: {s}" for s in subjects),
        ]
    )
    for row in rows:
        # Percentage points, a number a spreadsheet can sum (the words when none is known).
        gains = {
            g.subject: g.description if g.points is None else f"{g.points:.1f}" for g in row.gains
        }
        writer.writerow(
            [
                str(row.user_id),
                _spreadsheet_safe(names.get(row.user_id, "")),
                row.sessions_given,
                row.sessions_received,
                "" if row.average_rating is None else f"{row.average_rating:.2f}",
                row.stars,
                row.points,
                *(_gain_cell(gains.get(s, "")) for s in subjects),
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _spreadsheet_safe(text: str) -> str:
    # A display name starting with = + - @ would run as a formula in a spreadsheet.
    return "'" + text if text[:1] in {"=", "+", "-", "@"} else text


def _gain_cell(text: str) -> str:
    # A number stays a number (a minus sign included); words are made formula-safe.
    try:
        float(text)
    except ValueError:
        return _spreadsheet_safe(text)
    return text


def _template_text(text: str, what: str) -> str:
    cleaned = " ".join(text.split())
    if not cleaned or len(cleaned) > TEMPLATE_MAX_LENGTH:
        raise InvalidInput(f"The {what} must be 1 to {TEMPLATE_MAX_LENGTH} characters.")
    return cleaned
