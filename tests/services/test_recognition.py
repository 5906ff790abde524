"""Awards, the points ledger, leaderboards and the weekly post at the service level.

Against a real SQLite file, with a clock the test moves. The class is in Europe/London (UTC+0 in
November) unless a test says otherwise; the shared clock starts on Wednesday 2026-11-18 09:00 UTC,
so the default weekly post is on Friday 2026-11-20 15:00 and the suggestion on Thursday 15:00.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import ManualClock
from bot.config import Config
from bot.domain.points import AwardKind, session_points
from bot.domain.shoutouts import PostKind
from bot.domain.weeks import Period
from bot.errors import Conflict, InvalidInput, NotFound, UserFacingError
from bot.services.recognition import credit_session
from bot.wiring import Services, build_services
from db import ledger as ledger_sql
from db.database import Database
from db.timefmt import to_db
from tests.fast_db import copy_migrated
from tests.services.classroom import ANNOUNCEMENTS, GUILD, MENTORS, TEACHER, set_up_class

ALICE, BOB, CAROL, DAN, ERIN = 11, 12, 13, 14, 15
WEDNESDAY = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
THURSDAY_SUGGESTION = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
FRIDAY_POST = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
NEXT_MONDAY = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


@pytest_asyncio.fixture(loop_scope="session")
async def subjects(services: Services) -> dict[str, int]:
    return await set_up_class(services)


async def confirm_session(
    db: Database,
    *,
    mentor: int,
    student: int,
    subject_id: int,
    rating: int,
    at: datetime,
) -> int:
    """What the help-request service does when a student confirms: close and credit, atomically."""
    async with db.transaction() as conn:
        async with conn.execute(
            "INSERT INTO help_requests (guild_id, subject_id, student_id, state, mentor_id,"
            " created_at, queued_at, accepted_at, closed_at, close_reason, rating)"
            " VALUES (?, ?, ?, 'resolved', ?, ?, ?, ?, ?, 'solved', ?) RETURNING id",
            (
                GUILD,
                subject_id,
                student,
                mentor,
                *(to_db(at - timedelta(minutes=30)),) * 3,
                to_db(at),
                rating,
            ),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        session_id = int(row[0])
        await credit_session(
            conn,
            guild_id=GUILD,
            mentor_id=mentor,
            session_id=session_id,
            subject_id=subject_id,
            rating=rating,
            now=at,
        )
    return session_id


async def count(db: Database, table: str) -> int:
    async with db.reading() as conn, conn.execute(f"SELECT COUNT(*) FROM {table}") as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


# ----- awards ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("subjects")
async def test_award_writes_the_award_and_its_points(services: Services) -> None:
    result = await services.recognition.give_award(
        GUILD, TEACHER, ALICE, student_is_bot=False, kind="gold_star", reason="  Great   work "
    )
    assert result.award.kind is AwardKind.GOLD_STAR
    assert result.award.reason == "Great work"
    assert result.award.points == 5
    assert result.award.week_key == "2026-11-16"
    assert result.shout_out_channel_id == ANNOUNCEMENTS
    assert await services.recognition.points_total(GUILD, ALICE) == 5

    private = await services.recognition.give_award(
        GUILD, TEACHER, BOB, student_is_bot=False, kind=AwardKind.EFFORT, points=7, private=True
    )
    assert private.shout_out_channel_id is None
    assert await services.recognition.points_total(GUILD, BOB) == 7


@pytest.mark.usefixtures("subjects")
@pytest.mark.parametrize(
    ("student", "is_bot", "kwargs", "message"),
    [
        (TEACHER, False, {}, "yourself"),
        (999, True, {}, "not bots"),
        (ALICE, False, {"reason": "x" * 201}, "at most 200"),
        (ALICE, False, {"points": 0}, "1 to 50"),
        (ALICE, False, {"points": 51}, "1 to 50"),
        (ALICE, False, {"kind": "custom"}, "needs a reason"),
        (ALICE, False, {"kind": "bribe"}, "award kind"),
    ],
)
async def test_refused_awards_write_nothing(
    services: Services,
    db: Database,
    student: int,
    is_bot: bool,
    kwargs: dict[str, object],
    message: str,
) -> None:
    options: dict[str, object] = {"kind": "gold_star", **kwargs}
    with pytest.raises(InvalidInput, match=message):
        await services.recognition.give_award(
            GUILD,
            TEACHER,
            student,
            student_is_bot=is_bot,
            **options,  # type: ignore[arg-type]
        )
    assert await count(db, "awards") == 0
    assert await count(db, "ledger") == 0


async def test_award_before_setup_is_refused(services: Services, db: Database) -> None:
    with pytest.raises(UserFacingError, match="/setup"):
        await services.recognition.give_award(
            GUILD, TEACHER, ALICE, student_is_bot=False, kind="gold_star"
        )
    assert await count(db, "ledger") == 0


@pytest.mark.usefixtures("subjects")
async def test_a_second_tutor_of_the_week_replaces_the_first(services: Services) -> None:
    first = await services.recognition.give_award(
        GUILD, TEACHER, ALICE, student_is_bot=False, kind="tutor_of_the_week"
    )
    assert first.replaced is None
    second = await services.recognition.give_award(
        GUILD, TEACHER, BOB, student_is_bot=False, kind="tutor_of_the_week"
    )
    assert second.replaced is not None
    assert second.replaced.id == first.award.id
    assert second.replaced.undone_at is not None
    assert await services.recognition.points_total(GUILD, ALICE) == 0
    assert await services.recognition.points_total(GUILD, BOB) == 20
    with pytest.raises(Conflict, match="already this week's tutor"):
        await services.recognition.give_award(
            GUILD, TEACHER, BOB, student_is_bot=False, kind="tutor_of_the_week"
        )


@pytest.mark.usefixtures("subjects")
async def test_tutor_of_the_week_is_per_class_week(services: Services, clock: ManualClock) -> None:
    await services.recognition.give_award(
        GUILD, TEACHER, ALICE, student_is_bot=False, kind="tutor_of_the_week"
    )
    clock.set(NEXT_MONDAY)
    next_week = await services.recognition.give_award(
        GUILD, TEACHER, BOB, student_is_bot=False, kind="tutor_of_the_week"
    )
    assert next_week.replaced is None
    assert await services.recognition.points_total(GUILD, ALICE) == 20


@pytest.mark.usefixtures("subjects")
async def test_undo_takes_back_the_latest_recent_award(
    services: Services, clock: ManualClock
) -> None:
    await services.recognition.give_award(
        GUILD, TEACHER, ALICE, student_is_bot=False, kind="gold_star"
    )
    clock.advance(timedelta(minutes=5))
    effort = await services.recognition.give_award(
        GUILD, TEACHER, ALICE, student_is_bot=False, kind="effort"
    )
    undone = await services.recognition.undo_award(GUILD, TEACHER, ALICE)
    assert undone.id == effort.award.id
    assert undone.undone_at == clock.now()
    assert await services.recognition.points_total(GUILD, ALICE) == 5

    clock.advance(timedelta(days=8))
    with pytest.raises(NotFound, match="no award from the last 7 days"):
        await services.recognition.undo_award(GUILD, TEACHER, ALICE)
    assert await services.recognition.points_total(GUILD, ALICE) == 5


@pytest.mark.usefixtures("subjects")
async def test_an_undo_corrects_the_week_of_the_award(
    services: Services, clock: ManualClock
) -> None:
    await services.recognition.give_award(
        GUILD, TEACHER, ALICE, student_is_bot=False, kind="gold_star"
    )
    await services.recognition.give_award(GUILD, TEACHER, BOB, student_is_bot=False, kind="effort")
    clock.set(NEXT_MONDAY + timedelta(hours=9))
    await services.recognition.undo_award(GUILD, TEACHER, ALICE)
    last_week = await services.recognition.leaderboard(GUILD, ALICE, Period.LAST_WEEK)
    assert [(e.user_id, e.points) for e in last_week.shown] == [(BOB, 3)]
    this_week = await services.recognition.leaderboard(GUILD, ALICE, Period.THIS_WEEK)
    assert this_week.shown == [] and this_week.caller_points == 0


# ----- the ledger -------------------------------------------------------------------------------


async def test_a_session_is_credited_once(
    services: Services, db: Database, subjects: dict[str, int]
) -> None:
    session = await confirm_session(
        db, mentor=ALICE, student=BOB, subject_id=subjects["Math"], rating=5, at=WEDNESDAY
    )
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await credit_session(
                conn,
                guild_id=GUILD,
                mentor_id=ALICE,
                session_id=session,
                subject_id=subjects["Math"],
                rating=5,
                now=WEDNESDAY,
            )
    assert await services.recognition.points_total(GUILD, ALICE) == session_points(5) == 15


async def test_the_ledger_is_append_only(db: Database, subjects: dict[str, int]) -> None:
    await confirm_session(
        db, mentor=ALICE, student=BOB, subject_id=subjects["Math"], rating=3, at=WEDNESDAY
    )
    for statement in ("UPDATE ledger SET points = 1000", "DELETE FROM ledger"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            async with db.transaction() as conn:
                await conn.execute(statement)


async def test_removing_a_class_removes_its_ledger(db: Database, subjects: dict[str, int]) -> None:
    """The append-only rule does not stand in the way of deleting a class's data on request."""
    await confirm_session(
        db, mentor=ALICE, student=BOB, subject_id=subjects["Math"], rating=3, at=WEDNESDAY
    )
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM classes WHERE guild_id = ?", (GUILD,))
    assert await count(db, "ledger") == 0


