"""Recognition: `/award give|undo`, `/leaderboard`, the weekly post and the tutor suggestion.

`/award` is a command group (Discord lets a name be a command or a group, not both), hence
`/award give` and `/award undo`.

Scheduling: every configured class gets two weekly jobs, rebuilt from the database at start-up
and whenever `/setup` changes the class (``on_class_settings_changed``): the weekly post, and the
day-before tutor-of-the-week suggestion to the teacher. Jobs only say *when*; the service decides
whether anything is due and claims it in the database first, so a post goes out once per week.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.classroom import ClassSettings
from bot.domain.goals import progress_line
from bot.domain.points import AWARD_LABELS, AwardKind
from bot.domain.shoutouts import MAX_REASON_LENGTH, Award, PostKind, suggestion_weekday
from bot.domain.weeks import Period
from cogs._background import OwnedTasks
from cogs._discord_api import send_dm_text
from cogs._progress_hook import class_progressed
from cogs._shared import (
    NO_PINGS,
    clip,
    guild_id_of,
    require_teacher,
    subject_autocomplete,
)
from cogs.progress import weekly_gains_post
from cogs.recognition._posting import ShoutOutPoster
from cogs.recognition._render import (
    PERIOD_NAMES,
    award_reply,
    award_title,
    leaderboard_embed,
    suggestion_text,
    weekly_post_embed,
)
from cogs.recognition._views import AwardSuggestionButton, suggestion_view
from db.errors import StoreError

if TYPE_CHECKING:
    from bot.app import ClassMentorBot


log = logging.getLogger(__name__)
T = TypeVar("T")

KIND_CHOICES = [app_commands.Choice(name=AWARD_LABELS[k], value=k.value) for k in AwardKind]
PERIOD_CHOICES = [app_commands.Choice(name=name, value=p.value) for p, name in PERIOD_NAMES.items()]
# A weekly post or suggestion Discord refused is tried again a few times, then left for next week.
RETRY_DELAY = timedelta(minutes=10)
MAX_RETRIES = 3


@dataclass(frozen=True)
class ClaimedPost:
    """A weekly post or suggestion claimed in the database, ready to send."""

    guild_id: int
    kind: PostKind
    week_key: str
    channel_id: int
    content: str
    embed: discord.Embed | None = None
    view: discord.ui.View | None = None
    file: discord.File | None = None


def weekly_post_job(guild_id: int) -> str:
    """The scheduler id of a class's weekly post."""
    return f"weekly-post:{guild_id}"


def suggestion_job(guild_id: int) -> str:
    """The scheduler id of a class's day-before tutor-of-the-week suggestion."""
    return f"tutor-suggestion:{guild_id}"


# ----- rendering ----------------------------------------------------------------------------------


