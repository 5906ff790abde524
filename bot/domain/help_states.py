"""The help-request state machine, in one place.

::

    queued  -> offered | cancelled | expired
    offered -> active | queued | offered | cancelled
    active  -> resolved | cancelled | expired | queued
    resolved, cancelled, expired: terminal

``offered -> offered`` is a re-offer to the next mentor; ``offered -> queued`` is a pass or
an expired offer with nobody else to ask. ``active -> expired`` is an idle close (no
credit); ``active -> queued`` hands a request back (place kept) when Discord would not open
its session thread. The database enforces each step with a conditional
``UPDATE ... WHERE state = ?``; this module says which steps exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "ALLOWED",
    "OPEN_STATES",
    "TERMINAL_STATES",
    "InvalidTransition",
    "RequestState",
    "can_transition",
    "ensure_transition",
    "is_terminal",
]


class RequestState(StrEnum):
    """Where a help request is in its life."""

    QUEUED = "queued"
    OFFERED = "offered"
    ACTIVE = "active"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


# Read-only so no caller can quietly widen the rules at runtime.
ALLOWED: Mapping[RequestState, frozenset[RequestState]] = MappingProxyType(
    {
        RequestState.QUEUED: frozenset(
            {RequestState.OFFERED, RequestState.CANCELLED, RequestState.EXPIRED}
        ),
        RequestState.OFFERED: frozenset(
            {
                RequestState.ACTIVE,
                RequestState.QUEUED,
                RequestState.OFFERED,
                RequestState.CANCELLED,
            }
        ),
        RequestState.ACTIVE: frozenset(
            {
                RequestState.RESOLVED,
                RequestState.CANCELLED,
                RequestState.EXPIRED,
                RequestState.QUEUED,
            }
        ),
        RequestState.RESOLVED: frozenset(),
        RequestState.CANCELLED: frozenset(),
        RequestState.EXPIRED: frozenset(),
    }
)

OPEN_STATES: frozenset[RequestState] = frozenset(
    {RequestState.QUEUED, RequestState.OFFERED, RequestState.ACTIVE}
)
TERMINAL_STATES: frozenset[RequestState] = frozenset(
    {RequestState.RESOLVED, RequestState.CANCELLED, RequestState.EXPIRED}
)


class InvalidTransition(Exception):
    """A help request was asked to move between states that are not connected."""

    def __init__(self, current: RequestState, target: RequestState) -> None:
        self.current = current
        self.target = target
        if current in TERMINAL_STATES:
            detail = f"it is already {current.value}"
        else:
            allowed = ", ".join(sorted(s.value for s in ALLOWED[current]))
            detail = f"from {current.value} it can only become: {allowed}"
        super().__init__(
            f"This help request can't go from {current.value} to {target.value} ({detail})."
        )


def can_transition(current: RequestState, target: RequestState) -> bool:
    """Whether a request in ``current`` may move to ``target``."""
    return target in ALLOWED[current]


def ensure_transition(current: RequestState, target: RequestState) -> None:
    """Raise ``InvalidTransition`` unless ``current -> target`` is allowed."""
    if not can_transition(current, target):
        raise InvalidTransition(current, target)


def is_terminal(state: RequestState) -> bool:
    """Whether ``state`` is final (resolved, cancelled or expired)."""
    return state in TERMINAL_STATES