USERS = [ALICE, BOB, CAROL, DAN]
OPERATION = st.one_of(
    st.tuples(
        st.just("session"),
        st.sampled_from(USERS),
        st.integers(1, 5),
        st.sampled_from(["Math", "English"]),
        st.booleans(),
    ),
    st.tuples(
        st.just("award"),
        st.sampled_from(USERS),
        st.sampled_from(list(AwardKind)),
        st.one_of(st.none(), st.integers(1, 50)),
        st.booleans(),
    ),
    st.tuples(st.just("undo"), st.sampled_from(USERS)),
    st.tuples(st.just("wait"), st.integers(1, 6 * 24)),
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=st.lists(OPERATION, max_size=30))
async def test_ledger_totals_equal_the_sum_of_their_sources(
    operations: list[tuple[object, ...]],
) -> None:
    """Whatever happens (sessions, double confirmations, awards, replacements, undos), every
    total equals confirmed-session points plus the points of awards still standing."""
    with tempfile.TemporaryDirectory() as folder:
        # A copy of the migrated template (the same file a fresh migration makes): each of the
        # 30 examples migrating its own file was most of this test's time.
        db = await Database.open(await copy_migrated(Path(folder) / "property.db"))
        try:
            await db.migrate()
            clock = ManualClock(WEDNESDAY)
            services = build_services(Config(), db, clock)
            subject_ids = await set_up_class(services)
            session_model: defaultdict[int, int] = defaultdict(int)
            for operation in operations:
                match operation:
                    case ("session", int(mentor), int(rating), str(subject), bool(twice)):
                        student = ERIN
                        session = await confirm_session(
                            db,
                            mentor=mentor,
                            student=student,
                            subject_id=subject_ids[subject],
                            rating=rating,
                            at=clock.now(),
                        )
                        session_model[mentor] += session_points(rating)
                        if twice:
                            with pytest.raises(sqlite3.IntegrityError):
                                async with db.transaction() as conn:
                                    await credit_session(
                                        conn,
                                        guild_id=GUILD,
                                        mentor_id=mentor,
                                        session_id=session,
                                        subject_id=subject_ids[subject],
                                        rating=rating,
                                        now=clock.now(),
                                    )
                    case ("award", int(student), AwardKind() as kind, points, bool(private)):
                        try:
                            await services.recognition.give_award(
                                GUILD,
                                TEACHER,
                                student,
                                student_is_bot=False,
                                kind=kind,
                                reason="for the property test",
                                points=points if isinstance(points, int) else None,
                                private=private,
                            )
                        except UserFacingError:
                            pass  # e.g. the same tutor of the week twice: nothing written
                    case ("undo", int(student)):
                        try:
                            await services.recognition.undo_award(GUILD, TEACHER, student)
                        except UserFacingError:
                            pass
                    case ("wait", int(hours)):
                        clock.advance(timedelta(hours=hours))

            async with db.reading() as conn:
                sources: defaultdict[int, int] = defaultdict(int)
                async with conn.execute(
                    "SELECT mentor_id, rating FROM help_requests WHERE state = 'resolved'"
                ) as cur:
                    for mentor, rating in await cur.fetchall():
                        sources[mentor] += session_points(rating)
                async with conn.execute(
                    "SELECT user_id, SUM(points) FROM awards WHERE undone_at IS NULL"
                    " GROUP BY user_id"
                ) as cur:
                    for user, points in await cur.fetchall():
                        sources[user] += points
            for user in USERS:
                total = await services.recognition.points_total(GUILD, user)
                assert total == sources[user]
                assert total >= session_model[user]
            everyone = await services.recognition.leaderboard(GUILD, ALICE, Period.ALL_TIME)
            assert {e.user_id: e.points for e in everyone.shown} == {
                u: p for u, p in sources.items() if p > 0
            }
            async with db.reading() as conn:
                assert await ledger_sql.totals_mismatches(conn) == []
        finally:
            await db.close()


