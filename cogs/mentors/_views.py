"""The mentor brief (persistent acknowledgement button, embed, edit form) and the profile embed."""

from __future__ import annotations

import discord

from bot.domain.classroom import ClassSettings
from bot.domain.gains import signed
from bot.domain.mentoring import BRIEF_MAX_LENGTH, Badge
from bot.domain.points import AWARD_LABELS, AwardKind
from bot.errors import UserFacingError
from bot.services.mentors import Profile
from bot.services.progress import StudentReport
from cogs._components import PersistentForm, PersistentItem, view_of
from cogs._shared import bot_of, guild_id_of, require_teacher
from cogs.help import mentor_ready


class BriefAckButton(
    PersistentItem[discord.ui.Button[discord.ui.View]],
    template=r"brief:ack:(?P<guild>\d+):(?P<user>\d+)",
):
    """ "I've read this" under the training brief; works after restarts (state is in the DB)."""

    def __init__(self, guild_id: int, user_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="I've read this",
                emoji="✅",
                style=discord.ButtonStyle.success,
                custom_id=f"brief:ack:{guild_id}:{user_id}",
            )
        )
        self.guild_id = guild_id
        self.user_id = user_id

    async def run(self, interaction: discord.Interaction) -> None:
        """Record the acknowledgement; the mentor becomes routable."""
        if interaction.user.id != self.user_id:
            raise UserFacingError("This brief is for another mentor.")
        bot = bot_of(interaction)
        first = await bot.services.mentors.acknowledge_brief(self.guild_id, self.user_id)
        text = (
            "✅ Thanks! You're ready to mentor. Use `/available on` when you can help."
            if first
            else "You already read the brief. Use `/available on` when you can help."
        )
        await interaction.response.edit_message(content=text, view=None)
        if first:
            await mentor_ready(bot, self.guild_id, self.user_id)


class GrantBadgeButton(
    PersistentItem[discord.ui.Button[discord.ui.View]],
    template=r"mentor:grant:(?P<subject>\d+):(?P<user>\d+):(?P<aspect>[^:]{0,40})",
):
    """One-click "Grant badge" under a mentor suggestion; re-checks teacher rights on click."""

    def __init__(self, subject_id: int, user_id: int, aspect: str | int | None) -> None:
        # Rebuilt from the custom id, an empty aspect is "" and a numeric one an int.
        aspect = str(aspect) if aspect not in (None, "") else None
        super().__init__(
            discord.ui.Button(
                label="Grant badge",
                emoji="🟢",
                style=discord.ButtonStyle.success,
                custom_id=f"mentor:grant:{subject_id}:{user_id}:{aspect or ''}",
            )
        )
        self.subject_id = subject_id
        self.user_id = user_id
        self.aspect = aspect

    async def run(self, interaction: discord.Interaction) -> None:
        """Grant the badge, exactly as `/mentor grant` would (the state is re-read now)."""
        await require_teacher(interaction, "grant mentor badges")
        bot = bot_of(interaction)
        subject = await bot.services.classes.subject_by_id(self.subject_id)
        guild = interaction.guild
        if subject is None or guild is None or subject.guild_id != guild.id:
            raise UserFacingError("That subject no longer exists.")
        try:
            member = guild.get_member(self.user_id) or await guild.fetch_member(self.user_id)
        except discord.NotFound:
            raise UserFacingError("That student has left the server.") from None
        cog = bot.get_cog("MentorsCog")
        grant = getattr(cog, "grant_badge", None)
        if grant is None:
            raise UserFacingError("Mentor badges are unavailable right now; try again shortly.")
        await grant(interaction, member, subject.name, None, self.aspect)


def brief_view(guild_id: int, user_id: int) -> discord.ui.View:
    """A persistent view holding only the acknowledgement button."""
    return view_of(BriefAckButton(guild_id, user_id))


def brief_embed(settings: ClassSettings, guild_name: str) -> discord.Embed:
    """The training brief as the mentor reads it."""
    return discord.Embed(
        title=f"Your mentor brief — {guild_name}",
        description=settings.brief_text,
        colour=discord.Colour.green(),
    ).set_footer(text="You'll get help requests once you've read this.")


class BriefModal(PersistentForm, title="Mentor brief"):
    """A teacher edits the class's brief (several lines, which a slash option can't hold)."""

    text: discord.ui.TextInput[BriefModal] = discord.ui.TextInput(
        label="What mentors read before their first session",
        style=discord.TextStyle.paragraph,
        max_length=BRIEF_MAX_LENGTH,
        required=False,
        placeholder="Leave empty to use ClassMentor's default brief.",
    )

    def __init__(self, current: str | None) -> None:
        super().__init__(timeout=900)
        self.text.default = current

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Save the brief (teacher re-checked: the modal could be submitted later)."""
        await require_teacher(interaction, "change the mentor brief")
        saved = await bot_of(interaction).services.mentors.set_brief(
            guild_id_of(interaction), self.text.value
        )
        await interaction.response.send_message(
            "Saved the class's mentor brief." if saved else "Restored the default mentor brief.",
            ephemeral=True,
        )


def badge_line(badge: Badge) -> str:
    """One badge for a profile."""
    if badge.current:
        until = f", until <t:{int(badge.expires_at.timestamp())}:t>" if badge.expires_at else ""
        return f"**{badge.subject_name}** since <t:{int(badge.granted_at.timestamp())}:d>{until}"
    assert badge.ended_at is not None
    return (
        f"{badge.subject_name} (<t:{int(badge.granted_at.timestamp())}:d>–"
        f"<t:{int(badge.ended_at.timestamp())}:d>)"
    )


def profile_embed(profile: Profile, name: str) -> discord.Embed:
    """A student's profile."""
    embed = discord.Embed(title=f"{name}'s profile", colour=discord.Colour.gold())
    embed.add_field(
        name="Mentor badges",
        value="\n".join(badge_line(b) for b in profile.current_badges) or "none right now",
        inline=False,
    )
    if profile.past_badges:
        embed.add_field(
            name="Past badges",
            value="\n".join(badge_line(b) for b in profile.past_badges[:10]),
            inline=False,
        )
    embed.add_field(name="Help sessions given", value=str(profile.help_given))
    if profile.help_received is not None:
        embed.add_field(name="Help received (only you see this)", value=str(profile.help_received))
    awards = [f"{AWARD_LABELS[AwardKind(kind)]} × {count}" for kind, count in profile.awards]
    embed.add_field(name="Awards", value="\n".join(awards) or "none yet", inline=False)
    return embed


def add_gains(embed: discord.Embed, report: StudentReport) -> None:
    """The private part of a profile: quiz gains this term, and self-reported confidence."""
    lines = []
    for progress in report.subjects[:10]:
        latest = progress.points[-1]
        gain = f"**{signed(progress.gain.points)} points**" if progress.gain else "no gain yet"
        lines.append(f"{progress.subject}: {gain} (latest {latest.percent:.0f}%)")
    embed.add_field(
        name=f"Quiz gains, {report.label} (only you see this)",
        value="\n".join(lines) or "no quiz scores yet",
        inline=False,
    )
    confidence = report.confidence
    embed.add_field(
        name="Confidence gain (self-reported)",
        value=(
            f"{confidence.average:+.1f} on a 1–5 scale over {confidence.sessions} sessions"
            if confidence
            else "no answers yet"
        ),
        inline=False,
    )
