"""`/privacy show|export|delete` and the retention job, through the simulated Discord."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.simulator import InteractionResult, SimMessage, SimUser
from db.privacy import ANONYMOUS_ID
from db.timefmt import to_db
from tests.e2e.conftest import Classroom, class_fixture
from tests.e2e.test_help_requests import make_mentor
from tests.e2e.test_recognition import confirmed_session


def final(result: InteractionResult) -> SimMessage:
    """The message the person finally sees (the follow-up after a "thinking..." defer)."""
    message = result.followups[-1] if result.followups else result.message
    assert message is not None
    return message


async def every_mention(room: Classroom, user_id: int) -> list[str]:
    """Every (table.column) in the whole database holding this id: no registry needed."""
    assert room.db is not None
    found = []
    async with room.db.reading() as conn:
        async with conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ) as cur:
            tables = [str(r[0]) for r in await cur.fetchall()]
        for table in tables:
            async with conn.execute(f"PRAGMA table_info({table})") as cur:
                columns = [str(r[1]) for r in await cur.fetchall()]
            for column in columns:
                async with conn.execute(
                    f"SELECT COUNT(*) FROM {table} WHERE {column} = ? OR CAST({column} AS TEXT) = ?",
                    (user_id, str(user_id)),
                ) as cur:
                    row = await cur.fetchone()
                if row and row[0]:
                    found.append(f"{table}.{column}")
    return found


async def points(room: Classroom, user: SimUser) -> int:
    assert room.bot is not None
    return await room.bot.services.recognition.points_total(room.guild.id, user.id)


async def _with_history(room: Classroom) -> None:
    await room.set_up(("Math", "English"))
    await make_mentor(room, room.alice, available=False)
    await confirmed_session(room, room.alice, room.bob, rating=5)
    await confirmed_session(room, room.alice, room.bob, rating=4)
    await confirmed_session(room, room.alice, room.carol, rating=3)
    given = await room.slash(
        room.teacher, "award give", student=room.bob, kind="gold_star", reason="Kind to everyone"
    )
    assert "gold star" in given.content.lower(), given.content
    await room.sim.settle()


history = class_fixture(
    "history",
    _with_history,
    "The set-up class where Alice mentors Math and helped Bob twice and Carol once; Bob has a "
    "gold star.",
)


async def confirm_delete(room: Classroom, presser: SimUser, prompt: InteractionResult) -> str:
    assert prompt.ephemeral, prompt.content
    assert prompt.message is not None
    ((label, custom_id, _),) = prompt.buttons()
    assert label == "Yes, delete" and custom_id
    clicked = await room.sim.click(presser, prompt.message, custom_id)
    await room.sim.settle()
    report = final(clicked).content
    # A second press finds nothing left to delete, and says so.
    again = await room.sim.click(presser, prompt.message, custom_id)
    assert "no data" in final(again).content
    return report


async def test_show_lists_what_is_stored_and_for_how_long(history: Classroom) -> None:
    shown = await history.slash(history.bob, "privacy show")
    assert shown.ephemeral
    assert "help sessions received (confirmed): 2" in shown.content
    assert "awards: 1" in shown.content
    assert "365 days" in shown.content and "30 days" in shown.content
    dan = await history.slash(history.dan, "privacy show")
    assert "Nothing at the moment" in dan.content


async def test_export_holds_exactly_the_callers_data(history: Classroom) -> None:
    result = await history.slash(history.bob, "privacy export")
    message = final(result)
    assert message.ephemeral
    (attachment,) = message.attachments
    raw = attachment.data.decode("utf-8")
    document = json.loads(raw)
    assert document["format"] == "classmentor.privacy-export"
    assert document["version"] == 1
    assert document["you"]["user_id"] == str(history.bob.id)
    sections = document["sections"]
    assert len(sections["help_requests_you_made"]) == 2
    assert [a["reason"] for a in sections["awards"]] == ["Kind to everyone"]
    assert sections["sessions_you_gave"] == []
    for other in (history.alice, history.carol, history.dan, history.teacher, history.owner):
        assert str(other.id) not in raw, f"{other.name}'s id leaked into Bob's export"


async def test_a_student_deletes_their_data_and_the_mentor_keeps_the_credit(
    history: Classroom,
) -> None:
    alice_before = await points(history, history.alice)
    prompt = await history.slash(history.bob, "privacy delete")
    assert "cannot be undone" in prompt.content
    # Nobody else can press Bob's confirm button.
    assert prompt.message is not None
    ((_, custom_id, _),) = prompt.buttons()
    assert custom_id is not None
    stolen = await history.sim.click(history.carol, prompt.message, custom_id)
    assert "Only the person who asked" in final(stolen).content
    report = await confirm_delete(history, history.bob, prompt)
    assert "Deleted:" in report and "awards: 1" in report and "points entries: 1" in report
    assert "help sessions received" in report and "Anonymised" in report

    assert await every_mention(history, history.bob.id) == []
    assert await points(history, history.alice) == alice_before
    assert history.db is not None
    async with history.db.reading() as conn:
        async with conn.execute(
            "SELECT COUNT(*) FROM help_requests WHERE student_id = ? AND mentor_id = ?",
            (ANONYMOUS_ID, history.alice.id),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None and row[0] == 2  # Alice's two sessions with Bob, anonymised
        async with conn.execute(
            "SELECT requested_by, teacher_id, finished_at FROM privacy_audit"
        ) as cur:
            audit = [tuple(r) for r in await cur.fetchall()]
    assert len(audit) == 1 and audit[0][0] == "student" and audit[0][1] is None and audit[0][2]
    # The ledger is append-only again once the deletion is over.
    with pytest.raises(Exception, match="append-only"):
        async with history.db.transaction() as conn:
            await conn.execute("DELETE FROM ledger WHERE user_id = ?", (history.alice.id,))
    again = await history.slash(history.bob, "privacy show")
    assert "Nothing at the moment" in again.content


async def test_a_teacher_deletes_a_mentor_and_the_badge_role_goes(history: Classroom) -> None:
    room = history
    math_role = next(r for r in room.guild.roles.values() if r.name == "Math Mentor")
    assert math_role.id in room.guild.members[room.alice.id].roles
    refused = await room.slash(room.carol, "privacy delete", student=room.alice)
    assert "Only a teacher" in refused.content
    prompt = await room.slash(room.teacher, "privacy delete", student=room.alice)
    report = await confirm_delete(room, room.teacher, prompt)
    assert "mentor badges: 1" in report
    assert "help sessions given" in report
    assert math_role.id not in room.guild.members[room.alice.id].roles
    assert await every_mention(room, room.alice.id) == []
    assert room.bot is not None
    assert room.db is not None
    async with (
        room.db.reading() as conn,
        conn.execute(
            "SELECT COUNT(*) FROM help_requests WHERE student_id = ? AND state = 'resolved'",
            (room.bob.id,),
        ) as cur,
    ):
        row = await cur.fetchone()
    assert row is not None and row[0] == 2  # Bob's sessions received still count


async def test_deletion_refused_when_nothing_or_a_request_is_open(history: Classroom) -> None:
    nothing = await history.slash(history.dan, "privacy delete")
    assert "no data" in nothing.content
    assert history.db is not None
    math = await history.bot.services.classes.subject(history.guild.id, "Math")  # type: ignore[union-attr]
    now = to_db(history.clock.now())
    async with history.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO help_requests (guild_id, subject_id, student_id, state, created_at,"
            " queued_at) VALUES (?, ?, ?, 'queued', ?, ?)",
            (history.guild.id, math.id, history.carol.id, now, now),
        )
    blocked = await history.slash(history.carol, "privacy delete")
    assert "open help request" in blocked.content
    assert blocked.buttons() == []
    assert await every_mention(history, history.carol.id) != []


async def test_privacy_commands_need_a_set_up_class(world: Classroom) -> None:
    result = await world.slash(world.alice, "privacy export")
    assert "isn't set up yet" in result.content


async def test_retention_ages_out_topics_and_deletes_a_class_left_long_ago(
    classroom: Classroom,
) -> None:
    room = classroom
    assert room.db is not None and room.bot is not None
    math = await room.bot.services.classes.subject(room.guild.id, "Math")
    now = to_db(room.clock.now())
    async with room.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO help_requests (guild_id, subject_id, student_id, topic, state,"
            " created_at, queued_at, closed_at, close_reason)"
            " VALUES (?, ?, ?, 'fractions', 'cancelled', ?, ?, ?, 'cancelled')",
            (room.guild.id, math.id, room.carol.id, now, now, now),
        )
    room.clock.advance(timedelta(days=300))
    await room.run_jobs()
    async with room.db.reading() as conn, conn.execute("SELECT topic FROM help_requests") as cur:
        assert [r[0] for r in await cur.fetchall()] == ["fractions"]  # not old enough yet
    room.clock.advance(timedelta(days=70))
    await room.run_jobs()
    async with (
        room.db.reading() as conn,
        conn.execute("SELECT topic, student_id FROM help_requests") as cur,
    ):
        assert [tuple(r) for r in await cur.fetchall()] == [("", ANONYMOUS_ID)]

    room.sim.remove_bot(room.guild)
    await room.sim.settle()
    room.clock.advance(timedelta(days=29))
    await room.run_jobs()
    assert await room.bot.services.classes.get(room.guild.id) is not None  # still in the grace
    room.clock.advance(timedelta(days=2))
    await room.run_jobs()
    assert await room.bot.services.classes.get(room.guild.id) is None
    assert await every_mention(room, room.carol.id) == []
    assert await every_mention(room, room.teacher_role.id) == []


async def test_setup_show_tells_the_teacher_how_long_data_is_kept(classroom: Classroom) -> None:
    shown = await classroom.slash(classroom.teacher, "setup show")
    (embed,) = shown.embeds
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert "365 days" in fields["Data kept"] and "30 days" in fields["Data kept"]


async def test_the_confirm_button_still_works_after_a_restart(history: Classroom) -> None:
    prompt = await history.slash(history.carol, "privacy delete")
    await history.restart()
    report = await confirm_delete(history, history.carol, prompt)
    assert "help sessions received" in report
    assert await every_mention(history, history.carol.id) == []


async def test_a_teacher_deletes_the_data_of_a_student_who_left(history: Classroom) -> None:
    history.guild.remove_member(history.bob)
    await history.sim.settle()
    prompt = await history.slash(history.teacher, "privacy delete", student=history.bob)
    report = await confirm_delete(history, history.teacher, prompt)
    assert "awards: 1" in report
    assert await every_mention(history, history.bob.id) == []
