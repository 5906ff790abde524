"""Learning gains: how much a student's quiz percentage rose over a period.

The rules, in two lines:
* A student's gain in a subject over a period = latest percentage − baseline percentage, where the
  baseline is their first assessment in the period (one score alone gives no gain yet).
* A mentor–mentee pair's gain = the mentee's first percentage after their last confirmed session
  together − their last percentage before the first one (compared by day; a quiz on the first
  session's day counts as "before" only when there is no earlier one).

Everything here is plain Python over plain values: no Discord, no SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from statistics import fmean
from zoneinfo import ZoneInfo

from bot.domain.weeks import TERM_FALLBACK_WEEKS


class GainPeriod(StrEnum):
    """The windows `/gains` offers."""

    THIS_WEEK = "this_week"
    LAST_WEEK = "last_week"
    TERM = "term"
    ALL_TIME = "all_time"


PERIOD_LABELS = {
    GainPeriod.THIS_WEEK: "this week",
    GainPeriod.LAST_WEEK: "last week",
    GainPeriod.TERM: "this term",
    GainPeriod.ALL_TIME: "all time",
}


@dataclass(frozen=True)
class Term:
    """A class's term dates (inclusive), set with `/setup term`."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("A term ends after it starts.")


@dataclass(frozen=True)
class DayRange:
    """Inclusive local dates; ``None`` = unbounded on that side."""

    first: date | None
    last: date | None

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        return (self.first is None or day >= self.first) and (self.last is None or day <= self.last)


def period_days(period: GainPeriod, today: date, term: Term | None = None) -> DayRange:
    """The local days a period covers, seen on ``today`` (weeks start on Monday).

    "This term" uses the term dates when today falls in them (or after their start), otherwise the
    last 13 weeks up to today.
    """
    monday = today - timedelta(days=today.weekday())
    if period is GainPeriod.THIS_WEEK:
        return DayRange(monday, monday + timedelta(days=6))
    if period is GainPeriod.LAST_WEEK:
        return DayRange(monday - timedelta(days=7), monday - timedelta(days=1))
    if period is GainPeriod.TERM:
        if term is not None and term.start <= today:
            return DayRange(term.start, term.end)
        return DayRange(monday - timedelta(weeks=TERM_FALLBACK_WEEKS - 1), today)
    return DayRange(None, None)


def local_day(instant: datetime, zone: ZoneInfo) -> date:
    """The class's calendar day of an aware instant."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    return instant.astimezone(zone).date()


def percentage(score: float, out_of: float) -> float:
    """A score as a percentage of its maximum (what the bot compares)."""
    if out_of <= 0:
        raise ValueError("out_of must be positive")
    if score < 0 or score > out_of:
        raise ValueError("a score lies between 0 and out_of")
    return 100.0 * score / out_of


@dataclass(frozen=True)
class ScorePoint:
    """One student's result on one assessment."""

    user_id: int
    assessment: str
    taken_on: date
    percent: float
    # Tie-break for two assessments on one day: the order they were recorded in.
    seq: int = 0
    aspect: str | None = None

    @property
    def order(self) -> tuple[date, int]:
        """Chronological order key."""
        return (self.taken_on, self.seq)


@dataclass(frozen=True)
class Gain:
    """From a baseline assessment to the latest one."""

    user_id: int
    baseline: ScorePoint
    latest: ScorePoint

    @property
    def points(self) -> float:
        """Percentage points gained (negative when the score fell)."""
        return self.latest.percent - self.baseline.percent


def chronological(points: Iterable[ScorePoint]) -> list[ScorePoint]:
    """Points in the order they were taken."""
    return sorted(points, key=lambda p: p.order)


def student_gain(points: Iterable[ScorePoint], days: DayRange) -> Gain | None:
    """One student's gain over ``days``: latest − first assessment in the window.

    ``None`` when fewer than two assessments fall in the window.
    """
    inside = [p for p in chronological(points) if p.taken_on in days]
    if len(inside) < 2:
        return None
    return Gain(inside[0].user_id, inside[0], inside[-1])


def gain_between(points: Iterable[ScorePoint], first: str, second: str) -> Gain | None:
    """A student's gain from assessment ``first`` to assessment ``second`` (names, any case)."""
    by_name = {p.assessment.casefold(): p for p in points}
    a, b = by_name.get(first.casefold()), by_name.get(second.casefold())
    if a is None or b is None:
        return None
    return Gain(a.user_id, a, b)


def pair_gain(
    mentee_points: Iterable[ScorePoint], session_days: Sequence[date], days: DayRange
) -> Gain | None:
    """The mentee's gain around their confirmed sessions with one mentor in ``days``.

    Scores carry a day, not a time, so: the baseline is the last assessment before the day of the
    first session (or, if none, the first one on that day: a quiz at the start of the lesson); the
    result is the first assessment on or after the day of the last session that comes after the
    baseline.
    """
    inside = sorted(d for d in session_days if d in days)
    if not inside:
        return None
    ordered = chronological(mentee_points)
    before = [p for p in ordered if p.taken_on < inside[0]]
    same_day = [p for p in ordered if p.taken_on == inside[0]]
    if before:
        baseline = before[-1]
    elif same_day:
        baseline = same_day[0]
    else:
        return None
    after = [p for p in ordered if p.taken_on >= inside[-1] and p.order > baseline.order]
    if not after:
        return None
    return Gain(baseline.user_id, baseline, after[0])


