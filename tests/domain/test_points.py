"""Points, the leaderboard and the tutor-of-the-week suggestion."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.points import (
    AWARD_LABELS,
    DEFAULT_AWARD_POINTS,
    AwardKind,
    LedgerReason,
    MentorWeekStats,
    RankedEntry,
    award_points,
    leaderboard_view,
    ledger_totals,
    rank_totals,
    session_points,
    suggest_tutor_of_week,
    tutor_score,
    undo_delta,
)

# --- awards -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "points"),
    [
        (AwardKind.GOLD_STAR, 5),
        (AwardKind.TUTOR_OF_THE_WEEK, 20),
        (AwardKind.EFFORT, 3),
        (AwardKind.CUSTOM, 5),
    ],
)
def test_default_award_points(kind: AwardKind, points: int) -> None:
    assert award_points(kind) == points
    assert award_points(kind, None) == points
    assert DEFAULT_AWARD_POINTS[kind] == points


@pytest.mark.parametrize("points", [1, 7, 50])
def test_explicit_award_points_in_range(points: int) -> None:
    assert award_points(AwardKind.GOLD_STAR, points) == points


@pytest.mark.parametrize("points", [0, -5, 51, 1000])
def test_explicit_award_points_out_of_range(points: int) -> None:
    with pytest.raises(ValueError, match="An award is worth 1 to 50 points"):
        award_points(AwardKind.CUSTOM, points)


def test_every_award_kind_has_a_label_and_default() -> None:
    assert set(AWARD_LABELS) == set(AwardKind) == set(DEFAULT_AWARD_POINTS)
    assert AWARD_LABELS[AwardKind.TUTOR_OF_THE_WEEK] == "Tutor of the week 🏆"
    assert AWARD_LABELS[AwardKind.GOLD_STAR] == "Gold star ⭐"


# --- sessions -------------------------------------------------------------------------------


@pytest.mark.parametrize(("rating", "points"), [(1, 10), (2, 10), (3, 10), (4, 15), (5, 15)])
def test_session_points(rating: int, points: int) -> None:
    assert session_points(rating) == points


@pytest.mark.parametrize("rating", [0, 6, -1])
def test_session_rating_out_of_range(rating: int) -> None:
    with pytest.raises(ValueError, match="1 to 5 stars"):
        session_points(rating)


def test_undo_is_a_negative_entry_that_cancels_the_award() -> None:
    award = award_points(AwardKind.GOLD_STAR)
    entries = [(7, award), (7, undo_delta(award))]
    assert ledger_totals(entries) == {7: 0}
    assert rank_totals(ledger_totals(entries)) == []
    assert LedgerReason.UNDO.value == "undo"


# --- ranking --------------------------------------------------------------------------------


def test_competition_ranking_1_2_2_4() -> None:
    totals = {1: 50, 2: 30, 3: 30, 4: 10, 5: 0, 6: -5}
    assert rank_totals(totals) == [
        RankedEntry(rank=1, user_id=1, points=50),
        RankedEntry(rank=2, user_id=2, points=30),
        RankedEntry(rank=2, user_id=3, points=30),
        RankedEntry(rank=4, user_id=4, points=10),
    ]


def test_ties_listed_by_user_id() -> None:
    assert [e.user_id for e in rank_totals({9: 5, 3: 5, 6: 5})] == [3, 6, 9]
    assert {e.rank for e in rank_totals({9: 5, 3: 5, 6: 5})} == {1}


def test_empty_leaderboard() -> None:
    assert rank_totals({}) == []
    assert leaderboard_view([], caller_id=1) == ([], None)


def _ranked(n: int) -> list[RankedEntry]:
    return rank_totals({uid: 100 - uid for uid in range(1, n + 1)})


def test_leaderboard_view_caller_in_top() -> None:
    top, own = leaderboard_view(_ranked(15), caller_id=3)
    assert [e.user_id for e in top] == list(range(1, 11))
    assert own is None


def test_leaderboard_view_caller_below_top() -> None:
    top, own = leaderboard_view(_ranked(15), caller_id=13)
    assert len(top) == 10
    assert own == RankedEntry(rank=13, user_id=13, points=87)


def test_leaderboard_view_caller_without_points() -> None:
    assert leaderboard_view(_ranked(15), caller_id=99)[1] is None


def test_leaderboard_view_custom_top() -> None:
    top, own = leaderboard_view(_ranked(5), caller_id=5, top=3)
    assert [e.user_id for e in top] == [1, 2, 3]
    assert own is not None
    assert own.rank == 5
    with pytest.raises(ValueError, match="negative"):
        leaderboard_view(_ranked(5), caller_id=5, top=-1)


ledger = st.lists(
    st.tuples(st.integers(min_value=1, max_value=15), st.integers(min_value=-50, max_value=50)),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(entries=ledger)
def test_totals_are_the_sum_per_user(entries: list[tuple[int, int]]) -> None:
    totals = ledger_totals(entries)
    assert set(totals) == {uid for uid, _ in entries}
    for uid, total in totals.items():
        assert total == sum(delta for u, delta in entries if u == uid)


@settings(max_examples=150, deadline=None)
@given(entries=ledger)
def test_ranking_properties(entries: list[tuple[int, int]]) -> None:
    totals = ledger_totals(entries)
    ranked = rank_totals(totals)
    # A permutation of the positive totals.
    assert sorted((e.user_id, e.points) for e in ranked) == sorted(
        (uid, pts) for uid, pts in totals.items() if pts > 0
    )
    assert [e.rank for e in ranked] == sorted(e.rank for e in ranked)
    assert [e.points for e in ranked] == sorted((e.points for e in ranked), reverse=True)
    for a in ranked:
        for b in ranked:
            assert (a.points == b.points) == (a.rank == b.rank)
    # Competition ranking: rank = 1 + number of users strictly ahead.
    for e in ranked:
        assert e.rank == 1 + sum(other.points > e.points for other in ranked)


@settings(max_examples=120, deadline=None)
@given(entries=ledger, caller=st.integers(min_value=1, max_value=20), top=st.integers(0, 12))
def test_leaderboard_view_properties(entries: list[tuple[int, int]], caller: int, top: int) -> None:
    ranked = rank_totals(ledger_totals(entries))
    shown, own = leaderboard_view(ranked, caller, top)
    assert shown == ranked[:top]
    caller_entries = [e for e in ranked if e.user_id == caller]
    if not caller_entries or caller_entries[0] in shown:
        assert own is None
    else:
        assert own == caller_entries[0]


# --- tutor of the week ----------------------------------------------------------------------


def stats(uid: int, sessions: int, rating: float | None, mentees: int) -> MentorWeekStats:
    return MentorWeekStats(
        user_id=uid, confirmed_sessions=sessions, average_rating=rating, distinct_mentees=mentees
    )


def test_tutor_score_formula() -> None:
    assert tutor_score(stats(1, 4, 4.5, 3)) == 3 * 4 + 2 * 3 + 4.5
    assert tutor_score(stats(1, 2, None, 2)) == 10


def test_helping_many_classmates_beats_helping_one_friend() -> None:
    friend_only = stats(1, 4, 5.0, 1)  # 12 + 2 + 5 = 19
    many = stats(2, 4, 3.0, 4)  # 12 + 8 + 3 = 23
    assert suggest_tutor_of_week([friend_only, many]) == many


def test_more_sessions_wins() -> None:
    assert suggest_tutor_of_week([stats(1, 2, 5.0, 2), stats(2, 5, 2.0, 2)]) == stats(2, 5, 2.0, 2)


def test_only_mentors_with_a_confirmed_session_qualify() -> None:
    assert suggest_tutor_of_week([stats(1, 0, None, 0), stats(2, 0, 5.0, 3)]) is None
    assert suggest_tutor_of_week([]) is None
    assert suggest_tutor_of_week([stats(1, 0, 5.0, 9), stats(2, 1, None, 1)]) == stats(
        2, 1, None, 1
    )


def test_tie_goes_to_more_distinct_mentees() -> None:
    # Both score 3*3 + 2*2 + 2.0 = 15 vs 3*3 + 2*3 + 0 = 15.
    fewer = stats(1, 3, 2.0, 2)
    more = stats(2, 3, None, 3)
    assert tutor_score(fewer) == tutor_score(more)
    assert suggest_tutor_of_week([fewer, more]) == more


def test_full_tie_goes_to_lower_user_id() -> None:
    assert suggest_tutor_of_week([stats(9, 2, 4.0, 2), stats(4, 2, 4.0, 2)]) == stats(4, 2, 4.0, 2)


def test_suggestion_ignores_input_order() -> None:
    pool = [stats(uid, uid % 4, None, uid % 3) for uid in range(1, 12)]
    assert suggest_tutor_of_week(pool) == suggest_tutor_of_week(reversed(pool))
