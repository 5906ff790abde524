"""Quiz scores, CSV import and gains, through the simulated Discord."""

from __future__ import annotations

import asyncio
import io
import sys
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.charts import Chart, ChartRenderer
from bot.simulator import (
    DiscordSimulator,
    InteractionResult,
    SimAttachment,
    SimMessage,
    point_discord_at,
)
from tests.e2e.conftest import TOKEN, Classroom


@pytest.fixture
async def sim() -> AsyncIterator[DiscordSimulator]:
    """This module's Discord has the members intent enabled in the portal, so names resolve."""
    simulator = DiscordSimulator(token=TOKEN, privileged_intents=["members"])
    await simulator.start()
    point_discord_at(simulator)
    yield simulator
    await simulator.stop()


def seen(result: InteractionResult) -> list[SimMessage]:
    """The response and its follow-ups, each once."""
    messages = [m for m in (result.message, *result.followups) if m is not None]
    return list({m.id: m for m in messages}.values())


def everything(result: InteractionResult) -> str:
    """All text the user saw: the response, its embeds, its follow-ups."""
    return "\n".join(f"{m.content}\n{m.embeds}" for m in seen(result))


def files(result: InteractionResult) -> list[SimAttachment]:
    return [a for m in seen(result) for a in m.attachments]


def ephemeral_all(result: InteractionResult) -> bool:
    return bool(seen(result)) and all(m.ephemeral for m in seen(result))


async def score(
    room: Classroom, student: object, assessment: str, value: float, day: str, **kw: object
) -> InteractionResult:
    by = kw.pop("by", room.teacher)
    return await room.slash(
        by,  # type: ignore[arg-type]
        "score add",
        student=student,
        subject="Math",
        assessment=assessment,
        score=value,
        date=day,
        **kw,
    )


async def two_quizzes(room: Classroom) -> None:
    today = room.clock.now().date()
    before = (today - timedelta(days=2)).isoformat()  # Monday of this week
    after = today.isoformat()
    for student, first, second in (
        (room.alice, 40, 80),
        (room.bob, 70, 65),
        (room.carol, 50, 60),
    ):
        # The owner (Manage Server) records one quiz: one teacher alone would hit the burst limit.
        await score(room, student, "Fractions quiz 1", first, before, by=room.owner)
        await score(room, student, "Fractions quiz 2", second, after)


async def test_teacher_records_a_score_and_bad_input_stores_nothing(classroom: Classroom) -> None:
    today = classroom.clock.now().date().isoformat()
    ok = await score(classroom, classroom.alice, "Quiz 1", 18, today, out_of=20)
    assert ok.ephemeral
    assert "18/20 = 90%" in ok.content

    tomorrow = (classroom.clock.now().date() + timedelta(days=1)).isoformat()
    for kwargs, expected in (
        ({"value": 21, "day": today, "out_of": 20}, "above `out_of`"),
        ({"value": 5, "day": tomorrow}, "in the future"),
        ({"value": 5, "day": "next tuesday"}, "can't read the date"),
        ({"value": 5, "day": today, "out_of": 0}, "more than 0"),
    ):
        bad = await score(
            classroom,
            classroom.bob,
            "Quiz 1",
            float(str(kwargs.pop("value"))),
            str(kwargs.pop("day")),
            by=classroom.owner,
            **kwargs,
        )
        assert expected in bad.content, bad.content
        assert bad.ephemeral
    unknown = await classroom.slash(
        classroom.teacher,
        "score add",
        student=classroom.bob,
        subject="Art",
        assessment="Quiz 1",
        score=3.0,
    )
    assert "no subject called `Art`" in unknown.content

    student = await score(classroom, classroom.bob, "Quiz 1", 5, today, by=classroom.bob)
    assert "Only a teacher" in student.content

    assert classroom.bot is not None
    report = await classroom.bot.services.progress.student_report(
        classroom.guild.id, classroom.bob.id
    )
    assert report.subjects == []  # nothing stored for Bob


