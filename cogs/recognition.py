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
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.classroom import ClassSettings
from bot.domain.points import AWARD_LABELS, AwardKind, RankedEntry
from bot.domain.shoutouts import MAX_REASON_LENGTH, Award, PostKind, suggestion_weekday
from bot.domain.weeks import Period
from bot.errors import InvalidInput
from bot.services.recognition import AwardResult, Leaderboard, TutorSuggestion, WeeklySummary
from cogs._shared import (
    NO_PINGS,
    bot_of,
    clip,
    guarded,
    guild_id_of,
    only_pings,
    require_teacher,
    subject_autocomplete,
)

if TYPE_CHECKING:
    from bot.app import ClassMentorBot

log = logging.getLogger(__name__)

KIND_CHOICES = [app_commands.Choice(name=AWARD_LABELS[k], value=k.value) for k in AwardKind]
PERIOD_NAMES = {
    Period.THIS_WEEK: "This week",
    Period.LAST_WEEK: "Last week",
    Period.MONTH: "This month",
    Period.TERM: "This term",
    Period.ALL_TIME: "All time",
}
PERIOD_CHOICES = [app_commands.Choice(name=name, value=p.value) for p, name in PERIOD_NAMES.items()]
MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}
# A weekly post or suggestion Discord refused is tried again a few times, then left for next week.
RETRY_DELAY = timedelta(minutes=10)
MAX_RETRIES = 3


def weekly_post_job(guild_id: int) -> str:
    """The scheduler id of a class's weekly post."""
    return f"weekly-post:{guild_id}"


def suggestion_job(guild_id: int) -> str:
    """The scheduler id of a class's day-before tutor-of-the-week suggestion."""
    return f"tutor-suggestion:{guild_id}"


# ----- rendering ----------------------------------------------------------------------------------


def _day(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}"


