"""The help flow's validation and its kind words for a request that has moved on."""

from __future__ import annotations

from bot.domain.help_requests import HelpRequest
from bot.domain.help_states import RequestState
from bot.domain.text import has_visible, normalise_text
from bot.errors import InvalidInput

TOPIC_MAX_LENGTH = 200


def clean_topic(raw: str | None) -> str:
    """The student's topic, trimmed; longer than 200 characters is refused kindly."""
    topic = normalise_text(raw)
    if not has_visible(topic):
        if (raw or "").strip(" \t\n"):
            raise InvalidInput(
                "The topic has no visible characters: type some words or leave it out."
            )
        return ""
    if len(topic) > TOPIC_MAX_LENGTH:
        raise InvalidInput(
            f"Please keep the topic to {TOPIC_MAX_LENGTH} characters (yours has {len(topic)}): "
            "a few words are enough, you can explain the rest to your mentor."
        )
    return topic


def state_words(state: RequestState) -> str:
    """How an open request stands, in a few words."""
    return {
        RequestState.QUEUED: "waiting for a free mentor",
        RequestState.OFFERED: "a mentor is being asked",
        RequestState.ACTIVE: "your session is open",
    }.get(state, state.value)


def gone_words(request: HelpRequest) -> str:
    """Why a button no longer applies, said kindly."""
    if request.state is RequestState.ACTIVE:
        return "Another mentor has already taken this request. Thanks for being ready to help!"
    if request.state is RequestState.RESOLVED:
        return "This session is already closed. Thank you!"
    if request.state is RequestState.CANCELLED:
        return "This request was closed: the student doesn't need help with it any more."
    if request.state is RequestState.EXPIRED:
        return "This session was closed after a quiet spell."
    return "This request has moved on. Thanks anyway!"
