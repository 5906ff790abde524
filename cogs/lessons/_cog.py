"""`/lesson start|end|status`: a teacher's lesson with chosen mentors, and its celebration.

The cog reads the interaction, calls :class:`~bot.services.lessons.LessonService`, and does the
Discord side: lesson badges (through the mentors cog, the one owner of badge roles), the help
panel, the end timer (rebuilt at start-up for this process's classes) and the celebration post,
which is recorded as pending in the transaction that ends the lesson and posted exactly once.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.gains import PERIOD_LABELS, GainPeriod, PublicGains
from bot.domain.lessons import Lesson
from bot.errors import InvalidInput, UserFacingError
from bot.services.lessons import EndedLesson, LessonPlan
from cogs._background import OwnedTasks
from cogs._shared import (
    NO_PINGS,
    guild_id_of,
    only_pings,
    require_teacher,
    subject_autocomplete,
)
from cogs.help import mentor_ready
from cogs.help._views import panel_view
from cogs.lessons._forms import (
    PERSISTENT_ITEMS,
    debrief_text,
    debrief_view,
    meeting_text,
    meeting_view,
)
from cogs.lessons._goals import GoalsCog
from cogs.lessons._rounds import ROUNDS_ITEMS, board_embed, board_view
from cogs.lessons._views import (
    answers_embed,
    celebration_text,
    goal_line,
    insights_embed,
    prize_text,
    status_embed,
)
from cogs.progress import chart_file, public_gains_chart

if TYPE_CHECKING:
    from bot.app import ClassMentorBot
    from cogs.mentors._cog import MentorsCog

log = logging.getLogger(__name__)


def lesson_end_job(lesson_id: int) -> str:
    """The scheduler id of a lesson's end time."""
    return f"lesson-end:{lesson_id}"


def lesson_prize_job(lesson_id: int) -> str:
    """The scheduler id of the close of a lesson's quiz window (its prizes are decided then)."""
    return f"lesson-prize:{lesson_id}"


