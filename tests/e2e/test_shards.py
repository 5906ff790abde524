"""Two sharded bot processes, one SQLite file, one simulated Discord.

Process A runs shard 0 and process B shard 1 of 2; the classes are spread over both shards.
Each process answers its own classes, keeps their timers and posts their weekly summary; the
database's claims keep every weekly post to once per class per week, also while a restarted B
and the old B serve shard 1 together.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.simulator import DiscordSimulator, SimMessage
from bot.simulator.classroom import Classroom, expect
from cogs.privacy import RETENTION_JOB
from tests.e2e.schools import School, school_from_snapshot
from tests.fast_db import copy_migrated

FRIDAY_POST = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # the default post time, London
CLASSES = 6


@pytest.fixture
async def school(
    request: pytest.FixtureRequest, sim: DiscordSimulator, clock: ManualClock, tmp_path: Path
) -> AsyncIterator[School]:
    """The school set up: a copy of the one this worker set up once, or, for a test marked
    ``first_start``, set up by its processes' very first start."""
    database = tmp_path / "classmentor.db"
    if request.node.get_closest_marker("first_start") is not None:
        school = School(sim, clock, await copy_migrated(database), classes=CLASSES)
        await school.start()
        await school.set_up()
    else:
        school = await school_from_snapshot(sim, clock, database, classes=CLASSES)
        await school.start()
    yield school
    await school.stop()


def weekly_posts(room: Classroom) -> list[SimMessage]:
    return [
        m
        for m in room.sim.messages(room.announcements)
        if m.embeds and "shout-outs" in m.embeds[0].get("title", "")
    ]


async def help_flow(room: Classroom) -> None:
    """Alice mentors Math; Bob asks, Alice accepts, Bob marks it solved and rates it."""
    await room.make_mentor(room.alice)
    asked = await room.slash(room.bob, "helpme ask", subject="Math", topic="fractions")
    expect(asked, "asked a **Math** mentor")
    accepted = await room.click(room.alice, room.offer_to(room.alice), "Accept")
    expect(accepted, "You accepted")
    thread = room.newest_thread()
    assert {room.alice.id, room.bob.id} <= set(thread.thread_members)
    prompt = await room.click(room.bob, room.thread_starter(), "Solved")
    assert prompt.message is not None
    rated = await room.click(room.bob, prompt.message, "5")
    expect(rated, "Solved!")
    assert thread.archived


@pytest.mark.first_start
async def test_each_process_serves_its_shards_classes(school: School) -> None:
    a, b = school.a, school.b
    assert a.bot is not None and b.bot is not None
    assert {g.id for g in a.bot.guilds} == {r.guild.id for r in school.on_shard(0)}
    assert {g.id for g in b.bot.guilds} == {r.guild.id for r in school.on_shard(1)}
    # Commands are global: synced once, by the process running shard 0.
    assert len(school.sim.routes_called("PUT /applications/{app}/commands")) == 1
    # The bot-wide retention sweep runs in one process only.
    assert RETENTION_JOB in a.bot.jobs.job_ids()
    assert RETENTION_JOB not in b.bot.jobs.job_ids()
    # Each process keeps the weekly jobs of its own classes only.
    for process, shard_id in ((a, 0), (b, 1)):
        assert process.bot is not None
        scheduled = {j for j in process.bot.jobs.job_ids() if j.startswith("weekly-post:")}
        assert scheduled == {f"weekly-post:{r.guild.id}" for r in school.on_shard(shard_id)}


async def test_help_and_awards_in_a_class_on_each_shard(school: School) -> None:
    for room in (school.rooms[0], school.rooms[1]):  # shard 0, shard 1
        await help_flow(room)
        reply = await room.slash(
            room.teacher, "award give", student=room.alice, kind="gold_star", reason="Patient"
        )
        expect(reply, "received **Gold star")
        await school.sim.settle()
        (shout,) = [m for m in room.sim.messages(room.announcements) if "Patient" in m.content]
        assert f"<@{room.alice.id}>" in shout.content
        # The shared database holds one credited session and the star, whoever handled them.
        assert school.a.bot is not None
        profile = await school.a.bot.services.mentors.profile(
            room.guild.id, room.alice.id, full=True
        )
        assert profile.help_given == 1
        assert (
            await school.a.bot.services.recognition.points_total(room.guild.id, room.alice.id) > 5
        )


