"""A help request and the offers made for it: the records the help flow reads and writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.domain.help_states import RequestState

__all__ = ["CloseReason", "HelpOffer", "HelpRequest", "OfferOutcome"]

# How an offer ended (NULL while the mentor has not answered).
OfferOutcome = Literal["accepted", "passed", "expired", "withdrawn"]
# Why a request ended (the schema's CHECK lists the same words).
CloseReason = Literal["solved", "cancelled", "teacher", "idle", "no_thread"]


@dataclass(frozen=True)
class HelpRequest:
    """One student's request for help in one subject, and the session it becomes."""

    id: int
    guild_id: int
    subject_id: int
    subject_name: str
    student_id: int
    topic: str
    state: RequestState
    mentor_id: int | None
    offer_expires_at: datetime | None
    thread_id: int | None
    created_at: datetime
    queued_at: datetime
    accepted_at: datetime | None
    last_activity_at: datetime | None
    close_proposed_at: datetime | None
    closed_at: datetime | None
    closed_by: int | None
    close_reason: CloseReason | None
    rating: int | None
    # The topic within the subject the student named (e.g. "fractions"), if any.
    aspect: str | None = None


@dataclass(frozen=True)
class HelpOffer:
    """One offer of a request to one mentor, and where its Accept / Pass buttons were posted."""

    id: int
    request_id: int
    mentor_id: int
    offered_at: datetime
    channel_id: int | None
    message_id: int | None
    outcome: OfferOutcome | None
    decided_at: datetime | None
