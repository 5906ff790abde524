"""The help flow under faults: a kill between a commit and its Discord call, 5xx and 429 on every
outbound step, and cancel racing Accept. Nobody is stranded; the student never sees an error."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain.help_states import RequestState
from bot.simulator import InteractionResult, SimChannel, SimMessage, SimUser
from cogs import _discord_api as discord_api
from cogs.help._desk import HelpDesk
from tests.e2e.conftest import Classroom
from tests.e2e.test_help_requests import (
    button,
    ledger_count,
    make_mentor,
    mentors,
    offers,
    session_thread,
)

__all__ = ["mentors"]  # the fixture, shared with the happy-path tests

THREADS = "POST /channels/{channel_id}/threads"
MESSAGES = "POST /channels/{channel_id}/messages"
EDIT_MESSAGE = "PATCH /channels/{channel_id}/messages/{message_id}"
EDIT_CHANNEL = "PATCH /channels/{channel_id}"
THREAD_MEMBER = "PUT /channels/{channel_id}/thread-members/{user_id}"
ERROR_WORDS = ("went wrong", "error id")


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Back-off pauses short enough for a test (the steps and fallbacks are the same)."""
    monkeypatch.setattr(discord_api, "RETRY_DELAYS", (0.01, 0.01))


def desk(room: Classroom) -> HelpDesk:
    assert room.bot is not None
    cog = room.bot.get_cog("HelpCog")
    assert cog is not None
    found: HelpDesk = cog.desk  # type: ignore[attr-defined]
    return found


async def settled(room: Classroom) -> None:
    """Wait until the bot has answered and the help desk has finished its Discord work."""
    await room.sim.settle()
    await desk(room).idle()
    await room.sim.settle()


async def ask(room: Classroom, student: SimUser, topic: str | None = None) -> InteractionResult:
    options: dict[str, object] = {"subject": "Math"}
    if topic is not None:
        options["topic"] = topic
    result = await room.slash(student, "helpme ask", **options)
    await settled(room)
    return result


async def click(
    room: Classroom, user: SimUser, message: SimMessage, label: str
) -> InteractionResult:
    custom_id = button(message, label)
    assert custom_id is not None, f"no {label!r} on {message.content!r}"
    result = await room.sim.click(user, message, custom_id)
    await settled(room)
    return result


async def accept_first_offer(room: Classroom, mentor: SimUser) -> SimChannel:
    (offer,) = offers(room, mentor)
    accepted = await click(room, mentor, offer, "Accept")
    assert "You accepted" in accepted.content, accepted.content
    return session_thread(room)


async def restart_and_finish(room: Classroom) -> None:
    """Restart the bot and wait until it has finished what the last run left pending."""
    await room.restart()
    await desk(room).wait_resumed()
    await room.sim.settle()


async def state_of(room: Classroom, request_id: int = 1) -> RequestState:
    assert room.bot is not None
    return (await room.bot.services.help.get(request_id)).state


def dms_containing(room: Classroom, user: SimUser, words: str) -> list[str]:
    return [m.content for m in room.sim.dms(user) if words in m.content]


# --- 1. killed between the commit and the Discord call ----------------------------------------


