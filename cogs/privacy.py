"""Privacy: `/privacy show|export|delete`, the persistent confirm button, the daily retention job.

A student deletes their own data after pressing a confirm button; a teacher deletes a student's
data (e.g. on a parent's request) with `/privacy delete student:@them`, also confirmed. The button
carries the class, the person and who asked (`privacy:erase:<guild>:<user>:<by>`), so it works
after a restart; everything else is re-checked on the click.
"""

from __future__ import annotations

import io
import logging
from datetime import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import InvalidInput, NotTeacher
from bot.services.privacy import DISCORD_FILE_LIMIT, PrivacySummary
from cogs._components import PersistentItem, view_of
from cogs._discord_api import remove_member_role
from cogs._shared import (
    NO_PINGS,
    bot_of,
    clip,
    guild_id_of,
    member_is_teacher,
    require_teacher,
)
from db.privacy import Report

if TYPE_CHECKING:
    from bot.app import ClassMentorBot

log = logging.getLogger(__name__)

RETENTION_JOB = "privacy-retention"
RETENTION_AT = time(3, 15)  # UTC, a quiet hour for European and American classes


def summary_text(summary: PrivacySummary, about_self: bool, name: str) -> str:
    """`/privacy show` in plain words."""
    who = "you" if about_self else name
    lines = [f"**What ClassMentor stores about {who} in this class**"]
    if summary.empty:
        lines.append("Nothing at the moment.")
    else:
        lines += [f"• {label}: {count}" for label, count in summary.counts if count]
    lines += [
        "",
        "Never stored: message content, or anything from other servers.",
        f"Help-request topics and the link between a rating and the student who gave it are "
        f"removed {summary.retention_days} days after the request closed. If the bot is removed "
        f"from the server, the class's data is deleted {summary.left_server_days} days later "
        "unless it is invited back.",
        "Get a copy with `/privacy export`; delete it with `/privacy delete`.",
    ]
    return "\n".join(lines)


def report_text(report: Report, subject: str) -> str:
    """What a deletion did, exactly."""
    lines = [f"✅ Deleted {subject} data in this class."]
    deleted = report.of("deleted")
    anonymised = report.of("anonymised")
    if deleted:
        lines.append("**Deleted:**")
        lines += [f"• {step.what}: {step.rows}" for step in deleted]
    if anonymised:
        lines.append("**Anonymised** (kept for others, with the name replaced by *a classmate*):")
        lines += [f"• {step.what}: {step.rows}" for step in anonymised]
    lines.append("Class totals and weekly posts already sent are not changed.")
    return clip("\n".join(lines), 2000)


