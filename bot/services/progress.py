"""Learning progress use cases: scores, CSV import, gains, confidence and mentor suggestions.

Raw scores leave this service only in results meant for a teacher or for the student themself;
what may go public is :class:`~bot.domain.gains.PublicGains` (gains only, improvers only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.clock import Clock
from bot.domain.classroom import ClassSettings, Subject
from bot.domain.gains import (
    PERIOD_LABELS,
    ClassGains,
    ConfidencePair,
    ConfidenceSummary,
    DayRange,
    Gain,
    GainPeriod,
    PublicGains,
    ScorePoint,
    Term,
    TopScorer,
    check_confidence,
    class_gains,
    class_gains_between,
    confidence_summary,
    local_day,
    pair_gain,
    period_days,
    public_gains,
    signed,
    student_gain,
    top_scorers,
)
from bot.domain.score_csv import (
    ASSESSMENT_MAX,
    CsvRefused,
    Member,
    RowError,
    format_report,
    parse_day,
    read_rows,
    resolve_student,
    template_csv,
)
from bot.errors import Conflict, InvalidInput, NotFound
from bot.services.classes import ClassService
from bot.services.mentors import clean_aspect
from db import mentors as mentor_sql
from db import scores as score_sql
from db.database import Database


class ImportRejected(InvalidInput):
    """A CSV file with problems: nothing was stored; the report names each bad row."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        text = (
            f"Nothing was imported: {len(self.errors)} problem"
            f"{'s' if len(self.errors) != 1 else ''} to fix first.\n" + format_report(self.errors)
        )
        # One Discord message holds 2,000 characters; the count of the rest is already there.
        super().__init__(text if len(text) <= 1990 else text[:1989] + "…")


@dataclass(frozen=True)
class ImportResult:
    """What an import stored."""

    rows: int
    added: int
    changed: int
    unchanged: int
    assessments: list[str]


@dataclass(frozen=True)
class ScoreAdded:
    """A score recorded with `/score add` (``changed``: it replaced a different earlier score)."""

    subject: str
    assessment: str
    percent: float
    taken_on: date
    changed: bool
    unchanged: bool


@dataclass(frozen=True)
class PairGain:
    """A mentor–mentee pair's gain in a subject."""

    mentor_id: int
    mentee_id: int
    gain: Gain


@dataclass(frozen=True)
class ClassReport:
    """What a teacher's `/gains` shows: every student, pairs, and confidence (self-reported)."""

    subject: Subject
    label: str
    gains: ClassGains
    pairs: list[PairGain]
    confidence: ConfidenceSummary | None
    confidence_by_student: dict[int, ConfidenceSummary]
    confidence_by_pair: dict[tuple[int, int], ConfidenceSummary]  # (mentor, mentee)


@dataclass(frozen=True)
class SubjectProgress:
    """One student's progress in one subject (private to them and teachers)."""

    subject: str
    points: list[ScorePoint]  # every score, for the over-time chart
    gain: Gain | None  # in the chosen period
    confidence: ConfidenceSummary | None


@dataclass(frozen=True)
class StudentReport:
    """A student's own `/gains` or `/profile` section."""

    user_id: int
    label: str
    subjects: list[SubjectProgress]
    confidence: ConfidenceSummary | None


@dataclass(frozen=True)
class WeeklyGains:
    """For the weekly post: the class average gain this week, public-safe."""

    line: str
    public: PublicGains


def weekly_gain_line(public: PublicGains) -> str:
    """ "Class average gain this week: +x points" — the weekly post's line."""
    return f"📈 Class average gain this week: {signed(public.average)} points"


