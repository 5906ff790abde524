"""Lesson prizes, mention lists and goal rules: plain Python."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.gains import ScorePoint
from bot.domain.goals import GoalMetric, check_target, clean_reward, parse_metric, progress_bar
from bot.domain.lessons import (
    PairPrize,
    assessment_gains,
    most_correct_groups,
    pair_winners,
    parse_mentions,
)

A, B, C, D = 100000000000000001, 100000000000000002, 100000000000000003, 100000000000000004


def test_the_biggest_gain_wins_and_ties_share() -> None:
    assert pair_winners([(A, C, 50.0), (B, D, 10.0)]) == [PairPrize(A, C, 50.0)]
    assert pair_winners([(A, C, 20.0), (B, D, 20.0)]) == [
        PairPrize(A, C, 20.0),
        PairPrize(B, D, 20.0),
    ]


def test_nobody_wins_without_a_rise() -> None:
    assert pair_winners([(A, C, 0.0), (B, D, -5.0)]) == []
    assert pair_winners([]) == []


def test_most_correct_is_the_best_mean_not_the_biggest_group() -> None:
    percent = {A: 90.0, C: 80.0, B: 70.0, D: 60.0}
    assert most_correct_groups({A: [C], B: [D]}, percent) == [[A, C]]
    # A group needs two results: a mentor alone doesn't win.
    assert most_correct_groups({A: [], B: [D]}, {A: 100.0, B: 50.0, D: 50.0}) == [[B, D]]
    assert most_correct_groups({A: [C], B: [D]}, {A: 80.0, C: 80.0, B: 80.0, D: 80.0}) == [
        [A, C],
        [B, D],
    ]


def test_gain_into_an_assessment_is_from_the_previous_result() -> None:
    points = [
        ScorePoint(C, "Quiz 1", date(2026, 11, 1), 40.0),
        ScorePoint(C, "Quiz 2", date(2026, 11, 2), 90.0),
        ScorePoint(D, "Quiz 2", date(2026, 11, 2), 60.0),  # no earlier result: no gain
    ]
    (gain,) = assessment_gains(points, "quiz 2")
    assert gain.user_id == C and gain.points == 50.0


def test_mentor_lists_are_mentions_only() -> None:
    assert parse_mentions(f"<@{A}>, <@!{B}> <@{A}>") == [A, B]
    with pytest.raises(ValueError, match="mentions"):
        parse_mentions(f"<@{A}> and Bob")
    with pytest.raises(ValueError, match="at least one"):
        parse_mentions("  ")


def test_goal_rules() -> None:
    assert parse_metric("Sessions") is GoalMetric.SESSIONS
    with pytest.raises(ValueError, match="Unknown goal metric"):
        parse_metric("vibes")
    for bad in (0, -1):
        with pytest.raises(ValueError, match="more than zero"):
            check_target(GoalMetric.STARS, bad)
    with pytest.raises(ValueError, match="whole numbers"):
        check_target(GoalMetric.STARS, 2.5)
    assert check_target(GoalMetric.AVERAGE_GAIN, 2.5) == 2.5
    with pytest.raises(ValueError):
        clean_reward("   ")
    assert progress_bar(0, 10) == "▱▱▱▱▱▱▱▱▱▱ 0%"
    assert progress_bar(3, 10) == "▰▰▰▱▱▱▱▱▱▱ 30%"
    assert progress_bar(15, 10) == "▰▰▰▰▰▰▰▰▰▰ 100%"
    assert progress_bar(-4, 10) == "▱▱▱▱▱▱▱▱▱▱ 0%"