class LessonsCog(commands.Cog):
    """A teacher opens a lesson; its mentors help first; it ends with a celebration."""

    lesson_group = app_commands.Group(
        name="lesson", description="Run a lesson with chosen mentors", guild_only=True
    )

    def __init__(self, bot: ClassMentorBot) -> None:
        self.bot = bot
        self.service = bot.services.lessons
        # Start-up's resume, and one poster per record at a time (a timer racing the resume).
        self._background = OwnedTasks()

    async def cog_load(self) -> None:
        """Re-add the forms' buttons, rebuild this process's lesson end timers, and post the
        celebrations a crash left pending."""
        self.bot.add_dynamic_items(*PERSISTENT_ITEMS, *ROUNDS_ITEMS)
        for lesson in await self.service.ending_lessons():
            if self.bot.owns_guild(lesson.guild_id):  # other shards' processes keep theirs
                self._schedule_end(lesson)
        for lesson in await self.service.waiting_prizes():
            if self.bot.owns_guild(lesson.guild_id):
                self._schedule_prize(lesson)
        self._background.start(self._resume())

    async def cog_unload(self) -> None:
        """Stop the resume task (what is unfinished stays pending for the next start)."""
        self.bot.remove_dynamic_items(*PERSISTENT_ITEMS, *ROUNDS_ITEMS)
        await self._background.stop()

    async def _resume(self) -> None:
        await self.bot.wait_until_ready()
        try:
            pending = await self.service.pending_celebrations()
            pending += await self.service.pending_prize_posts()
            for lesson_id in sorted({p.id for p in pending if self.bot.owns_guild(p.guild_id)}):
                await self.celebrate(lesson_id)
        except Exception:
            log.exception("could not post the lesson celebrations left pending")

    def _schedule_end(self, lesson: Lesson) -> None:
        if lesson.ends_at is None:
            return

        async def end() -> None:
            ended = await self.service.end_if_due(lesson.id)
            if ended is not None:
                await self.finish(ended)

        self.bot.jobs.at(lesson_end_job(lesson.id), lesson.ends_at, end)

    def _schedule_prize(self, lesson: Lesson) -> None:
        """Decide the prizes when the lesson's quiz window closes (at once if it has)."""
        if not lesson.prize_waiting or lesson.prize_due_at is None:
            return

        async def decide() -> None:
            if await self.service.decide_if_due(lesson.id):
                await self.celebrate(lesson.id)

        self.bot.jobs.at(lesson_prize_job(lesson.id), lesson.prize_due_at, decide)

    def _mentors_cog(self) -> MentorsCog:
        cog = self.bot.get_cog("MentorsCog")
        if cog is None:
            raise UserFacingError("Mentor badges are not available right now.")
        return cog  # type: ignore[return-value]

    # --- commands ---------------------------------------------------------------------------

    @lesson_group.command(name="start", description="Open a lesson with chosen mentors (teacher)")
    @app_commands.describe(
        subject="The lesson's subject",
        aspect="The aspect mentors help with, e.g. fractions",
        mentors="The lesson's mentors as mentions, e.g. @Alice @Bob (default: the subject's)",
        until="When the lesson ends: a time like 14:30, or a length like 50m",
    )
    @app_commands.autocomplete(subject=subject_autocomplete)
    async def start(
        self,
        interaction: discord.Interaction,
        subject: app_commands.Range[str, 1, 40],
        aspect: app_commands.Range[str, 1, 40] | None = None,
        mentors: app_commands.Range[str, 1, 400] | None = None,
        until: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        """Check everything, then: lesson open, badges on, panel posted, mentors ready."""
        await require_teacher(interaction, "start a lesson")
        guild = interaction.guild
        assert guild is not None
        plan = await self.service.plan_start(guild.id, subject, aspect, mentors, until)
        members = {uid: await self._member(guild, uid) for uid in plan.need_badge}
        await interaction.response.defer(ephemeral=True, thinking=True)
        lesson = await self.service.record_start(plan, interaction.user.id)
        try:
            await self._give_badges(lesson, plan, members, interaction.user)
        except Exception:
            # A badge Discord refused: the lesson does not half-start.
            ended = await self.service.cancel_start(lesson.id)
            await self._take_back_badges(ended)
            raise
        self._schedule_end(lesson)
        panel = await self._post_panel(lesson, plan)
        for uid in plan.mentor_ids:
            await mentor_ready(self.bot, guild.id, uid)
        await self._invite_to_meeting(lesson, plan)
        names = ", ".join(f"<@{uid}>" for uid in plan.mentor_ids)
        ends = f" until <t:{int(lesson.ends_at.timestamp())}:t>" if lesson.ends_at else ""
        where = f" The help panel is in <#{panel}>." if panel else ""
        await interaction.followup.send(
            f"📚 The **{lesson.topic}** lesson is open{ends}. Lesson mentors: {names}: help "
            f"requests go to them first.{where} End it with `/lesson end`.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    async def _member(self, guild: discord.Guild, user_id: int) -> discord.Member:
        member = guild.get_member(user_id)
        if member is None:
            try:
                member = await guild.fetch_member(user_id)
            except discord.NotFound:
                raise InvalidInput(f"<@{user_id}> isn't a member of this class.") from None
        if member.bot:
            raise InvalidInput("Bots can't be lesson mentors.")
        return member

    async def _give_badges(
        self,
        lesson: Lesson,
        plan: LessonPlan,
        members: dict[int, discord.Member],
        actor: discord.abc.User,
    ) -> None:
        mentors_cog = self._mentors_cog()
        for uid, member in members.items():
            grant = await self.bot.services.mentors.plan_grant(
                lesson.guild_id, plan.subject.name, uid, None, plan.aspect
            )
            # A lesson badge ends with the lesson: at its end time, or at `/lesson end`.
            grant = dataclasses.replace(grant, expires_at=lesson.ends_at)
            result = await mentors_cog.give_badge(member, grant, actor)
            await self.service.attach_badge(lesson, uid, result.badge.id)

    async def _invite_to_meeting(self, lesson: Lesson, plan: LessonPlan) -> None:
        """Each lesson mentor gets the meeting's two questions: by DM, else in #mentors."""
        guild = self.bot.get_guild(lesson.guild_id)
        text = meeting_text(lesson, guild.name if guild else "your class")
        for uid in plan.mentor_ids:
            try:
                channel = await self.bot.create_dm(discord.Object(uid))
                await channel.send(text, view=meeting_view(lesson.id), allowed_mentions=NO_PINGS)
                continue
            except discord.HTTPException:
                pass  # DMs closed (50007): the mentors channel, pinging only them
            if plan.settings.mentors_channel_id is None:
                continue
            try:
                await self.bot.get_partial_messageable(plan.settings.mentors_channel_id).send(
                    f"<@{uid}>, your DMs are closed, so here are the lesson's questions:\n{text}",
                    view=meeting_view(lesson.id),
                    allowed_mentions=only_pings(uid),
                )
            except discord.HTTPException:
                log.warning("lesson %s: could not send the meeting questions to %s", lesson.id, uid)

    async def offer_debrief(self, request_id: int, mentor_id: int, subject_name: str) -> None:
        """After a confirmed session: the mentor's optional note, asked by DM (never public)."""
        try:
            channel = await self.bot.create_dm(discord.Object(mentor_id))
            await channel.send(
                debrief_text(subject_name),
                view=debrief_view(request_id),
                allowed_mentions=NO_PINGS,
            )
        except discord.HTTPException:
            pass  # optional: with DMs closed the mentor is not asked in public

    async def _post_panel(self, lesson: Lesson, plan: LessonPlan) -> int | None:
        """Refresh the last lesson's help panel for this subject, or post a new one."""
        channel_id = plan.settings.help_channel_id
        if channel_id is None:
            return None
        subject = await self.bot.services.classes.subject_by_id(lesson.subject_id)
        assert subject is not None
        text = (
            f"🆘 **Stuck in today's {lesson.topic} lesson?** Press the button: a classmate "
            "mentor will help you in a private thread. Nobody else sees that you asked."
        )
        view = panel_view([subject])
        previous = await self.service.last_panel(lesson.guild_id)
        if previous is not None and previous[0] == channel_id:
            message = self.bot.get_partial_messageable(channel_id).get_partial_message(previous[1])
            try:
                await message.edit(content=text, view=view, allowed_mentions=NO_PINGS)
                await self.service.set_panel(lesson, channel_id, previous[1])
                return channel_id
            except discord.HTTPException:
                pass  # deleted by hand: post a new one
        try:
            sent = await self.bot.get_partial_messageable(channel_id).send(
                text, view=view, allowed_mentions=NO_PINGS
            )
        except discord.HTTPException:
            log.warning("could not post the lesson's help panel in %s", channel_id)
            return None
        await self.service.set_panel(lesson, channel_id, sent.id)
        return channel_id

    @lesson_group.command(name="end", description="End the lesson and celebrate (teacher)")
    async def end(self, interaction: discord.Interaction) -> None:
        """Close the lesson: lesson badges end, the class gets its celebration post."""
        await require_teacher(interaction, "end a lesson")
        ended = await self.service.end(guild_id_of(interaction), interaction.user.id)
        counts = ended.counts
        due = ended.lesson.prize_due_at if ended.lesson.prize_waiting else None
        prizes = (
            f" The pair prize waits for today's quiz: scores you record for "
            f"{ended.lesson.subject_name} until <t:{int(due.timestamp())}:t> count, and "
            "`/lesson prize` decides it earlier."
            if due
            else ""
        )
        await interaction.response.send_message(
            f"🏁 The **{ended.lesson.topic}** lesson has ended: {counts.requests} help "
            f"request{'s' if counts.requests != 1 else ''}, {counts.sessions} session"
            f"{'s' if counts.sessions != 1 else ''} confirmed. The celebration is going up in "
            f"the announcements channel.{prizes}",
            ephemeral=True,
        )
        await self.finish(ended)

    @lesson_group.command(name="status", description="The open lesson: mentors and requests")
    async def status(self, interaction: discord.Interaction) -> None:
        """Who is mentoring, requests so far, sessions confirmed (private)."""
        status = await self.service.status(guild_id_of(interaction))
        await interaction.response.send_message(
            embed=status_embed(status), ephemeral=True, allowed_mentions=NO_PINGS
        )

    @lesson_group.command(
        name="prize", description="The quiz is in: decide the last lesson's prizes now (teacher)"
    )
    async def prize(self, interaction: discord.Interaction) -> None:
        """Decide the prizes of the lesson waiting for its quiz, without waiting for its window."""
        await require_teacher(interaction, "decide a lesson's prizes")
        lesson = await self.service.decide_now(guild_id_of(interaction))
        self.bot.jobs.cancel(lesson_prize_job(lesson.id))
        await interaction.response.send_message(
            f"🏅 The prizes of the **{lesson.topic}** lesson are decided with the scores recorded "
            "so far: the post is going up in the announcements channel.",
            ephemeral=True,
        )
        await self.celebrate(lesson.id)

    async def quiz_imported(self, guild_id: int) -> None:
        """A score file was imported: if it brought the waiting lesson's quiz, decide now."""
        lesson = await self.service.quiz_imported(guild_id)
        if lesson is not None:
            self.bot.jobs.cancel(lesson_prize_job(lesson.id))
            await self.celebrate(lesson.id)

    @lesson_group.command(
        name="brief-answers", description="The lesson mentors' meeting answers (teacher)"
    )
    async def brief_answers(self, interaction: discord.Interaction) -> None:
        """What the mentors found hard and what helped: private to the teacher."""
        await require_teacher(interaction, "read the mentors' answers")
        answers = await self.service.brief_answers(guild_id_of(interaction))
        await interaction.response.send_message(
            embed=answers_embed(answers), ephemeral=True, allowed_mentions=NO_PINGS
        )

    @app_commands.command(name="insights", description="What the class struggled with (teacher)")
    @app_commands.describe(subject="The subject", period="Which requests (default: this term)")
    @app_commands.choices(
        period=[
            app_commands.Choice(name=label, value=period.value)
            for period, label in PERIOD_LABELS.items()
        ]
    )
    @app_commands.autocomplete(subject=subject_autocomplete)
    @app_commands.guild_only()
    async def insights(
        self,
        interaction: discord.Interaction,
        subject: app_commands.Range[str, 1, 40],
        period: app_commands.Choice[str] | None = None,
    ) -> None:
        """Topics and aspects asked about, median wait, unserved, low ratings, mentors' notes."""
        await require_teacher(interaction, "see insights")
        name, label, summary = await self.service.insights(
            guild_id_of(interaction),
            subject,
            GainPeriod(period.value) if period else GainPeriod.TERM,
        )
        await interaction.response.send_message(
            embed=insights_embed(name, label, summary), ephemeral=True, allowed_mentions=NO_PINGS
        )

    @app_commands.command(name="rounds", description="Mentors: the live board of who's waiting")
    @app_commands.guild_only()
    async def rounds(self, interaction: discord.Interaction) -> None:
        """Waiting requests in your subjects (topic, aspect, waiting time; never names)."""
        entries = await self.bot.services.help.board(guild_id_of(interaction), interaction.user.id)
        await interaction.response.send_message(
            embed=board_embed(entries, self.bot.clock.now()),
            view=board_view(entries),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    # --- the end ----------------------------------------------------------------------------

    async def finish(self, ended: EndedLesson) -> None:
        """After a lesson closed: cancel its timer, take lesson badges back, celebrate."""
        self.bot.jobs.cancel(lesson_end_job(ended.lesson.id))
        self._schedule_prize(ended.lesson)
        await self._take_back_badges(ended)
        await self.celebrate(ended.lesson.id)

    async def _take_back_badges(self, ended: EndedLesson | None) -> None:
        if ended is None:
            return
        mentors_cog = self._mentors_cog()
        for badge_id in ended.lesson_badges:
            try:
                await mentors_cog.end_lesson_badge(badge_id)
            except discord.HTTPException:
                log.warning("could not take back lesson badge %s", badge_id)

    async def celebrate(self, lesson_id: int) -> None:
        """Post what the lesson still owes the class, once each: the celebration (claimed in the
        database, posted, marked done), then the prizes decided after it went out."""
        async with self._background.lock(lesson_id):
            if await self._post_celebration(lesson_id):
                await self._post_prizes(lesson_id)

    async def _post_celebration(self, lesson_id: int) -> bool:
        """The celebration, if still pending; False when Discord refused it (retried later)."""
        celebration = await self.service.celebration(lesson_id)
        if celebration is None:
            return True  # already posted
        guild_id = celebration.lesson.guild_id
        goal = await self.bot.services.goals.progress(guild_id)
        if goal is not None:
            celebration = dataclasses.replace(celebration, goal_line=goal_line(goal))
        title = f"Gains on {celebration.assessment}"
        done, message_id = await self._announce(
            lesson_id, guild_id, celebration_text(celebration), title, celebration.gains
        )
        if not done:
            return False
        await self.service.celebrated(lesson_id, message_id, celebration)
        return True

    async def _post_prizes(self, lesson_id: int) -> None:
        """The prizes decided after the celebration went out (the quiz came in after it)."""
        news = await self.service.prize_news(lesson_id)
        if news is None:
            return
        title = f"Gains on {news.assessment}"
        done, message_id = await self._announce(
            lesson_id, news.lesson.guild_id, prize_text(news), title, news.gains
        )
        if done:
            await self.service.prize_posted(lesson_id, message_id)

    async def _announce(
        self,
        lesson_id: int,
        guild_id: int,
        text: str,
        chart_title: str,
        gains: PublicGains | None,
    ) -> tuple[bool, int | None]:
        """Post to the announcements channel: (done, message id). Done without a message when the
        class has no such channel; not done when Discord refused (left pending for a retry)."""
        settings = await self.bot.services.classes.get(guild_id)
        channel_id = settings.announcements_channel_id if settings else None
        if channel_id is None:
            return True, None
        files = []
        if gains is not None:
            chart = await public_gains_chart(self.bot, guild_id, chart_title, gains)
            files.append(chart_file(chart))
        try:
            sent = await self.bot.get_partial_messageable(channel_id).send(
                text, files=files, allowed_mentions=NO_PINGS
            )
        except discord.HTTPException:
            log.warning("lesson %s: announcement failed; retried at start-up", lesson_id)
            return False, None
        return True, sent.id


async def setup(bot: ClassMentorBot) -> None:
    """Extension entry point: lessons and class goals."""
    await bot.add_cog(LessonsCog(bot))
    await bot.add_cog(GoalsCog(bot))
