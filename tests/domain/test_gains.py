"""Gains rules: student, between assessments, pairs, public view, confidence, top scorers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.gains import (
    ClassGains,
    ConfidencePair,
    DayRange,
    GainPeriod,
    ScorePoint,
    Term,
    class_gains,
    confidence_summary,
    gain_between,
    pair_gain,
    percentage,
    period_days,
    public_gains,
    signed,
    student_gain,
    top_scorers,
)

D0 = date(2026, 11, 16)  # a Monday
ALL = DayRange(None, None)


def point(
    day: int, percent: float, user: int = 1, name: str | None = None, seq: int = 0
) -> ScorePoint:
    return ScorePoint(user, name or f"Quiz {day}", D0 + timedelta(days=day), percent, seq)


def test_gain_is_latest_minus_first_in_the_period() -> None:
    gain = student_gain([point(2, 70), point(0, 40), point(1, 90)], ALL)
    assert gain is not None
    assert gain.points == 30  # 70 (latest) − 40 (first), whatever happened between


def test_one_score_gives_no_gain_yet() -> None:
    assert student_gain([point(0, 40)], ALL) is None


def test_the_period_picks_the_baseline() -> None:
    week2 = period_days(GainPeriod.THIS_WEEK, D0 + timedelta(days=8))
    points = [point(0, 10), point(7, 50), point(9, 60)]
    gain = student_gain(points, week2)
    assert gain is not None
    assert gain.baseline.percent == 50


def test_same_day_scores_keep_recording_order() -> None:
    gain = student_gain([point(0, 80, seq=2), point(0, 20, seq=1)], ALL)
    assert gain is not None and gain.points == 60


def test_gain_between_named_assessments_any_case() -> None:
    gain = gain_between([point(0, 30, name="Pre"), point(5, 75, name="Post")], "pre", "POST")
    assert gain is not None and gain.points == 45
    assert gain_between([point(0, 30, name="Pre")], "Pre", "Post") is None


def test_pair_gain_uses_scores_around_the_sessions() -> None:
    points = [point(0, 20), point(2, 40), point(5, 70), point(8, 95)]
    sessions = [D0 + timedelta(days=3), D0 + timedelta(days=4)]
    gain = pair_gain(points, sessions, ALL)
    assert gain is not None
    assert (gain.baseline.percent, gain.latest.percent) == (40, 70)


def test_pair_gain_needs_a_score_on_each_side() -> None:
    sessions = [D0 + timedelta(days=3)]
    assert pair_gain([point(5, 70)], sessions, ALL) is None
    assert pair_gain([point(0, 70)], sessions, ALL) is None
    assert pair_gain([point(0, 70), point(5, 80)], [], ALL) is None


def test_term_dates_or_thirteen_weeks() -> None:
    today = D0 + timedelta(days=3)
    term = Term(date(2026, 9, 1), date(2026, 12, 18))
    assert period_days(GainPeriod.TERM, today, term) == DayRange(term.start, term.end)
    fallback = period_days(GainPeriod.TERM, today)
    assert fallback.first == D0 - timedelta(weeks=12)
    assert fallback.last == today
    with pytest.raises(ValueError, match="ends after"):
        Term(date(2026, 9, 2), date(2026, 9, 1))


def test_last_week_is_the_monday_to_sunday_before() -> None:
    days = period_days(GainPeriod.LAST_WEEK, D0 + timedelta(days=2))
    assert days == DayRange(D0 - timedelta(days=7), D0 - timedelta(days=1))


def test_public_view_never_names_those_who_did_not_improve() -> None:
    points = [
        point(0, 40, user=1),
        point(1, 80, user=1),
        point(0, 70, user=2),
        point(1, 60, user=2),
        point(0, 50, user=3),
        point(1, 50, user=3),
    ]
    public = public_gains(class_gains(points, ALL), top=5)
    assert public is not None
    assert public.top == [(1, 40)]
    assert public.average == pytest.approx(10)
    assert public_gains(ClassGains([])) is None


def test_signed_reads_like_a_teacher_writes() -> None:
    assert [signed(12.0), signed(-3.2), signed(0.01), signed(-0.04)] == ["+12", "-3.2", "+0", "+0"]


def test_percentage_validates() -> None:
    assert percentage(7.5, 10) == 75
    for score, out_of in ((1, 0), (-1, 10), (11, 10)):
        with pytest.raises(ValueError):
            percentage(score, out_of)


def test_confidence_summary_is_the_average_change() -> None:
    pairs = [ConfidencePair(1, 5, 6, 2, 4), ConfidencePair(2, 5, 6, 3, 2)]
    summary = confidence_summary(pairs)
    assert summary is not None
    assert (summary.sessions, summary.average) == (2, 0.5)
    assert confidence_summary([]) is None


def test_top_scorers_skip_mentors_and_filter_by_aspect() -> None:
    points = [
        ScorePoint(1, "Q1", D0, 95, aspect="fractions"),
        ScorePoint(2, "Q1", D0, 90, aspect="fractions"),
        ScorePoint(3, "Q2", D0, 99, aspect="angles"),
        ScorePoint(2, "Q3", D0, 90, aspect="fractions"),
    ]
    ranked = top_scorers(points, exclude=frozenset({1}), aspect="Fractions")
    assert [t.user_id for t in ranked] == [2]
    everyone = top_scorers(points)
    assert [t.user_id for t in everyone] == [3, 1, 2]


# --- properties ----------------------------------------------------------------------------

percents = st.floats(min_value=0, max_value=100, allow_nan=False)
series = st.lists(st.tuples(st.integers(0, 60), percents), min_size=0, max_size=12)


@given(series)
def test_gain_is_bounded_and_matches_first_and_last(entries: list[tuple[int, float]]) -> None:
    points = [point(day, pct, seq=i) for i, (day, pct) in enumerate(entries)]
    gain = student_gain(points, ALL)
    if len(points) < 2:
        assert gain is None
        return
    assert gain is not None
    ordered = sorted(points, key=lambda p: p.order)
    assert gain.points == ordered[-1].percent - ordered[0].percent
    assert -100 <= gain.points <= 100


@given(st.lists(series, min_size=1, max_size=8), st.integers(0, 5))
def test_public_view_names_only_improvers_and_the_average_covers_everyone(
    students: list[list[tuple[int, float]]], top: int
) -> None:
    points = [
        point(day, pct, user=u, seq=i)
        for u, entries in enumerate(students, start=1)
        for i, (day, pct) in enumerate(entries)
    ]
    gains = class_gains(points, ALL)
    public = public_gains(gains, top)
    if not gains.gains:
        assert public is None
        return
    assert public is not None
    assert len(public.top) <= top
    assert all(points_gained > 0 for _, points_gained in public.top)
    assert public.students == len(gains.gains)
    lowest = min(g.points for g in gains.gains)
    highest = max(g.points for g in gains.gains)
    assert lowest - 1e-9 <= public.average <= highest + 1e-9


@given(st.integers(-5000, 5000).map(lambda n: D0 + timedelta(days=n)))
def test_periods_contain_today_and_weeks_are_seven_days(today: date) -> None:
    for period in (GainPeriod.THIS_WEEK, GainPeriod.TERM, GainPeriod.ALL_TIME):
        assert today in period_days(period, today)
    week = period_days(GainPeriod.THIS_WEEK, today)
    assert week.first is not None and week.last is not None
    assert (week.last - week.first).days == 6 and week.first.weekday() == 0


def test_pair_gain_on_one_day_uses_the_first_and_a_later_quiz() -> None:
    points = [point(3, 30, seq=1, name="start"), point(3, 70, seq=2, name="end")]
    gain = pair_gain(points, [D0 + timedelta(days=3)], ALL)
    assert gain is not None and gain.points == 40
