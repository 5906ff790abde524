"""Fair mentor matching: who gets offered a help request."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.matching import MentorCandidate, choose_mentor, eligible, rank_mentors

T0 = datetime(2026, 11, 16, 9, tzinfo=UTC)
ASKER = 1


def mentor(user_id: int, **changes: object) -> MentorCandidate:
    base = MentorCandidate(
        user_id=user_id,
        available=True,
        acknowledged_brief=True,
        active_sessions=0,
        session_limit=1,
        sessions_this_week=0,
        idle_since=T0,
        helped_asker_recently=False,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def ids(candidates: list[MentorCandidate]) -> list[int]:
    return [c.user_id for c in candidates]


# --- eligibility ----------------------------------------------------------------------------


def test_an_available_briefed_free_mentor_is_eligible() -> None:
    assert eligible(mentor(10), ASKER, frozenset())


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"available": False}, "not available"),
        ({"acknowledged_brief": False}, "has not acknowledged the brief"),
        ({"active_sessions": 1}, "at the concurrent limit"),
        ({"active_sessions": 3, "session_limit": 2}, "over the limit"),
        ({"session_limit": 0}, "limit of zero"),
        ({"user_id": ASKER}, "is the asker"),
    ],
)
def test_ineligible_mentors(changes: dict[str, object], why: str) -> None:
    candidate = replace(mentor(10), **changes)  # type: ignore[arg-type]
    assert not eligible(candidate, ASKER, frozenset()), why


def test_mentor_under_a_higher_limit_is_eligible() -> None:
    assert eligible(mentor(10, active_sessions=1, session_limit=2), ASKER, frozenset())


def test_mentor_who_passed_is_not_offered_again() -> None:
    assert not eligible(mentor(10), ASKER, frozenset({10}))
    assert choose_mentor([mentor(10), mentor(11)], ASKER, frozenset({10})) == mentor(11)


def test_nobody_eligible_means_nobody_chosen() -> None:
    pool = [mentor(ASKER), mentor(10, available=False), mentor(11, active_sessions=1)]
    assert choose_mentor(pool, ASKER) is None
    assert rank_mentors(pool, ASKER) == []
    assert choose_mentor([], ASKER) is None


def test_naive_idle_since_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        mentor(10, idle_since=datetime(2026, 11, 16, 9))


# --- tie-breaks, one at a time --------------------------------------------------------------


def test_mentor_new_to_this_asker_beats_one_who_helped_recently() -> None:
    # Even with more sessions this week and less idle time: spreading help comes first.
    helped = mentor(10, helped_asker_recently=True, idle_since=T0 - timedelta(days=3))
    fresh = mentor(11, sessions_this_week=4, idle_since=T0)
    assert ids(rank_mentors([helped, fresh], ASKER)) == [11, 10]


def test_fewest_sessions_this_week_wins() -> None:
    busy = mentor(10, sessions_this_week=3, idle_since=T0 - timedelta(days=2))
    quiet = mentor(11, sessions_this_week=1, idle_since=T0)
    assert choose_mentor([busy, quiet], ASKER) == quiet


def test_longest_idle_wins_on_equal_sessions() -> None:
    recent = mentor(10, sessions_this_week=2, idle_since=T0)
    idle = mentor(11, sessions_this_week=2, idle_since=T0 - timedelta(hours=5))
    assert ids(rank_mentors([recent, idle], ASKER)) == [11, 10]


def test_lowest_user_id_breaks_a_full_tie() -> None:
    assert ids(rank_mentors([mentor(12), mentor(10), mentor(11)], ASKER)) == [10, 11, 12]


def test_idle_since_compares_instants_not_wall_times() -> None:
    # 10:00 in New York (15:00 UTC) is later than 12:00 UTC.
    from zoneinfo import ZoneInfo

    ny = mentor(10, idle_since=datetime(2026, 11, 16, 10, tzinfo=ZoneInfo("America/New_York")))
    utc = mentor(11, idle_since=datetime(2026, 11, 16, 12, tzinfo=UTC))
    assert choose_mentor([ny, utc], ASKER) == utc


def test_rank_drops_ineligible_and_orders_the_rest() -> None:
    pool = [
        mentor(20, helped_asker_recently=True),
        mentor(21, available=False),
        mentor(22, sessions_this_week=2),
        mentor(23),
        mentor(ASKER),
    ]
    assert ids(rank_mentors(iter(pool), ASKER)) == [23, 22, 20]


# --- property tests -------------------------------------------------------------------------


def digits(number: int, *radices: int) -> list[int]:
    """``number`` written in a mixed radix: one digit per radix, the first the lowest."""
    found = []
    for radix in radices:
        number, digit = divmod(number, radix)
        found.append(digit)
    return found


user_ids = st.integers(min_value=1, max_value=12)
# A mentor's eight fields from one drawn number, not eight draws: the same values (ids 1-12,
# 0-3 active sessions and limit, 0-6 sessions this week, idle 0-20 hours, four yes/no), and
# they shrink towards mentor 1 with everything no or zero. Hypothesis's own work is per draw
# (see six_flags below): the two pool tests' CPU 0.70 -> 0.36 s for the same examples.
MENTOR_RADICES = (12, 2, 2, 4, 4, 7, 21, 2)


def candidate_from(number: int) -> MentorCandidate:
    """The mentor that ``number`` stands for (see MENTOR_RADICES)."""
    user, available, briefed, active, limit, week, idle_hours, helped = digits(
        number, *MENTOR_RADICES
    )
    return MentorCandidate(
        user_id=user + 1,
        available=bool(available),
        acknowledged_brief=bool(briefed),
        active_sessions=active,
        session_limit=limit,
        sessions_this_week=week,
        idle_since=T0 - timedelta(hours=idle_hours),
        helped_asker_recently=bool(helped),
    )


candidates = st.integers(0, math.prod(MENTOR_RADICES) - 1).map(candidate_from)
pools = st.lists(candidates, max_size=10, unique_by=lambda c: c.user_id)  # one row per mentor
exclusions = st.frozensets(user_ids, max_size=4)


@settings(max_examples=150, deadline=None)
@given(pool=pools, asker=user_ids, excluded=exclusions)
def test_choice_is_eligible_never_the_asker_and_heads_the_ranking(
    pool: list[MentorCandidate], asker: int, excluded: frozenset[int]
) -> None:
    chosen = choose_mentor(pool, asker, excluded)
    ranking = rank_mentors(pool, asker, excluded)
    if not any(eligible(c, asker, excluded) for c in pool):
        assert chosen is None
        assert ranking == []
        return
    assert chosen is not None
    assert eligible(chosen, asker, excluded)
    assert chosen.user_id != asker
    assert chosen.user_id not in excluded
    assert ranking[0] == chosen
    assert all(eligible(c, asker, excluded) for c in ranking)
    assert len(ranking) == sum(eligible(c, asker, excluded) for c in pool)


@settings(max_examples=150, deadline=None)
@given(pool=pools, asker=user_ids)
def test_ranking_ignores_input_order(pool: list[MentorCandidate], asker: int) -> None:
    assert rank_mentors(pool, asker) == rank_mentors(list(reversed(pool)), asker)


# Six yes/no answers, one per mentor: drawn as one 6-bit number (the same 64 combinations, and
# they shrink towards "all no"), not six draws: Hypothesis's own work is per draw (this test's
# CPU 0.45 -> 0.24 s for the same 120 examples).
six_flags = st.integers(0, 63).map(lambda bits: [bool(bits >> i & 1) for i in range(6)])
# One simulated request: who asks, and which mentors are around / have helped that asker.
request_steps = st.lists(
    st.tuples(
        st.integers(min_value=100, max_value=103),  # askers are students, not mentors
        six_flags,  # available?
        six_flags,  # helped this asker recently?
    ),
    min_size=2,
    max_size=25,
)


@settings(max_examples=120, deadline=None)
@given(
    start_sessions=st.lists(st.integers(min_value=0, max_value=3), min_size=6, max_size=6),
    steps=request_steps,
)
def test_nobody_is_offered_twice_in_a_row_while_an_equal_peer_waits(
    start_sessions: list[int], steps: list[tuple[int, list[bool], list[bool]]]
) -> None:
    """A mentor just chosen is not chosen again while an equally placed mentor waits.

    After each session the chosen mentor's weekly count goes up and their idle clock
    restarts at "now". At the next request, any other eligible mentor in the same
    helped-this-asker group with no more sessions than them must be preferred.
    """
    sessions = dict(enumerate(start_sessions, start=10))
    idle = {uid: T0 - timedelta(hours=uid) for uid in sessions}
    now = T0
    previous: MentorCandidate | None = None
    for asker, available, helped in steps:
        now += timedelta(minutes=30)
        pool = [
            mentor(
                uid,
                available=available[i],
                sessions_this_week=sessions[uid],
                idle_since=idle[uid],
                helped_asker_recently=helped[i],
            )
            for i, uid in enumerate(sessions)
        ]
        chosen = choose_mentor(pool, asker)
        if chosen is None:
            previous = None
            continue
        if previous is not None and chosen.user_id == previous.user_id:
            waiting_peers = [
                c
                for c in pool
                if c.user_id != chosen.user_id
                and eligible(c, asker, frozenset())
                and c.helped_asker_recently == chosen.helped_asker_recently
                and c.sessions_this_week <= chosen.sessions_this_week
            ]
            assert waiting_peers == [], (
                f"{chosen.user_id} chosen twice while {waiting_peers} waited"
            )
        sessions[chosen.user_id] += 1
        idle[chosen.user_id] = now
        previous = chosen


@settings(max_examples=50, deadline=None)
@given(
    n_mentors=st.integers(min_value=2, max_value=8), rounds=st.integers(min_value=1, max_value=4)
)
def test_help_spreads_round_robin_among_equal_mentors(n_mentors: int, rounds: int) -> None:
    """With everyone equal at the start of the week, each mentor gets one turn per round."""
    sessions = dict.fromkeys(range(10, 10 + n_mentors), 0)
    idle = dict.fromkeys(sessions, T0)
    now = T0
    picks: list[int] = []
    for _ in range(n_mentors * rounds):
        now += timedelta(minutes=30)
        pool = [
            mentor(uid, sessions_this_week=sessions[uid], idle_since=idle[uid]) for uid in sessions
        ]
        chosen = choose_mentor(pool, ASKER)
        assert chosen is not None
        picks.append(chosen.user_id)
        sessions[chosen.user_id] += 1
        idle[chosen.user_id] = now
    for r in range(rounds):
        assert sorted(picks[r * n_mentors : (r + 1) * n_mentors]) == sorted(sessions)
    assert all(a != b for a, b in pairwise(picks))


# --- aspect preference ------------------------------------------------------------------------


def test_a_mentor_badged_for_the_aspect_goes_first() -> None:
    busy_expert = mentor(20, sessions_this_week=5, badge_aspect="Fractions")
    fresh = mentor(10)
    assert choose_mentor([fresh, busy_expert], ASKER, aspect="fractions") == busy_expert
    # Without an aspect on the request, fairness alone decides.
    assert choose_mentor([fresh, busy_expert], ASKER) == fresh
    # A badge for another aspect gives no preference.
    other = mentor(30, sessions_this_week=5, badge_aspect="angles")
    assert choose_mentor([fresh, other], ASKER, aspect="fractions") == fresh


aspects = st.sampled_from([None, "fractions", "angles"])


@given(
    st.lists(
        st.tuples(st.integers(2, 50), st.integers(0, 5), aspects, st.booleans()),
        min_size=0,
        max_size=10,
        unique_by=lambda t: t[0],
    ),
    aspects,
)
@settings(max_examples=200)
def test_aspect_preference_only_reorders_and_experts_lead(
    rows: list[tuple[int, int, str | None, bool]], aspect: str | None
) -> None:
    candidates = [
        mentor(uid, sessions_this_week=week, badge_aspect=badge, helped_asker_recently=helped)
        for uid, week, badge, helped in rows
    ]
    ranked = rank_mentors(candidates, ASKER, aspect=aspect)
    # The same mentors are eligible with or without an aspect: preference never excludes anyone.
    assert sorted(ids(ranked)) == sorted(ids(rank_mentors(candidates, ASKER)))
    flags = [c.badged_for(aspect) for c in ranked]
    assert flags == sorted(flags, reverse=True)  # every expert before every non-expert
    assert choose_mentor(candidates, ASKER, aspect=aspect) == (ranked[0] if ranked else None)
    # Within each group the fairness order holds.
    for group in (True, False):
        members = [c for c in ranked if c.badged_for(aspect) is group]
        assert members == rank_mentors(members, ASKER)
