"""`/goal set|status|cancel`: a class goal with a reward, and its one celebration post.

Reaching the goal is claimed in the database (:meth:`GoalService.check`), the post is pending in
that same transaction, posted here, then marked posted; pending posts are finished at start-up.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.goals import Goal, GoalMetric, GoalState
from cogs._background import OwnedTasks
from cogs._shared import NO_PINGS, guild_id_of, only_pings, require_teacher
from cogs.lessons._views import goal_embed, goal_post_text, goal_teacher_note

if TYPE_CHECKING:
    from bot.app import ClassMentorBot

log = logging.getLogger(__name__)

GOAL_SWEEP_JOB = "goal-sweep"
GOAL_SWEEP_SECONDS = 900  # catches a check a crash skipped; the usual check is immediate

METRIC_CHOICES = [
    app_commands.Choice(name="Confirmed help sessions", value=GoalMetric.SESSIONS.value),
    app_commands.Choice(name="Different students helped", value=GoalMetric.STUDENTS_HELPED.value),
    app_commands.Choice(name="Gold stars given", value=GoalMetric.STARS.value),
    app_commands.Choice(
        name="Class average gain (percentage points)", value=GoalMetric.AVERAGE_GAIN.value
    ),
]


def goal_deadline_job(goal_id: int) -> str:
    """The scheduler id of a goal's deadline."""
    return f"goal-deadline:{goal_id}"


class GoalsCog(commands.Cog):
    """The class works towards a goal together; reaching it is celebrated once."""

    goal_group = app_commands.Group(
        name="goal", description="A class goal with a reward", guild_only=True
    )

    def __init__(self, bot: ClassMentorBot) -> None:
        self.bot = bot
        self.service = bot.services.goals
        # Start-up's resume, and one poster per record at a time (a timer racing the resume).
        self._background = OwnedTasks()

    async def cog_load(self) -> None:
        """Rebuild this process's deadline timers; finish posts a crash left pending."""
        for goal in await self.service.open_goals():
            if self.bot.owns_guild(goal.guild_id):
                self._schedule_deadline(goal)
        self.bot.jobs.every(GOAL_SWEEP_JOB, GOAL_SWEEP_SECONDS, self.sweep)
        self._background.start(self._resume())

    async def cog_unload(self) -> None:
        """Stop the resume task; the sweep job is replaced at the next load."""
        self.bot.jobs.cancel(GOAL_SWEEP_JOB)
        await self._background.stop()

    async def _resume(self) -> None:
        await self.bot.wait_until_ready()
        try:
            for goal in await self.service.pending_posts():
                if self.bot.owns_guild(goal.guild_id):
                    await self.post(goal.id)
        except Exception:
            log.exception("could not finish the goal posts left pending")

    async def sweep(self) -> None:
        """Check every open goal of this process's classes."""
        for goal in await self.service.open_goals():
            if self.bot.owns_guild(goal.guild_id):
                await self.check_goal(goal.guild_id, fresh=True)

    def _schedule_deadline(self, goal: Goal) -> None:
        if goal.deadline is None:
            return

        async def deadline() -> None:
            closed = await self.service.expire_if_due(goal.id)
            if closed is not None:
                await self.post(closed)

        self.bot.jobs.at(goal_deadline_job(goal.id), goal.deadline, deadline)

    async def check_goal(self, guild_id: int, *, fresh: bool = False) -> None:
        """The class's figures moved: if this reached the goal, celebrate (once)."""
        closed = await self.service.check(guild_id, fresh=fresh)
        if closed is not None:
            self.bot.jobs.cancel(goal_deadline_job(closed))
            await self.post(closed)

    async def post(self, goal_id: int) -> None:
        """The goal's one post (pinging nobody), and a private word to the teacher."""
        async with self._background.lock(goal_id):
            found = await self.service.pending_post(goal_id)
            if found is None:
                return  # already posted
            goal = found.goal
            settings = await self.bot.services.classes.get(goal.guild_id)
            channel_id = settings.announcements_channel_id if settings else None
            message_id = None
            if channel_id is not None:
                try:
                    sent = await self.bot.get_partial_messageable(channel_id).send(
                        goal_post_text(found), allowed_mentions=NO_PINGS
                    )
                    message_id = sent.id
                except discord.HTTPException:
                    log.warning("goal %s: post failed; retried at start-up", goal_id)
                    return
            await self.service.posted(goal_id, message_id)
            if goal.state is GoalState.REACHED and goal.set_by is not None:
                await self._tell_teacher(goal, settings.mentors_channel_id if settings else None)

    async def _tell_teacher(self, goal: Goal, fallback_channel: int | None) -> None:
        text = goal_teacher_note(goal)
        try:
            channel = await self.bot.create_dm(discord.Object(goal.set_by or 0))
            await channel.send(text, allowed_mentions=NO_PINGS)
        except discord.HTTPException:
            if fallback_channel is None:
                return
            try:
                await self.bot.get_partial_messageable(fallback_channel).send(
                    f"<@{goal.set_by}> {text}", allowed_mentions=only_pings(goal.set_by or 0)
                )
            except discord.HTTPException:
                log.warning("goal %s: could not tell the teacher", goal.id)

    # --- commands ---------------------------------------------------------------------------

    @goal_group.command(name="set", description="Set a class goal with a reward (teacher)")
    @app_commands.describe(
        metric="What the class counts towards the goal",
        target="How many (or how many points of gain) the class aims for",
        reward="What the class gets, e.g. 15 minutes of free reading time",
        deadline="The last day, YYYY-MM-DD (optional)",
    )
    @app_commands.choices(metric=METRIC_CHOICES)
    async def set_goal(
        self,
        interaction: discord.Interaction,
        metric: app_commands.Choice[str],
        target: float,
        reward: app_commands.Range[str, 1, 200],
        deadline: app_commands.Range[str, 1, 20] | None = None,
    ) -> None:
        """Record the goal; the class sees it with `/goal status`."""
        await require_teacher(interaction, "set class goals")
        progress = await self.service.set(
            guild_id_of(interaction), interaction.user.id, metric.value, target, reward, deadline
        )
        self._schedule_deadline(progress.goal)
        await interaction.response.send_message(
            "🎯 Goal set! The class can follow it with `/goal status`.",
            embed=goal_embed(progress),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )
        await self.check_goal(progress.goal.guild_id)

    @goal_group.command(name="status", description="How close the class is to its goal")
    async def status(self, interaction: discord.Interaction) -> None:
        """The goal with a progress bar (anyone in the class)."""
        progress = await self.service.status(guild_id_of(interaction))
        await interaction.response.send_message(
            embed=goal_embed(progress), ephemeral=True, allowed_mentions=NO_PINGS
        )

    @goal_group.command(name="cancel", description="Cancel the class goal (teacher)")
    async def cancel(self, interaction: discord.Interaction) -> None:
        """Cancel quietly: no post."""
        await require_teacher(interaction, "cancel class goals")
        goal = await self.service.cancel(guild_id_of(interaction))
        self.bot.jobs.cancel(goal_deadline_job(goal.id))
        await interaction.response.send_message(
            f"Cancelled the goal ({goal.metric.label} → {goal.reward}). Nothing was posted.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )
