"""Class goals: set, follow, reach (exactly once), cancel, or close at the deadline.

Reaching a goal is decided inside one write transaction: the figure is counted and the goal is
closed by a conditional update from 'open', so two sessions confirming at the same moment give
one winner, and that winner's transaction also records the celebration post as pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from bot.clock import Clock
from bot.domain.gains import DayRange, class_gains, local_day
from bot.domain.goals import (
    Goal,
    GoalMetric,
    GoalState,
    check_target,
    clean_reward,
    parse_metric,
    reached,
)
from bot.domain.score_csv import parse_day
from bot.errors import Conflict, InvalidInput, NotFound
from bot.services.classes import ClassService
from db import classes as class_sql
from db import goals as goal_sql
from db import scores as score_sql
from db.database import Connection, Database
from db.errors import IntegrityError

NO_GOAL = "The class has no goal right now. A teacher sets one with `/goal set`."


@dataclass(frozen=True)
class GoalProgress:
    """A goal and where the class is."""

    goal: Goal
    value: float


class GoalService:
    """Use cases of class goals."""

    def __init__(self, db: Database, clock: Clock, classes: ClassService) -> None:
        self._db = db
        self._clock = clock
        self._classes = classes
        # Classes known to have no open goal: `check` runs after every award and confirmed
        # session, and most classes have no goal. Learnt inside `check`'s transaction (the write
        # lock keeps `set` out meanwhile) and dropped by `set` once its goal is committed; the
        # sweep checks every open goal in the database regardless (another process's `/goal set`
        # during a rolling restart).
        self._without_goal: set[int] = set()

    async def set(
        self,
        guild_id: int,
        teacher_id: int,
        metric: str,
        target: float,
        reward: str,
        deadline: str | None,
    ) -> GoalProgress:
        """Set the class goal; bad input is one clear message and nothing is written."""
        settings = await self._classes.require_configured(guild_id)
        now = self._clock.now()
        try:
            which = parse_metric(metric)
            target = check_target(which, target)
            reward = clean_reward(reward)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        ends = None
        if deadline:
            try:
                day = parse_day(deadline)
            except ValueError:
                raise InvalidInput(
                    f"I can't read the deadline `{deadline[:30]}`: write it as YYYY-MM-DD."
                ) from None
            # The goal runs to the end of that day in the class's time zone.
            ends = datetime.combine(day + timedelta(days=1), time(0), settings.zone).astimezone(UTC)
            if ends <= now:
                raise InvalidInput(f"The deadline {day.isoformat()} has already passed.")
        try:
            async with self._db.transaction() as conn:
                goal_id = await goal_sql.insert_goal(
                    conn,
                    guild_id=guild_id,
                    metric=which,
                    target=target,
                    reward=reward,
                    deadline=ends,
                    set_by=teacher_id,
                    now=now,
                )
                goal = await goal_sql.get_goal(conn, goal_id)
        except IntegrityError:
            self._without_goal.discard(guild_id)
            raise Conflict(
                "The class already has a goal. `/goal cancel` it first to set another."
            ) from None
        self._without_goal.discard(guild_id)
        assert goal is not None
        return GoalProgress(goal, 0.0)

    async def status(self, guild_id: int) -> GoalProgress:
        """The open goal and the class's figure now."""
        await self._classes.require_configured(guild_id)
        async with self._db.reading() as conn:
            goal = await goal_sql.open_goal(conn, guild_id)
            if goal is None:
                raise NotFound(NO_GOAL)
            return GoalProgress(goal, await self._value(conn, goal))

    async def progress(self, guild_id: int) -> GoalProgress | None:
        """The open goal's progress, or None (for other posts: the lesson celebration)."""
        async with self._db.reading() as conn:
            goal = await goal_sql.open_goal(conn, guild_id)
            if goal is None:
                return None
            return GoalProgress(goal, await self._value(conn, goal))

    async def cancel(self, guild_id: int) -> Goal:
        """Cancel the open goal (no post)."""
        await self._classes.require_configured(guild_id)
        async with self._db.transaction() as conn:
            goal = await goal_sql.open_goal(conn, guild_id)
            if goal is None or not await goal_sql.close_goal(
                conn, goal.id, GoalState.CANCELLED, self._clock.now(), None, post=False
            ):
                raise NotFound(NO_GOAL)
        return goal

    async def check(self, guild_id: int, *, fresh: bool = False) -> int | None:
        """Close the open goal if the class reached it; the goal id if this call closed it.

        A class known to have no open goal costs nothing (``fresh``: ask the database anyway).
        """
        if not fresh and guild_id in self._without_goal:
            return None
        async with self._db.transaction() as conn:
            goal = await goal_sql.open_goal(conn, guild_id)
            if goal is None:
                self._without_goal.add(guild_id)
                return None
            value = await self._value(conn, goal)
            if not reached(value, goal.target):
                return None
            if await goal_sql.close_goal(
                conn, goal.id, GoalState.REACHED, self._clock.now(), value, post=True
            ):
                return goal.id
        return None

    async def expire_if_due(self, goal_id: int) -> int | None:
        """The deadline came: reached after all, or closed with an encouraging post."""
        now = self._clock.now()
        async with self._db.transaction() as conn:
            goal = await goal_sql.get_goal(conn, goal_id)
            if goal is None or goal.state is not GoalState.OPEN or goal.deadline is None:
                return None
            if goal.deadline > now:
                return None
            value = await self._value(conn, goal)
            state = GoalState.REACHED if reached(value, goal.target) else GoalState.EXPIRED
            if await goal_sql.close_goal(conn, goal.id, state, now, value, post=True):
                return goal.id
        return None

    async def open_goals(self) -> list[Goal]:
        """Open goals (deadline timers, the sweep)."""
        async with self._db.reading() as conn:
            return await goal_sql.open_goals(conn)

    async def pending_posts(self) -> list[Goal]:
        """Closed goals whose post has not gone out (a crash, Discord down)."""
        async with self._db.reading() as conn:
            return [goal for goal, _ in await goal_sql.pending_posts(conn)]

    async def pending_post(self, goal_id: int) -> GoalProgress | None:
        """The goal whose post is still to go out, with the figure it closed at."""
        async with self._db.reading() as conn:
            found = await goal_sql.pending_post(conn, goal_id)
        if found is None:
            return None
        goal, value = found
        return GoalProgress(goal, value or 0.0)

    async def posted(self, goal_id: int, message_id: int | None) -> None:
        """The goal's post went out: never again."""
        async with self._db.transaction() as conn:
            await goal_sql.mark_posted(conn, goal_id, message_id)

    async def _value(self, conn: Connection, goal: Goal) -> float:
        if goal.metric is GoalMetric.SESSIONS:
            return float(await goal_sql.sessions_since(conn, goal.guild_id, goal.set_at))
        if goal.metric is GoalMetric.STUDENTS_HELPED:
            return float(await goal_sql.students_helped_since(conn, goal.guild_id, goal.set_at))
        if goal.metric is GoalMetric.STARS:
            return float(await goal_sql.stars_since(conn, goal.guild_id, goal.set_at))
        # Class average gain on the quizzes taken since the goal was set, over every subject.
        settings = await class_sql.get_class(conn, goal.guild_id)
        assert settings is not None
        days = DayRange(local_day(goal.set_at, settings.zone), None)
        gains = []
        for subject in await class_sql.list_subjects(conn, goal.guild_id):
            points = await score_sql.subject_endpoints(
                conn, goal.guild_id, subject.id, days.first, None
            )
            gains += class_gains(points, days).gains
        return sum(g.points for g in gains) / len(gains) if gains else 0.0
