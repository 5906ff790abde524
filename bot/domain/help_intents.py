"""The help flow's outbox vocabulary: what must reach Discord after a state change.

A service records an :class:`Intent` in the same transaction as the change it follows; the help
desk (``cogs/help/_desk.py``) performs it idempotently and marks it done, and finishes whatever is
still pending at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

__all__ = ["Intent", "IntentKind", "IntentOutcome", "StaleReason", "TellAbout"]


class IntentKind(StrEnum):
    """One kind of Discord side effect of the help flow."""

    SEND_OFFER = "send_offer"  # DM the offer (mentors channel if DMs fail); payload: offer_id
    TIDY_OFFER = "tidy_offer"  # replace an ended offer's buttons; payload: offer_id, reason
    QUEUED = "queued"  # tell the teacher role a student waits; payload: waiting
    TELL = "tell"  # a private word to one person; payload: user_id, about, position
    OPEN_SESSION = "open_session"  # private thread, both members, the starter
    CLOSE_SESSION = "close_session"  # closing words (payload: announce) and archive + lock


IntentOutcome = Literal["done", "skipped", "failed"]
# Why an offer's buttons no longer apply (the words live in cogs/help/_views.py).
StaleReason = Literal["expired", "taken", "withdrawn", "cancelled"]
# What a private word is about (the words live in cogs/help/_views.py).
TellAbout = Literal["requeued", "no_thread", "session_requeued_student", "session_requeued_mentor"]


@dataclass(frozen=True)
class Intent:
    """One pending Discord action of a help request."""

    id: int
    request_id: int
    kind: IntentKind
    payload: dict[str, Any] = field(default_factory=dict)