class ProgressService:
    """Scores in, gains out."""

    def __init__(self, db: Database, clock: Clock, classes: ClassService) -> None:
        self._db = db
        self._clock = clock
        self._classes = classes

    async def _today(self, guild_id: int) -> tuple[ClassSettings, date]:
        settings = await self._classes.require_configured(guild_id)
        return settings, local_day(self._clock.now(), settings.zone)

    async def _days(self, guild_id: int, period: GainPeriod) -> DayRange:
        _, today = await self._today(guild_id)
        async with self._db.reading() as conn:
            term = await score_sql.get_term(conn, guild_id)
        return period_days(period, today, term)

    # --- recording ---------------------------------------------------------------------------

    async def add_score(
        self,
        guild_id: int,
        actor_id: int,
        *,
        subject_name: str,
        assessment: str,
        user_id: int,
        score: float,
        out_of: float = 100,
        day: str | None = None,
        aspect: str | None = None,
    ) -> ScoreAdded:
        """Record one result (re-recording the same assessment updates it)."""
        _, today = await self._today(guild_id)
        subject = await self._classes.subject(guild_id, subject_name)
        name = clean_assessment(assessment)
        aspect = clean_aspect(aspect)
        if out_of <= 0:
            raise InvalidInput("`out_of` must be more than 0.")
        if score < 0:
            raise InvalidInput("A score can't be negative.")
        if score > out_of:
            raise InvalidInput(f"The score ({score:g}) is above `out_of` ({out_of:g}).")
        taken_on = parse_when(day, today)
        write = score_sql.ScoreWrite(subject.id, name, aspect, user_id, score, out_of, taken_on)
        async with self._db.transaction() as conn:
            counts = await score_sql.write_scores(
                conn, guild_id, [write], actor_id, self._clock.now()
            )
        return ScoreAdded(
            subject.name,
            name,
            100.0 * score / out_of,
            taken_on,
            counts.changed == 1,
            counts.unchanged == 1,
        )

    async def remove_score(
        self, guild_id: int, *, subject_name: str, assessment: str, user_id: int
    ) -> Subject:
        """Delete one student's score on an assessment."""
        await self._classes.require_configured(guild_id)
        subject = await self._classes.subject(guild_id, subject_name)
        async with self._db.transaction() as conn:
            removed = await score_sql.delete_score(
                conn, subject.id, " ".join(assessment.split()), user_id
            )
        if not removed:
            raise NotFound(f"<@{user_id}> has no score for `{assessment[:80]}` in {subject.name}.")
        return subject

    async def import_csv(
        self, guild_id: int, actor_id: int, data: bytes, members: Sequence[Member]
    ) -> ImportResult:
        """All or nothing: every row checked first; one problem stores nothing."""
        _, today = await self._today(guild_id)
        try:
            rows, errors = read_rows(data, today)
        except CsvRefused as exc:
            raise InvalidInput(f"Nothing was imported: {exc}") from None
        subjects = {s.name.casefold(): s for s in await self._classes.subjects(guild_id)}
        writes: list[score_sql.ScoreWrite] = []
        seen: dict[tuple[int, int, str], int] = {}
        for row in rows:
            subject = subjects.get(row.subject.casefold())
            if subject is None:
                errors.append(
                    RowError(row.row, "subject", f"no subject called {row.subject[:40]!r}")
                )
            try:
                user_id = resolve_student(row.student, members)
            except ValueError as exc:
                errors.append(RowError(row.row, "student", str(exc)))
                continue
            if subject is None:
                continue
            key = (user_id, subject.id, row.assessment.casefold())
            if key in seen:
                errors.append(
                    RowError(
                        row.row, "assessment", f"same student and assessment as row {seen[key]}"
                    )
                )
                continue
            seen[key] = row.row
            writes.append(
                score_sql.ScoreWrite(
                    subject.id,
                    row.assessment,
                    row.aspect,
                    user_id,
                    row.score,
                    row.out_of,
                    row.taken_on,
                )
            )
        if errors:
            raise ImportRejected(errors)
        async with self._db.transaction() as conn:
            counts = await score_sql.write_scores(
                conn, guild_id, writes, actor_id, self._clock.now()
            )
        names = sorted({w.assessment for w in writes})
        return ImportResult(len(writes), counts.added, counts.changed, counts.unchanged, names)

    async def template(
        self, guild_id: int, members: Sequence[Member], subject_name: str | None = None
    ) -> str:
        """A CSV with the class roster filled in (teachers excluded by the caller)."""
        await self._classes.require_configured(guild_id)
        subject = await self._classes.subject(guild_id, subject_name) if subject_name else None
        ordered = sorted(members, key=lambda m: m.display_name.casefold())
        names = [
            m.display_name
            if sum(x.display_name.casefold() == m.display_name.casefold() for x in members) == 1
            else str(m.user_id)
            for m in ordered
        ]
        return template_csv(names, subject.name if subject else "")

    async def known_students(self, guild_id: int) -> list[int]:
        """Everyone the class's records mention (for a roster without the members intent)."""
        async with self._db.reading() as conn:
            return await score_sql.known_students(conn, guild_id)

    async def assessment_names(self, guild_id: int, subject_name: str | None = None) -> list[str]:
        """Assessment names for autocomplete, newest first."""
        subject_id = None
        if subject_name:
            subjects = {s.name.casefold(): s for s in await self._classes.subjects(guild_id)}
            found = subjects.get(subject_name.casefold())
            subject_id = found.id if found else None
        async with self._db.reading() as conn:
            return await score_sql.assessment_names(conn, guild_id, subject_id)

    async def known_aspects(self, guild_id: int, subject_name: str) -> list[str]:
        """Aspects of a subject named on its assessments or badges (for autocomplete)."""
        subjects = {s.name.casefold(): s for s in await self._classes.subjects(guild_id)}
        found = subjects.get(subject_name.strip().casefold())
        if found is None:
            return []
        async with self._db.reading() as conn:
            return await score_sql.known_aspects(conn, guild_id, found.id)

    # --- gains -------------------------------------------------------------------------------

    async def class_report(
        self,
        guild_id: int,
        subject_name: str,
        period: GainPeriod = GainPeriod.TERM,
        between: tuple[str, str] | None = None,
    ) -> ClassReport:
        """The whole class's gains in a subject (teachers only: it holds raw scores)."""
        subject = await self._classes.subject(guild_id, subject_name)
        settings, _ = await self._today(guild_id)
        days = await self._days(guild_id, period)
        # Sessions are stored as instants: widen the day window by a day each side, then let
        # the domain compare local days exactly.
        since = (
            datetime.combine(days.first - timedelta(days=1), time(0), UTC) if days.first else None
        )
        until = datetime.combine(days.last + timedelta(days=2), time(0), UTC) if days.last else None
        async with self._db.reading() as conn:
            if between is not None:
                points = await score_sql.subject_points(
                    conn, guild_id, subject.id, assessments=between
                )
            else:
                points = await score_sql.subject_endpoints(
                    conn, guild_id, subject.id, days.first, days.last
                )
            sessions = await score_sql.confirmed_sessions(conn, guild_id, subject.id, since, until)
            # A pair's baseline may come before the period: read their mentees' whole history.
            mentee_points: list[ScorePoint] = []
            for mentee in sorted({student for student, _, _ in sessions}):
                mentee_points += await score_sql.subject_points(
                    conn, guild_id, subject.id, user_id=mentee
                )
            pairs_answered = await score_sql.confidence_pairs(conn, guild_id, subject_id=subject.id)
        if between is not None:
            gains = class_gains_between(points, *between)
            label = f"{between[0]} → {between[1]}"
        else:
            gains = class_gains(points, days)
            label = PERIOD_LABELS[period]
        pairs = pair_gains(mentee_points, sessions, days, settings)
        by_student: dict[int, list[ConfidencePair]] = {}
        for answered in pairs_answered:
            by_student.setdefault(answered.student_id, []).append(answered)
        confidence_by_student = {
            uid: s for uid, ps in by_student.items() if (s := confidence_summary(ps)) is not None
        }
        by_pair: dict[tuple[int, int], list[ConfidencePair]] = {}
        for answered in pairs_answered:
            if answered.mentor_id is not None:
                by_pair.setdefault((answered.mentor_id, answered.student_id), []).append(answered)
        confidence_by_pair = {
            key: s for key, ps in by_pair.items() if (s := confidence_summary(ps)) is not None
        }
        return ClassReport(
            subject,
            label,
            gains,
            pairs,
            confidence_summary(pairs_answered),
            confidence_by_student,
            confidence_by_pair,
        )

    async def student_report(
        self,
        guild_id: int,
        user_id: int,
        subject_name: str | None = None,
        period: GainPeriod = GainPeriod.TERM,
    ) -> StudentReport:
        """One student's own progress (private: only for them or a teacher)."""
        subject_filter = (
            (await self._classes.subject(guild_id, subject_name)).id if subject_name else None
        )
        days = await self._days(guild_id, period)
        async with self._db.reading() as conn:
            by_subject = await score_sql.user_points(conn, guild_id, user_id)
            answered = await score_sql.confidence_pairs(conn, guild_id, student_id=user_id)
        subjects = {s.id: s for s in await self._classes.subjects(guild_id)}
        result = []
        for subject_id, points in by_subject.items():
            if subject_filter is not None and subject_id != subject_filter:
                continue
            subject = subjects.get(subject_id)
            if subject is None:
                continue
            result.append(SubjectProgress(subject.name, points, student_gain(points, days), None))
        result.sort(key=lambda s: s.subject.casefold())
        return StudentReport(user_id, PERIOD_LABELS[period], result, confidence_summary(answered))

    async def gains_between(
        self, guild_id: int, start: datetime | None, end: datetime | None
    ) -> dict[int, list[tuple[str, Gain]]]:
        """Each student's own gain per subject between two instants (``end`` exclusive;
        ``None`` = unbounded), for letters home and the gradebook. Subjects by name, A–Z."""
        settings = await self._classes.require_configured(guild_id)
        days = DayRange(
            local_day(start, settings.zone) if start else None,
            local_day(end - timedelta(microseconds=1), settings.zone) if end else None,
        )
        subjects = sorted(await self._classes.subjects(guild_id), key=lambda s: s.name.casefold())
        result: dict[int, list[tuple[str, Gain]]] = {}
        async with self._db.reading() as conn:
            for subject in subjects:
                points = await score_sql.subject_endpoints(
                    conn, guild_id, subject.id, days.first, days.last
                )
                for gain in class_gains(points, days).gains:
                    result.setdefault(gain.user_id, []).append((subject.name, gain))
        return result

    async def weekly_gains(self, guild_id: int, top: int = 3) -> WeeklyGains | None:
        """This week's class average gain over every subject, public-safe; None without gains."""
        days = await self._days(guild_id, GainPeriod.THIS_WEEK)
        all_gains: list[Gain] = []
        subjects = await self._classes.subjects(
            guild_id
        )  # before reading(): the lock is not re-entrant
        async with self._db.reading() as conn:
            for subject in subjects:
                points = await score_sql.subject_endpoints(
                    conn, guild_id, subject.id, days.first, days.last
                )
                all_gains.extend(class_gains(points, days).gains)
        all_gains.sort(key=lambda g: (-g.points, g.user_id))
        public = public_gains(ClassGains(all_gains), top)
        if public is None:
            return None
        return WeeklyGains(weekly_gain_line(public), public)

    async def public_report(
        self, guild_id: int, subject_name: str, period: GainPeriod, top: int
    ) -> PublicGains | None:
        """What may be shown to the class for a subject: average gain and top gains only."""
        report = await self.class_report(guild_id, subject_name, period)
        return public_gains(report.gains, top)

    # --- confidence --------------------------------------------------------------------------

    async def record_confidence_before(self, request_id: int, value: int) -> None:
        """The student's "how sure are you, 1–5" when asking for help (request ``request_id``)."""
        await self._record_confidence(request_id, before=value)

    async def record_confidence_after(
        self, request_id: int, value: int, *, student_id: int | None = None
    ) -> None:
        """The student's answer again after the confirmed session.

        With ``student_id`` (a click), only that request's student may answer, and only once the
        session is confirmed.
        """
        await self._record_confidence(request_id, after=value, student_id=student_id)

    async def awaits_confidence_after(self, request_id: int) -> bool:
        """Whether the student said how sure they were when asking and has not answered again."""
        async with self._db.reading() as conn:
            answers = await score_sql.confidence_of(conn, request_id)
        return answers is not None and answers[0] is not None and answers[1] is None

    async def _record_confidence(
        self,
        request_id: int,
        *,
        before: int | None = None,
        after: int | None = None,
        student_id: int | None = None,
    ) -> None:
        try:
            for value in (before, after):
                if value is not None:
                    check_confidence(value)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        async with self._db.transaction() as conn:
            people = await score_sql.request_people(conn, request_id)
            if people is None:
                raise NotFound("That help request doesn't exist.")
            if student_id is not None:
                if people[1] != student_id:
                    raise Conflict("Only the student who asked can answer this.")
                if people[2] != "resolved":
                    raise Conflict("That session isn't confirmed, so there is nothing to answer.")
            await score_sql.set_confidence(
                conn, request_id, before=before, after=after, now=self._clock.now()
            )

    # --- mentors from results ----------------------------------------------------------------

    async def suggest_mentors(
        self,
        guild_id: int,
        subject_name: str,
        assessment: str | None = None,
        aspect: str | None = None,
        limit: int = 5,
    ) -> tuple[Subject, list[TopScorer]]:
        """Top scorers in a subject who do not hold its badge yet."""
        await self._classes.require_configured(guild_id)
        subject = await self._classes.subject(guild_id, subject_name)
        async with self._db.reading() as conn:
            points = await score_sql.subject_points(conn, guild_id, subject.id)
            badged = {
                b.user_id for b in await mentor_sql.current_badges(conn, guild_id, subject.id)
            }
        ranked = top_scorers(
            points, exclude=frozenset(badged), assessment=assessment, aspect=aspect, limit=limit
        )
        return subject, ranked

    # --- term ----------------------------------------------------------------------------------

    async def term(self, guild_id: int) -> Term | None:
        """The class's term dates, if set."""
        async with self._db.reading() as conn:
            return await score_sql.get_term(conn, guild_id)


