"""Mentor badges, brief and availability at the service level, on a real SQLite file."""

from __future__ import annotations

from datetime import timedelta

import pytest
import pytest_asyncio

from bot.clock import ManualClock
from bot.errors import InvalidInput, NotConfigured, NotFound, UserFacingError
from bot.wiring import Services
from db import mentors as mentor_sql
from db.database import Database
from tests.services.classroom import GUILD, TEACHER, set_up_class

ALICE, BOB = 11, 12


@pytest_asyncio.fixture(loop_scope="session")
async def math(services: Services) -> None:
    await set_up_class(services, ["Math"])


async def grant(services: Services, user: int, until: str | None = None) -> None:
    plan = await services.mentors.plan_grant(GUILD, "math", user, until)
    await services.mentors.record_grant(plan, user, TEACHER)


async def test_grant_before_setup_is_refused(services: Services) -> None:
    with pytest.raises(NotConfigured):
        await services.mentors.plan_grant(GUILD, "Math", ALICE, None)


@pytest.mark.usefixtures("math")
async def test_first_grant_sends_the_brief_once_and_grant_is_idempotent(
    services: Services,
) -> None:
    plan = await services.mentors.plan_grant(GUILD, "MATH", ALICE, None)
    first = await services.mentors.record_grant(plan, ALICE, TEACHER)
    assert first.send_brief and not first.already_held
    await services.mentors.brief_sent(GUILD, ALICE)
    again = await services.mentors.record_grant(plan, ALICE, TEACHER)
    assert again.already_held and not again.send_brief
    assert again.badge.id == first.badge.id


@pytest.mark.usefixtures("math")
async def test_unknown_subject_lists_the_real_ones(services: Services) -> None:
    with pytest.raises(InvalidInput, match="Subjects: Math"):
        await services.mentors.plan_grant(GUILD, "Latin", ALICE, None)


@pytest.mark.usefixtures("math")
async def test_mentor_is_not_routable_until_brief_acknowledged(
    services: Services, db: Database, clock: ManualClock
) -> None:
    await grant(services, ALICE)
    await services.mentors.set_available(GUILD, ALICE, True)

    async def candidate() -> bool:
        subject = await services.classes.subject(GUILD, "Math")
        async with db.reading() as conn:
            (c,) = await mentor_sql.mentor_candidates(
                conn,
                guild_id=GUILD,
                subject_id=subject.id,
                student_id=BOB,
                now=clock.now(),
                week_start=clock.now() - timedelta(days=2),
                recent_since=clock.now() - timedelta(days=7),
            )
        return c.available and c.acknowledged_brief

    assert not await candidate()
    assert await services.mentors.acknowledge_brief(GUILD, ALICE) is True
    assert await services.mentors.acknowledge_brief(GUILD, ALICE) is False
    assert await candidate()


@pytest.mark.usefixtures("math")
async def test_availability_switches_itself_off(services: Services, clock: ManualClock) -> None:
    await grant(services, ALICE)
    state, _ = await services.mentors.set_available(GUILD, ALICE, True, "45m")
    assert state.available_at(clock.now())
    clock.advance(timedelta(minutes=46))
    assert not state.available_at(clock.now())
    (listing,) = await services.mentors.mentors_by_subject(GUILD, None)
    assert listing.mentors == [(ALICE, False)]


@pytest.mark.usefixtures("math")
async def test_non_mentor_gets_a_friendly_explanation(services: Services) -> None:
    with pytest.raises(UserFacingError, match="Availability is for mentors"):
        await services.mentors.set_available(GUILD, BOB, True)


@pytest.mark.usefixtures("math")
async def test_lesson_badge_is_due_only_after_its_end(
    services: Services, clock: ManualClock
) -> None:
    await grant(services, ALICE, "45m")
    (badge,) = await services.mentors.lesson_badges()
    assert await services.mentors.due_to_expire(badge.id) is None
    clock.advance(timedelta(minutes=45))
    assert await services.mentors.due_to_expire(badge.id) == badge
    assert await services.mentors.end_badge(badge.id, None, "expired") is not None
    assert await services.mentors.end_badge(badge.id, None, "expired") is None  # once only
    profile = await services.mentors.profile(GUILD, ALICE, full=True)
    assert profile.current_badges == [] and len(profile.past_badges) == 1


@pytest.mark.usefixtures("math")
async def test_badge_too_long_or_unreadable_is_refused(services: Services) -> None:
    with pytest.raises(InvalidInput, match="couldn't read"):
        await services.mentors.plan_grant(GUILD, "Math", ALICE, "whenever")
    with pytest.raises(InvalidInput):
        await services.mentors.plan_grant(GUILD, "Math", ALICE, "30d")


@pytest.mark.usefixtures("math")
async def test_role_removed_by_hand_ends_the_badge_on_reconcile(services: Services) -> None:
    subject = await services.classes.subject(GUILD, "Math")
    await services.mentors.remember_badge_role(subject, 777)
    await grant(services, ALICE)
    assert await services.mentors.reconcile(GUILD, ALICE, [777, 5]) == []
    (ended,) = await services.mentors.reconcile(GUILD, ALICE, [5])
    assert ended.subject_name == "Math"
    with pytest.raises(NotFound):
        await services.mentors.plan_revoke(GUILD, "Math", ALICE)


@pytest.mark.usefixtures("math")
async def test_deleted_role_ends_its_badges_and_is_forgotten(services: Services) -> None:
    subject = await services.classes.subject(GUILD, "Math")
    await services.mentors.remember_badge_role(subject, 777)
    await grant(services, ALICE)
    await grant(services, BOB)
    assert len(await services.mentors.role_deleted(GUILD, 777)) == 2
    assert (await services.classes.subject(GUILD, "Math")).role_id is None


@pytest.mark.usefixtures("math")
async def test_profile_hides_help_received_from_others(services: Services) -> None:
    await grant(services, ALICE)
    public = await services.mentors.profile(GUILD, ALICE, full=False)
    private = await services.mentors.profile(GUILD, ALICE, full=True)
    assert public.help_received is None
    assert private.help_received == 0


@pytest.mark.usefixtures("math")
async def test_brief_text_is_validated_and_empty_restores_default(services: Services) -> None:
    assert await services.mentors.set_brief(GUILD, "  Be kind.  ") == "Be kind."
    settings = await services.classes.require_configured(GUILD)
    assert settings.brief_text == "Be kind."
    with pytest.raises(InvalidInput):
        await services.mentors.set_brief(GUILD, "x" * 1801)
    assert await services.mentors.set_brief(GUILD, "   ") is None
    settings = await services.classes.require_configured(GUILD)
    assert "Listen first" in settings.brief_text