# ----- leaderboards -----------------------------------------------------------------------------


async def test_leaderboard_with_ties_and_the_callers_own_rank(
    services: Services, db: Database, subjects: dict[str, int]
) -> None:
    math = subjects["Math"]
    # Alice 30, Bob 15, Carol 15 (tie), Dan 10.
    for mentor, rating in [(ALICE, 5), (ALICE, 5), (BOB, 4), (CAROL, 5), (DAN, 1)]:
        await confirm_session(
            db, mentor=mentor, student=ERIN, subject_id=math, rating=rating, at=WEDNESDAY
        )
    board = await services.recognition.leaderboard(GUILD, DAN, Period.THIS_WEEK)
    assert [(e.rank, e.user_id, e.points) for e in board.shown] == [
        (1, ALICE, 30),
        (2, BOB, 15),
        (2, CAROL, 15),
        (4, DAN, 10),
    ]
    assert board.own is None  # Dan is shown already
    assert board.caller_points == 10
    nobody = await services.recognition.leaderboard(GUILD, ERIN, Period.THIS_WEEK)
    assert nobody.own is None and nobody.caller_points == 0


async def test_leaderboard_shows_top_ten_and_the_caller_below(
    services: Services, db: Database, subjects: dict[str, int]
) -> None:
    mentors = list(range(200, 212))  # twelve mentors, the last with the fewest points
    for place, mentor in enumerate(mentors):
        for _ in range(len(mentors) - place):
            await confirm_session(
                db,
                mentor=mentor,
                student=ERIN,
                subject_id=subjects["Math"],
                rating=3,
                at=WEDNESDAY,
            )
    board = await services.recognition.leaderboard(GUILD, mentors[-1], "this_week")
    assert len(board.shown) == 10
    assert board.own is not None
    assert (board.own.rank, board.own.user_id, board.own.points) == (12, mentors[-1], 10)
    assert board.participants == 12