async def test_csv_import_with_bom_semicolons_and_names_then_reimport_counts_changes(
    classroom: Classroom,
) -> None:
    day = classroom.clock.now().date().isoformat()
    text = (
        "Date;Student;Score;Out of;Subject;Assessment;Aspect\r\n"
        f"{day};Alice;7,5;10;Math;Fractions quiz 1;fractions\r\n"
        f"{day};<@{classroom.bob.id}>;6;10;Math;Fractions quiz 1;fractions\r\n"
        f"{day};{classroom.carol.id};9;10;math;Fractions quiz 1;\r\n"
    )
    data = "\ufeff".encode() + text.encode("utf-8")
    result = await classroom.slash(classroom.teacher, "score import", file=("scores.csv", data))
    shown = everything(result)
    assert "Imported 3 scores" in shown, shown
    assert "3 new" in shown
    assert ephemeral_all(result)

    changed = data.replace(
        b"Math;Fractions quiz 1;fractions\r\n", b"Math;Fractions quiz 1;fractions\r\n", 1
    )
    changed = changed.replace(b";6;10;", b";8;10;")
    again = await classroom.slash(classroom.teacher, "score import", file=("scores.csv", changed))
    assert "1 changed, 2 unchanged" in everything(again), everything(again)


async def test_csv_with_one_bad_row_stores_nothing_and_names_the_row(classroom: Classroom) -> None:
    day = classroom.clock.now().date().isoformat()
    text = (
        "student,subject,assessment,score,out_of,date\n"
        f"Alice,Math,Quiz A,8,10,{day}\n"
        f"Bob,Math,Quiz A,eleven,10,{day}\n"
        f"Zed,Math,Quiz A,5,10,{day}\n"
        f"Carol,Math,Quiz A,12,10,{day}\n"
    )
    result = await classroom.slash(classroom.teacher, "score import", file=("q.csv", text.encode()))
    shown = everything(result)
    assert "Nothing was imported" in shown, shown
    assert "Row 3, score: not a number" in shown
    assert "Row 4, student: no member called 'Zed'" in shown
    assert "Row 5, score: 12 is above out_of (10)" in shown
    assert classroom.bot is not None
    report = await classroom.bot.services.progress.student_report(
        classroom.guild.id, classroom.alice.id
    )
    assert report.subjects == []

    not_csv = await classroom.slash(
        classroom.teacher, "score import", file=("photo.png", b"\x89PNG\r\n")
    )
    assert "isn't a CSV" in everything(not_csv)
    empty = await classroom.slash(classroom.teacher, "score import", file=("e.csv", b""))
    assert "empty" in everything(empty)


async def test_template_lists_the_class_roster_without_teachers(classroom: Classroom) -> None:
    result = await classroom.slash(classroom.teacher, "score template", subject="Math")
    (csv_file,) = files(result)
    text = csv_file.data.decode("utf-8-sig")
    assert text.startswith("student,subject,assessment,score,out_of,date,aspect")
    for name in ("Alice", "Bob", "Carol", "Dan"):
        assert f"{name},Math" in text
    assert "Rivera" not in text
    assert ephemeral_all(result)


