"""What the help service's use cases return, for the cog and the help desk to act on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.help_intents import StaleReason
from bot.domain.help_requests import HelpRequest
from bot.domain.help_states import RequestState


@dataclass(frozen=True)
class StaleOffer:
    """An offer message whose Accept / Pass buttons no longer apply, and why."""

    mentor_id: int
    channel_id: int | None
    message_id: int | None
    reason: StaleReason


@dataclass(frozen=True)
class NewOffer:
    """Offer the request to this mentor (the cog sends the DM and starts the expiry timer)."""

    offer_id: int
    mentor_id: int
    expires_at: datetime


@dataclass(frozen=True)
class Routing:
    """Where a request went: offered to a mentor, or waiting in line for its subject."""

    request: HelpRequest
    offer: NewOffer | None
    position: int = 0  # place in line when queued (1 = next)
    waiting: int = 0  # how many wait for this subject
    stale: tuple[StaleOffer, ...] = ()
    # The mentor whose offer ran out: their availability was paused so students don't wait on them.
    paused_mentor: int | None = None
    # An offer (or session) ended on the way: a mentor may be free for someone waiting in line.
    freed: bool = False
    # A request filed by this action (an ask): queued, it recorded no outbox intent (the desk
    # brings the subject's live queue notice up to date after the reply, and start-up refreshes
    # every line); offered at once, it never joined the line.
    filed: bool = False

    @property
    def queued(self) -> bool:
        """Nobody was free: the request waits in line."""
        return self.offer is None


@dataclass(frozen=True)
class Accepted:
    """A mentor won the request: open the private session."""

    request: HelpRequest
    stale: tuple[StaleOffer, ...] = ()


@dataclass(frozen=True)
class Closed:
    """A request ended without credit (cancelled, closed by a teacher, idle)."""

    request: HelpRequest
    previous: RequestState
    stale: tuple[StaleOffer, ...] = ()


@dataclass(frozen=True)
class Resolved:
    """The student confirmed the session helped: the mentor was credited."""

    request: HelpRequest
    ledger_id: int


@dataclass(frozen=True)
class QueueNotice:
    """Who hears of it when a request ends up waiting in line."""

    teacher: bool = True  # the teacher role, in the mentors channel (never the student's name)
    student: bool = False  # the student, privately (they already have a reply when asking)


SILENT = QueueNotice(teacher=False, student=False)
TELL_BOTH = QueueNotice(teacher=True, student=True)


@dataclass(frozen=True)
class Timers:
    """What the scheduler must know at start-up, read from the database."""

    offers: list[HelpRequest] = field(default_factory=list)
    sessions: list[HelpRequest] = field(default_factory=list)
