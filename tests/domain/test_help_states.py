"""The help-request state machine, checked over every pair of states."""

from __future__ import annotations

from itertools import product

import pytest

from bot.domain.help_states import (
    ALLOWED,
    OPEN_STATES,
    TERMINAL_STATES,
    InvalidTransition,
    RequestState,
    can_transition,
    ensure_transition,
    is_terminal,
)

QU, OF, AC = RequestState.QUEUED, RequestState.OFFERED, RequestState.ACTIVE
RE, CA, EX = RequestState.RESOLVED, RequestState.CANCELLED, RequestState.EXPIRED

EXPECTED_EDGES = {
    (QU, OF),  # offered to a mentor
    (QU, CA),  # student cancels while waiting
    (QU, EX),  # left in the queue too long / class closes
    (OF, AC),  # mentor accepts
    (OF, QU),  # mentor passes, or the offer expires with nobody else to ask
    (OF, OF),  # re-offered to the next mentor
    (OF, CA),  # student cancels during the offer
    (AC, RE),  # student confirms the session
    (AC, CA),  # cancelled during the session
    (AC, EX),  # idle close, no credit
    (AC, QU),  # the session thread could not be opened: back in line, place kept
}
ALL_PAIRS = list(product(RequestState, repeat=2))


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=lambda s: s.value)
def test_every_pair(current: RequestState, target: RequestState) -> None:
    allowed = (current, target) in EXPECTED_EDGES
    assert can_transition(current, target) is allowed
    if allowed:
        ensure_transition(current, target)
    else:
        with pytest.raises(InvalidTransition) as info:
            ensure_transition(current, target)
        assert info.value.current is current
        assert info.value.target is target
        assert f"from {current.value} to {target.value}" in str(info.value)


def test_allowed_table_covers_every_state_exactly() -> None:
    assert set(ALLOWED) == set(RequestState)
    assert {(a, b) for a, targets in ALLOWED.items() for b in targets} == EXPECTED_EDGES


def test_allowed_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        ALLOWED[QU] = frozenset({RE})  # type: ignore[index]


def test_open_and_terminal_states_partition_all_states() -> None:
    assert {QU, OF, AC} == OPEN_STATES
    assert {RE, CA, EX} == TERMINAL_STATES
    assert set(RequestState) == OPEN_STATES | TERMINAL_STATES
    assert not OPEN_STATES & TERMINAL_STATES


@pytest.mark.parametrize("state", list(RequestState), ids=lambda s: s.value)
def test_terminal_states_have_no_way_out(state: RequestState) -> None:
    assert is_terminal(state) is (state in TERMINAL_STATES)
    assert (ALLOWED[state] == frozenset()) is is_terminal(state)


def test_every_open_state_can_be_cancelled() -> None:
    # A student must always be able to withdraw a request that is still open.
    assert all(can_transition(s, CA) for s in OPEN_STATES)


def test_only_an_active_session_can_be_resolved() -> None:
    assert [s for s in RequestState if can_transition(s, RE)] == [AC]


def test_message_for_a_terminal_state_says_it_is_finished() -> None:
    with pytest.raises(InvalidTransition, match="already resolved"):
        ensure_transition(RE, AC)


def test_message_lists_what_is_possible() -> None:
    with pytest.raises(InvalidTransition, match="can only become: cancelled, expired, offered"):
        ensure_transition(QU, AC)


def test_states_are_stored_as_plain_strings() -> None:
    assert [s.value for s in RequestState] == [
        "queued",
        "offered",
        "active",
        "resolved",
        "cancelled",
        "expired",
    ]
    assert RequestState("offered") is OF
