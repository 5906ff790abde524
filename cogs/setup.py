"""Class set-up: `/setup class|schedule|show` and `/subject add|remove|list`."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import available_timezones

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import PrivacyConfig
from bot.domain.classroom import ClassSettings
from cogs._shared import (
    NO_PINGS,
    guild_id_of,
    require_manage_server,
    require_teacher,
    subject_autocomplete,
)

if TYPE_CHECKING:
    from bot.app import ClassMentorBot

DAY_CHOICES = [
    app_commands.Choice(name=day, value=index)
    for index, day in enumerate(
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    )
]
DAY_NAMES = [choice.name for choice in DAY_CHOICES]
_ZONES = [*sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/")), "UTC"]


async def timezone_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """IANA zones containing what was typed; 'london' finds Europe/London."""
    typed = current.strip().replace(" ", "_").casefold()
    matches = [z for z in _ZONES if typed in z.casefold()]
    # Prefer zones whose city starts with the text, so "lon" offers London before Barcelona.
    matches.sort(key=lambda z: (not z.split("/")[-1].casefold().startswith(typed), z))
    return [app_commands.Choice(name=z, value=z) for z in matches[:25]]


def settings_embed(
    settings: ClassSettings, subjects: list[str], privacy: PrivacyConfig | None = None
) -> discord.Embed:
    """The class's set-up as a teacher would read it."""

    def channel(channel_id: int | None) -> str:
        return f"<#{channel_id}>" if channel_id else "not set"

    embed = discord.Embed(title="Class set-up", colour=discord.Colour.blurple())
    embed.add_field(
        name="Teacher role",
        value=f"<@&{settings.teacher_role_id}>" if settings.teacher_role_id else "not set",
    )
    embed.add_field(name="Announcements", value=channel(settings.announcements_channel_id))
    embed.add_field(name="Help sessions", value=channel(settings.help_channel_id))
    embed.add_field(name="Mentors", value=channel(settings.mentors_channel_id))
    embed.add_field(name="Time zone", value=settings.timezone)
    embed.add_field(
        name="Weekly post",
        value=f"{DAY_NAMES[settings.post_weekday]} {settings.post_time:%H:%M}",
    )
    embed.add_field(name="Subjects", value=", ".join(subjects) or "none yet", inline=False)
    if privacy is not None:
        embed.add_field(
            name="Data kept",
            value=f"help-request topics and rating links {privacy.retention_days} days; the "
            f"class {privacy.left_server_days} days after the bot is removed (`/privacy show`)",
            inline=False,
        )
    return embed


