"""Quiz scores and gains: `/score add|remove|import|template` and `/gains`."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.charts import Chart, ChartRenderer, public_chart, student_chart, teacher_chart
from bot.domain.classroom import ClassSettings
from bot.domain.gains import PERIOD_LABELS, GainPeriod, PublicGains, public_gains, signed
from bot.domain.score_csv import MAX_BYTES, Member
from bot.errors import InvalidInput, NotTeacher
from bot.services.progress import WeeklyGains
from cogs._discord_api import fetch_member_payload, list_member_payloads
from cogs._progress_hook import class_progressed, scores_imported
from cogs._shared import (
    NO_PINGS,
    bot_of,
    guild_id_of,
    member_is_teacher,
    require_teacher,
    subject_autocomplete,
)
from cogs.progress._render import (
    chart_file,
    class_bars,
    class_embed,
    import_summary,
    student_embed,
)

if TYPE_CHECKING:
    from bot.app import ClassMentorBot

log = logging.getLogger(__name__)
T = TypeVar("T")

PERIOD_CHOICES = [
    app_commands.Choice(name=label, value=p.value) for p, label in PERIOD_LABELS.items()
]
ROSTER_FETCH_CAP = 300  # without the members intent, members are fetched one by one
_IDS_IN_TEXT = re.compile(rb"\b(\d{15,20})\b")


def _member(payload: dict[str, Any]) -> Member | None:
    user = payload.get("user") or {}
    if user.get("bot"):
        return None
    username = str(user.get("username", ""))
    display = payload.get("nick") or user.get("global_name") or username
    return Member(int(user["id"]), username, str(display))


async def class_roster(
    bot: ClassMentorBot,
    guild_id: int,
    settings: ClassSettings | None,
    extra_ids: Iterable[int] = (),
) -> list[Member]:
    """The class's students (no bots, no teachers).

    With the members intent enabled in the developer portal, one request lists everyone. Without
    it, the roster is everyone the class's records mention plus ``extra_ids``, fetched one by one.
    """
    teacher_role = settings.teacher_role_id if settings else None
    payloads: list[dict[str, Any]] = []
    try:
        payloads = await list_member_payloads(bot, guild_id)
    except discord.Forbidden:
        ids = set(await bot.services.progress.known_students(guild_id)) | set(extra_ids)
        for user_id in sorted(ids)[:ROSTER_FETCH_CAP]:
            try:
                payloads.append(await fetch_member_payload(bot, guild_id, user_id))
            except discord.NotFound:
                continue
    members = []
    for payload in payloads:
        if teacher_role is not None and str(teacher_role) in {
            str(r) for r in payload.get("roles", [])
        }:
            continue
        member = _member(payload)
        if member is not None:
            members.append(member)
    return members


async def display_names(
    bot: ClassMentorBot, guild_id: int, user_ids: Iterable[int]
) -> dict[int, str]:
    """Names for chart labels: from the cache, else fetched (a chart can't show mentions)."""
    wanted = list(dict.fromkeys(user_ids))
    guild = bot.get_guild(guild_id)
    names: dict[int, str] = {}
    for user_id in wanted:
        cached = guild.get_member(user_id) if guild else None
        if cached is not None:
            names[user_id] = cached.display_name
            continue
        try:
            member = _member(await fetch_member_payload(bot, guild_id, user_id))
        except discord.HTTPException:
            member = None
        names[user_id] = member.display_name if member else f"Student {str(user_id)[-4:]}"
    return names


def renderer_of(bot: ClassMentorBot) -> ChartRenderer:
    """The progress cog's chart worker (a thread-pool renderer if the cog isn't loaded).

    Looked up by name: an extension's module is re-imported on every load, so a class check
    against this module's ProgressCog could miss the loaded one.
    """
    renderer = getattr(bot.get_cog("ProgressCog"), "renderer", None)
    return renderer if isinstance(renderer, ChartRenderer) else ChartRenderer(processes=False)


async def public_gains_chart(
    bot: ClassMentorBot, guild_id: int, title: str, gains: PublicGains
) -> Chart:
    """The public chart (gains only, improvers only), rendered off the event loop."""
    names = await display_names(bot, guild_id, [uid for uid, _ in gains.top])
    top = [(names[uid], points) for uid, points in gains.top]
    return await renderer_of(bot).render(public_chart, title, gains.average, top)


async def weekly_gains_post(bot: ClassMentorBot, guild_id: int) -> tuple[str, discord.File] | None:
    """For the weekly post: the "Class average gain this week" line and the public chart file.

    None when nobody has a gain this week (then the post leaves the line out).
    """
    weekly: WeeklyGains | None = await bot.services.progress.weekly_gains(guild_id)
    if weekly is None:
        return None
    chart = await public_gains_chart(bot, guild_id, "Gains this week", weekly.public)
    return weekly.line, chart_file(chart)


async def assessment_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """The class's assessments (of the chosen subject, when one is typed)."""
    if interaction.guild_id is None:
        return []
    subject = getattr(interaction.namespace, "subject", None)
    names = await bot_of(interaction).services.progress.assessment_names(
        interaction.guild_id, subject if isinstance(subject, str) else None
    )
    typed = current.casefold().strip()
    return [app_commands.Choice(name=n, value=n) for n in names if typed in n.casefold()][:25]


class ProgressCog(commands.Cog):
    """Teachers record quiz scores; everyone sees gains, each at the right level of privacy."""

    score_group = app_commands.Group(
        name="score", description="Quiz and test scores (teacher)", guild_only=True
    )

    def __init__(self, bot: ClassMentorBot) -> None:
        self.bot = bot
        self.renderer = ChartRenderer()

    async def cog_unload(self) -> None:
        """Stop the chart worker."""
        await self.renderer.close()

    @score_group.command(name="add", description="Record a student's score (teacher)")
    @app_commands.describe(
        student="Whose score",
        subject="The subject",
        assessment="The assessment's name, e.g. Fractions quiz 1",
        score="Points scored",
        out_of="Maximum points (default 100)",
        date="When it was taken: YYYY-MM-DD (default today)",
        aspect="Optional topic within the subject, e.g. fractions",
    )
    @app_commands.autocomplete(subject=subject_autocomplete, assessment=assessment_autocomplete)
    async def score_add(
        self,
        interaction: discord.Interaction,
        student: discord.Member,
        subject: app_commands.Range[str, 1, 40],
        assessment: app_commands.Range[str, 1, 80],
        score: app_commands.Range[float, 0, 100000],
        out_of: app_commands.Range[float, 0, 100000] = 100.0,
        date: app_commands.Range[str, 1, 20] | None = None,
        aspect: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        """Record one score (re-recording an assessment updates it)."""
        await require_teacher(interaction, "record scores")
        if student.bot:
            raise InvalidInput("Scores are for students, not bots.")
        added = await self.bot.services.progress.add_score(
            guild_id_of(interaction),
            interaction.user.id,
            subject_name=subject,
            assessment=assessment,
            user_id=student.id,
            score=score,
            out_of=out_of,
            day=date,
            aspect=aspect,
        )
        verb = "Updated" if added.changed else "Already had" if added.unchanged else "Recorded"
        await interaction.response.send_message(
            f"{verb} {student.mention}'s **{added.assessment}** ({added.subject}) on "
            f"{added.taken_on.isoformat()}: {score:g}/{out_of:g} = {added.percent:.0f}%.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )
        await class_progressed(self.bot, guild_id_of(interaction))

    @score_group.command(name="remove", description="Delete a student's score (teacher)")
    @app_commands.describe(
        student="Whose score", subject="The subject", assessment="Which assessment"
    )
    @app_commands.autocomplete(subject=subject_autocomplete, assessment=assessment_autocomplete)
    async def score_remove(
        self,
        interaction: discord.Interaction,
        student: discord.Member,
        subject: app_commands.Range[str, 1, 40],
        assessment: app_commands.Range[str, 1, 80],
    ) -> None:
        """Remove one score."""
        await require_teacher(interaction, "remove scores")
        found = await self.bot.services.progress.remove_score(
            guild_id_of(interaction),
            subject_name=subject,
            assessment=assessment,
            user_id=student.id,
        )
        await interaction.response.send_message(
            f"Removed {student.mention}'s **{assessment}** score in {found.name}.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @score_group.command(name="import", description="Import scores from a CSV file (teacher)")
    @app_commands.describe(file="CSV: student, subject, assessment, score, out_of, date[, aspect]")
    async def score_import(
        self, interaction: discord.Interaction, file: discord.Attachment
    ) -> None:
        """All or nothing: a report of every bad row, or every score stored."""
        settings = await require_teacher(interaction, "import scores")
        if file.size > MAX_BYTES:
            raise InvalidInput(f"That file is {file.size // 1024} KiB; the limit is 1 MiB.")
        if not file.filename.casefold().endswith((".csv", ".txt")) and not (
            file.content_type or ""
        ).startswith("text/"):
            raise InvalidInput(
                "That isn't a CSV file. Export your spreadsheet as CSV (`/score template` gives "
                "one to fill in)."
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await file.read()
        guild_id = guild_id_of(interaction)
        mentioned = {int(m) for m in _IDS_IN_TEXT.findall(data[:MAX_BYTES])}
        roster = await class_roster(self.bot, guild_id, settings, mentioned)
        result = await self.bot.services.progress.import_csv(
            guild_id, interaction.user.id, data, roster
        )
        await interaction.followup.send(
            import_summary(result), ephemeral=True, allowed_mentions=NO_PINGS
        )
        await scores_imported(self.bot, guild_id)

    @score_group.command(name="template", description="A CSV to fill in, with your class (teacher)")
    @app_commands.describe(subject="Fill in this subject on every row")
    @app_commands.autocomplete(subject=subject_autocomplete)
    async def score_template(
        self,
        interaction: discord.Interaction,
        subject: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        """The roster as a CSV, ready for a spreadsheet."""
        settings = await require_teacher(interaction, "download the score template")
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id = guild_id_of(interaction)
        roster = await class_roster(self.bot, guild_id, settings)
        text = await self.bot.services.progress.template(guild_id, roster, subject)
        await interaction.followup.send(
            f"Fill in one row per score ({len(roster)} students listed), then `/score import` it.",
            file=discord.File(io.BytesIO(text.encode("utf-8-sig")), filename="scores-template.csv"),
            ephemeral=True,
        )

    @app_commands.command(
        name="gains", description="Progress in quiz scores: yours, or your class's"
    )
    @app_commands.describe(
        subject="The subject (teachers: required for the class chart)",
        period="Which window (default: this term)",
        from_assessment="Teachers: gain from this assessment…",
        to_assessment="…to this one",
        share="Teachers: also post the class's gains (average and top gains only) here",
        top="With share: how many top gains to name (0 = the class average only)",
    )
    @app_commands.choices(period=PERIOD_CHOICES)
    @app_commands.autocomplete(
        subject=subject_autocomplete,
        from_assessment=assessment_autocomplete,
        to_assessment=assessment_autocomplete,
    )
    @app_commands.guild_only()
    async def gains(
        self,
        interaction: discord.Interaction,
        subject: app_commands.Range[str, 1, 40] | None = None,
        period: app_commands.Choice[str] | None = None,
        from_assessment: app_commands.Range[str, 1, 80] | None = None,
        to_assessment: app_commands.Range[str, 1, 80] | None = None,
        share: bool = False,
        top: app_commands.Range[int, 0, 5] = 3,
    ) -> None:
        """Teachers see the class (privately); students see only themselves (privately)."""
        guild_id = guild_id_of(interaction)
        settings = await self.bot.services.classes.require_configured(guild_id)
        teacher = member_is_teacher(interaction, settings)
        chosen = GainPeriod(period.value) if period else GainPeriod.TERM
        if (share or from_assessment or to_assessment) and not teacher:
            raise NotTeacher("compare the class or share gains")
        if teacher and subject:
            await self._class_gains(
                interaction, guild_id, subject, chosen, from_assessment, to_assessment, share, top
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.bot.services.progress.student_report(
            guild_id, interaction.user.id, subject, chosen
        )
        title = "Your gains" + (" — pick a subject to see the class" if teacher else "")
        embed = student_embed(report, title)
        points = (
            [p for s in report.subjects for p in s.points]
            if subject
            else (report.subjects[0].points if len(report.subjects) == 1 else [])
        )
        if points:
            name = report.subjects[0].subject if len(report.subjects) == 1 else (subject or "")
            chart = await self.renderer.render(
                student_chart,
                f"Your {name} scores",
                [(p.taken_on, p.percent, p.assessment) for p in points],
            )
            embed.set_image(url=f"attachment://{chart.filename}")
            await interaction.followup.send(
                embed=embed, file=chart_file(chart), ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)

    async def _class_gains(
        self,
        interaction: discord.Interaction,
        guild_id: int,
        subject: str,
        period: GainPeriod,
        from_assessment: str | None,
        to_assessment: str | None,
        share: bool,
        top: int,
    ) -> None:
        if bool(from_assessment) != bool(to_assessment):
            raise InvalidInput("Give both `from_assessment` and `to_assessment`, or neither.")
        between = (from_assessment, to_assessment) if from_assessment and to_assessment else None
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.bot.services.progress.class_report(guild_id, subject, period, between)
        embed = class_embed(report)
        if not report.gains.gains:
            await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)
            return
        names = await display_names(self.bot, guild_id, [g.user_id for g in report.gains.gains])
        chart = await self.renderer.render(
            teacher_chart,
            f"{report.subject.name}, {report.label}",
            class_bars(report, names),
            report.gains.average,
        )
        embed.set_image(url=f"attachment://{chart.filename}")
        if share and interaction.channel is not None:
            # Posted before the teacher's reply, so the reply confirms the post is out.
            public = public_gains(report.gains, top)
            assert public is not None
            shared = await public_gains_chart(
                self.bot, guild_id, f"{report.subject.name} gains, {report.label}", public
            )
            channel = self.bot.get_partial_messageable(interaction.channel.id)
            await channel.send(
                f"📈 {report.subject.name}, {report.label}: class average gain "
                f"**{signed(public.average)} points**. Well done, everyone who practised!",
                file=chart_file(shared),
                allowed_mentions=NO_PINGS,
            )
            embed.set_footer(text="Shared with the class: the average gain and top gains only.")
        await interaction.followup.send(
            embed=embed, file=chart_file(chart), ephemeral=True, allowed_mentions=NO_PINGS
        )


async def setup(bot: ClassMentorBot) -> None:
    """Extension entry point."""
    await bot.add_cog(ProgressCog(bot))
