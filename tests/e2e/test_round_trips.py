"""Fewer round trips: what one interaction costs the store, counted through the real bot."""

from __future__ import annotations

from tests.e2e.conftest import Classroom


async def test_an_interaction_reads_the_class_settings_once_at_most(classroom: Classroom) -> None:
    assert classroom.db is not None
    await classroom.slash(
        classroom.teacher, "award give", student=classroom.alice, kind="gold_star"
    )
    statements: list[str] = []
    await classroom.db.trace(statements.append)
    try:
        board = await classroom.slash(classroom.bob, "leaderboard", period="all_time")
        award = await classroom.slash(
            classroom.teacher, "award give", student=classroom.bob, kind="effort"
        )
    finally:
        await classroom.db.trace(None)
    assert "Alice" in board.content or board.embeds, board.content
    assert award.content or award.embeds
    # Settings were read at set-up; these two interactions find them in memory.
    assert [s for s in statements if "FROM classes" in s] == []
    # The leaderboard never sums the ledger: it reads the maintained totals.
    assert not [s for s in statements if "FROM ledger" in s]
    assert any("FROM point_totals" in s for s in statements)


async def test_a_schedule_change_is_seen_by_the_next_command(classroom: Classroom) -> None:
    changed = await classroom.slash(
        classroom.owner, "setup schedule", timezone="Asia/Tokyo", post_day=0, post_time="08:00"
    )
    assert "Asia/Tokyo" in changed.content or changed.embeds, changed.content
    shown = await classroom.slash(classroom.owner, "setup show")
    text = shown.content + " ".join(str(e) for e in shown.embeds)
    assert "Asia/Tokyo" in text