@dataclass(frozen=True)
class ClassGains:
    """Every student's gain in a subject over a period."""

    gains: list[Gain]  # highest gain first, then user id

    @property
    def average(self) -> float | None:
        """The class average gain in percentage points (None when nobody has a gain yet)."""
        return fmean(g.points for g in self.gains) if self.gains else None

    def improved(self) -> list[Gain]:
        """Only the students whose score rose, highest first."""
        return [g for g in self.gains if g.points > 0]


def class_gains(points: Iterable[ScorePoint], days: DayRange) -> ClassGains:
    """Group a subject's points by student and compute each gain, best first."""
    by_user: dict[int, list[ScorePoint]] = {}
    for p in points:
        by_user.setdefault(p.user_id, []).append(p)
    gains = [g for pts in by_user.values() if (g := student_gain(pts, days)) is not None]
    gains.sort(key=lambda g: (-g.points, g.user_id))
    return ClassGains(gains)


def class_gains_between(points: Iterable[ScorePoint], first: str, second: str) -> ClassGains:
    """Every student's gain between two named assessments, best first."""
    by_user: dict[int, list[ScorePoint]] = {}
    for p in points:
        by_user.setdefault(p.user_id, []).append(p)
    gains = [g for pts in by_user.values() if (g := gain_between(pts, first, second)) is not None]
    gains.sort(key=lambda g: (-g.points, g.user_id))
    return ClassGains(gains)


@dataclass(frozen=True)
class PublicGains:
    """What may be shown to the whole class: gains only, and only of those who improved."""

    average: float
    top: list[tuple[int, float]]  # (user id, points gained > 0), at most ``limit``
    students: int  # how many students the average covers


def public_gains(gains: ClassGains, top: int = 3) -> PublicGains | None:
    """The class average gain and the top positive gains; None when nobody has a gain.

    Nobody who did not improve is ever named: a zero or negative gain only counts in the average.
    """
    average = gains.average
    if average is None:
        return None
    named = [(g.user_id, g.points) for g in gains.improved()[: max(0, top)]]
    return PublicGains(average, named, len(gains.gains))


def signed(points: float) -> str:
    """'+12.5', '-3', '+0': percentage points as a teacher reads them."""
    rounded = round(points, 1)
    return "+0" if rounded == 0 else f"{rounded:+g}"


# --- confidence (self-reported, 1-5) -----------------------------------------------------------

CONFIDENCE_MIN, CONFIDENCE_MAX = 1, 5


def check_confidence(value: int) -> int:
    """A confidence answer, 1 (not sure at all) to 5 (very sure)."""
    if not CONFIDENCE_MIN <= value <= CONFIDENCE_MAX:
        raise ValueError("Confidence is a number from 1 to 5.")
    return value


@dataclass(frozen=True)
class ConfidencePair:
    """A student's answers before and after one help session."""

    request_id: int
    student_id: int
    mentor_id: int | None
    before: int
    after: int

    @property
    def gain(self) -> int:
        """Change in self-reported confidence (−4 to +4)."""
        return self.after - self.before


@dataclass(frozen=True)
class ConfidenceSummary:
    """Average confidence gain over some sessions (self-reported)."""

    sessions: int
    average: float


def confidence_summary(pairs: Iterable[ConfidencePair]) -> ConfidenceSummary | None:
    """Average self-reported confidence gain, or None without any answered pair."""
    gains = [p.gain for p in pairs]
    if not gains:
        return None
    return ConfidenceSummary(len(gains), fmean(gains))


# --- picking mentors from results --------------------------------------------------------------


@dataclass(frozen=True)
class TopScorer:
    """A candidate mentor: their mean percentage over the assessments considered."""

    user_id: int
    average: float
    assessments: int


def top_scorers(
    points: Iterable[ScorePoint],
    *,
    exclude: frozenset[int] = frozenset(),
    assessment: str | None = None,
    aspect: str | None = None,
    limit: int = 5,
) -> list[TopScorer]:
    """Students who score highest (mean percentage), best first, skipping ``exclude``.

    ``assessment`` keeps one named assessment; ``aspect`` keeps assessments on that aspect.
    Ties go to the student with more assessments (consistency), then the lower user id.
    """
    by_user: dict[int, list[float]] = {}
    for p in points:
        if p.user_id in exclude:
            continue
        if assessment is not None and p.assessment.casefold() != assessment.casefold():
            continue
        if aspect is not None and (p.aspect or "").casefold() != aspect.casefold():
            continue
        by_user.setdefault(p.user_id, []).append(p.percent)
    ranked = [TopScorer(u, fmean(ps), len(ps)) for u, ps in by_user.items()]
    ranked.sort(key=lambda t: (-t.average, -t.assessments, t.user_id))
    return ranked[: max(0, limit)]
