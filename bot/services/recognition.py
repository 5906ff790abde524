"""Recognition use cases: awards, the points ledger, leaderboards and the weekly post.

Totals are sums over the append-only ledger, read from totals the store maintains. A confirmed help session is credited once
(:func:`credit_session`, called by the help-request service inside its own transaction); an award
writes its ledger entry in the same transaction as the award, and an undo appends the negation.

The weekly post and the teacher's tutor-of-the-week suggestion are *claimed* in ``weekly_posts``
before they are sent: see :meth:`RecognitionService.claim_weekly_post`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.clock import Clock
from bot.domain.classroom import ClassSettings
from bot.domain.gains import DayRange
from bot.domain.lessons import PairPrize, pair_winners
from bot.domain.points import (
    DEFAULT_AWARD_POINTS,
    GOOD_RATING,
    AwardKind,
    LedgerReason,
    MentorWeekStats,
    RankedEntry,
    award_points,
    rank_totals,
    session_points,
    suggest_tutor_of_week,
    undo_delta,
)
from bot.domain.shoutouts import (
    LEADERBOARD_TOP,
    POST_TOP_MENTORS,
    UNDO_WINDOW,
    Award,
    PostKind,
    award_week,
    clean_reason,
    suggestion_slot,
    weekly_post_due,
)
from bot.domain.weeks import Period, period_bounds, week_bounds, week_key, week_start
from bot.errors import Conflict, InvalidInput, NotFound
from bot.services.classes import ClassService
from bot.services.progress import pair_gains
from db import awards as award_sql
from db import classes as class_sql
from db import ledger as ledger_sql
from db import scores as score_sql
from db import shout_outs as outbox_sql
from db import weekly_posts as post_sql
from db.database import Connection, Database

SUGGESTED_REASON = "For helping classmates the most this week"


async def credit_session(
    conn: Connection,
    *,
    guild_id: int,
    mentor_id: int,
    session_id: int,
    subject_id: int,
    rating: int,
    now: datetime,
) -> int:
    """Credit a mentor for a confirmed session; returns the ledger entry's id.

    Call it inside the transaction that confirms the session. Points come from
    :func:`bot.domain.points.session_points` (base, plus a bonus for a good rating). Crediting
    the same session twice raises ``sqlite3.IntegrityError`` (the ledger's unique index), which
    rolls the caller's transaction back: a session never counts twice.
    """
    return await ledger_sql.add_entry(
        conn,
        guild_id=guild_id,
        user_id=mentor_id,
        points=session_points(rating),
        reason=LedgerReason.SESSION,
        created_at=now,
        subject_id=subject_id,
        session_id=session_id,
    )


@dataclass(frozen=True)
class AwardResult:
    """A recorded award, and where its shout-out goes (``None``: private, or no channel)."""

    award: Award
    replaced: Award | None  # the tutor of the week this award replaced
    shout_out_channel_id: int | None


@dataclass(frozen=True)
class ShoutOutLine:
    """One award's part of a posted shout-out message, as it stands now."""

    award: Award
    replaced_by: Award | None  # an undone tutor of the week: who holds the title now

    @property
    def standing(self) -> bool:
        """The award was not undone (or replaced) since."""
        return self.award.undone_at is None


@dataclass(frozen=True)
class Leaderboard:
    """What `/leaderboard` shows one caller."""

    period: Period
    start: datetime | None  # UTC; None = unbounded
    end: datetime | None
    timezone: str
    subject: str | None  # a subject board counts confirmed sessions only
    shown: list[RankedEntry]
    own: RankedEntry | None  # the caller's line when they are below the top
    caller_points: int
    participants: int


@dataclass(frozen=True)
class WeeklySummary:
    """The week's post for the whole class: gains and praise only."""

    guild_id: int
    week_key: str
    channel_id: int
    week_start: datetime
    week_end: datetime
    timezone: str
    top: list[RankedEntry]
    tutor: Award | None
    shout_outs: list[Award]  # public awards this week, tutor of the week excluded
    confirmed_sessions: int
    # The week's biggest-gains mentor/mentee pair(s), when the teacher turned the prize on.
    pair_prizes: list[PairPrize] = dataclasses.field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing happened yet: the post encourages instead of showing an empty table."""
        return not (self.top or self.tutor or self.shout_outs or self.confirmed_sessions)


@dataclass(frozen=True)
class TutorSuggestion:
    """The day-before notice to the teacher: a suggested tutor of the week, or why there is none."""

    guild_id: int
    week_key: str
    channel_id: int
    post_at: datetime
    suggestion: MentorWeekStats | None
    well_rated: bool
    already_awarded: Award | None


@dataclass(frozen=True)
class DueNow:
    """What a class is owed right now (after a restart or a schedule change)."""

    post: bool
    suggestion: bool


class RecognitionService:
    """Awards, leaderboards and the weekly post, over the ledger."""

    def __init__(self, db: Database, clock: Clock, classes: ClassService) -> None:
        self._db = db
        self._clock = clock
        self._classes = classes

    # ----- awards -------------------------------------------------------------------------

    async def give_award(
        self,
        guild_id: int,
        actor_id: int,
        student_id: int,
        *,
        student_is_bot: bool,
        kind: AwardKind | str,
        reason: str | None = None,
        points: int | None = None,
        private: bool = False,
    ) -> AwardResult:
        """A teacher's award (the caller checked the teacher role); nothing is written if refused.

        A second tutor of the week in the same class week replaces the first: the first is
        marked undone and its points are taken back in the same transaction.
        """
        settings = await self._classes.require_configured(guild_id)
        if student_is_bot:
            raise InvalidInput("Awards are for classmates, not bots.")
        if student_id == actor_id:
            raise InvalidInput("You can't give yourself an award.")
        try:
            award_kind = AwardKind(kind)
        except ValueError:
            raise InvalidInput("Pick an award kind from the list.") from None
        try:
            text = clean_reason(reason)
            worth = award_points(award_kind, points)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        if award_kind is AwardKind.CUSTOM and not text:
            raise InvalidInput("A custom award needs a reason, so the class knows what it is for.")
        now = self._clock.now()
        week = award_week(now, settings.zone)
        async with self._db.transaction(guild_id=guild_id) as conn:
            replaced = None
            if award_kind is AwardKind.TUTOR_OF_THE_WEEK:
                current = await award_sql.tutor_of_the_week(conn, guild_id, week)
                if current is not None and current.user_id == student_id:
                    raise Conflict(f"<@{student_id}> is already this week's tutor of the week.")
                if current is not None:
                    replaced = await _take_back(conn, current, actor_id, now)
            channel = None if private else settings.announcements_channel_id
            written = await _grant(
                conn,
                award_sql.NewAward(
                    guild_id=guild_id,
                    user_id=student_id,
                    kind=award_kind,
                    reason=text,
                    points=worth,
                    private=private,
                    week_key=week,
                    awarded_by=actor_id,
                    awarded_at=now,
                ),
                shout_out_channel_id=channel,
            )
        return AwardResult(award=written(), replaced=replaced, shout_out_channel_id=channel)

    # ----- shout-outs (posted from the outbox, several to a message) ------------------------

    async def pending_private_dms(self) -> list[Award]:
        """Private awards whose DM a stop left unsent (start-up sends them)."""
        async with self._db.reading() as conn:
            return await award_sql.pending_dms(conn)

    async def private_dm_done(self, award: Award, delivered: bool) -> None:
        """The student has the private award's DM (or their DMs are closed): never again."""
        async with self._db.statement() as conn:
            await award_sql.mark_dm(conn, award.id, delivered)

    async def shout_out_channels(self) -> list[int]:
        """Channels with shout-outs waiting to be posted (at start-up: what a stop left behind)."""
        async with self._db.reading() as conn:
            return await outbox_sql.channels_waiting(conn)

    async def waiting_shout_outs(self, channel_id: int) -> list[Award]:
        """Standing awards whose shout-out waits for this channel; withdrawn ones are dropped."""
        async with self._db.transaction() as conn:
            await outbox_sql.drop_withdrawn(conn, channel_id)
            return await outbox_sql.waiting(conn, channel_id)

    async def shout_outs_posted(
        self, channel_id: int, message_id: int, award_ids: list[int]
    ) -> list[ShoutOutLine]:
        """Record the message that carried these shout-outs; returns its lines as they stand now.

        An award undone or replaced while its message was on its way shows in the result as
        such, so the sender can correct the message at once.
        """
        async with self._db.transaction() as conn:
            await outbox_sql.mark_posted(conn, award_ids, channel_id, message_id)
            lines = await _message_lines(conn, channel_id, message_id)
            if not all(line.standing for line in lines):
                guild_id = lines[0].award.guild_id
                await outbox_sql.enqueue_correction(
                    conn, channel_id, message_id, guild_id, self._clock.now()
                )
        return lines

    async def corrections_waiting(self, channel_id: int) -> list[tuple[int, int]]:
        """Posted messages in a channel to correct: ``(message_id, guild_id)``."""
        async with self._db.reading() as conn:
            return await outbox_sql.corrections_waiting(conn, channel_id)

    async def correction_done(self, channel_id: int, message_id: int) -> None:
        """A posted message now says what stands."""
        async with self._db.transaction() as conn:
            await outbox_sql.correction_done(conn, channel_id, message_id)

    async def shout_out_message(self, channel_id: int, message_id: int) -> list[ShoutOutLine]:
        """What one posted shout-out message should say now (awards undone or replaced since)."""
        async with self._db.reading() as conn:
            return await _message_lines(conn, channel_id, message_id)

    async def undo_award(self, guild_id: int, actor_id: int, student_id: int) -> Award:
        """Undo a student's most recent award from the last 7 days; returns it, now undone.

        The award row is kept (marked undone) and the ledger gets a negative entry.
        """
        await self._classes.require_configured(guild_id)
        now = self._clock.now()
        async with self._db.transaction(guild_id=guild_id) as conn:
            award = await award_sql.latest_for_student(
                conn, guild_id, student_id, now - UNDO_WINDOW
            )
            if award is None:
                raise NotFound(
                    f"<@{student_id}> has no award from the last {UNDO_WINDOW.days} days to undo."
                )
            return await _take_back(conn, award, actor_id, now)

    async def award_suggested(
        self, guild_id: int, actor_id: int, week: str, user_id: int
    ) -> AwardResult:
        """The suggestion's one-click "Award": tutor of the week for that week, exactly once."""
        settings = await self._classes.require_configured(guild_id)
        if actor_id == user_id:
            raise InvalidInput("You can't give yourself an award.")
        now = self._clock.now()
        # The suggestion is identified by its slot's week; the award goes to the week it is
        # given in, by the same rule as `/award give`.
        given_week = award_week(now, settings.zone)
        async with self._db.transaction() as conn:
            record = await post_sql.get(conn, guild_id, week, PostKind.SUGGESTION)
            if record is None or record.suggested_user_id != user_id:
                raise NotFound("This suggestion is no longer valid.")
            if record.awarded_at is not None:
                raise Conflict(f"Already done: <@{user_id}> was made tutor of the week.")
            current = await award_sql.tutor_of_the_week(conn, guild_id, given_week)
            if current is not None and current.user_id == user_id:
                raise Conflict(f"Already done: <@{user_id}> is tutor of the week.")
            if current is not None:
                raise Conflict(
                    f"<@{current.user_id}> is already tutor of the week for that week. To change "
                    "it, use `/award give` with the kind *Tutor of the week*."
                )
            if not await post_sql.mark_suggestion_used(conn, guild_id, week, user_id, now):
                raise Conflict(f"Already done: <@{user_id}> was made tutor of the week.")
            channel = settings.announcements_channel_id
            written = await _grant(
                conn,
                award_sql.NewAward(
                    guild_id=guild_id,
                    user_id=user_id,
                    kind=AwardKind.TUTOR_OF_THE_WEEK,
                    reason=SUGGESTED_REASON,
                    points=DEFAULT_AWARD_POINTS[AwardKind.TUTOR_OF_THE_WEEK],
                    private=False,
                    week_key=given_week,
                    awarded_by=actor_id,
                    awarded_at=now,
                ),
                shout_out_channel_id=channel,
            )
        return AwardResult(award=written(), replaced=None, shout_out_channel_id=channel)

    # ----- leaderboard --------------------------------------------------------------------

    async def _term_monday(self, guild_id: int) -> date | None:
        """The Monday of the week the class's term starts (totals are kept per week)."""
        term = await self._classes.term(guild_id)
        if term is None:
            return None
        return term.start - timedelta(days=term.start.weekday())

    async def leaderboard(
        self,
        guild_id: int,
        caller_id: int,
        period: Period | str = Period.THIS_WEEK,
        subject_name: str | None = None,
    ) -> Leaderboard:
        """Top 10 by points gained in the period, plus the caller's own rank; ties share a rank."""
        settings = await self._classes.require_configured(guild_id)
        try:
            window = Period(period)
        except ValueError:
            raise InvalidInput("Pick a period from the list.") from None
        subject = await self._classes.subject(guild_id, subject_name) if subject_name else None
        now = self._clock.now()
        term_start = await self._term_monday(guild_id) if window is Period.TERM else None
        start, end = period_bounds(window, now, settings.zone, term_start)
        async with self._db.reading() as conn:
            board = await ledger_sql.board(
                conn,
                guild_id,
                ledger_sql.totals_window(window, now, settings.zone, term_start),
                caller_id=caller_id,
                top=LEADERBOARD_TOP,
                subject_id=subject.id if subject else None,
            )
        return Leaderboard(
            period=window,
            start=start,
            end=end,
            timezone=settings.timezone,
            subject=subject.name if subject else None,
            shown=board.shown,
            own=board.own,
            caller_points=board.caller_points,
            participants=board.participants,
        )

    async def points_total(self, guild_id: int, user_id: int) -> int:
        """A student's all-time points: the sum of their ledger entries (kept as a total)."""
        async with self._db.reading() as conn:
            return await ledger_sql.user_total(conn, guild_id, user_id)

    # ----- the weekly post and the suggestion ---------------------------------------------

    async def due_now(self, guild_id: int) -> DueNow:
        """Whether this week's post or suggestion is owed now (start-up and schedule changes)."""
        settings = await self._classes.get(guild_id)
        if settings is None or not settings.configured:
            return DueNow(post=False, suggestion=False)
        now = self._clock.now()
        slot = suggestion_slot(now, settings.zone, settings.post_weekday, settings.post_time)
        async with self._db.reading() as conn:
            posted = await post_sql.get(
                conn, guild_id, week_key(now, settings.zone), PostKind.LEADERBOARD
            )
            suggested = await post_sql.get(conn, guild_id, slot.week_key, PostKind.SUGGESTION)
        return DueNow(
            post=_post_due(settings, now, posted=posted is not None),
            suggestion=suggested is None and _suggestion_open(settings, now),
        )

    async def _weekly_pair_prizes(
        self, conn: Connection, settings: ClassSettings, start: datetime, end: datetime
    ) -> list[PairPrize]:
        """The week's biggest-gains mentor/mentee pair(s), when the teacher turned it on.

        The pair rule is the progress one: the mentee's gain from the last quiz before their
        first session together this week to the first quiz after the last one, in that
        session's subject. Ties share; nobody is named without a rise. Naming only: a lesson's
        pair prize carries the points, so the same progress is never paid twice.
        """
        guild_id = settings.guild_id
        if not await post_sql.pair_prize_enabled(conn, guild_id):
            return []
        candidates: list[tuple[int, int, float]] = []
        for subject in await class_sql.list_subjects(conn, guild_id):
            sessions = await score_sql.confirmed_sessions(conn, guild_id, subject.id, start, end)
            points = []
            for mentee in sorted({student for student, _, _ in sessions}):
                points += await score_sql.subject_points(conn, guild_id, subject.id, user_id=mentee)
            for pair in pair_gains(points, sessions, DayRange(None, None), settings):
                candidates.append((pair.mentor_id, pair.mentee_id, pair.gain.points))
        return pair_winners(candidates)

    async def set_weekly_pair_prize(self, guild_id: int, enabled: bool) -> None:
        """Turn the weekly post's biggest-gains pair prize on or off (a teacher's choice)."""
        await self._classes.require_configured(guild_id)
        async with self._db.transaction() as conn:
            await post_sql.set_pair_prize(conn, guild_id, enabled)

    async def claim_weekly_post(self, guild_id: int) -> WeeklySummary | None:
        """Claim this week's post and return its content; ``None`` if not due or already claimed.

        Claimed *before* sending, in one transaction (``INSERT ... ON CONFLICT DO NOTHING``):
        two jobs firing at once, or a restart, can never both send. After sending call
        :meth:`post_sent`; if Discord refuses the message call :meth:`post_failed`, which drops
        the claim so the post is retried. So a post goes out at most once per week per message
        Discord accepted (a crash between claim and send loses that week's post rather than
        risking two).
        """
        settings = await self._classes.get(guild_id)
        if settings is None or not settings.configured or not settings.announcements_channel_id:
            return None
        now = self._clock.now()
        week = week_key(now, settings.zone)
        async with self._db.transaction(guild_id=guild_id) as conn:
            posted = await post_sql.get(conn, guild_id, week, PostKind.LEADERBOARD)
            if not _post_due(settings, now, posted=posted is not None):
                return None
            if not await post_sql.claim(conn, guild_id, week, PostKind.LEADERBOARD, now):
                return None
            start, end = week_bounds(now, settings.zone)
            this_week = ledger_sql.totals_window(Period.THIS_WEEK, now, settings.zone)
            ranked = rank_totals(await ledger_sql.period_totals(conn, guild_id, this_week))
            tutor = await award_sql.tutor_of_the_week(conn, guild_id, week)
            if tutor is not None and tutor.private:
                tutor = None
            awards = await award_sql.public_awards_between(conn, guild_id, start, end)
            sessions = await post_sql.confirmed_session_count(conn, guild_id, start, end)
            prizes = await self._weekly_pair_prizes(conn, settings, start, end)
        return WeeklySummary(
            guild_id=guild_id,
            week_key=week,
            channel_id=settings.announcements_channel_id,
            week_start=start,
            week_end=end,
            timezone=settings.timezone,
            # Ties at the last place all make it: nobody is left off for having a larger id.
            top=[entry for entry in ranked if entry.rank <= POST_TOP_MENTORS][:LEADERBOARD_TOP],
            tutor=tutor,
            shout_outs=[a for a in awards if a.kind is not AwardKind.TUTOR_OF_THE_WEEK],
            confirmed_sessions=sessions,
            pair_prizes=prizes,
        )

    async def claim_suggestion(self, guild_id: int) -> TutorSuggestion | None:
        """Claim the day-before suggestion and compute it; ``None`` if not due or already sent.

        Only sent between its time and the post it prepares: a late one is useless and skipped.
        Same claim-before-send rule as :meth:`claim_weekly_post`.
        """
        settings = await self._classes.get(guild_id)
        if settings is None or not settings.configured or not settings.mentors_channel_id:
            return None
        now = self._clock.now()
        if not _suggestion_open(settings, now):
            return None
        tz = settings.zone
        slot = suggestion_slot(now, tz, settings.post_weekday, settings.post_time)
        # The post's week so far; for a Monday post (suggested on Sunday) the week just ending.
        since = min(week_start(slot.post_at, tz), week_start(now, tz))
        async with self._db.transaction() as conn:
            stats = await post_sql.mentor_week_stats(conn, guild_id, since, now)
            already = await award_sql.tutor_of_the_week(conn, guild_id, award_week(now, tz))
            pick = None if already is not None else suggest_tutor_of_week(stats)
            claimed = await post_sql.claim(
                conn,
                guild_id,
                slot.week_key,
                PostKind.SUGGESTION,
                now,
                suggested_user_id=pick.user_id if pick else None,
            )
            if not claimed:
                return None
        return TutorSuggestion(
            guild_id=guild_id,
            week_key=slot.week_key,
            channel_id=settings.mentors_channel_id,
            post_at=slot.post_at,
            suggestion=pick,
            well_rated=bool(
                pick and pick.average_rating is not None and pick.average_rating >= GOOD_RATING
            ),
            already_awarded=already,
        )

    async def post_sent(
        self, guild_id: int, week: str, kind: PostKind, channel_id: int, message_id: int
    ) -> None:
        """Record the message of a claimed post or suggestion."""
        async with self._db.transaction() as conn:
            await post_sql.mark_sent(
                conn,
                guild_id,
                week,
                kind,
                channel_id=channel_id,
                message_id=message_id,
                now=self._clock.now(),
            )

    async def post_failed(self, guild_id: int, week: str, kind: PostKind) -> None:
        """Discord refused a claimed post: drop the claim so it can be sent again."""
        async with self._db.transaction() as conn:
            await post_sql.release(conn, guild_id, week, kind)


def _post_due(settings: ClassSettings, now: datetime, *, posted: bool) -> bool:
    return weekly_post_due(
        now,
        settings.zone,
        settings.post_weekday,
        settings.post_time,
        posted_this_week=posted,
        configured_at=settings.configured_at,
    )


def _suggestion_open(settings: ClassSettings, now: datetime) -> bool:
    slot = suggestion_slot(now, settings.zone, settings.post_weekday, settings.post_time)
    configured_in_time = settings.configured_at is None or settings.configured_at <= slot.suggest_at
    return slot.open_at(now) and configured_in_time


async def _grant(
    conn: Connection, new: award_sql.NewAward, *, shout_out_channel_id: int | None
) -> Callable[[], Award]:
    """Write an award, its shout-out (to ``shout_out_channel_id``, if any) and its ledger entry
    inside the caller's transaction; returns how to get the award once it has committed.

    On SQLite none of the three needs a hop of its own: they go to the database with the
    COMMIT (or the transaction's next statement), naming the new award by the id SQLite just
    gave it (see :func:`db.awards.insert_award`), so the write lock is held one hop shorter.
    """
    award_id, written = await award_sql.insert_award(conn, new)
    if shout_out_channel_id is not None:
        # Before the ledger entry: the outbox's key is the award's id, so the entry after it
        # still sees that id as the last one inserted.
        await outbox_sql.enqueue(
            conn, award_id, new["guild_id"], shout_out_channel_id, new["awarded_at"]
        )
    await ledger_sql.append_entry(
        conn,
        guild_id=new["guild_id"],
        user_id=new["user_id"],
        points=new["points"],
        reason=LedgerReason.AWARD,
        created_at=new["awarded_at"],
        award_id=award_id,
        created_by=new["awarded_by"],
    )
    return written


async def _message_lines(conn: Connection, channel_id: int, message_id: int) -> list[ShoutOutLine]:
    lines = []
    for award in await outbox_sql.in_message(conn, channel_id, message_id):
        replaced_by = None
        if award.undone_at is not None and award.kind is AwardKind.TUTOR_OF_THE_WEEK:
            replaced_by = await award_sql.tutor_of_the_week(conn, award.guild_id, award.week_key)
        lines.append(ShoutOutLine(award=award, replaced_by=replaced_by))
    return lines


async def _take_back(conn: Connection, award: Award, actor_id: int, now: datetime) -> Award:
    """Mark an award undone and append the negating ledger entry; returns it, undone.

    A shout-out already posted is queued for correction in the same transaction.
    """
    if not await award_sql.mark_undone(conn, award.id, actor_id, now):
        raise Conflict("That award was already undone.")
    if award.channel_id is not None and award.message_id is not None:
        await outbox_sql.enqueue_correction(
            conn, award.channel_id, award.message_id, award.guild_id, now
        )
    await ledger_sql.append_entry(
        conn,
        guild_id=award.guild_id,
        user_id=award.user_id,
        points=undo_delta(award.points),
        reason=LedgerReason.UNDO,
        created_at=now,
        award_id=award.id,
        created_by=actor_id,
    )
    return dataclasses.replace(award, undone_at=now)
