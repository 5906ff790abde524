"""Help requests at the service level, on a real SQLite file: routing, offers, races, credit."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import pytest_asyncio

from bot.clock import ManualClock
from bot.config import Config
from bot.domain.help_states import RequestState
from bot.errors import Conflict, InvalidInput, NotFound, RateLimited
from bot.services.help_requests import Closed
from bot.wiring import Services, build_services
from db import help_requests as help_sql
from db.database import Database
from tests.services.classroom import GUILD, TEACHER, set_up_class

ALICE, BOB, CAROL, DAN, ERIN = 11, 12, 13, 14, 15


@pytest_asyncio.fixture(loop_scope="session")
async def room(services: Services) -> Services:
    """A class with Math and English; Alice and Bob mentor Math, ready and available."""
    await set_up_class(services)
    for user in (ALICE, BOB):
        await make_mentor(services, user)
    return services


async def make_mentor(
    services: Services, user: int, subject: str = "Math", *, available: bool = True
) -> None:
    plan = await services.mentors.plan_grant(GUILD, subject, user, None)
    await services.mentors.record_grant(plan, user, TEACHER)
    await services.mentors.acknowledge_brief(GUILD, user)
    if available:
        await services.mentors.set_available(GUILD, user, True)


async def ledger_rows(db: Database, request_id: int) -> int:
    async with (
        db.reading() as conn,
        conn.execute("SELECT COUNT(*) FROM ledger WHERE session_id = ?", (request_id,)) as cur,
    ):
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def trail(db: Database, request_id: int) -> list[tuple[str | None, str]]:
    async with db.reading() as conn:
        return [(a, b) for a, b, _ in await help_sql.events(conn, request_id)]


async def test_ask_offers_to_one_mentor_and_never_the_asker(room: Services) -> None:
    routing = await room.help.ask(GUILD, ALICE, "math", "fractions")
    assert routing.offer is not None
    # Alice is a Math mentor herself, but she asked: Bob is the only one who can be offered it.
    assert routing.offer.mentor_id == BOB
    assert routing.request.state is RequestState.OFFERED
    assert routing.request.topic == "fractions"
    assert routing.offer.expires_at == routing.request.created_at + timedelta(minutes=3)


async def test_fair_choice_prefers_fewer_sessions_this_week(
    room: Services, clock: ManualClock
) -> None:
    first = await room.help.ask(GUILD, CAROL, "Math", None)
    assert first.offer is not None
    taker = first.offer.mentor_id
    await room.help.accept(first.request.id, taker)
    await room.help.rate(first.request.id, CAROL, 5)
    clock.advance(timedelta(minutes=2))
    second = await room.help.ask(GUILD, DAN, "Math", None)
    assert second.offer is not None
    assert second.offer.mentor_id != taker, "the mentor with fewer sessions this week goes first"


async def test_topic_is_trimmed_and_long_topics_are_refused_kindly(room: Services) -> None:
    with pytest.raises(InvalidInput, match="200 characters"):
        await room.help.ask(GUILD, CAROL, "Math", "x" * 201)
    routing = await room.help.ask(GUILD, CAROL, "Math", "  long\n division  ")
    assert routing.request.topic == "long division"


async def test_one_open_request_per_student_and_a_cooldown(
    room: Services, clock: ManualClock
) -> None:
    await room.help.ask(GUILD, CAROL, "Math", None)
    with pytest.raises(Conflict, match="already have an open request"):
        await room.help.ask(GUILD, CAROL, "English", None)
    await room.help.cancel_own(GUILD, CAROL)
    with pytest.raises(RateLimited, match="wait"):
        await room.help.ask(GUILD, CAROL, "English", None)
    clock.advance(timedelta(seconds=61))
    again = await room.help.ask(GUILD, CAROL, "English", None)
    assert again.queued  # nobody mentors English


async def test_pass_goes_to_the_next_mentor_at_once_then_back_in_line(room: Services) -> None:
    await make_mentor(room, CAROL)
    routing = await room.help.ask(GUILD, DAN, "Math", None)
    assert routing.offer is not None
    first = routing.offer.mentor_id
    passed = await room.help.pass_offer(routing.request.id, first)
    assert passed.offer is not None and passed.offer.mentor_id not in (first, DAN)
    second = passed.offer.mentor_id
    passed_again = await room.help.pass_offer(routing.request.id, second)
    assert passed_again.offer is not None
    third = passed_again.offer.mentor_id
    assert {first, second, third} == {ALICE, BOB, CAROL}
    last = await room.help.pass_offer(routing.request.id, third)
    assert last.queued and last.position == 1
    assert last.request.state is RequestState.QUEUED and last.request.mentor_id is None
    with pytest.raises(Conflict):
        await room.help.pass_offer(routing.request.id, third)


async def test_expired_offer_goes_to_the_next_and_pauses_the_absent_mentor(
    room: Services, clock: ManualClock
) -> None:
    routing = await room.help.ask(GUILD, CAROL, "Math", None)
    assert routing.offer is not None
    first = routing.offer.mentor_id
    assert await room.help.expire_offer(routing.request.id) is None, "not due yet"
    clock.advance(timedelta(minutes=3))
    moved = await room.help.expire_offer(routing.request.id)
    assert moved is not None and moved.offer is not None
    assert moved.offer.mentor_id != first
    assert moved.paused_mentor == first
    assert [s.reason for s in moved.stale] == ["expired"]
    state = await room.mentors.mentor_state(GUILD, first)
    assert state is not None and not state.available_at(clock.now())
    assert await room.help.expire_offer(routing.request.id) is None, "the new offer is not due"


async def test_nobody_free_queues_in_order_and_is_served_when_a_mentor_turns_up(
    room: Services, clock: ManualClock
) -> None:
    for mentor in (ALICE, BOB):
        await room.mentors.set_available(GUILD, mentor, False)
    first = await room.help.ask(GUILD, CAROL, "Math", "a")
    clock.advance(timedelta(seconds=5))
    second = await room.help.ask(GUILD, DAN, "Math", "b")
    assert (first.position, first.waiting) == (1, 1)
    assert (second.position, second.waiting) == (2, 2)
    await room.mentors.set_available(GUILD, ALICE, True)
    served = await room.help.serve_queue(GUILD)
    assert [r.request.student_id for r in served] == [CAROL], "first come, first served"
    assert served[0].offer is not None and served[0].offer.mentor_id == ALICE
    assert await room.help.serve_queue(GUILD) == [], "Alice holds an offer: at her limit"
    await room.mentors.set_available(GUILD, BOB, True)
    (next_one,) = await room.help.serve_queue(GUILD)
    assert next_one.request.student_id == DAN and next_one.offer is not None
    assert next_one.offer.mentor_id == BOB


async def test_happy_path_credits_once_when_the_student_confirms(
    room: Services, db: Database
) -> None:
    routing = await room.help.ask(GUILD, CAROL, "Math", "algebra")
    assert routing.offer is not None
    mentor = routing.offer.mentor_id
    accepted = await room.help.accept(routing.request.id, mentor)
    assert accepted.request.state is RequestState.ACTIVE
    await room.help.delivery.session_opened(routing.request.id, 999)
    assert (await room.help.get(routing.request.id)).thread_id == 999
    await room.help.propose_close(routing.request.id, mentor)
    assert await ledger_rows(db, routing.request.id) == 0, "no credit before the student confirms"
    with pytest.raises(Conflict):
        await room.help.rate(routing.request.id, mentor, 5)
    resolved = await room.help.rate(routing.request.id, CAROL, 4)
    assert resolved.request.state is RequestState.RESOLVED and resolved.request.rating == 4
    with pytest.raises(Conflict, match="already closed"):
        await room.help.rate(routing.request.id, CAROL, 5)
    assert await ledger_rows(db, routing.request.id) == 1
    assert await trail(db, routing.request.id) == [
        (None, "queued"),
        ("queued", "offered"),
        ("offered", "active"),
        ("active", "active"),
        ("active", "resolved"),
    ]


async def test_two_mentors_accepting_at_once_exactly_one_wins(
    room: Services, clock: ManualClock
) -> None:
    await room.mentors.set_available(GUILD, BOB, False)
    routing = await room.help.ask(GUILD, CAROL, "Math", None)
    assert routing.offer is not None and routing.offer.mentor_id == ALICE
    await room.mentors.set_available(GUILD, BOB, True)
    clock.advance(timedelta(minutes=3))
    moved = await room.help.expire_offer(routing.request.id)
    assert moved is not None and moved.offer is not None and moved.offer.mentor_id == BOB
    # Alice comes back and clicks her (expired) Accept just as Bob clicks his.
    results = await asyncio.gather(
        room.help.accept(routing.request.id, ALICE),
        room.help.accept(routing.request.id, BOB),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 1
    assert "Another mentor has already taken" in losers[0].message
    request = await room.help.get(routing.request.id)
    assert request.state is RequestState.ACTIVE and request.mentor_id == ALICE
    assert [s.reason for s in winners[0].stale] == ["taken"]


async def test_a_mentor_who_passed_cannot_accept_later(room: Services) -> None:
    routing = await room.help.ask(GUILD, CAROL, "Math", None)
    assert routing.offer is not None
    await room.help.pass_offer(routing.request.id, routing.offer.mentor_id)
    with pytest.raises(Conflict, match="moved on"):
        await room.help.accept(routing.request.id, routing.offer.mentor_id)
    with pytest.raises(Conflict, match="wasn't offered to you"):
        await room.help.accept(routing.request.id, DAN)


async def test_a_mentor_in_session_is_not_offered_another(room: Services) -> None:
    await room.mentors.set_available(GUILD, BOB, False)
    first = await room.help.ask(GUILD, CAROL, "Math", None)
    assert first.offer is not None
    await room.help.accept(first.request.id, ALICE)
    second = await room.help.ask(GUILD, DAN, "Math", None)
    assert second.queued
    await room.help.rate(first.request.id, CAROL, 5)
    (served,) = await room.help.serve_queue(GUILD)
    assert served.request.id == second.request.id and served.offer is not None


@pytest.mark.parametrize("state", ["queued", "offered", "active"])
async def test_cancel_at_each_state_gives_no_credit(
    room: Services, db: Database, state: str
) -> None:
    if state == "queued":
        for mentor in (ALICE, BOB):
            await room.mentors.set_available(GUILD, mentor, False)
    routing = await room.help.ask(GUILD, CAROL, "Math", None)
    if state == "active":
        assert routing.offer is not None
        await room.help.accept(routing.request.id, routing.offer.mentor_id)
    closed = await room.help.cancel_own(GUILD, CAROL)
    assert closed.previous.value == state
    assert closed.request.state is RequestState.CANCELLED
    assert [s.reason for s in closed.stale] == (["cancelled"] if state == "offered" else [])
    assert await ledger_rows(db, routing.request.id) == 0
    with pytest.raises(NotFound):
        await room.help.cancel_own(GUILD, CAROL)


async def test_idle_session_closes_without_credit(
    room: Services, db: Database, clock: ManualClock
) -> None:
    routing = await room.help.ask(GUILD, CAROL, "Math", None)
    assert routing.offer is not None
    await room.help.accept(routing.request.id, routing.offer.mentor_id)
    clock.advance(timedelta(minutes=30))
    await room.help.touch(routing.request.id)
    clock.advance(timedelta(minutes=40))
    later = await room.help.idle_check(routing.request.id)
    assert later == clock.now() + timedelta(minutes=20), "activity moved the deadline"
    clock.advance(timedelta(minutes=20))
    closed = await room.help.idle_check(routing.request.id)
    assert isinstance(closed, Closed)
    assert closed.request.state is RequestState.EXPIRED
    assert await ledger_rows(db, routing.request.id) == 0
    with pytest.raises(Conflict, match="quiet spell"):
        await room.help.rate(routing.request.id, CAROL, 5)


async def test_teacher_reassigns_to_the_next_mentor_and_closes(room: Services) -> None:
    routing = await room.help.ask(GUILD, CAROL, "Math", None)
    assert routing.offer is not None
    moved = await room.help.reassign(routing.request.id, TEACHER)
    assert moved.offer is not None and moved.offer.mentor_id != routing.offer.mentor_id
    assert [s.reason for s in moved.stale] == ["withdrawn"]
    closed = await room.help.close_by_teacher(routing.request.id, TEACHER)
    assert closed.request.close_reason == "teacher"
    assert await room.help.open_requests(GUILD) == []


async def test_timers_are_readable_from_the_database(room: Services) -> None:
    offered = await room.help.ask(GUILD, CAROL, "Math", None)
    active = await room.help.ask(GUILD, DAN, "Math", None)
    assert offered.offer is not None and active.offer is not None
    await room.help.accept(active.request.id, active.offer.mentor_id)
    timers = await room.help.timers()
    assert [r.id for r in timers.offers] == [offered.request.id]
    assert [r.id for r in timers.sessions] == [active.request.id]


async def test_an_offer_posted_after_it_was_withdrawn_is_reported_stale(room: Services) -> None:
    routing = await room.help.ask(GUILD, CAROL, "Math", None)
    assert routing.offer is not None
    await room.help.cancel_own(GUILD, CAROL)
    # The DM went out while the student cancelled: the poster learns to tidy it at once.
    stale = await room.help.delivery.offer_posted(routing.offer.offer_id, 500, 600)
    assert stale == "cancelled"
    assert await room.help.delivery.offer_to_send(routing.offer.offer_id) is None


async def test_state_changes_record_their_discord_work_in_the_same_transaction(
    room: Services,
) -> None:
    routing = await room.help.ask(GUILD, CAROL, "Math", None)
    request_id = routing.request.id
    kinds = [i.kind.value for i in await room.help.delivery.pending_intents(request_id)]
    assert kinds == ["send_offer"]
    assert routing.offer is not None
    await room.help.accept(request_id, routing.offer.mentor_id)
    kinds = [i.kind.value for i in await room.help.delivery.pending_intents(request_id)]
    assert kinds == ["send_offer", "open_session"]
    await room.help.cancel_own(GUILD, CAROL)
    kinds = [i.kind.value for i in await room.help.delivery.pending_intents(request_id)]
    assert kinds == ["send_offer", "open_session", "close_session"]
    for intent in await room.help.delivery.pending_intents(request_id):
        await room.help.delivery.finish_intent(intent.id, "done")
    assert await room.help.delivery.requests_with_pending_intents() == []


async def test_matching_reads_settings_in_its_own_transaction_when_not_cached(
    config: Config, clock: ManualClock
) -> None:
    # An in-memory store has no read connection: a read outside the open transaction would
    # wait for that transaction forever. Settings forgotten (as after `/setup`) are read inside.
    db = await Database.open(":memory:")
    try:
        await db.migrate()
        services = build_services(config, db, clock)
        await set_up_class(services)
        for user in (ALICE, BOB):
            await make_mentor(services, user)
        asked = await services.help.ask(GUILD, DAN, "Math", None)
        assert asked.offer is not None
        services.classes.forget(GUILD)
        moved = await asyncio.wait_for(
            services.help.pass_offer(asked.request.id, asked.offer.mentor_id), 5
        )
        assert moved.offer is not None and moved.offer.mentor_id != asked.offer.mentor_id
        with pytest.raises(InvalidInput, match="Subjects: English, Math"):
            await asyncio.wait_for(services.help.ask(GUILD, ERIN, "Chemistry", None), 5)
    finally:
        await db.close()