async def test_subject_leaderboard_counts_sessions_only(
    services: Services, db: Database, subjects: dict[str, int]
) -> None:
    await confirm_session(
        db, mentor=ALICE, student=ERIN, subject_id=subjects["Math"], rating=5, at=WEDNESDAY
    )
    await confirm_session(
        db, mentor=BOB, student=ERIN, subject_id=subjects["English"], rating=5, at=WEDNESDAY
    )
    await services.recognition.give_award(
        GUILD, TEACHER, BOB, student_is_bot=False, kind="gold_star"
    )
    board = await services.recognition.leaderboard(GUILD, BOB, Period.THIS_WEEK, "math")
    assert board.subject == "Math"
    assert [(e.user_id, e.points) for e in board.shown] == [(ALICE, 15)]
    english = await services.recognition.leaderboard(GUILD, BOB, Period.THIS_WEEK, "English")
    assert [(e.user_id, e.points) for e in english.shown] == [(BOB, 15)]
    with pytest.raises(InvalidInput, match="no subject called"):
        await services.recognition.leaderboard(GUILD, BOB, Period.THIS_WEEK, "Latin")


@pytest.mark.parametrize(
    ("zone", "late_sunday_utc"),
    [
        # Sunday 23:30 local, which is already Monday in UTC (or still Sunday ahead of it).
        ("America/New_York", datetime(2026, 11, 23, 4, 30, tzinfo=UTC)),
        ("Australia/Sydney", datetime(2026, 11, 22, 12, 30, tzinfo=UTC)),
        ("Europe/London", datetime(2026, 11, 22, 23, 30, tzinfo=UTC)),
    ],
)
async def test_leaderboard_weeks_follow_the_class_zone(
    services: Services, db: Database, clock: ManualClock, zone: str, late_sunday_utc: datetime
) -> None:
    subject_ids = await set_up_class(services, timezone=zone)
    await confirm_session(
        db, mentor=ALICE, student=ERIN, subject_id=subject_ids["Math"], rating=3, at=late_sunday_utc
    )
    await confirm_session(
        db,
        mentor=BOB,
        student=ERIN,
        subject_id=subject_ids["Math"],
        rating=3,
        at=late_sunday_utc + timedelta(hours=1),  # Monday 00:30 local: the next week
    )
    clock.set(late_sunday_utc + timedelta(days=1))
    last_week = await services.recognition.leaderboard(GUILD, ALICE, Period.LAST_WEEK)
    this_week = await services.recognition.leaderboard(GUILD, ALICE, Period.THIS_WEEK)
    assert [e.user_id for e in last_week.shown] == [ALICE]
    assert [e.user_id for e in this_week.shown] == [BOB]