async def test_gains_teacher_sees_class_chart_student_sees_only_own(classroom: Classroom) -> None:
    # Imported by the one test that reads an image, not when each worker collects this module.
    from matplotlib import image

    await two_quizzes(classroom)
    teacher = await classroom.slash(classroom.teacher, "gains", subject="Math")
    shown = everything(teacher)
    assert ephemeral_all(teacher)
    assert "Class average gain: **+15 points**" in shown, shown
    assert f"<@{classroom.alice.id}> 40% → 80% (**+40**)" in shown
    (png,) = files(teacher)
    assert png.description and "Alice: 40% to 80%" in png.description
    pixels = image.imread(io.BytesIO(png.data), format="png")
    assert pixels.shape[1] == 800  # 8 in × 100 dpi: readable at Discord's preview width

    student = await classroom.slash(classroom.bob, "gains", subject="Math")
    shown = everything(student)
    assert ephemeral_all(student)
    assert "-5 points" in shown
    assert "Alice" not in shown and str(classroom.alice.id) not in shown
    (mine,) = files(student)
    assert mine.description is not None and "65%" in mine.description
    assert "80%" not in mine.description  # nobody else's score
    pixels = image.imread(io.BytesIO(mine.data), format="png")
    assert pixels.shape[:2] == (450, 800)

    refused = await classroom.slash(classroom.bob, "gains", subject="Math", share=True)
    assert "Only a teacher" in refused.content


async def test_shared_chart_shows_gains_only_and_never_names_who_did_not_improve(
    classroom: Classroom,
) -> None:
    await two_quizzes(classroom)
    before = len(classroom.sim.messages(classroom.general))
    await classroom.slash(classroom.teacher, "gains", subject="Math", share=True, top=3)
    await classroom.sim.settle()
    (post,) = classroom.sim.messages(classroom.general)[before:]
    assert not post.ephemeral
    assert "class average gain **+15 points**" in post.content
    (png,) = post.attachments
    assert png.description is not None
    assert "Alice +40" in png.description and "Carol +10" in png.description
    assert "Bob" not in png.description  # his score fell: never singled out
    assert "%" not in png.description  # gains only, no raw scores
    assert "%" not in post.content