def week_span(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """'Mon 16 Nov – Sun 22 Nov' for a class week (``end`` exclusive; right across DST)."""
    return f"{_day(start, zone)} – {_day(end - timedelta(microseconds=1), zone)}"


def award_title(kind: AwardKind) -> str:
    """An award kind as the class reads it."""
    return AWARD_LABELS[kind]


def shout_out_text(award: Award) -> str:
    """The public shout-out; it mentions (and pings) only the student.

    Mentions typed into the reason are defused, and the teacher is not named.
    """
    if award.kind is AwardKind.TUTOR_OF_THE_WEEK:
        head = f"🏆 <@{award.user_id}> is this week's **tutor of the week**!"
    else:
        head = f"🎉 <@{award.user_id}> earned an award: **{award_title(award.kind)}**!"
    lines = [head]
    if award.reason:
        lines.append(f"> {discord.utils.escape_mentions(award.reason)}")
    lines.append(f"+{award.points} points")
    return clip("\n".join(lines), 2000)


def award_reply(result: AwardResult, posted: bool) -> str:
    """The teacher's private confirmation of `/award give`."""
    award = result.award
    lines = [
        f"✅ <@{award.user_id}> received **{award_title(award.kind)}** (+{award.points} points)."
    ]
    if result.replaced is not None:
        lines.append(
            f"This replaces <@{result.replaced.user_id}> as this week's tutor of the week; "
            f"their {result.replaced.points} points were taken back."
        )
    if award.private:
        lines.append("Kept private: no shout-out.")
    elif result.shout_out_channel_id is None:
        lines.append("No announcements channel is set, so there was no shout-out.")
    elif posted:
        lines.append(f"Shout-out posted in <#{result.shout_out_channel_id}>.")
    else:
        lines.append(
            f"I couldn't post the shout-out in <#{result.shout_out_channel_id}>: please check "
            "that I can send messages there. The award itself is recorded."
        )
    return "\n".join(lines)


def _rank_label(entry: RankedEntry, tied: set[int]) -> str:
    if entry.rank in MEDALS and entry.rank not in tied:
        return MEDALS[entry.rank]
    return f"**{'=' if entry.rank in tied else ''}{entry.rank}.**"


def _board_lines(entries: list[RankedEntry], caller_id: int | None = None) -> list[str]:
    ranks = [e.rank for e in entries]
    tied = {r for r in ranks if ranks.count(r) > 1}
    return [
        f"{_rank_label(e, tied)} <@{e.user_id}> — {e.points} pts"
        + (" ← you" if e.user_id == caller_id else "")
        for e in entries
    ]


def period_label(board: Leaderboard) -> str:
    """The leaderboard's period in the class's own calendar."""
    zone = ZoneInfo(board.timezone)
    name = PERIOD_NAMES[board.period]
    if board.period in (Period.THIS_WEEK, Period.LAST_WEEK) and board.start and board.end:
        return f"{name} ({week_span(board.start, board.end, zone)})"
    if board.period is Period.MONTH and board.start:
        return f"{board.start.astimezone(zone):%B %Y}"
    if board.period is Period.TERM and board.start:
        return f"This term (since {_day(board.start, zone)})"
    return name


def leaderboard_embed(board: Leaderboard, caller_id: int) -> discord.Embed:
    """`/leaderboard`: the top 10 (ties share a rank) and the caller's own place."""
    title = f"🏅 {period_label(board)}" + (f" · {board.subject}" if board.subject else "")
    embed = discord.Embed(title=clip(title, 256), colour=discord.Colour.gold())
    lines = _board_lines(board.shown, caller_id)
    if board.own is not None:
        lines += ["⋯", *_board_lines([board.own], caller_id)]
    if not lines:
        lines = ["No points in this period yet. Every confirmed help session counts!"]
    embed.description = clip("\n".join(lines), 4096)
    if board.caller_points <= 0:
        you = "You have no points in this period yet."
    else:
        mine = next(
            e for e in [*board.shown, *([board.own] if board.own else [])] if e.user_id == caller_id
        )
        you = f"You: #{mine.rank} of {board.participants} with {board.caller_points} points."
    notes = [you]
    if board.subject:
        notes.append(
            "A subject board counts confirmed help sessions only (awards have no subject)."
        )
    embed.set_footer(text=" · ".join(notes))
    return embed


def weekly_post_embed(summary: WeeklySummary) -> discord.Embed:
    """The weekly post: the week's top mentors, tutor of the week, shout-outs, class sessions.

    Only gains and praise: never who asked for help.
    """
    zone = ZoneInfo(summary.timezone)
    week = week_span(summary.week_start, summary.week_end, zone)
    embed = discord.Embed(title=f"🌟 This week's shout-outs ({week})", colour=discord.Colour.gold())
    if summary.empty:
        embed.description = (
            "A quiet week so far, and that's fine! Stuck on something? Asking a mentor is how "
            "we all learn. Mentors, thank you for being ready to help. Let's make next week "
            "a great one! 💪"
        )
        return embed
    if summary.tutor is not None:
        tutor = summary.tutor
        text = f"🏆 <@{tutor.user_id}>"
        if tutor.reason:
            text += f"\n> {discord.utils.escape_mentions(tutor.reason)}"
        embed.add_field(name="Tutor of the week", value=clip(text, 1024), inline=False)
    if summary.top:
        embed.add_field(
            name="Top mentors",
            value=clip("\n".join(_board_lines(summary.top)), 1024),
            inline=False,
        )
    if summary.shout_outs:
        lines = []
        for award in summary.shout_outs:
            line = f"<@{award.user_id}> · {award_title(award.kind)}"
            if award.reason:
                line += f": {discord.utils.escape_mentions(award.reason)}"
            lines.append(clip(line, 200))
        embed.add_field(name="Shout-outs", value=clip("\n".join(lines), 1024), inline=False)
    sessions = summary.confirmed_sessions
    embed.add_field(
        name="Helping each other",
        value=(
            f"Together the class completed **{sessions}** help "
            f"{'session' if sessions == 1 else 'sessions'} this week. Thank you, mentors!"
            if sessions
            else "No help sessions yet this week: mentors are ready when you need them."
        ),
        inline=False,
    )
    return embed


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def suggestion_text(suggestion: TutorSuggestion) -> str:
    """The teacher's day-before notice in the mentors channel (pings nobody)."""
    when = f"<t:{int(suggestion.post_at.timestamp())}:F>"
    if suggestion.already_awarded is not None:
        return (
            f"**For teachers:** you already chose <@{suggestion.already_awarded.user_id}> as "
            f"tutor of the week. The weekly post goes out {when}."
        )
    pick = suggestion.suggestion
    if pick is None:
        return (
            "**For teachers:** no tutor-of-the-week suggestion this week, as there are no confirmed "
            f"help sessions yet. You can still give awards with `/award give` before the weekly "
            f"post goes out {when}."
        )
    sessions = _plural(pick.confirmed_sessions, "confirmed help session")
    mentees = _plural(pick.distinct_mentees, "different classmate")
    rated = ", with good ratings" if suggestion.well_rated else ""
    return (
        f"**For teachers:** suggested tutor of the week: <@{pick.user_id}> ({sessions}, helped "
        f"{mentees}{rated}). Award it with one click, or choose someone else with `/award give`. "
        f"The weekly post goes out {when}."
    )


# ----- the persistent "Award" button ------------------------------------------------------------


class AwardSuggestionButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"award:suggest:(?P<guild>\d+):(?P<week>\d{4}-\d{2}-\d{2}):(?P<user>\d+)",
):
    """One click makes the suggested mentor tutor of the week; works after restarts."""

    def __init__(self, guild_id: int, week: str, user_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Award tutor of the week",
                emoji="🏆",
                style=discord.ButtonStyle.success,
                custom_id=f"award:suggest:{guild_id}:{week}:{user_id}",
            )
        )
        self.guild_id = guild_id
        self.week = week
        self.user_id = user_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> AwardSuggestionButton:
        """Rebuild the button from its custom id; the state is re-read from the database."""
        return cls(int(match["guild"]), match["week"], int(match["user"]))

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        """Teacher only (checked here); a second click says it is already done."""
        if guild_id_of(interaction) != self.guild_id:
            raise InvalidInput("This button belongs to another class.")
        await require_teacher(interaction, "award tutor of the week")
        bot = bot_of(interaction)
        result = await bot.services.recognition.award_suggested(
            self.guild_id, interaction.user.id, self.week, self.user_id
        )
        content = interaction.message.content if interaction.message else ""
        await interaction.response.edit_message(
            content=clip(
                f"{content}\n✅ <@{interaction.user.id}> made <@{self.user_id}> tutor of the week.",
                2000,
            ),
            view=None,
            allowed_mentions=NO_PINGS,
        )
        posted = await post_shout_out(bot, result)
        if result.shout_out_channel_id is not None and not posted:
            await interaction.followup.send(
                award_reply(result, posted), ephemeral=True, allowed_mentions=NO_PINGS
            )