class EraseButton(
    PersistentItem[discord.ui.Button[discord.ui.View]],
    template=r"privacy:erase:(?P<guild>\d+):(?P<user>\d+):(?P<by>\d+)",
):
    """Confirms a deletion; only the person who asked may press it."""

    def __init__(self, guild_id: int, user_id: int, by_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Yes, delete",
                style=discord.ButtonStyle.danger,
                custom_id=f"privacy:erase:{guild_id}:{user_id}:{by_id}",
            )
        )
        self.guild_id = guild_id
        self.user_id = user_id
        self.by_id = by_id

    async def check(self, interaction: discord.Interaction) -> None:
        """Only the person who asked, in this class; a teacher's request needs a teacher still."""
        if guild_id_of(interaction) != self.guild_id:
            raise InvalidInput("This button belongs to another class.")
        if interaction.user.id != self.by_id:
            raise InvalidInput("Only the person who asked for this deletion can confirm it.")
        if self.by_id != self.user_id:
            await require_teacher(interaction, "delete a student's data")

    async def run(self, interaction: discord.Interaction) -> None:
        """Take badge roles off, delete in one transaction, report exactly what happened."""
        by_teacher = self.by_id != self.user_id
        bot = bot_of(interaction)
        service = bot.services.privacy
        plan = await service.erasure_plan(self.guild_id, self.user_id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        for role_id in plan.badge_role_ids:
            try:
                await remove_member_role(
                    bot, self.guild_id, self.user_id, role_id, reason="Privacy deletion"
                )
            except discord.NotFound:
                pass  # the member left or the role is gone
        report = await service.erase(
            plan,
            requested_by="teacher" if by_teacher else "student",
            teacher_id=self.by_id if by_teacher else None,
        )
        subject = f"<@{self.user_id}>'s" if by_teacher else "your"
        await interaction.followup.send(
            report_text(report, subject), ephemeral=True, allowed_mentions=NO_PINGS
        )


class PrivacyCog(commands.Cog):
    """Anyone sees, exports and deletes their own data; teachers act for a student."""

    group = app_commands.Group(
        name="privacy", description="See, export or delete what ClassMentor stores", guild_only=True
    )

    def __init__(self, bot: ClassMentorBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        """Re-add the confirm button; schedule the daily retention job (one process runs it)."""
        self.bot.add_dynamic_items(EraseButton)
        # Retention sweeps every class at once: only the process running shard 0 does it.
        if self.bot.shard_plan.runs_shard_zero:
            self.bot.jobs.daily(RETENTION_JOB, RETENTION_AT, self.run_retention)

    async def cog_unload(self) -> None:
        """Forget the button and the job (for reloads)."""
        self.bot.remove_dynamic_items(EraseButton)
        self.bot.jobs.cancel(RETENTION_JOB)

    async def run_retention(self) -> None:
        """The daily job: the service decides what is old enough."""
        await self.bot.services.privacy.run_retention()

    async def _target(
        self,
        interaction: discord.Interaction,
        student: discord.User | discord.Member | None,
        action: str,
    ) -> int:
        """The person acted on: yourself, or (teachers only) a student."""
        if student is None or student.id == interaction.user.id:
            return interaction.user.id
        settings = await self.bot.services.classes.require_configured(guild_id_of(interaction))
        if not member_is_teacher(interaction, settings):
            raise NotTeacher(action)
        if student.bot:
            raise InvalidInput("Bots have no data in ClassMentor.")
        return student.id

    @group.command(name="show", description="What ClassMentor stores about you (private)")
    @app_commands.describe(student="Teachers: a student to look up instead of yourself")
    async def show(
        self, interaction: discord.Interaction, student: discord.User | None = None
    ) -> None:
        """Counts in plain words, and the retention periods."""
        target = await self._target(interaction, student, "see another student's data")
        summary = await self.bot.services.privacy.summary(guild_id_of(interaction), target)
        name = student.display_name if student else ""
        await interaction.response.send_message(
            summary_text(summary, target == interaction.user.id, name),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @group.command(name="export", description="Get a file with everything stored about you")
    @app_commands.describe(student="Teachers: a student to export instead of yourself")
    async def export(
        self, interaction: discord.Interaction, student: discord.User | None = None
    ) -> None:
        """A JSON file (format documented in docs/privacy-export.md), privately."""
        target = await self._target(interaction, student, "export another student's data")
        await interaction.response.defer(ephemeral=True, thinking=True)
        limit = interaction.guild.filesize_limit if interaction.guild else DISCORD_FILE_LIMIT
        export = await self.bot.services.privacy.export(
            guild_id_of(interaction), target, limit=limit
        )
        note = " (compressed with gzip: it was large)" if export.compressed else ""
        await interaction.followup.send(
            f"Here is everything ClassMentor stores about "
            f"{'you' if target == interaction.user.id else f'<@{target}>'} in this class{note}. "
            "The format is explained in ClassMentor's docs (docs/privacy-export.md).",
            file=discord.File(io.BytesIO(export.data), filename=export.filename),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @group.command(name="delete", description="Delete your data in this class (asks to confirm)")
    @app_commands.describe(student="Teachers: the student whose data to delete")
    async def delete(
        self, interaction: discord.Interaction, student: discord.User | None = None
    ) -> None:
        """Check the deletion can go ahead, then ask for a confirm click."""
        target = await self._target(interaction, student, "delete another student's data")
        guild_id = guild_id_of(interaction)
        await self.bot.services.privacy.erasure_plan(guild_id, target)
        who = "your" if target == interaction.user.id else f"<@{target}>'s"
        view = view_of(EraseButton(guild_id, target, interaction.user.id))
        await interaction.response.send_message(
            f"This deletes {who} ClassMentor data in this class: badges, help requests, "
            "awards and points. Sessions given to classmates stay credited to their mentor, "
            "without the name. This cannot be undone. Press the button to confirm.",
            view=view,
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )


async def setup(bot: ClassMentorBot) -> None:
    """Extension entry point."""
    await bot.add_cog(PrivacyCog(bot))