async def test_the_bot_answers_others_while_a_chart_renders(
    classroom: Classroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real chart function, held mid-render until another command has been answered.

    Were the chart drawn on the event loop, the held render would block that answer and the gate
    would never open: the chart would fail instead of arriving.
    """
    await two_quizzes(classroom)
    gate = threading.Event()
    assert classroom.bot is not None
    cog = classroom.bot.get_cog("ProgressCog")
    module = sys.modules[type(cog).__module__]  # the loaded extension's module, fresh per start
    real = module.teacher_chart

    def held(*args: Any) -> Chart:
        if not gate.wait(timeout=10):
            raise RuntimeError("the event loop was blocked while the chart rendered")
        return real(*args)  # type: ignore[no-any-return]

    monkeypatch.setattr(module, "teacher_chart", held)
    # The gate lives in this process, so this test renders in a worker thread; the other chart
    # tests go through the real worker process.
    monkeypatch.setattr(cog, "renderer", ChartRenderer(processes=False))
    chart = asyncio.create_task(classroom.slash(classroom.teacher, "gains", subject="Math"))
    # Answered while the chart is still held (settle=False: the bot as a whole is still busy).
    other = await classroom.sim.slash(
        classroom.alice,
        "subject list",
        guild=classroom.guild,
        channel=classroom.general,
        settle=False,
    )
    assert "Math" in other.content
    assert not chart.done()
    gate.set()
    assert files(await chart)


async def test_suggest_lists_top_scorers_and_grant_button_badges_them(classroom: Classroom) -> None:
    await two_quizzes(classroom)
    already = await classroom.slash(
        classroom.owner, "mentor grant", student=classroom.bob, subject="Math"
    )
    assert "now has" in everything(already)
    suggestion = await classroom.slash(classroom.owner, "mentor suggest", subject="Math")
    assert suggestion.ephemeral
    assert f"1. <@{classroom.alice.id}>: 60% on average" in suggestion.content
    assert f"2. <@{classroom.carol.id}>: 55% on average" in suggestion.content
    assert f"<@{classroom.bob.id}>" not in suggestion.content  # already a mentor
    buttons = suggestion.buttons()
    assert [label for label, _, _ in buttons] == ["Grant badge", "Grant badge"]
    assert suggestion.message is not None

    # A student can't use the button, even if they get hold of it.
    refused = await classroom.sim.click(classroom.dan, suggestion.message, buttons[0][1] or "")
    assert "Only a teacher" in everything(refused)

    await classroom.restart()  # the button is persistent
    clicked = await classroom.sim.click(classroom.owner, suggestion.message, buttons[0][1] or "")
    assert "now has the **Math** mentor badge" in everything(clicked)
    role = classroom.guild.role_named("Math Mentor")
    assert role is not None
    assert role.id in classroom.guild.members[classroom.alice.id].roles
    assert role.id not in classroom.guild.members[classroom.carol.id].roles


async def test_badge_names_an_aspect_and_has_a_green_colour_teachers_can_change(
    classroom: Classroom,
) -> None:
    granted = await classroom.slash(
        classroom.teacher,
        "mentor grant",
        student=classroom.alice,
        subject="Math",
        aspect="fractions",
    )
    assert "mentor badge (for **fractions**)" in everything(granted)
    role = classroom.guild.role_named("Math Mentor")
    assert role is not None and role.color == 0x2ECC71
    assert classroom.bot is not None
    profile = await classroom.bot.services.mentors.profile(
        classroom.guild.id, classroom.alice.id, full=True
    )
    assert [b.aspect for b in profile.current_badges] == ["fractions"]
    recolour = await classroom.slash(classroom.teacher, "mentor colour", colour="#0072b2")
    assert "1 badge role recoloured" in everything(recolour)
    assert role.color == 0x0072B2
    bad = await classroom.slash(classroom.teacher, "mentor colour", colour="sparkly")
    assert "hex code" in everything(bad)


async def test_profile_shows_own_gains_privately_and_never_to_classmates(
    classroom: Classroom,
) -> None:
    await two_quizzes(classroom)
    mine = await classroom.slash(classroom.alice, "profile")
    assert mine.ephemeral
    assert "Math: **+40 points**" in everything(mine)
    assert "Confidence gain (self-reported)" in everything(mine)
    theirs = await classroom.slash(classroom.bob, "profile", student=classroom.alice)
    assert "+40" not in everything(theirs) and "80%" not in everything(theirs)


async def test_term_dates_set_this_term(classroom: Classroom) -> None:
    ok = await classroom.slash(
        classroom.teacher, "setup term", start="2026-09-01", end="2026-12-18"
    )
    assert "Term: 01 Sep 2026 to 18 Dec 2026" in ok.content
    bad = await classroom.slash(
        classroom.teacher, "setup term", start="2026-12-18", end="2026-09-01"
    )
    assert "ends after it starts" in bad.content
    student = await classroom.slash(
        classroom.alice, "setup term", start="2026-09-01", end="2026-12-18"
    )
    assert "Only a teacher" in student.content


async def test_weekly_post_carries_the_class_average_gain_and_the_public_chart(
    classroom: Classroom,
) -> None:
    await two_quizzes(classroom)  # Monday and Wednesday of this week
    friday_post = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    classroom.clock.set(friday_post)
    await classroom.run_jobs()
    (post,) = [m for m in classroom.sim.messages(classroom.announcements) if m.embeds]
    assert "Class average gain this week: +15 points" in post.content
    (png,) = post.attachments
    assert png.description is not None and "Bob" not in png.description
    assert "%" not in post.content


async def test_score_remove_deletes_one_score(classroom: Classroom) -> None:
    today = classroom.clock.now().date().isoformat()
    await score(classroom, classroom.alice, "Quiz 1", 9, today, out_of=10)
    removed = await classroom.slash(
        classroom.teacher,
        "score remove",
        student=classroom.alice,
        subject="Math",
        assessment="quiz 1",
    )
    assert "Removed" in removed.content and removed.ephemeral
    again = await classroom.slash(
        classroom.teacher,
        "score remove",
        student=classroom.alice,
        subject="Math",
        assessment="Quiz 1",
    )
    assert "has no score for `Quiz 1`" in again.content