async def test_weekly_posts_once_per_class_across_processes_and_a_rolling_restart(
    school: School,
) -> None:
    school.clock.set(FRIDAY_POST)
    await school.run_jobs(school.a, school.b)
    assert [len(weekly_posts(room)) for room in school.rooms] == [1] * CLASSES

    # Rolling restart of B: the new B connects shard 1 while the old one still serves it, and
    # both fire next week's jobs at the same moment. The database's claim lets one post.
    new_b = school.process(1)
    await new_b.start()
    assert school.sim.gateway.connected_shards() == {0: 1, 1: 2}
    school.clock.set(FRIDAY_POST + timedelta(days=7))
    await school.run_jobs(school.a, school.b, new_b)
    assert [len(weekly_posts(room)) for room in school.rooms] == [2] * CLASSES
    await school.b.stop()
    school.b = new_b

    # After the restart the new B serves shard 1's classes: a help flow works end to end.
    await help_flow(school.rooms[3])


async def test_an_interaction_both_processes_receive_is_written_once(school: School) -> None:
    """A rolling restart: the old and the new B both get each shard-1 interaction."""
    room = school.rooms[1]
    new_b = school.process(1)
    await new_b.start()
    assert school.sim.gateway.connected_shards() == {0: 1, 1: 2}
    try:
        for n in range(3):
            reply = await room.slash(
                room.teacher, "award give", student=room.alice, kind="gold_star", reason=f"R{n}"
            )
            expect(reply, "received **Gold star")
        await school.sim.settle()
        assert school.a.bot is not None
        services = school.a.bot.services
        awards = await services.mentors.profile(room.guild.id, room.alice.id, full=True)
        assert dict(awards.awards) == {"gold_star": 3}, "each award written once"
        shouts = [m for m in room.sim.messages(room.announcements) if "Gold star" in m.content]
        assert sum(m.content.count("Gold star") for m in shouts) == 3
        assert school.a.db is not None
        async with (
            school.a.db.reading() as conn,
            conn.execute("SELECT COUNT(*) FROM interaction_claims") as cur,
        ):
            row = await cur.fetchone()
        assert row is not None and row[0] >= 3
    finally:
        await school.b.stop()
        school.b = new_b


async def test_a_session_opened_by_the_other_process_stays_open_while_people_talk(
    school: School,
) -> None:
    # The mentor's Accept is a DM, which Discord sends to shard 0: process A opens the thread
    # of a shard-1 class, while the thread's messages go to process B.
    room = school.rooms[1]
    await room.make_mentor(room.alice)
    await room.slash(room.bob, "helpme ask", subject="Math", topic="fractions")
    await room.click(room.alice, room.offer_to(room.alice), "Accept")
    thread = room.newest_thread()
    school.clock.advance(timedelta(minutes=50))
    await room.say(room.bob, thread, "I think I get it now")
    school.clock.advance(timedelta(minutes=20))  # 70 min after Accept, 20 after the talk
    await school.run_jobs(school.a, school.b)
    assert not thread.archived
    school.clock.advance(timedelta(minutes=45))  # an hour of silence
    await school.run_jobs(school.a, school.b)
    assert thread.archived


async def test_after_a_restart_each_process_rebuilds_only_its_classes_timers(
    school: School,
) -> None:
    on_0, on_1 = school.rooms[0], school.rooms[1]
    for room in (on_0, on_1):
        reply = await room.slash(
            room.teacher, "mentor grant", student=room.alice, subject="Math", until="45m"
        )
        expect(reply, "until <t:")
    await school.a.stop()
    await school.b.stop()
    await school.a.start()
    await school.b.start()
    assert school.a.bot is not None and school.b.bot is not None
    expiries_a = [j for j in school.a.bot.jobs.job_ids() if j.startswith("badge-expiry:")]
    expiries_b = [j for j in school.b.bot.jobs.job_ids() if j.startswith("badge-expiry:")]
    assert len(expiries_a) == len(expiries_b) == 1 and expiries_a != expiries_b

    school.clock.advance(timedelta(minutes=46))
    await school.run_jobs(school.a, school.b)
    for room in (on_0, on_1):
        assert "Math Mentor" not in {r.name for r in room.guild.member_roles(room.alice)}
