"""Letters home and the gradebook: `/letter student|class|template` and `/export` (teachers).

PDFs and the ZIP are rendered in a worker thread by the service; replies are private to the
teacher. Names are read from Discord here (ClassMentor stores no names).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.weeks import Period
from bot.errors import InvalidInput
from bot.letters.content import NOTE_MAX_LENGTH, TEMPLATE_MAX_LENGTH, safe_filename
from bot.services.letters import PERIOD_WORDS, gradebook_csv
from cogs._shared import NO_PINGS, guild_id_of, require_teacher

if TYPE_CHECKING:
    from bot.app import ClassMentorBot

log = logging.getLogger(__name__)

PERIOD_CHOICES = [
    app_commands.Choice(name="This week", value=Period.THIS_WEEK.value),
    app_commands.Choice(name="Last week", value=Period.LAST_WEEK.value),
    app_commands.Choice(name="This month", value=Period.MONTH.value),
    app_commands.Choice(name="This term (13 weeks)", value=Period.TERM.value),
    app_commands.Choice(name="All time", value=Period.ALL_TIME.value),
]


async def display_names(guild: discord.Guild, user_ids: Iterable[int]) -> dict[int, str]:
    """Server display names of those still in the server (fetched when not cached)."""
    names: dict[int, str] = {}
    for user_id in user_ids:
        member = guild.get_member(user_id)
        if member is None:
            try:
                member = await guild.fetch_member(user_id)
            except discord.NotFound:
                continue  # left the server
        names[user_id] = member.display_name
    return names


class LettersCog(commands.Cog):
    """Teachers write letters home and export the gradebook."""

    letter_group = app_commands.Group(
        name="letter", description="Letters home praising a student (teacher)", guild_only=True
    )

    def __init__(self, bot: ClassMentorBot) -> None:
        self.bot = bot
        # Classes whose letter batch is rendering: a second press waits for the first.
        self._batches: set[int] = set()

    @letter_group.command(name="student", description="A letter home about one student (PDF)")
    @app_commands.describe(
        student="The student the letter praises",
        period="What the letter covers (default: this term)",
        note="Your own words, added to the letter",
    )
    @app_commands.choices(period=PERIOD_CHOICES)
    async def letter_student(
        self,
        interaction: discord.Interaction,
        student: discord.Member,
        period: app_commands.Choice[str] | None = None,
        note: app_commands.Range[str, 1, NOTE_MAX_LENGTH] | None = None,
    ) -> None:
        """Render one letter and send it privately to the teacher."""
        await require_teacher(interaction, "write letters home")
        if student.bot:
            raise InvalidInput("Letters are for students, not bots.")
        guild = interaction.guild
        assert guild is not None
        service = self.bot.services.letters
        letter = await service.letter(
            guild.id,
            student.id,
            student_name=student.display_name,
            teacher_name=interaction.user.display_name,
            class_name=guild.name,
            period=period.value if period else Period.TERM,
            note=note or "",
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        pdf = await service.render(letter)
        await interaction.followup.send(
            f"Here is the letter about **{discord.utils.escape_markdown(student.display_name)}** "
            f"({letter.period_label}). Check it, then send it home.",
            file=discord.File(
                io.BytesIO(pdf), filename=f"{safe_filename(student.display_name, 'letter')}.pdf"
            ),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @letter_group.command(
        name="class", description="Letters for every student with something to praise (ZIP)"
    )
    @app_commands.describe(period="What the letters cover (default: this term)")
    @app_commands.choices(period=PERIOD_CHOICES)
    async def letter_class(
        self, interaction: discord.Interaction, period: app_commands.Choice[str] | None = None
    ) -> None:
        """One PDF per student with something to praise, as one ZIP, privately."""
        await require_teacher(interaction, "write letters home")
        guild = interaction.guild
        assert guild is not None
        window = Period(period.value) if period else Period.TERM
        service = self.bot.services.letters
        if guild.id in self._batches:
            raise InvalidInput("This class's letters are being made right now; try again soon.")
        facts = await service.facts(guild.id, window)
        if not facts:
            raise InvalidInput(
                f"Nobody in the class has anything to praise for {PERIOD_WORDS[window]} yet. "
                "Try a longer period."
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        self._batches.add(guild.id)
        try:
            names = await display_names(guild, facts)
            letters = await service.class_letters(
                guild.id,
                names,
                teacher_name=interaction.user.display_name,
                class_name=guild.name,
                period=window,
            )
            archive = await service.render_batch(letters)
        finally:
            self._batches.discard(guild.id)
        await interaction.followup.send(
            f"Here are {len(letters)} letters ({PERIOD_WORDS[window]}), one PDF per student "
            "with something to praise.",
            file=discord.File(
                io.BytesIO(archive), filename=f"letters-{safe_filename(guild.name, 'class')}.zip"
            ),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @letter_group.command(name="template", description="The greeting and sign-off of letters")
    @app_commands.describe(
        greeting="How letters open; {student} becomes the child's name",
        sign_off="How letters close, before your name",
    )
    async def letter_template(
        self,
        interaction: discord.Interaction,
        greeting: app_commands.Range[str, 1, TEMPLATE_MAX_LENGTH] | None = None,
        sign_off: app_commands.Range[str, 1, TEMPLATE_MAX_LENGTH] | None = None,
    ) -> None:
        """Change (or, with no options, show) the class's letter template."""
        await require_teacher(interaction, "change the letter template")
        service = self.bot.services.letters
        guild_id = guild_id_of(interaction)
        if greeting is None and sign_off is None:
            template = await service.template(guild_id)
            headline = "Letters use:"
        else:
            template = await service.set_template(guild_id, interaction.user.id, greeting, sign_off)
            headline = "✅ Letter template saved. Letters now use:"
        await interaction.response.send_message(
            f"{headline}\nGreeting: {template.greeting}\nSign-off: {template.sign_off}",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @app_commands.command(name="export", description="The class's gradebook as CSV (teacher)")
    @app_commands.describe(period="Which numbers (default: this term)")
    @app_commands.choices(period=PERIOD_CHOICES)
    @app_commands.guild_only()
    async def export(
        self, interaction: discord.Interaction, period: app_commands.Choice[str] | None = None
    ) -> None:
        """One row per student: sessions, ratings, stars, points (and gains when recorded)."""
        await require_teacher(interaction, "export the class's data")
        guild = interaction.guild
        assert guild is not None
        window = Period(period.value) if period else Period.TERM
        rows = await self.bot.services.letters.gradebook(guild.id, window)
        await interaction.response.defer(ephemeral=True, thinking=True)
        names = await display_names(guild, [row.user_id for row in rows])
        data = gradebook_csv(rows, names)
        await interaction.followup.send(
            f"The gradebook for {PERIOD_WORDS[window]}: {len(rows)} students.",
            file=discord.File(io.BytesIO(data), filename=f"gradebook-{window.value}.csv"),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )


async def setup(bot: ClassMentorBot) -> None:
    """Extension entry point."""
    await bot.add_cog(LettersCog(bot))