# ----- the weekly post --------------------------------------------------------------------------


async def test_weekly_post_is_claimed_once_and_only_when_due(
    services: Services, clock: ManualClock, subjects: dict[str, int]
) -> None:
    assert await services.recognition.claim_weekly_post(GUILD) is None  # Wednesday: too early
    assert not (await services.recognition.due_now(GUILD)).post
    clock.set(FRIDAY_POST)
    assert (await services.recognition.due_now(GUILD)).post
    summary = await services.recognition.claim_weekly_post(GUILD)
    assert summary is not None
    assert summary.week_key == "2026-11-16"
    assert summary.channel_id == ANNOUNCEMENTS
    assert await services.recognition.claim_weekly_post(GUILD) is None  # claimed: never twice
    assert not (await services.recognition.due_now(GUILD)).post
    await services.recognition.post_sent(GUILD, summary.week_key, PostKind.LEADERBOARD, 20, 555)
    await services.recognition.post_failed(GUILD, summary.week_key, PostKind.LEADERBOARD)
    assert await services.recognition.claim_weekly_post(GUILD) is None  # a sent post stays sent
    clock.set(NEXT_MONDAY)
    assert await services.recognition.claim_weekly_post(GUILD) is None  # next week: not yet


@pytest.mark.usefixtures("subjects")
async def test_a_refused_post_is_released_for_a_retry(
    services: Services, clock: ManualClock
) -> None:
    clock.set(FRIDAY_POST + timedelta(hours=2))
    first = await services.recognition.claim_weekly_post(GUILD)
    assert first is not None
    await services.recognition.post_failed(GUILD, first.week_key, PostKind.LEADERBOARD)
    assert (await services.recognition.due_now(GUILD)).post
    assert await services.recognition.claim_weekly_post(GUILD) is not None


