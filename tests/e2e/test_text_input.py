"""Hostile or invisible text typed into commands: refused clearly, nothing invisible stored."""

from __future__ import annotations

from tests.e2e.conftest import Classroom

ZERO_WIDTH = "\u200b\u200b\u200b"


async def test_a_subject_named_only_with_zero_width_spaces_is_refused(classroom: Classroom) -> None:
    added = await classroom.slash(classroom.teacher, "subject add", name=ZERO_WIDTH)
    assert added.ephemeral
    assert "A subject name needs some visible text." in added.content
    listed = await classroom.slash(classroom.alice, "subject list")
    assert "**English**, **Math**" in listed.content and "\u200b" not in listed.content
    choices = await classroom.sim.autocomplete(
        classroom.alice, "helpme ask", focused="subject", value="", guild=classroom.guild
    )
    assert sorted(c["name"] for c in choices) == ["English", "Math"]


async def test_look_alike_names_are_the_same_subject(classroom: Classroom) -> None:
    added = await classroom.slash(classroom.teacher, "subject add", name="Ｍａｔｈ\u200b")
    assert "Math is already a subject" in added.content


async def test_invisible_topic_and_reason_are_refused_with_nothing_written(
    classroom: Classroom,
) -> None:
    asked = await classroom.slash(classroom.alice, "helpme ask", subject="Math", topic=ZERO_WIDTH)
    assert "no visible characters" in asked.content
    award = await classroom.slash(
        classroom.teacher,
        "award give",
        student=classroom.bob,
        kind="gold_star",
        reason="\u3164\u200d",
    )
    assert "no visible characters" in award.content
    assert classroom.sim.messages(classroom.announcements) == []
