"""Two sharded bot processes sharing one database, 20 classes, one simulated Discord.

Process A runs shard 0 and process B shard 1 of 2; the classes are spread over both shards.
The database is shared: a PostgreSQL server the test suite starts (where the machine has its
binaries), and a shared SQLite file (what one machine can do without a server). Help flows and
awards work in the classes of either shard; B killed in the middle of a help flow and started
again loses nothing and the buttons it posted before still work; weekly posts go out exactly
once per class across both processes, also while a new A and the old A serve shard 0 together.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.simulator import DiscordSimulator, SimMessage, point_discord_at
from bot.simulator.classroom import TOKEN, Classroom, expect
from bot.simulator.processes import BotProcess
from bot.simulator.testing import quick_discord_backoff
from cogs import _discord_api as discord_api
from cogs.help._desk import HelpDesk
from tests import postgres
from tests.e2e.schools import School, school_from_snapshot

FRIDAY_POST = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # the default post time, London
CLASSES = 20
DM_OR_CHANNEL_MESSAGE = "POST /channels/{channel_id}/messages"


async def ledger_by_class(school: School) -> dict[int, tuple[int, int]]:
    """Per class: (entries, points) in the shared ledger."""
    assert school.a.db is not None
    rows = await school.a.db.fetch_all(
        "SELECT guild_id, COUNT(*), SUM(points) FROM ledger GROUP BY guild_id"
    )
    return {int(r[0]): (int(r[1]), int(r[2])) for r in rows}


@pytest.fixture
async def sim() -> AsyncIterator[DiscordSimulator]:
    """The simulated Discord without its 50 requests/s cap: this test packs twenty classes'
    week into a second or two, which a real school spreads over days (the cap has its own
    tests; discord.py's retries would only slow this one down)."""
    simulator = DiscordSimulator(token=TOKEN, enforce_rate_limits=False)
    await simulator.start()
    point_discord_at(simulator)
    with quick_discord_backoff():
        yield simulator
    await simulator.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
async def school(
    request: pytest.FixtureRequest, sim: DiscordSimulator, clock: ManualClock, tmp_path: Path
) -> AsyncIterator[School]:
    server: postgres.PostgresServer | None = None
    url = template = None
    if request.param == "postgresql":
        # The session's server and migrated template (sync fixtures: an async one cannot be set
        # up from here); a fresh copy of the template, so the processes find the schema in
        # place (two processes migrating one database have their own test, in tests/db).
        server = request.getfixturevalue("postgres_server")
        template = request.getfixturevalue("postgres_template")
        url = await postgres.lend_database(server, template)
    database = tmp_path / "classmentor.db"
    if url is None:
        school = await school_from_snapshot(sim, clock, database, classes=CLASSES)
    else:
        school = School(sim, clock, database, classes=CLASSES, url=url)
    try:
        await school.start()
        if url is not None:
            await school.set_up()
        yield school
    finally:
        await school.stop()
        if server is not None and url is not None:
            await postgres.give_back(server, url, template)


@pytest.fixture
def slow_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Back-off pauses short enough for a test, unless a test makes one last an hour."""
    monkeypatch.setattr(discord_api, "RETRY_DELAYS", (0.01, 0.01))


def desk(process: BotProcess) -> HelpDesk:
    assert process.bot is not None
    cog = process.bot.get_cog("HelpCog")
    assert cog is not None
    found: HelpDesk = cog.desk  # type: ignore[attr-defined]
    return found


def weekly_posts(room: Classroom) -> list[SimMessage]:
    return [
        m
        for m in room.sim.messages(room.announcements)
        if m.embeds and "shout-outs" in m.embeds[0].get("title", "")
    ]


async def ask_and_accept(room: Classroom, mentor_name: str, student_name: str) -> SimMessage:
    """The student asks for Math help, the mentor accepts; returns the session's starter."""
    mentor, student = room.person(mentor_name), room.person(student_name)
    asked = await room.slash(student, "helpme ask", subject="Math", topic="fractions")
    expect(asked, "asked a **Math** mentor")
    accepted = await room.click(mentor, room.offer_to(mentor), "Accept")
    expect(accepted, "You accepted")
    thread = room.newest_thread()
    assert {mentor.id, student.id} <= set(thread.thread_members)
    return room.thread_starter()


async def solve(room: Classroom, student_name: str, starter: SimMessage) -> None:
    student = room.person(student_name)
    prompt = await room.click(student, starter, "Solved")
    assert prompt.message is not None
    expect(await room.click(student, prompt.message, "5"), "Solved!")


async def test_help_and_awards_in_classes_of_both_shards(school: School) -> None:
    a, b = school.a, school.b
    assert a.bot is not None and b.bot is not None and a.db is not None
    assert a.db.engine == ("sqlite" if school.url is None else "postgresql")
    assert {g.id for g in a.bot.guilds} == {r.guild.id for r in school.on_shard(0)}
    assert {g.id for g in b.bot.guilds} == {r.guild.id for r in school.on_shard(1)}
    # Every class gets an award; two classes of each shard a whole help flow.
    for n, room in enumerate(school.rooms):
        reply = await room.slash(
            room.teacher, "award give", student=room.bob, kind="gold_star", reason=f"Kind {n}"
        )
        expect(reply, "received **Gold star")
    for room in (*school.on_shard(0)[:2], *school.on_shard(1)[:2]):
        await room.make_mentor(room.alice)
        await solve(room, "Bob", await ask_and_accept(room, "Alice", "Bob"))
    await school.sim.settle()

    ledger = await ledger_by_class(school)
    helped = {r.guild.id for r in (*school.on_shard(0)[:2], *school.on_shard(1)[:2])}
    assert set(ledger) == {r.guild.id for r in school.rooms}
    for room in school.rooms:
        entries, _ = ledger[room.guild.id]
        assert entries == (2 if room.guild.id in helped else 1), room.guild.name
        shouts = [m for m in room.sim.messages(room.announcements) if "Kind" in m.content]
        assert len(shouts) == 1 and f"<@{room.bob.id}>" in shouts[0].content
    for room in school.rooms[:4]:
        assert a.bot is not None
        profile = await a.bot.services.mentors.profile(room.guild.id, room.alice.id, full=True)
        assert profile.help_given == 1


async def test_a_process_killed_mid_flow_restarts_and_loses_nothing(
    school: School, monkeypatch: pytest.MonkeyPatch, slow_retries: None
) -> None:
    room = school.on_shard(1)[0]  # served by B
    await room.make_mentor(room.alice)
    await room.make_mentor(room.dan)
    # A session is open (its Solved button was posted by B) when B dies.
    starter = await ask_and_accept(room, "Alice", "Bob")
    # Carol asks; Discord fails the offer's DM and B dies while it waits to try again.
    monkeypatch.setattr(discord_api, "RETRY_DELAYS", (3600.0,))
    school.sim.fail_next(DM_OR_CHANNEL_MESSAGE, 503)
    asked = await room.slash(room.carol, "helpme ask", subject="Math", topic="angles")
    expect(asked, "asked a **Math** mentor")
    await school.sim.settle()
    assert not [m for m in school.sim.dms(room.dan) if "angles" in m.content]
    await school.b.stop()  # killed: the offer was never sent

    monkeypatch.setattr(discord_api, "RETRY_DELAYS", (0.01, 0.01))
    school.b = school.process(1)
    await school.b.start()
    await desk(school.b).wait_resumed()
    await school.sim.settle()

    # The restarted B sent the offer it owed; Dan accepts it and Carol's session runs.
    accepted = await room.click(room.dan, room.offer_to(room.dan), "Accept")
    expect(accepted, "You accepted")
    carol_starter = room.thread_starter()
    assert "angles" in carol_starter.content
    # The button B posted before it died still works, handled by the new B.
    await solve(room, "Bob", starter)
    await solve(room, "Carol", carol_starter)
    ledger = await ledger_by_class(school)
    assert ledger[room.guild.id][0] == 2, "one credit per confirmed session, none lost"


async def test_weekly_posts_once_per_class_across_processes_and_an_overlapping_restart(
    school: School,
) -> None:
    school.clock.set(FRIDAY_POST)
    await school.run_jobs(school.a, school.b)
    assert [len(weekly_posts(room)) for room in school.rooms] == [1] * CLASSES

    # Rolling restart of A (shard 0, which also syncs commands): the new A connects while the
    # old one still serves shard 0, and all three fire next week's jobs at the same moment.
    new_a = school.process(0)
    await new_a.start()
    assert school.sim.gateway.connected_shards() == {0: 2, 1: 1}
    school.clock.set(FRIDAY_POST + timedelta(days=7))
    await school.run_jobs(school.a, new_a, school.b)
    assert [len(weekly_posts(room)) for room in school.rooms] == [2] * CLASSES
    await school.a.stop()
    school.a = new_a
    # A post missed while nobody ran is caught up once, by the process owning the class.
    await school.b.stop()
    school.clock.set(FRIDAY_POST + timedelta(days=14, hours=1))
    school.b = school.process(1)
    await school.b.start()
    await school.run_jobs(school.a, school.b)
    assert [len(weekly_posts(room)) for room in school.rooms] == [3] * CLASSES
