"""PostgreSQL's write locks per class: two processes writing different classes do not wait for
each other; the same class, or a bot-wide write, still waits (db/postgres.py's module text).

Each "process" is its own :class:`Database` (own connections, own in-process lock). A blocked
writer is recognised by the lock it waits for in ``pg_locks``, never by how long it took.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import pytest
import pytest_asyncio

from bot.clock import ManualClock
from bot.config import Config
from bot.domain.points import AwardKind
from bot.wiring import Services, build_services
from db.database import Database, claiming
from db.errors import InteractionTaken
from tests.services.classroom import (
    ANNOUNCEMENTS,
    GUILD,
    HELP_CHANNEL,
    MENTORS,
    TEACHER,
    TEACHER_ROLE,
    set_up_class,
)

# Snowflake-sized class ids: B differs from A only in bit 31 (the low key's sign), C only in
# the high 32 bits, so each half of the two-part lock key is exercised.
CLASS_A = 1_234_567_890_123_456_789
CLASS_B = CLASS_A ^ (1 << 31)
CLASS_C = CLASS_A ^ (1 << 40)
ALICE, BOB, CAROL = 11, 12, 13
# Generous bound for a test that would otherwise hang on a bug; it measures nothing.
HANG_GUARD_S = 60
T = TypeVar("T")


@pytest_asyncio.fixture(loop_scope="session")
async def three(migrated_postgres_url: str) -> AsyncIterator[tuple[Database, Database, Database]]:
    dbs = [await Database.open_url(migrated_postgres_url) for _ in range(3)]
    try:
        yield dbs[0], dbs[1], dbs[2]
    finally:
        for db in dbs:
            await db.close()


class Held:
    """A write transaction kept open until :meth:`release` (another process mid-action)."""

    def __init__(self, db: Database, **scope: Any) -> None:
        self._started = asyncio.Event()
        self._release = asyncio.Event()
        self.task = asyncio.create_task(self._hold(db, scope))

    async def _hold(self, db: Database, scope: dict[str, Any]) -> None:
        async with db.transaction(**scope) as conn:
            await conn.execute("SELECT 1")
            self._started.set()
            await self._release.wait()

    async def __aenter__(self) -> Held:
        async with asyncio.timeout(HANG_GUARD_S):
            await self._started.wait()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()
        await self.task

    def release(self) -> None:
        self._release.set()


async def _write(db: Database, **scope: Any) -> None:
    async with db.transaction(**scope) as conn:
        await conn.execute("SELECT 1")


async def _waiters(db: Database) -> int:
    row = await db.fetch_one("SELECT COUNT(*) FROM pg_locks WHERE NOT granted")
    assert row is not None
    return int(row[0])


async def _until_waiting(db: Database, count: int) -> None:
    """Until ``count`` transactions wait for a lock on the server."""
    async with asyncio.timeout(HANG_GUARD_S):
        while await _waiters(db) < count:  # noqa: ASYNC110 - the server has no event to await
            await asyncio.sleep(0.01)


async def _done(awaitable: Awaitable[object]) -> None:
    async with asyncio.timeout(HANG_GUARD_S):
        await awaitable


async def test_a_class_writing_does_not_hold_up_other_classes_but_its_own_and_bot_wide_writes(
    three: tuple[Database, Database, Database],
) -> None:
    one, two, three_ = three
    async with Held(one, guild_id=CLASS_A) as held:
        # Other classes commit while class A's transaction is open on another process.
        await _done(_write(two, guild_id=CLASS_B))
        await _done(_write(two, guild_id=CLASS_C))
        # Another writer of class A, and a bot-wide writer, wait for it.
        same_class = asyncio.create_task(_write(two, guild_id=CLASS_A))
        bot_wide = asyncio.create_task(_write(three_))
        await _until_waiting(one, 2)
        assert not same_class.done() and not bot_wide.done()
        held.release()
        await _done(asyncio.gather(same_class, bot_wide))


async def test_a_bot_wide_write_holds_up_every_class(
    three: tuple[Database, Database, Database],
) -> None:
    one, two, three_ = three
    async with Held(one) as held:
        class_a = asyncio.create_task(_write(two, guild_id=CLASS_A))
        class_b = asyncio.create_task(_write(three_, guild_id=CLASS_B))
        await _until_waiting(one, 2)
        assert not class_a.done() and not class_b.done()
        held.release()
        await _done(asyncio.gather(class_a, class_b))


async def test_one_claim_per_interaction_across_classes(
    three: tuple[Database, Database, Database],
) -> None:
    """The claims table is shared by all classes: its key, not a lock, picks the one writer."""
    one, two, _ = three
    interaction = 987_654_321

    async def claimed_write(db: Database, guild_id: int) -> None:
        with claiming(interaction):
            await _write(db, guild_id=guild_id)

    with claiming(interaction):
        async with Held(one, guild_id=CLASS_A) as held:
            other = asyncio.create_task(claimed_write(two, CLASS_B))
            await _until_waiting(one, 1)  # on the claim's key, not on a class lock
            held.release()
    with pytest.raises(InteractionTaken):
        await _done(other)
    row = await one.fetch_one(
        "SELECT COUNT(*) FROM interaction_claims WHERE interaction_id = ?", (interaction,)
    )
    assert row is not None and row[0] == 1


@pytest_asyncio.fixture(loop_scope="session")
async def two_classes(
    migrated_postgres_url: str, config: Config, clock: ManualClock
) -> AsyncIterator[tuple[Services, Services, Database, Database]]:
    """Two processes (services and databases); class GUILD and class CLASS_A, each with one
    Math mentor."""
    one = await Database.open_url(migrated_postgres_url)
    two = await Database.open_url(migrated_postgres_url)
    first, second = build_services(config, one, clock), build_services(config, two, clock)
    await set_up_class(first, ("Math",))
    await first.classes.setup(
        CLASS_A,
        TEACHER,
        teacher_role_id=TEACHER_ROLE,
        announcements_channel_id=ANNOUNCEMENTS,
        help_channel_id=HELP_CHANNEL,
        mentors_channel_id=MENTORS,
        timezone="Europe/London",
    )
    await first.classes.add_subject(CLASS_A, "Math")
    for guild in (GUILD, CLASS_A):
        plan = await first.mentors.plan_grant(guild, "Math", ALICE, None)
        await first.mentors.record_grant(plan, ALICE, TEACHER)
        await first.mentors.acknowledge_brief(guild, ALICE)
        await first.mentors.set_available(guild, ALICE, True)
    try:
        yield first, second, one, two
    finally:
        await one.close()
        await two.close()


async def test_help_in_one_class_goes_on_while_another_class_is_mid_write(
    two_classes: tuple[Services, Services, Database, Database],
) -> None:
    """The help flow's transactions are scoped to their class: a request in one class is asked,
    accepted and confirmed while another process holds a write of another class open; a write
    of the request's own class holds up its next step."""
    _first, second, db, _ = two_classes
    async with Held(db, guild_id=GUILD) as held:
        routing = await _wait(second.help.ask(CLASS_A, CAROL, "Math", None))
        assert routing.offer is not None and routing.offer.mentor_id == ALICE
        await _wait(second.help.accept(routing.request.id, ALICE))
        await _wait(second.help.propose_close(routing.request.id, ALICE))
        resolved = await _wait(second.help.rate(routing.request.id, CAROL, 5))
        assert resolved.ledger_id is not None
        award = await _wait(
            second.recognition.give_award(
                CLASS_A, TEACHER, CAROL, student_is_bot=False, kind=AwardKind.GOLD_STAR
            )
        )
        assert award.award.guild_id == CLASS_A
        held.release()
    async with Held(db, guild_id=CLASS_A) as held:
        await _wait(second.help.ask(GUILD, BOB, "Math", None))  # another class: goes on
        waiting = asyncio.create_task(second.help.ask(CLASS_A, BOB, "Math", None))
        await _until_waiting(db, 1)
        assert not waiting.done()
        held.release()
    assert (await _wait(waiting)).request.guild_id == CLASS_A
    row = await db.fetch_one("SELECT COUNT(*) FROM help_requests WHERE student_id = ?", (BOB,))
    assert row is not None and row[0] == 2


async def _wait(awaitable: Awaitable[T]) -> T:
    async with asyncio.timeout(HANG_GUARD_S):
        return await awaitable


async def test_a_help_request_scopes_its_transaction_to_its_class(
    two_classes: tuple[Services, Services, Database, Database],
) -> None:
    """``help_request_id`` locks the request's class (its id alone names it); an unknown id
    writes nothing anyway and holds up no class."""
    first, second, db, other_db = two_classes
    routing = await first.help.ask(CLASS_A, CAROL, "Math", None)
    async with Held(db, help_request_id=routing.request.id) as held:
        await _wait(second.help.ask(GUILD, CAROL, "Math", None))  # another class: goes on
        await _done(_write(other_db, help_request_id=10**12))  # no such request
        same_class = asyncio.create_task(_write(other_db, guild_id=CLASS_A))
        await _until_waiting(db, 1)
        assert not same_class.done()
        held.release()
    await _done(same_class)