def pair_gains(
    points: Sequence[ScorePoint],
    sessions: Sequence[tuple[int, int, datetime]],
    days: DayRange,
    settings: ClassSettings,
) -> list[PairGain]:
    """Each mentor–mentee pair's gain from their confirmed sessions in ``days``."""
    by_pair: dict[tuple[int, int], list[date]] = {}
    for student, mentor, when in sessions:
        by_pair.setdefault((mentor, student), []).append(local_day(when, settings.zone))
    by_user: dict[int, list[ScorePoint]] = {}
    for p in points:
        by_user.setdefault(p.user_id, []).append(p)
    result = []
    for (mentor, mentee), session_days in by_pair.items():
        gain = pair_gain(by_user.get(mentee, []), session_days, days)
        if gain is not None:
            result.append(PairGain(mentor, mentee, gain))
    result.sort(key=lambda p: (-p.gain.points, p.mentor_id, p.mentee_id))
    return result


def clean_assessment(raw: str) -> str:
    """An assessment name, e.g. "Fractions quiz 1"."""
    name = " ".join(raw.split())
    if not name:
        raise InvalidInput("An assessment needs a name, e.g. `Fractions quiz 1`.")
    if len(name) > ASSESSMENT_MAX:
        raise InvalidInput(f"Assessment names are at most {ASSESSMENT_MAX} characters.")
    return name


def parse_when(text: str | None, today: date) -> date:
    """'today', 'yesterday' or YYYY-MM-DD; never in the future."""
    if text is None or text.strip().casefold() in ("", "today"):
        return today
    if text.strip().casefold() == "yesterday":
        return today - timedelta(days=1)
    try:
        day = parse_day(text)
    except ValueError:
        raise InvalidInput(
            f"I can't read the date `{text[:30]}`: write it as YYYY-MM-DD, e.g. "
            f"`{today.isoformat()}`."
        ) from None
    if day > today:
        raise InvalidInput(f"{day.isoformat()} is in the future: record a score once it's taken.")
    return day
