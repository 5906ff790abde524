"""Mentor badges, the brief and availability, through the simulated Discord."""

from __future__ import annotations

from datetime import timedelta

from bot.simulator import SimUser
from tests.e2e.conftest import Classroom


async def grant(room: Classroom, student: SimUser, subject: str = "Math", **extra: object) -> str:
    result = await room.slash(
        room.teacher, "mentor grant", student=student, subject=subject, **extra
    )
    await room.sim.settle()
    assert result.ephemeral
    return result.content


def role_names(room: Classroom, user: SimUser) -> set[str]:
    return {role.name for role in room.guild.member_roles(user)}


async def mentor_state(room: Classroom, user: SimUser):  # type: ignore[no-untyped-def]
    assert room.bot is not None
    return await room.bot.services.mentors.mentor_state(room.guild.id, user.id)


async def test_grant_creates_badge_role_sends_brief_and_ack_makes_routable(
    classroom: Classroom,
) -> None:
    reply = await grant(classroom, classroom.alice)
    assert "now has the **Math** mentor badge" in reply
    assert "sent them the mentor brief" in reply
    role = classroom.guild.role_named("Math Mentor")
    assert role is not None
    assert role.permissions == 0
    assert not role.mentionable
    assert "Math Mentor" in role_names(classroom, classroom.alice)

    (brief,) = classroom.sim.dms(classroom.alice)
    assert "Listen first" in brief.embeds[0]["description"]
    [(label, custom_id, _)] = brief.buttons()
    assert label == "I've read this"
    assert custom_id is not None
    state = await mentor_state(classroom, classroom.alice)
    assert state is not None
    assert not state.briefed  # no help requests until the brief is read

    clicked = await classroom.sim.click(classroom.alice, brief, custom_id)
    assert "ready to mentor" in clicked.content
    state = await mentor_state(classroom, classroom.alice)
    assert state is not None
    assert state.briefed

    # Granting again is idempotent: no second role, no second brief.
    again = await grant(classroom, classroom.alice)
    assert "already had" in again
    assert len(classroom.sim.dms(classroom.alice)) == 1
    assert len([r for r in classroom.guild.roles.values() if r.name == "Math Mentor"]) == 1


async def test_brief_button_still_works_after_a_restart(classroom: Classroom) -> None:
    await grant(classroom, classroom.alice)
    (brief,) = classroom.sim.dms(classroom.alice)
    await classroom.restart()
    clicked = await classroom.sim.click(classroom.alice, brief, brief.buttons()[0][1] or "")
    assert "ready to mentor" in clicked.content


async def test_closed_dms_put_the_brief_in_the_mentors_channel_pinging_only_them(
    classroom: Classroom,
) -> None:
    classroom.sim.close_dms(classroom.bob)
    await grant(classroom, classroom.bob, "English")
    (notice,) = classroom.sim.messages(classroom.mentors_channel)
    assert "your DMs are closed" in notice.content
    assert notice.pinged_user_ids == [classroom.bob.id]
    assert notice.pinged_role_ids == []
    assert not notice.pinged_everyone
    other = await classroom.sim.click(classroom.carol, notice, notice.buttons()[0][1] or "")
    assert "for another mentor" in other.content
    mine = await classroom.sim.click(classroom.bob, notice, notice.buttons()[0][1] or "")
    assert "ready to mentor" in mine.content


async def test_non_teacher_grant_is_refused_and_nothing_changes(classroom: Classroom) -> None:
    result = await classroom.slash(
        classroom.alice, "mentor grant", student=classroom.bob, subject="Math"
    )
    assert result.content == "Only a teacher can grant mentor badges."
    assert classroom.guild.role_named("Math Mentor") is None
    assert "Math Mentor" not in role_names(classroom, classroom.bob)
    assert await mentor_state(classroom, classroom.bob) is None
    assert classroom.sim.dms(classroom.bob) == []


async def test_grant_to_a_bot_or_unknown_subject_is_refused(classroom: Classroom) -> None:
    to_bot = await classroom.slash(
        classroom.teacher, "mentor grant", student=classroom.sim.bot_user, subject="Math"
    )
    assert "Bots can't be mentors" in to_bot.content
    unknown = await classroom.slash(
        classroom.teacher, "mentor grant", student=classroom.bob, subject="Latin"
    )
    assert "no subject called `Latin`" in unknown.content
    assert classroom.guild.role_named("Math Mentor") is None


async def test_lesson_badge_ends_on_time_even_across_a_restart(classroom: Classroom) -> None:
    reply = await grant(classroom, classroom.alice, until="45m")
    assert "until <t:" in reply
    await grant(classroom, classroom.bob, until="2h")
    classroom.clock.advance(timedelta(minutes=44))
    await classroom.run_jobs()
    assert "Math Mentor" in role_names(classroom, classroom.alice)

    classroom.clock.advance(timedelta(minutes=2))
    await classroom.run_jobs()
    assert "Math Mentor" not in role_names(classroom, classroom.alice)
    assert "Math Mentor" in role_names(classroom, classroom.bob)

    await classroom.restart()  # the timer is rebuilt from the database
    classroom.clock.advance(timedelta(hours=2))
    await classroom.run_jobs()
    assert "Math Mentor" not in role_names(classroom, classroom.bob)
    profile = await classroom.slash(classroom.bob, "profile")
    fields = {f["name"]: f["value"] for f in profile.embeds[0]["fields"]}
    assert fields["Mentor badges"] == "none right now"
    assert "Math" in fields["Past badges"]


