"""Mentor rounds through the simulated Discord: the board, an exactly-once take, /queue."""

from __future__ import annotations

import asyncio

from tests.e2e.conftest import Classroom
from tests.e2e.test_help_requests import ask, button, click, make_mentor, offers


async def test_a_mentor_takes_a_waiting_request_from_the_board(classroom: Classroom) -> None:
    room = classroom
    await make_mentor(room, room.alice)
    await make_mentor(room, room.bob)
    await ask(room, room.carol, topic="long division")
    (offer,) = offers(room, room.alice)  # Alice was offered it; she hasn't answered yet
    board = await room.slash(room.bob, "rounds")
    assert board.ephemeral
    text = str(board.embeds)
    assert "#1 Math" in text and "long division" in text and "0 min" in text
    assert str(room.carol.id) not in text and "Carol" not in text  # never who asked
    assert board.message is not None
    # Bob takes it from the board while Alice presses Accept on her offer: one winner.
    take, accept = await asyncio.gather(
        room.sim.click(room.bob, board.message, button(board.message, "Take #1") or ""),
        room.sim.click(room.alice, offer, button(offer, "Accept") or ""),
    )
    await room.sim.settle()
    winners = [r for r in (take, accept) if "You took" in r.content or "You accepted" in r.content]
    assert len(winners) == 1, (take.content, accept.content)
    threads = room.sim.threads(room.guild)
    assert len(threads) == 1
    assert room.carol.id in threads[0].thread_members


async def test_taking_is_exactly_once_and_the_teacher_sees_it_in_the_queue(
    classroom: Classroom,
) -> None:
    room = classroom
    await make_mentor(room, room.alice)
    await make_mentor(room, room.bob, available=False)
    refused = await room.slash(room.bob, "rounds")
    assert "/available on" in refused.content
    await room.slash(room.bob, "available on")
    await ask(room, room.carol, topic="long division")
    await ask(room, room.dan, topic="fractions")  # offered to Bob
    board = await room.slash(room.bob, "rounds")
    assert board.message is not None
    # Bob has his own offer pending: taking Carol's too would exceed his one-at-a-time limit.
    busy = await click(room, room.bob, board.message, "Take #1")
    assert "finish that one first" in busy.content
    (bob_offer,) = offers(room, room.bob)
    await click(room, room.bob, bob_offer, "Pass")
    took = await click(room, room.bob, board.message, "Take #1")
    assert "You took request #1" in took.content
    assert room.carol.id in room.newest_thread().thread_members
    # Alice's offer for #1 was withdrawn: its Accept is gone, and no second session opened.
    first = next(m for m in room.sim.dms(room.alice) if "Request #1 was taken" in m.content)
    assert button(first, "Accept") is None
    assert len(room.sim.threads(room.guild)) == 1
    listing = await room.slash(room.teacher, "queue")
    text = str(listing.embeds)
    assert "#1 Math" in text and text.count("taken from the board") == 1