class SetupCog(commands.Cog):
    """A teacher makes the server a class."""

    setup_group = app_commands.Group(
        name="setup",
        description="Set up ClassMentor for this class",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )
    subject_group = app_commands.Group(
        name="subject", description="The subjects mentors can help with", guild_only=True
    )

    def __init__(self, bot: ClassMentorBot) -> None:
        self.bot = bot

    @setup_group.command(
        name="class", description="Set the teacher role and channels (Manage Server)"
    )
    @app_commands.describe(
        teacher_role="Members with this role can manage mentors, awards and the queue",
        announcements="Where shout-outs and the weekly leaderboard are posted",
        help_channel="Where private help-session threads are created",
        mentors_channel="Where mentors and teachers get notices",
        timezone="The class's time zone, e.g. Europe/London",
        post_day="Day of the weekly leaderboard post",
        post_time="Local time of the weekly post, HH:MM (24-hour)",
    )
    @app_commands.autocomplete(timezone=timezone_autocomplete)
    @app_commands.choices(post_day=DAY_CHOICES)
    async def setup_class(
        self,
        interaction: discord.Interaction,
        teacher_role: discord.Role,
        announcements: discord.TextChannel,
        help_channel: discord.TextChannel,
        mentors_channel: discord.TextChannel,
        timezone: app_commands.Range[str, 1, 64] | None = None,
        post_day: app_commands.Choice[int] | None = None,
        post_time: app_commands.Range[str, 4, 5] | None = None,
    ) -> None:
        """Make this server a class, or change its roles and channels."""
        require_manage_server(interaction, "set up the class")
        settings = await self.bot.services.classes.setup(
            guild_id_of(interaction),
            interaction.user.id,
            name=interaction.guild.name if interaction.guild else None,
            teacher_role_id=teacher_role.id,
            announcements_channel_id=announcements.id,
            help_channel_id=help_channel.id,
            mentors_channel_id=mentors_channel.id,
            timezone=timezone,
            post_weekday=post_day.value if post_day else None,
            post_time=post_time,
        )
        self.bot.dispatch("class_settings_changed", settings)
        headline = "✅ Class set up."
        if not teacher_role.mentionable or not teacher_role.permissions.manage_threads:
            headline += (
                f"\nTip: make {teacher_role.mention} mentionable and give it Manage Threads, so "
                "*Need the teacher* reaches teachers inside private help threads."
            )
        await self._reply_settings(interaction, settings, headline)

    @setup_group.command(name="schedule", description="Change the time zone and weekly post time")
    @app_commands.describe(
        timezone="The class's time zone, e.g. Europe/London",
        post_day="Day of the weekly leaderboard post",
        post_time="Local time of the weekly post, HH:MM (24-hour)",
    )
    @app_commands.autocomplete(timezone=timezone_autocomplete)
    @app_commands.choices(post_day=DAY_CHOICES)
    async def setup_schedule(
        self,
        interaction: discord.Interaction,
        timezone: app_commands.Range[str, 1, 64] | None = None,
        post_day: app_commands.Choice[int] | None = None,
        post_time: app_commands.Range[str, 4, 5] | None = None,
    ) -> None:
        """Change when the weekly post goes out; takes effect at once."""
        await require_teacher(interaction, "change the class schedule")
        settings = await self.bot.services.classes.setup(
            guild_id_of(interaction),
            interaction.user.id,
            timezone=timezone,
            post_weekday=post_day.value if post_day else None,
            post_time=post_time,
        )
        self.bot.dispatch("class_settings_changed", settings)
        await self._reply_settings(interaction, settings, "✅ Schedule updated.")

    @setup_group.command(
        name="pair-prize", description="Name the week's biggest-gains pair in the weekly post"
    )
    @app_commands.describe(
        enabled="On: the weekly post names the mentor/mentee pair with the biggest gain"
    )
    async def setup_pair_prize(self, interaction: discord.Interaction, enabled: bool) -> None:
        """The teacher's toggle for the weekly post's pair prize (off by default)."""
        await require_teacher(interaction, "change the weekly post")
        await self.bot.services.recognition.set_weekly_pair_prize(guild_id_of(interaction), enabled)
        await interaction.response.send_message(
            "✅ The weekly post will name the mentor/mentee pair with the biggest gain (gains "
            "only; nobody who did not improve is named; a lesson's pair prize gives the points)."
            if enabled
            else "✅ The weekly post will not name a pair prize.",
            ephemeral=True,
        )

    @setup_group.command(name="term", description="Set the term dates used by gains (teacher)")
    @app_commands.describe(start="First day, YYYY-MM-DD", end="Last day, YYYY-MM-DD")
    async def setup_term(
        self,
        interaction: discord.Interaction,
        start: app_commands.Range[str, 8, 10],
        end: app_commands.Range[str, 8, 10],
    ) -> None:
        """ "This term" in `/gains` means these dates; without them, the last 13 weeks."""
        await require_teacher(interaction, "set the term dates")
        term = await self.bot.services.classes.set_term(guild_id_of(interaction), start, end)
        await interaction.response.send_message(
            f'✅ Term: {term.start:%d %b %Y} to {term.end:%d %b %Y}. "This term" in `/gains` '
            "uses these dates.",
            ephemeral=True,
        )

    @setup_group.command(name="show", description="Show this class's set-up")
    async def setup_show(self, interaction: discord.Interaction) -> None:
        """Show the set-up to a teacher."""
        settings = await require_teacher(interaction, "see the class set-up")
        await self._reply_settings(interaction, settings, None)

    async def _reply_settings(
        self, interaction: discord.Interaction, settings: ClassSettings, headline: str | None
    ) -> None:
        subjects = await self.bot.services.classes.subjects(settings.guild_id)
        hint = None
        if not subjects:
            hint = (
                "Next: add subjects with `/subject add`, then badge mentors with `/mentor grant`."
            )
        await interaction.response.send_message(
            content="\n".join(part for part in (headline, hint) if part) or None,
            embed=settings_embed(settings, [s.name for s in subjects], self.bot.config.privacy),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @subject_group.command(name="add", description="Add a subject mentors can help with (teacher)")
    @app_commands.describe(name="The subject's name, e.g. Math")
    async def subject_add(
        self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 40]
    ) -> None:
        """Add a subject."""
        await require_teacher(interaction, "add subjects")
        subject = await self.bot.services.classes.add_subject(guild_id_of(interaction), name)
        await interaction.response.send_message(
            f"Added **{subject.name}**. Badge its mentors with `/mentor grant`.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @subject_group.command(name="remove", description="Remove a subject (teacher); history is kept")
    @app_commands.describe(name="The subject to remove")
    @app_commands.autocomplete(name=subject_autocomplete)
    async def subject_remove(
        self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 40]
    ) -> None:
        """Remove a subject."""
        await require_teacher(interaction, "remove subjects")
        subject = await self.bot.services.classes.remove_subject(guild_id_of(interaction), name)
        await interaction.response.send_message(
            f"Removed **{subject.name}**. Past sessions and badges stay in the history.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @subject_group.command(name="list", description="List this class's subjects")
    async def subject_list(self, interaction: discord.Interaction) -> None:
        """List the subjects."""
        subjects = await self.bot.services.classes.subjects(guild_id_of(interaction))
        text = ", ".join(f"**{s.name}**" for s in subjects) or (
            "No subjects yet. A teacher adds them with `/subject add`."
        )
        await interaction.response.send_message(
            f"Subjects: {text}" if subjects else text, ephemeral=True, allowed_mentions=NO_PINGS
        )

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot was removed: keep the class's data, stop its scheduled posts."""
        await self.bot.services.classes.bot_removed(guild.id)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Invited back: the class continues where it left off."""
        settings = await self.bot.services.classes.bot_returned(guild.id)
        if settings is not None:
            self.bot.dispatch("class_settings_changed", settings)


async def setup(bot: ClassMentorBot) -> None:
    """Extension entry point."""
    await bot.add_cog(SetupCog(bot))