async def test_revoke_removes_the_role_and_keeps_history(classroom: Classroom) -> None:
    await grant(classroom, classroom.alice)
    result = await classroom.slash(
        classroom.teacher, "mentor revoke", student=classroom.alice, subject="Math"
    )
    assert "no longer has the **Math** mentor badge" in result.content
    assert "Math Mentor" not in role_names(classroom, classroom.alice)
    again = await classroom.slash(
        classroom.teacher, "mentor revoke", student=classroom.alice, subject="Math"
    )
    assert "has no Math mentor badge" in again.content


async def test_availability_and_the_mentors_list(classroom: Classroom) -> None:
    not_mentor = await classroom.slash(classroom.carol, "available on")
    assert "Availability is for mentors" in not_mentor.content

    await grant(classroom, classroom.alice)
    await grant(classroom, classroom.bob)
    await grant(classroom, classroom.bob, "English")
    on = await classroom.slash(classroom.bob, "available on", duration="1h")
    assert "available for **English, Math**" in on.content
    assert "read your mentor brief" in on.content  # not acknowledged yet: says so, shows it
    assert on.buttons()[0][0] == "I've read this"

    listing = await classroom.slash(classroom.carol, "mentors")
    fields = {f["name"]: f["value"] for f in listing.embeds[0]["fields"]}
    assert fields["Math"].splitlines() == [
        f"🟢 <@{classroom.bob.id}>",
        f"⚪ <@{classroom.alice.id}>",
    ]
    assert fields["English"] == f"🟢 <@{classroom.bob.id}>"

    classroom.clock.advance(timedelta(minutes=61))  # switches itself off
    listing = await classroom.slash(classroom.carol, "mentors", subject="English")
    assert listing.embeds[0]["fields"] == [
        {"name": "English", "value": f"⚪ <@{classroom.bob.id}>", "inline": True}
    ]
    off = await classroom.slash(classroom.alice, "available off")
    assert "not taking requests" in off.content


async def test_profile_shows_private_parts_only_to_the_student(classroom: Classroom) -> None:
    await grant(classroom, classroom.alice)
    own = await classroom.slash(classroom.alice, "profile")
    assert own.ephemeral
    names = [f["name"] for f in own.embeds[0]["fields"]]
    assert "Help received (only you see this)" in names
    other = await classroom.slash(classroom.bob, "profile", student=classroom.alice)
    fields = {f["name"]: f["value"] for f in other.embeds[0]["fields"]}
    assert "Help received (only you see this)" not in fields
    assert "**Math** since" in fields["Mentor badges"]


async def test_role_removed_or_deleted_by_hand_the_record_follows(classroom: Classroom) -> None:
    await grant(classroom, classroom.alice)
    await grant(classroom, classroom.bob)
    role = classroom.guild.role_named("Math Mentor")
    assert role is not None
    # A teacher takes Alice's role away in Discord: her next action repairs the record.
    classroom.guild.remove_role(classroom.alice, role)
    await classroom.sim.settle()
    refused = await classroom.slash(classroom.alice, "available on")
    assert "Availability is for mentors" in refused.content
    # A teacher deletes the role itself: Bob's badge ends; the next grant makes a new role.
    classroom.sim.world.delete_role(classroom.guild, role)
    await classroom.sim.settle()
    profile = await classroom.slash(classroom.bob, "profile")
    fields = {f["name"]: f["value"] for f in profile.embeds[0]["fields"]}
    assert fields["Mentor badges"] == "none right now"
    await grant(classroom, classroom.bob)
    new_role = classroom.guild.role_named("Math Mentor")
    assert new_role is not None
    assert new_role.id != role.id
    assert "Math Mentor" in role_names(classroom, classroom.bob)


async def test_teacher_writes_the_class_brief_in_a_modal(classroom: Classroom) -> None:
    opened = await classroom.slash(classroom.teacher, "mentor brief set")
    assert opened.modal is not None
    (field_id,) = opened.modal.fields()
    saved = await classroom.sim.submit_modal(
        classroom.teacher, opened.modal, {field_id: "Be kind.\nAsk questions."}
    )
    assert "Saved the class's mentor brief" in saved.content
    shown = await classroom.slash(classroom.alice, "mentor brief show")
    assert shown.embeds[0]["description"] == "Be kind.\nAsk questions."
    await grant(classroom, classroom.alice)
    (brief,) = classroom.sim.dms(classroom.alice)
    assert brief.embeds[0]["description"] == "Be kind.\nAsk questions."


async def test_grant_to_someone_not_in_the_server_is_refused(classroom: Classroom) -> None:
    stranger = classroom.sim.create_user("Stranger")
    result = await classroom.slash(
        classroom.teacher, "mentor grant", student=stranger, subject="Math"
    )
    assert result.content == "That person isn't a member of this server."
    assert classroom.guild.role_named("Math Mentor") is None


async def test_hourly_check_follows_roles_removed_by_hand_and_members_who_left(
    classroom: Classroom,
) -> None:
    await grant(classroom, classroom.alice)
    await grant(classroom, classroom.bob)
    await grant(classroom, classroom.carol, "English")
    role = classroom.guild.role_named("Math Mentor")
    assert role is not None
    classroom.guild.remove_role(classroom.alice, role)  # by hand, in Discord
    classroom.guild.remove_member(classroom.carol)  # Carol left the server
    await classroom.sim.settle()
    classroom.clock.advance(timedelta(hours=1, minutes=1))
    await classroom.run_jobs()
    listing = await classroom.slash(classroom.dan, "mentors")
    fields = {f["name"]: f["value"] for f in listing.embeds[0]["fields"]}
    assert fields == {"English": "no mentors yet", "Math": f"⚪ <@{classroom.bob.id}>"}