@pytest.mark.usefixtures("subjects")
async def test_a_missed_week_is_not_posted_late(services: Services, clock: ManualClock) -> None:
    clock.set(NEXT_MONDAY + timedelta(hours=10))
    assert not (await services.recognition.due_now(GUILD)).post
    assert await services.recognition.claim_weekly_post(GUILD) is None


async def test_a_class_set_up_after_the_post_time_starts_next_week(
    services: Services, clock: ManualClock
) -> None:
    clock.set(FRIDAY_POST + timedelta(hours=1))
    await set_up_class(services)
    assert not (await services.recognition.due_now(GUILD)).post
    assert await services.recognition.claim_weekly_post(GUILD) is None


@pytest.mark.usefixtures("subjects")
async def test_moving_the_post_earlier_catches_up_this_week(
    services: Services, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 11, 19, 12, 0, tzinfo=UTC))  # Thursday noon
    assert not (await services.recognition.due_now(GUILD)).post
    await services.classes.setup(GUILD, TEACHER, post_weekday=2, post_time="10:00")  # Wednesday
    assert (await services.recognition.due_now(GUILD)).post
    assert await services.recognition.claim_weekly_post(GUILD) is not None


@pytest.mark.usefixtures("subjects")
async def test_an_empty_week_is_flagged_for_an_encouraging_post(
    services: Services, clock: ManualClock
) -> None:
    clock.set(FRIDAY_POST)
    summary = await services.recognition.claim_weekly_post(GUILD)
    assert summary is not None
    assert summary.empty
    assert summary.confirmed_sessions == 0


async def test_weekly_summary_holds_the_weeks_praise(
    services: Services, db: Database, clock: ManualClock, subjects: dict[str, int]
) -> None:
    math = subjects["Math"]
    last_week = WEDNESDAY - timedelta(days=7)
    await confirm_session(db, mentor=DAN, student=ERIN, subject_id=math, rating=5, at=last_week)
    for mentor, student in [(ALICE, ERIN), (ALICE, CAROL), (BOB, ERIN)]:
        await confirm_session(
            db, mentor=mentor, student=student, subject_id=math, rating=4, at=WEDNESDAY
        )
    await services.recognition.give_award(
        GUILD, TEACHER, BOB, student_is_bot=False, kind="gold_star", reason="Kind words"
    )
    await services.recognition.give_award(
        GUILD, TEACHER, CAROL, student_is_bot=False, kind="effort", private=True
    )
    await services.recognition.give_award(
        GUILD, TEACHER, ALICE, student_is_bot=False, kind="tutor_of_the_week"
    )
    clock.set(FRIDAY_POST)
    summary = await services.recognition.claim_weekly_post(GUILD)
    assert summary is not None and not summary.empty
    assert summary.confirmed_sessions == 3
    assert [(e.rank, e.user_id, e.points) for e in summary.top] == [
        (1, ALICE, 50),
        (2, BOB, 20),
        (3, CAROL, 3),
    ]
    assert summary.tutor is not None and summary.tutor.user_id == ALICE
    # Private awards are not shouted out; the tutor of the week has its own line.
    assert [(a.user_id, a.reason) for a in summary.shout_outs] == [(BOB, "Kind words")]


# ----- the tutor-of-the-week suggestion ---------------------------------------------------------


