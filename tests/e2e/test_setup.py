"""Class set-up and the teacher check, through the simulated Discord."""

from __future__ import annotations

from tests.e2e.conftest import Classroom


async def test_commands_before_setup_hint_at_setup(world: Classroom) -> None:
    result = await world.slash(world.alice, "subject list")
    assert result.ephemeral
    assert "/setup" in result.content


async def test_setup_needs_manage_server_checked_in_code(world: Classroom) -> None:
    # Discord's default_permissions can be changed by admins; the bot checks again itself.
    result = await world.slash(
        world.teacher,
        "setup class",
        teacher_role=world.teacher_role,
        announcements=world.announcements,
        help_channel=world.help_channel,
        mentors_channel=world.mentors_channel,
    )
    assert result.ephemeral
    assert "Manage Server" in result.content
    assert world.bot is not None
    assert await world.bot.services.classes.get(world.guild.id) is None


async def test_setup_then_show_to_a_teacher(classroom: Classroom) -> None:
    shown = await classroom.slash(classroom.teacher, "setup show")
    assert shown.ephemeral
    (embed,) = shown.embeds
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Teacher role"] == f"<@&{classroom.teacher_role.id}>"
    assert fields["Announcements"] == f"<#{classroom.announcements.id}>"
    assert fields["Time zone"] == "Europe/London"
    assert fields["Weekly post"] == "Friday 15:00"
    assert fields["Subjects"] == "English, Math"


async def test_students_cannot_use_teacher_commands(classroom: Classroom) -> None:
    result = await classroom.slash(classroom.alice, "subject add", name="Art")
    assert result.ephemeral
    assert result.content == "Only a teacher can add subjects."
    listing = await classroom.slash(classroom.alice, "subject list")
    assert "Art" not in listing.content
    assert "**English**, **Math**" in listing.content


async def test_schedule_change_with_timezone_autocomplete(classroom: Classroom) -> None:
    choices = await classroom.sim.autocomplete(
        classroom.teacher,
        "setup schedule",
        guild=classroom.guild,
        channel=classroom.general,
        focused="timezone",
        value="new_y",
    )
    assert choices[0]["value"] == "America/New_York"
    result = await classroom.slash(
        classroom.teacher,
        "setup schedule",
        timezone="America/New_York",
        post_day=0,
        post_time="09:30",
    )
    fields = {f["name"]: f["value"] for f in result.embeds[0]["fields"]}
    assert fields["Weekly post"] == "Monday 09:30"
    bad = await classroom.slash(classroom.teacher, "setup schedule", timezone="Mars/Base")
    assert "don't know the time zone" in bad.content


async def test_subject_remove_offers_autocomplete(classroom: Classroom) -> None:
    choices = await classroom.sim.autocomplete(
        classroom.teacher,
        "subject remove",
        guild=classroom.guild,
        channel=classroom.general,
        focused="name",
        value="ma",
    )
    assert [c["value"] for c in choices] == ["Math"]
    removed = await classroom.slash(classroom.teacher, "subject remove", name="math")
    assert "Removed **Math**" in removed.content


async def test_removing_the_bot_keeps_the_class_and_a_reinvite_continues(
    classroom: Classroom,
) -> None:
    assert classroom.bot is not None
    services = classroom.bot.services
    classroom.sim.remove_bot(classroom.guild)
    await classroom.sim.settle()
    assert await services.classes.configured_classes() == []  # no posts for a class it left
    kept = await services.classes.get(classroom.guild.id)
    assert kept is not None
    assert kept.teacher_role_id == classroom.teacher_role.id
    classroom.sim.add_bot(classroom.guild)
    await classroom.sim.settle()
    assert [c.guild_id for c in await services.classes.configured_classes()] == [classroom.guild.id]
    listed = await classroom.slash(classroom.alice, "subject list")
    assert "**English**, **Math**" in listed.content