async def test_killed_between_accept_and_the_thread_the_restart_opens_the_session(
    mentors: Classroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = mentors
    await ask(room, room.carol, topic="ratios")
    # Discord fails the thread once and the bot dies while it waits to try again.
    monkeypatch.setattr(discord_api, "RETRY_DELAYS", (3600.0,))
    room.sim.fail_next(THREADS, 503)
    (offer,) = offers(room, room.alice)
    accepted = await room.sim.click(room.alice, offer, button(offer, "Accept") or "")
    await room.sim.settle()  # the desk now waits an hour to try again: the bot dies meanwhile
    assert "You accepted" in accepted.content
    assert room.sim.threads(room.guild) == [], "killed before the thread was made"
    assert await state_of(room) is RequestState.ACTIVE

    monkeypatch.setattr(discord_api, "RETRY_DELAYS", (0.01, 0.01))
    await restart_and_finish(room)
    await settled(room)
    thread = session_thread(room)
    assert {room.carol.id, room.alice.id} <= set(thread.thread_members)
    starter = room.sim.messages(thread)[0]
    assert "ratios" in starter.content
    assert sorted(starter.pinged_user_ids) == sorted([room.carol.id, room.alice.id])
    solved = await click(room, room.carol, starter, "Solved")
    assert solved.message is not None
    rated = await click(room, room.carol, solved.message, "5")
    assert "Solved!" in rated.content
    assert await ledger_count(room) == 1, "the session the restart opened earns credit"


async def test_killed_before_the_offer_dm_the_restart_sends_it(
    mentors: Classroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = mentors
    monkeypatch.setattr(discord_api, "RETRY_DELAYS", (3600.0,))
    room.sim.fail_next(MESSAGES, 503)
    asked = await room.slash(room.carol, "helpme ask", subject="Math", topic="angles")
    await room.sim.settle()
    assert "asked a **Math** mentor" in asked.content
    assert offers(room, room.alice) == []
    monkeypatch.setattr(discord_api, "RETRY_DELAYS", (0.01, 0.01))
    await restart_and_finish(room)
    (offer,) = offers(room, room.alice)
    assert "angles" in offer.content
    await accept_first_offer(room, room.alice)


async def test_thread_still_failing_after_restart_hands_back_to_the_queue_and_tells_both(
    classroom: Classroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = classroom
    await make_mentor(room, room.alice)
    await ask(room, room.carol)
    monkeypatch.setattr(discord_api, "RETRY_DELAYS", (3600.0,))
    room.sim.fail_next(THREADS, 503, count=100)
    (offer,) = offers(room, room.alice)
    await room.sim.click(room.alice, offer, button(offer, "Accept") or "")
    await room.sim.settle()
    monkeypatch.setattr(discord_api, "RETRY_DELAYS", (0.01, 0.01))
    await restart_and_finish(room)

    assert room.sim.threads(room.guild) == []
    assert dms_containing(room, room.carol, "back in line with its place kept")
    assert dms_containing(room, room.alice, "went back in line")
    # Alice is free again, so the request is offered to her afresh: nobody is left stranded.
    assert await state_of(room) is RequestState.OFFERED
    (again,) = offers(room, room.alice)
    assert "#1" in again.content


async def test_killed_between_cancel_and_archiving_the_restart_closes_the_thread(
    mentors: Classroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = mentors
    await ask(room, room.carol)
    thread = await accept_first_offer(room, room.alice)
    monkeypatch.setattr(discord_api, "RETRY_DELAYS", (3600.0,))
    room.sim.fail_next(EDIT_CHANNEL, 503)
    cancelled = await room.slash(room.carol, "helpme cancel")
    await room.sim.settle()
    assert "Cancelled" in cancelled.content
    assert not thread.archived, "killed before the thread was archived"
    monkeypatch.setattr(discord_api, "RETRY_DELAYS", (0.01, 0.01))
    await restart_and_finish(room)
    assert thread.archived and thread.locked, "no live thread on a cancelled request"
    # Alice is free again: Dan's request goes to her (Bob stepped away).
    await room.slash(room.bob, "available off")
    await ask(room, room.dan)
    assert any("#2" in m.content for m in offers(room, room.alice))


# --- 2. 5xx and 429 on every outbound step ------------------------------------------------------


@pytest.mark.parametrize("status", [503, 429])
@pytest.mark.parametrize(
    ("step", "route"),
    [
        ("offer", MESSAGES),
        ("thread", THREADS),
        ("member", THREAD_MEMBER),
        ("starter", MESSAGES),
        ("archive", EDIT_CHANNEL),
    ],
)
async def test_a_transient_error_on_any_step_of_a_session_is_retried(
    mentors: Classroom, step: str, route: str, status: int
) -> None:
    room = mentors
    # Twice: discord.py's own retry of a 429 is not enough on its own to pass this.
    count = 2 if status == 503 else 6
    if step == "offer":
        room.sim.fail_next(route, status, count=count)
    asked = await ask(room, room.carol, topic="primes")
    assert "asked a **Math** mentor" in asked.content
    assert not any(w in asked.content for w in ERROR_WORDS)
    if step in ("thread", "member", "starter"):
        room.sim.fail_next(route, status, count=count)
    thread = await accept_first_offer(room, room.alice)
    assert {room.carol.id, room.alice.id} <= set(thread.thread_members)
    assert "primes" in room.sim.messages(thread)[0].content
    if step == "archive":
        room.sim.fail_next(route, status, count=count)
    starter = room.sim.messages(thread)[0]
    solved = await click(room, room.carol, starter, "Solved")
    assert solved.message is not None
    await click(room, room.carol, solved.message, "5")
    assert thread.archived and thread.locked
    assert await ledger_count(room) == 1
    assert [r.status for r in room.sim.routes_called(route.replace("{channel_id}", "{}"))]


@pytest.mark.parametrize("status", [503, 429])
async def test_a_transient_error_on_tidying_an_offer_is_retried(
    mentors: Classroom, status: int
) -> None:
    room = mentors
    await ask(room, room.carol)
    (offer,) = offers(room, room.alice)
    room.sim.fail_next(EDIT_MESSAGE, status, count=2 if status == 503 else 6)
    cancelled = await room.slash(room.carol, "helpme cancel")
    await settled(room)
    assert "Cancelled" in cancelled.content
    assert not offer.buttons() and "doesn't need help any more" in offer.content


@pytest.mark.parametrize("status", [503, 429])
async def test_a_transient_error_on_the_teacher_notice_is_retried(
    classroom: Classroom, status: int
) -> None:
    room = classroom
    room.sim.fail_next(MESSAGES, status, count=2 if status == 503 else 6)
    asked = await ask(room, room.carol)
    assert "No Math mentor is free" in asked.content
    (notice,) = room.sim.messages(room.mentors_channel)
    assert "A student is waiting" in notice.content


async def test_offer_dm_failing_goes_to_the_mentors_channel(mentors: Classroom) -> None:
    room = mentors
    room.sim.fail_next(MESSAGES, 503, count=3)  # the DM and both retries
    asked = await ask(room, room.carol, topic="secret")
    assert "asked a **Math** mentor" in asked.content
    (notice,) = [m for m in room.sim.messages(room.mentors_channel) if button(m, "Accept")]
    assert notice.pinged_user_ids == [room.alice.id]
    assert "secret" not in notice.content
    accepted = await click(room, room.alice, notice, "Accept")
    assert "You accepted" in accepted.content


async def test_offer_that_cannot_be_posted_anywhere_goes_to_the_next_mentor(
    mentors: Classroom,
) -> None:
    room = mentors
    room.sim.fail_next(MESSAGES, 503, count=6)  # Alice's DM and the mentors channel, 3 tries each
    asked = await ask(room, room.carol)
    assert not any(w in asked.content for w in ERROR_WORDS)
    assert offers(room, room.alice) == []
    (offer,) = offers(room, room.bob)
    assert "Math" in offer.content
    await accept_first_offer(room, room.bob)


async def test_offer_that_cannot_be_posted_with_nobody_else_queues_and_tells_the_teacher(
    classroom: Classroom,
) -> None:
    room = classroom
    await make_mentor(room, room.alice)
    room.sim.fail_next(MESSAGES, 503, count=6)
    asked = await ask(room, room.carol)
    assert not any(w in asked.content for w in ERROR_WORDS)
    assert await state_of(room) is RequestState.QUEUED
    notices = [m.content for m in room.sim.messages(room.mentors_channel)]
    assert any("A student is waiting" in n for n in notices), notices
    assert dms_containing(room, room.carol, "in line")
    assert offers(room, room.alice) == []


async def test_no_permission_for_the_thread_closes_the_request_and_tells_both(
    mentors: Classroom,
) -> None:
    room = mentors
    await ask(room, room.carol)
    room.sim.fail_next(THREADS, 403)  # waiting won't fix this one: no retry, a clear word
    (offer,) = offers(room, room.alice)
    accepted = await click(room, room.alice, offer, "Accept")
    assert not any(w in accepted.content for w in ERROR_WORDS)
    assert room.sim.threads(room.guild) == []
    assert await state_of(room) is RequestState.CANCELLED
    assert dms_containing(room, room.carol, "couldn't open the private thread")
    assert dms_containing(room, room.alice, "couldn't open the private thread")
    again = await ask(room, room.carol)
    assert "already have an open request" not in again.content, "nothing is left open"


async def test_start_up_serves_a_queue_a_mentor_could_take_meanwhile(
    classroom: Classroom,
) -> None:
    room = classroom
    await make_mentor(room, room.alice, available=False)
    waiting = await ask(room, room.carol, topic="graphs")
    assert "in line" in waiting.content
    assert room.bot is not None
    # Alice's availability is written while no event reaches the bot (as if it was down).
    await room.bot.services.mentors.set_available(room.guild.id, room.alice.id, True)
    await restart_and_finish(room)
    await settled(room)
    (offer,) = offers(room, room.alice)
    assert "graphs" in offer.content


# --- 4. withdrawn offers and cancel racing Accept -----------------------------------------------


async def test_an_offer_withdrawn_before_it_was_sent_is_never_posted(mentors: Classroom) -> None:
    room = mentors
    assert room.bot is not None
    help_service = room.bot.services.help
    # The request and its offer are committed, then cancelled before the desk sent anything
    # (as if the bot died in between); the restart finishes the outbox.
    routing = await help_service.ask(room.guild.id, room.carol.id, "Math", None)
    assert routing.offer is not None
    await help_service.cancel_own(room.guild.id, room.carol.id)
    await restart_and_finish(room)
    assert offers(room, room.alice) == [], "no Accept button on a withdrawn request"
    assert offers(room, room.bob) == []


async def test_a_burst_of_asks_and_cancels_leaves_accept_buttons_only_on_live_offers(
    mentors: Classroom,
) -> None:
    room = mentors
    students = []
    for n in range(6):
        student = room.sim.create_user(f"Student {n}")
        room.guild.add_member(student)
        students.append(student)

    async def ask_then_maybe_cancel(n: int, student: SimUser) -> None:
        await room.slash(student, "helpme ask", subject="Math")
        if n % 2 == 0:
            await room.slash(student, "helpme cancel")

    await asyncio.gather(*(ask_then_maybe_cancel(n, s) for n, s in enumerate(students)))
    await settled(room)
    assert room.bot is not None
    live = {
        (mentor.id, int(m.content.split("request #")[1].split(")")[0]))
        for mentor in (room.alice, room.bob)
        for m in offers(room, mentor)
    }
    open_offers = {
        (r.mentor_id, r.id)
        for r in await room.bot.services.help.open_requests(room.guild.id)
        if r.state is RequestState.OFFERED
    }
    assert live == open_offers, "every Accept button belongs to an offer still waiting"


@pytest.mark.parametrize("rounds", range(3))
async def test_cancel_racing_accept_leaves_no_live_thread_and_no_busy_mentor(
    mentors: Classroom, rounds: int
) -> None:
    room = mentors
    await ask(room, room.carol)
    (offer,) = offers(room, room.alice)
    accepted, cancelled = await asyncio.gather(
        room.sim.click(room.alice, offer, button(offer, "Accept") or ""),
        room.slash(room.carol, "helpme cancel"),
    )
    await settled(room)
    assert await state_of(room) is RequestState.CANCELLED or "You accepted" in accepted.content
    state = await state_of(room)
    for thread in room.sim.threads(room.guild):
        assert thread.archived and thread.locked, "no live thread on a cancelled request"
    if state is RequestState.CANCELLED:
        assert "Cancelled" in cancelled.content
    # Alice is not left busy: Dan's request is offered to her.
    assert room.bot is not None
    await room.slash(room.bob, "available off")
    await ask(room, room.dan)
    assert any("#2" in m.content for m in offers(room, room.alice))
