"""The help flow's use cases: from `/helpme` to a confirmed session (see :mod:`.service`)."""

from __future__ import annotations

from bot.domain.help_intents import Intent
from bot.domain.help_requests import HelpOffer, HelpRequest
from bot.services.help_requests.results import (
    Accepted,
    Closed,
    NewOffer,
    QueueNotice,
    Resolved,
    Routing,
    StaleOffer,
    Timers,
)
from bot.services.help_requests.service import HelpService
from bot.services.help_requests.words import TOPIC_MAX_LENGTH, clean_topic

__all__ = [
    "TOPIC_MAX_LENGTH",
    "Accepted",
    "Closed",
    "HelpOffer",
    "HelpRequest",
    "HelpService",
    "Intent",
    "NewOffer",
    "QueueNotice",
    "Resolved",
    "Routing",
    "StaleOffer",
    "Timers",
    "clean_topic",
]
