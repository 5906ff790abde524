"""The weekly post's biggest-gains pair: the teacher's toggle; named, never paid twice."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.e2e.conftest import Classroom
from tests.e2e.test_progress import score
from tests.e2e.test_recognition import confirmed_session

FRIDAY_POST = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


async def gains_pair_points(room: Classroom) -> dict[int, int]:
    assert room.db is not None
    async with (
        room.db.reading() as conn,
        conn.execute(
            "SELECT user_id, SUM(points) FROM ledger WHERE reason = 'gains_pair' GROUP BY user_id"
        ) as cur,
    ):
        return {int(row[0]): int(row[1]) for row in await cur.fetchall()}


async def a_week_of_progress(room: Classroom) -> None:
    """Carol is helped by Alice between two quizzes and rises 40 points; Dan falls 10."""
    await score(room, room.carol, "Quiz 1", 4, "2026-11-16", out_of=10)
    await score(room, room.dan, "Quiz 1", 6, "2026-11-16", out_of=10)
    await confirmed_session(room, room.alice, room.carol)  # Wednesday 18th
    await confirmed_session(room, room.bob, room.dan)
    room.clock.set(datetime(2026, 11, 19, 10, 0, tzinfo=UTC))
    await score(room, room.carol, "Quiz 2", 8, "2026-11-19", out_of=10)
    await score(room, room.dan, "Quiz 2", 5, "2026-11-19", out_of=10)


async def test_the_weekly_post_names_the_biggest_gains_pair_when_the_teacher_asks(
    classroom: Classroom,
) -> None:
    refused = await classroom.slash(classroom.alice, "setup pair-prize", enabled=True)
    assert "teacher" in refused.content.lower()
    turned_on = await classroom.slash(classroom.teacher, "setup pair-prize", enabled=True)
    assert turned_on.ephemeral and "biggest gain" in turned_on.content
    await a_week_of_progress(classroom)
    classroom.clock.set(FRIDAY_POST)
    await classroom.run_jobs()
    (post,) = [m for m in classroom.sim.messages(classroom.announcements) if m.embeds]
    fields = {f["name"]: f["value"] for f in post.embeds[0].get("fields", [])}
    prize = fields["🤝 Biggest gains pair"]
    assert f"<@{classroom.alice.id}> and <@{classroom.carol.id}>: +40 points" in prize
    assert f"<@{classroom.dan.id}>" not in prize  # nobody who did not improve is named
    assert "%" not in prize  # gains only, never raw scores
    # Named only: a lesson's pair prize carries the points, so progress is never paid twice.
    assert await gains_pair_points(classroom) == {}
    # A restart the same week does not post (or name them) again.
    await classroom.restart()
    await classroom.run_jobs()
    assert len([m for m in classroom.sim.messages(classroom.announcements) if m.embeds]) == 1


async def test_without_the_toggle_the_weekly_post_names_no_pair(classroom: Classroom) -> None:
    await a_week_of_progress(classroom)
    classroom.clock.set(FRIDAY_POST)
    await classroom.run_jobs()
    (post,) = [m for m in classroom.sim.messages(classroom.announcements) if m.embeds]
    names = [f["name"] for f in post.embeds[0].get("fields", [])]
    assert "🤝 Biggest gains pair" not in names
    assert await gains_pair_points(classroom) == {}