def suggestion_view(suggestion: TutorSuggestion) -> discord.ui.View | None:
    """The "Award" button, when there is someone to award."""
    if suggestion.suggestion is None:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(
        AwardSuggestionButton(
            suggestion.guild_id, suggestion.week_key, suggestion.suggestion.user_id
        )
    )
    return view


async def post_shout_out(bot: ClassMentorBot, result: AwardResult) -> bool:
    """Post an award's shout-out, pinging only the student; ``False`` if Discord refused."""
    channel_id = result.shout_out_channel_id
    if channel_id is None:
        return False
    channel = bot.get_partial_messageable(channel_id, guild_id=result.award.guild_id)
    try:
        message = await channel.send(
            shout_out_text(result.award), allowed_mentions=only_pings(result.award.user_id)
        )
    except discord.HTTPException:
        log.warning("could not post the shout-out for award %s", result.award.id, exc_info=True)
        return False
    await bot.services.recognition.record_shout_out(result.award.id, channel_id, message.id)
    return True


# ----- the cog ---------------------------------------------------------------------------------


class RecognitionCog(commands.Cog):
    """Teachers give awards; everyone sees the leaderboard and the weekly shout-outs."""

    award_group = app_commands.Group(
        name="award", description="Awards for mentors and classmates (teacher)", guild_only=True
    )

    def __init__(self, bot: ClassMentorBot) -> None:
        self.bot = bot
        self._scheduled: set[int] = set()
        self._retries: dict[tuple[str, int], int] = {}

    async def cog_load(self) -> None:
        """Re-add the persistent button; rebuild every class's jobs from the database."""
        self.bot.add_dynamic_items(AwardSuggestionButton)
        for settings in await self.bot.services.classes.configured_classes():
            await self.schedule_class(settings)

    async def cog_unload(self) -> None:
        """Forget the button and the jobs (for reloads)."""
        self.bot.remove_dynamic_items(AwardSuggestionButton)
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
        service = self.bot.services.recognition
        summary = await service.claim_weekly_post(guild_id)
        if summary is None:
            return
        channel = self.bot.get_partial_messageable(summary.channel_id, guild_id=guild_id)
        try:
            message = await channel.send(
                "📣 **Weekly shout-outs!**",
                embed=weekly_post_embed(summary),
                allowed_mentions=NO_PINGS,
            )
        except discord.HTTPException:
            # Discord refused: drop the claim so a retry (or a restart this week) sends it.
            log.warning("weekly post for %s refused; will retry", guild_id, exc_info=True)
            await service.post_failed(guild_id, summary.week_key, PostKind.LEADERBOARD)
            self._retry(
                weekly_post_job(guild_id),
                guild_id,
                functools.partial(self.send_weekly_post, guild_id),
            )
            return
        self._retries.pop((weekly_post_job(guild_id), guild_id), None)
        await service.post_sent(
            guild_id, summary.week_key, PostKind.LEADERBOARD, summary.channel_id, message.id
        )

    async def send_suggestion(self, guild_id: int) -> None:
        """The day before the post: suggest a tutor of the week to the teacher."""
        service = self.bot.services.recognition
        suggestion = await service.claim_suggestion(guild_id)
        if suggestion is None:
            return
        channel = self.bot.get_partial_messageable(suggestion.channel_id, guild_id=guild_id)
        view = suggestion_view(suggestion)
        try:
            if view is None:
                message = await channel.send(
                    suggestion_text(suggestion), allowed_mentions=discord.AllowedMentions.none()
                )
            else:
                message = await channel.send(
                    suggestion_text(suggestion),
                    view=view,
                    allowed_mentions=discord.AllowedMentions.none(),
                )
        except discord.HTTPException:
            log.warning("tutor suggestion for %s refused; will retry", guild_id, exc_info=True)
            await service.post_failed(guild_id, suggestion.week_key, PostKind.SUGGESTION)
            self._retry(
                suggestion_job(guild_id),
                guild_id,
                functools.partial(self.send_suggestion, guild_id),
            )
            return
        self._retries.pop((suggestion_job(guild_id), guild_id), None)
        await service.post_sent(
            guild_id, suggestion.week_key, PostKind.SUGGESTION, suggestion.channel_id, message.id
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
        await interaction.response.defer(ephemeral=True, thinking=True)
        posted = await post_shout_out(self.bot, result)
        reply = award_reply(result, posted)
        if result.award.private:
            reply += await self._tell_privately(student, result.award)
        await interaction.followup.send(reply, ephemeral=True, allowed_mentions=NO_PINGS)

    async def _tell_privately(self, student: discord.Member, award: Award) -> str:
        text = (
            f"🎉 You received a private award in **{student.guild.name}**: "
            f"**{award_title(award.kind)}** (+{award.points} points)."
        )
        if award.reason:
            text += f"\n> {discord.utils.escape_mentions(award.reason)}"
        try:
            await student.send(clip(text, 2000), allowed_mentions=NO_PINGS)
        except discord.HTTPException:
            # DMs closed (50007): nothing public is posted for a private award.
            return " Their DMs are closed, so please tell them yourself."
        return " I've told them by DM."

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
            message = self.bot.get_partial_messageable(
                award.channel_id, guild_id=award.guild_id
            ).get_partial_message(award.message_id)
            try:
                await message.delete()
                removed = " I removed its shout-out."
            except discord.NotFound:
                pass  # someone already deleted it
            except discord.HTTPException:
                removed = " I couldn't remove its shout-out; please delete it by hand."
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