async def test_suggestion_goes_out_the_day_before_and_its_button_awards_once(
    services: Services, db: Database, clock: ManualClock, subjects: dict[str, int]
) -> None:
    math = subjects["Math"]
    # Alice helps three different classmates; Bob helps the same friend three times.
    for student in (CAROL, DAN, ERIN):
        await confirm_session(
            db, mentor=ALICE, student=student, subject_id=math, rating=4, at=WEDNESDAY
        )
    for _ in range(3):
        await confirm_session(db, mentor=BOB, student=DAN, subject_id=math, rating=5, at=WEDNESDAY)
    assert await services.recognition.claim_suggestion(GUILD) is None  # Wednesday: too early
    clock.set(THURSDAY_SUGGESTION)
    assert (await services.recognition.due_now(GUILD)).suggestion
    suggestion = await services.recognition.claim_suggestion(GUILD)
    assert suggestion is not None
    assert suggestion.channel_id == MENTORS
    assert suggestion.week_key == "2026-11-16"
    assert suggestion.post_at == FRIDAY_POST
    assert suggestion.suggestion is not None
    assert suggestion.suggestion.user_id == ALICE
    assert suggestion.suggestion.distinct_mentees == 3
    assert suggestion.well_rated
    assert await services.recognition.claim_suggestion(GUILD) is None  # once

    with pytest.raises(NotFound):
        await services.recognition.award_suggested(GUILD, TEACHER, "2026-11-16", BOB)
    result = await services.recognition.award_suggested(GUILD, TEACHER, "2026-11-16", ALICE)
    assert result.award.kind is AwardKind.TUTOR_OF_THE_WEEK
    assert result.shout_out_channel_id == ANNOUNCEMENTS
    with pytest.raises(Conflict, match="Already done"):
        await services.recognition.award_suggested(GUILD, TEACHER, "2026-11-16", ALICE)
    assert await services.recognition.points_total(GUILD, ALICE) == 3 * 15 + 20


@pytest.mark.usefixtures("subjects")
async def test_suggestion_is_skipped_once_its_post_is_out(
    services: Services, clock: ManualClock
) -> None:
    clock.set(FRIDAY_POST + timedelta(minutes=1))
    assert not (await services.recognition.due_now(GUILD)).suggestion
    assert await services.recognition.claim_suggestion(GUILD) is None


async def test_suggestion_respects_a_tutor_already_chosen(
    services: Services, db: Database, clock: ManualClock, subjects: dict[str, int]
) -> None:
    await confirm_session(
        db, mentor=ALICE, student=ERIN, subject_id=subjects["Math"], rating=5, at=WEDNESDAY
    )
    await services.recognition.give_award(
        GUILD, TEACHER, BOB, student_is_bot=False, kind="tutor_of_the_week"
    )
    clock.set(THURSDAY_SUGGESTION)
    suggestion = await services.recognition.claim_suggestion(GUILD)
    assert suggestion is not None
    assert suggestion.suggestion is None
    assert suggestion.already_awarded is not None
    assert suggestion.already_awarded.user_id == BOB


@pytest.mark.usefixtures("subjects")
async def test_suggestion_with_no_sessions_suggests_nobody(
    services: Services, clock: ManualClock
) -> None:
    clock.set(THURSDAY_SUGGESTION + timedelta(hours=3))
    suggestion = await services.recognition.claim_suggestion(GUILD)
    assert suggestion is not None
    assert suggestion.suggestion is None and suggestion.already_awarded is None


async def test_a_monday_post_is_suggested_from_the_week_just_ending(
    services: Services, db: Database, clock: ManualClock, subjects: dict[str, int]
) -> None:
    await services.classes.setup(GUILD, TEACHER, post_weekday=0, post_time="09:00")
    await confirm_session(
        db, mentor=ALICE, student=ERIN, subject_id=subjects["Math"], rating=5, at=WEDNESDAY
    )
    clock.set(datetime(2026, 11, 22, 9, 0, tzinfo=UTC))  # Sunday 09:00, the day before
    suggestion = await services.recognition.claim_suggestion(GUILD)
    assert suggestion is not None
    assert suggestion.week_key == "2026-11-23"  # it prepares Monday's post
    assert suggestion.suggestion is not None and suggestion.suggestion.user_id == ALICE