class RecognitionCog(commands.Cog):
    """Teachers give awards; everyone sees the leaderboard and the weekly shout-outs."""

    award_group = app_commands.Group(
        name="award", description="Awards for mentors and classmates (teacher)", guild_only=True
    )

    def __init__(self, bot: ClassMentorBot) -> None:
        self.bot = bot
        self._scheduled: set[int] = set()
        self._retries: dict[tuple[str, int], int] = {}
        self.shout_outs = ShoutOutPoster(bot)
        self._background = OwnedTasks()

    async def cog_load(self) -> None:
        """Re-add the persistent button; rebuild this process's classes' jobs from the database."""
        self.bot.add_dynamic_items(AwardSuggestionButton)
        for settings in await self.bot.services.classes.configured_classes():
            if self.bot.owns_guild(settings.guild_id):  # other shards' processes post theirs
                await self.schedule_class(settings)
        await self.shout_outs.resume()
        self._background.start(self._resume_private_dms())

    async def cog_unload(self) -> None:
        """Forget the button and the jobs (for reloads)."""
        self.bot.remove_dynamic_items(AwardSuggestionButton)
        self.shout_outs.stop()
        await self._background.stop()
        for guild_id in list(self._scheduled):
            self.unschedule_class(guild_id)

    # ----- scheduling ---------------------------------------------------------------------

    async def schedule_class(self, settings: ClassSettings) -> None:
        """(Re)build a class's weekly jobs from its settings, then catch up on what is owed.

        A post missed while the bot was down goes out now if its week is still running; a
        schedule moved to a time already past this week does too. Catch-up jobs are one-shots
        so they also wait until the bot is ready.
        """
        guild_id = settings.guild_id
        jobs = self.bot.jobs
        jobs.weekly(
            weekly_post_job(guild_id),
            settings.zone,
            settings.post_weekday,
            settings.post_time,
            functools.partial(self.send_weekly_post, guild_id),
        )
        jobs.weekly(
            suggestion_job(guild_id),
            settings.zone,
            suggestion_weekday(settings.post_weekday),
            settings.post_time,
            functools.partial(self.send_suggestion, guild_id),
        )
        self._scheduled.add(guild_id)
        due = await self.bot.services.recognition.due_now(guild_id)
        now = self.bot.clock.now()
        if due.post:
            jobs.at(
                f"{weekly_post_job(guild_id)}:catch-up",
                now,
                functools.partial(self.send_weekly_post, guild_id),
            )
        if due.suggestion:
            jobs.at(
                f"{suggestion_job(guild_id)}:catch-up",
                now,
                functools.partial(self.send_suggestion, guild_id),
            )

    def unschedule_class(self, guild_id: int) -> None:
        """Stop a class's jobs."""
        for job_id in (weekly_post_job(guild_id), suggestion_job(guild_id)):
            for suffix in ("", ":catch-up", ":retry"):
                self.bot.jobs.cancel(job_id + suffix)
        self._scheduled.discard(guild_id)

    @commands.Cog.listener()
    async def on_class_settings_changed(self, settings: ClassSettings) -> None:
        """`/setup` changed the class: the new schedule takes effect at once."""
        if settings.configured:
            await self.schedule_class(settings)

    @commands.Cog.listener()
    async def on_shout_out_queued(self, channel_id: int) -> None:
        """An award outside this cog's commands (the suggestion button) queued a shout-out."""
        self.shout_outs.wake(channel_id)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot was removed: no more weekly posts for that class."""
        self.unschedule_class(guild.id)

    def _retry(self, job_id: str, guild_id: int, func: functools.partial[Any]) -> None:
        key = (job_id, guild_id)
        self._retries[key] = self._retries.get(key, 0) + 1
        if self._retries[key] > MAX_RETRIES:
            log.error("giving up on %s for this week after %s tries", job_id, MAX_RETRIES)
            self._retries.pop(key, None)
            return
        self.bot.jobs.at(f"{job_id}:retry", self.bot.clock.now() + RETRY_DELAY, func)

    async def send_weekly_post(self, guild_id: int) -> None:
        """Claim this week's post in the database, then send it (nothing if not due or done)."""
        again = functools.partial(self.send_weekly_post, guild_id)
        summary = await self._claim(
            self.bot.services.recognition.claim_weekly_post(guild_id),
            job_id=weekly_post_job(guild_id),
            guild_id=guild_id,
            again=again,
        )
        if summary is None:
            return
        # Public-safe: gains only, and only of those who improved (None when nobody has one).
        gains = await weekly_gains_post(self.bot, guild_id)
        goal = await self.bot.services.goals.progress(guild_id)
        await self._deliver(
            ClaimedPost(
                guild_id=guild_id,
                kind=PostKind.LEADERBOARD,
                week_key=summary.week_key,
                channel_id=summary.channel_id,
                content="📣 **Weekly shout-outs!**"
                + (f"\n{gains[0]}" if gains else "")
                + (f"\n🎯 Class goal: {progress_line(goal.goal, goal.value)}" if goal else ""),
                embed=weekly_post_embed(summary),
                file=gains[1] if gains else None,
            ),
            job_id=weekly_post_job(guild_id),
            again=again,
        )

    async def send_suggestion(self, guild_id: int) -> None:
        """The day before the post: suggest a tutor of the week to the teacher."""
        again = functools.partial(self.send_suggestion, guild_id)
        suggestion = await self._claim(
            self.bot.services.recognition.claim_suggestion(guild_id),
            job_id=suggestion_job(guild_id),
            guild_id=guild_id,
            again=again,
        )
        if suggestion is None:
            return
        await self._deliver(
            ClaimedPost(
                guild_id=guild_id,
                kind=PostKind.SUGGESTION,
                week_key=suggestion.week_key,
                channel_id=suggestion.channel_id,
                content=suggestion_text(suggestion),
                view=suggestion_view(suggestion),
            ),
            job_id=suggestion_job(guild_id),
            again=again,
        )

    async def _claim(
        self,
        claim: Awaitable[T | None],
        *,
        job_id: str,
        guild_id: int,
        again: functools.partial[Any],
    ) -> T | None:
        """Claim a post in the database; a busy or unwritable store postpones it to a retry."""
        try:
            return await claim
        except StoreError as exc:
            log.warning("%s postponed: %s", job_id, exc)
            self._retry(job_id, guild_id, again)
            return None

    async def _deliver(
        self, post: ClaimedPost, *, job_id: str, again: functools.partial[Any]
    ) -> None:
        """Send a claimed post, then record it; if Discord refuses, drop the claim and retry.

        The one home of claim → send → release/retry → mark sent, for the weekly post and the
        suggestion alike (the claim itself is the service's: see ``claim_weekly_post``).
        """
        service = self.bot.services.recognition
        channel = self.bot.get_partial_messageable(post.channel_id, guild_id=post.guild_id)
        extras: dict[str, Any] = {}
        if post.embed is not None:
            extras["embed"] = post.embed
        if post.view is not None:
            extras["view"] = post.view
        if post.file is not None:
            extras["file"] = post.file
        try:
            message = await channel.send(post.content, allowed_mentions=NO_PINGS, **extras)
        except discord.HTTPException:
            # Discord refused: drop the claim so a retry (or a restart this week) sends it.
            log.warning(
                "%s for %s refused; will retry", post.kind.value, post.guild_id, exc_info=True
            )
            await service.post_failed(post.guild_id, post.week_key, post.kind)
            self._retry(job_id, post.guild_id, again)
            return
        self._retries.pop((job_id, post.guild_id), None)
        await service.post_sent(
            post.guild_id, post.week_key, post.kind, post.channel_id, message.id
        )

    # ----- commands -----------------------------------------------------------------------

    @award_group.command(name="give", description="Give a student an award (teacher)")
    @app_commands.describe(
        student="Who receives the award",
        kind="Gold star, tutor of the week, effort, or a custom award",
        reason=f"What it is for (at most {MAX_REASON_LENGTH} characters)",
        points="Points instead of the usual for this kind (1 to 50)",
        private="Don't post a shout-out; only the student is told",
    )
    @app_commands.choices(kind=KIND_CHOICES)
    async def award_give(
        self,
        interaction: discord.Interaction,
        student: discord.Member,
        kind: app_commands.Choice[str],
        reason: app_commands.Range[str, 1, MAX_REASON_LENGTH] | None = None,
        points: app_commands.Range[int, 1, 50] | None = None,
        private: bool = False,
    ) -> None:
        """Record the award, then shout it out (pinging only the student) unless private."""
        await require_teacher(interaction, "give awards")
        result = await self.bot.services.recognition.give_award(
            guild_id_of(interaction),
            interaction.user.id,
            student.id,
            student_is_bot=student.bot,
            kind=kind.value,
            reason=reason,
            points=points,
            private=private,
        )
        try:
            reply = award_reply(result)
            if result.award.private:
                reply += " I'm telling them by DM."
            # The teacher's reply goes first and never waits for a DM or a public post.
            await interaction.response.send_message(
                reply, ephemeral=True, allowed_mentions=NO_PINGS
            )
        finally:
            # The shout-out is in the outbox: the reply never waits for it, and goes first.
            replaced = result.replaced
            if replaced is not None and replaced.channel_id is not None:
                # Its posted shout-out was queued for correction with the replacement.
                self.shout_outs.wake(replaced.channel_id)
            if result.shout_out_channel_id is not None:
                self.shout_outs.wake(result.shout_out_channel_id)
        if result.award.private:
            await self._tell_privately(interaction, student, result.award)
        await class_progressed(self.bot, guild_id_of(interaction))

    async def _tell_privately(
        self, interaction: discord.Interaction, student: discord.Member, award: Award
    ) -> None:
        """The student's DM, after the teacher's reply; the teacher hears only if it failed."""
        if not await self._send_award_dm(student, student.guild.name, award):
            await interaction.followup.send(
                f"I couldn't DM <@{student.id}> (their DMs are closed), so please tell them "
                "yourself.",
                ephemeral=True,
                allowed_mentions=NO_PINGS,
            )

    async def _send_award_dm(
        self, student: discord.User | discord.Member, class_name: str, award: Award
    ) -> bool:
        """DM a private award and record that it is done (sent, or the DMs are closed): it was
        recorded as owed with the award, so a stop before this point sends it at start-up."""
        text = (
            f"🎉 You received a private award in **{class_name}**: "
            f"**{award_title(award.kind)}** (+{award.points} points)."
        )
        if award.reason:
            text += f"\n> {discord.utils.escape_mentions(award.reason)}"
        try:
            await send_dm_text(self.bot, student.id, clip(text, 2000), NO_PINGS)
        except discord.HTTPException:
            # DMs closed (50007): nothing public is posted for a private award.
            delivered = False
        else:
            delivered = True
        await self.bot.services.recognition.private_dm_done(award, delivered)
        return delivered

    async def _resume_private_dms(self) -> None:
        """Send the private-award DMs a stop left owed, for this process's classes."""
        await self.bot.wait_until_ready()
        for award in await self.bot.services.recognition.pending_private_dms():
            guild = self.bot.get_guild(award.guild_id)
            if guild is None or not self.bot.owns_guild(award.guild_id):
                continue  # another shard's process sends its classes' DMs
            try:
                student = guild.get_member(award.user_id) or await self.bot.fetch_user(
                    award.user_id
                )
            except discord.HTTPException:
                log.warning("private award %s: student %s not found", award.id, award.user_id)
                continue
            await self._send_award_dm(student, guild.name, award)

    @award_group.command(name="undo", description="Take back a student's latest award (teacher)")
    @app_commands.describe(student="Whose most recent award (last 7 days) to take back")
    async def award_undo(self, interaction: discord.Interaction, student: discord.Member) -> None:
        """Undo the latest award: points taken back, shout-out removed."""
        await require_teacher(interaction, "undo awards")
        award = await self.bot.services.recognition.undo_award(
            guild_id_of(interaction), interaction.user.id, student.id
        )
        removed = ""
        if award.channel_id is not None and award.message_id is not None:
            if await self.shout_outs.refresh(award.channel_id, award.message_id, award.guild_id):
                removed = " I removed its shout-out."
            else:
                removed = " I couldn't remove its shout-out; please delete it by hand."
        elif not award.private:
            removed = " Its shout-out will not be posted."
        await interaction.response.send_message(
            f"↩️ Took back <@{award.user_id}>'s **{award_title(award.kind)}** "
            f"(−{award.points} points).{removed}",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @app_commands.command(name="leaderboard", description="Who has helped the most")
    @app_commands.describe(
        period="Which weeks to count (default: this week)",
        subject="Only confirmed help sessions in this subject",
    )
    @app_commands.choices(period=PERIOD_CHOICES)
    @app_commands.autocomplete(subject=subject_autocomplete)
    @app_commands.guild_only()
    async def leaderboard(
        self,
        interaction: discord.Interaction,
        period: app_commands.Choice[str] | None = None,
        subject: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        """The top 10 for a period, with the caller's own rank (only they see the reply)."""
        board = await self.bot.services.recognition.leaderboard(
            guild_id_of(interaction),
            interaction.user.id,
            period.value if period else Period.THIS_WEEK,
            subject,
        )
        await interaction.response.send_message(
            embed=leaderboard_embed(board, interaction.user.id),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )


async def setup(bot: ClassMentorBot) -> None:
    """Extension entry point."""
    await bot.add_cog(RecognitionCog(bot))
