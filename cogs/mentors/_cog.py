"""Mentor badges, the training brief, availability, `/mentors` and `/profile`."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.classroom import ClassSettings
from bot.domain.mentoring import Badge
from bot.errors import InvalidInput, UserFacingError
from bot.services.mentors import GrantPlan, GrantResult, clean_aspect, ensure_not_bot
from cogs._components import view_of
from cogs._discord_api import fetch_member_roles, remove_member_role
from cogs._shared import (
    NO_PINGS,
    guild_id_of,
    member_is_teacher,
    only_pings,
    require_teacher,
    subject_autocomplete,
)
from cogs.help import mentor_ready
from cogs.mentors._views import (
    BriefAckButton,
    BriefModal,
    GrantBadgeButton,
    add_gains,
    brief_embed,
    brief_view,
    profile_embed,
)

if TYPE_CHECKING:
    from bot.app import ClassMentorBot

log = logging.getLogger(__name__)


BADGE_CHECK_JOB = "badge-role-check"
BADGE_CHECK_SECONDS = 3600


def badge_expiry_job(badge_id: int) -> str:
    """The scheduler id of a lesson badge's end."""
    return f"badge-expiry:{badge_id}"


class MentorsCog(commands.Cog):
    """Teachers badge mentors; mentors read the brief and say when they're available."""

    mentor_group = app_commands.Group(
        name="mentor", description="Mentor badges and the mentor brief", guild_only=True
    )
    brief_group = app_commands.Group(
        name="brief",
        description="The brief mentors read before their first session",
        parent=mentor_group,
    )
    available_group = app_commands.Group(
        name="available", description="Tell ClassMentor whether you can help now", guild_only=True
    )

    def __init__(self, bot: ClassMentorBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        """Re-add the persistent brief button, rebuild lesson-badge timers, start the check."""
        self.bot.add_dynamic_items(BriefAckButton, GrantBadgeButton)
        for badge in await self.bot.services.mentors.lesson_badges():
            if self.bot.owns_guild(badge.guild_id):  # other shards' processes keep theirs
                self._schedule_expiry(badge)
        self.bot.jobs.every(BADGE_CHECK_JOB, BADGE_CHECK_SECONDS, self.check_badge_roles)

    async def check_badge_roles(self) -> None:
        """Make records follow Discord: a badge role removed by hand, or a mentor who left.

        Without the (privileged) members intent no member events arrive, so once an hour each
        badge holder is fetched: about ten requests per class, paced at ten a second
        (``bot.pacing.badge_check_pause_s``).
        """
        service = self.bot.services.mentors
        for settings in await self.bot.services.classes.configured_classes():
            if not self.bot.owns_guild(settings.guild_id):
                continue  # checked by the process running that class's shard
            for user_id in sorted(await service.badge_holders(settings.guild_id)):
                # Spread the fetches out so help flows never queue behind a burst of checks.
                await asyncio.sleep(self.bot.pacing.badge_check_pause_s)
                try:
                    roles = await fetch_member_roles(self.bot, settings.guild_id, user_id)
                except discord.NotFound:
                    await service.left_class(settings.guild_id, user_id)
                    continue
                except discord.HTTPException:
                    log.warning("badge check: could not fetch member %s", user_id)
                    continue
                await service.reconcile(settings.guild_id, user_id, roles)

    async def cog_unload(self) -> None:
        """Forget the dynamic button (for reloads)."""
        self.bot.remove_dynamic_items(BriefAckButton, GrantBadgeButton)

    def _schedule_expiry(self, badge: Badge) -> None:
        if badge.expires_at is None:
            self.bot.jobs.cancel(badge_expiry_job(badge.id))
            return

        async def expire() -> None:
            await self.expire_badge(badge.id)

        self.bot.jobs.at(badge_expiry_job(badge.id), badge.expires_at, expire)

    async def expire_badge(self, badge_id: int) -> None:
        """A lesson badge's time is up: take the role away, then end the record."""
        badge = await self.bot.services.mentors.due_to_expire(badge_id)
        if badge is not None:
            await self._end_lesson_badge(badge)

    async def end_lesson_badge(self, badge_id: int) -> None:
        """A lesson ended: its lesson badge ends now, even before its end time."""
        badge = await self.bot.services.mentors.current_badge_by_id(badge_id)
        self.bot.jobs.cancel(badge_expiry_job(badge_id))
        if badge is not None:
            await self._end_lesson_badge(badge)

    async def _end_lesson_badge(self, badge: Badge) -> None:
        service = self.bot.services.mentors
        subject = await self.bot.services.classes.subject_by_id(badge.subject_id)
        if subject is not None and subject.role_id is not None:
            try:
                await remove_member_role(
                    self.bot, badge.guild_id, badge.user_id, subject.role_id, "Lesson badge ended"
                )
            except discord.NotFound:
                pass  # the member left or the role is gone: nothing to take away
        await service.end_badge(badge.id, None, "expired")

    async def _badge_role(self, guild: discord.Guild, plan: GrantPlan) -> discord.Role:
        """The subject's badge role, created on first use (no permissions, not mentionable)."""
        subject = plan.subject
        role = guild.get_role(subject.role_id) if subject.role_id else None
        if role is None:
            role = await guild.create_role(
                name=subject.badge_name,
                permissions=discord.Permissions.none(),
                colour=discord.Colour(plan.colour),
                mentionable=False,
                hoist=False,
                reason="ClassMentor mentor badge",
            )
            await self.bot.services.mentors.remember_badge_role(subject, role.id)
        return role

    @mentor_group.command(name="grant", description="Give a student a mentor badge (teacher)")
    @app_commands.describe(
        student="The student who will mentor",
        subject="The subject they mentor",
        until="For a lesson badge: 'end of today', a time like 14:30, or minutes like 45m",
        aspect="A topic within the subject they're strong in, e.g. fractions",
    )
    @app_commands.autocomplete(subject=subject_autocomplete)
    async def grant(
        self,
        interaction: discord.Interaction,
        student: discord.Member,
        subject: app_commands.Range[str, 1, 40],
        until: app_commands.Range[str, 1, 40] | None = None,
        aspect: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        """Badge a mentor: role on, record written, brief sent on their first badge."""
        await require_teacher(interaction, "grant mentor badges")
        ensure_not_bot(student.bot)
        if not isinstance(student, discord.Member) or interaction.guild is None:
            raise InvalidInput("That person isn't a member of this server.")
        await self.grant_badge(interaction, student, subject, until, aspect)

    async def grant_badge(
        self,
        interaction: discord.Interaction,
        student: discord.Member,
        subject: str,
        until: str | None,
        aspect: str | None,
    ) -> None:
        """The grant itself, shared by `/mentor grant` and the suggestion's button."""
        guild = student.guild
        plan = await self.bot.services.mentors.plan_grant(
            guild.id, subject, student.id, until, aspect
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.give_badge(student, plan, interaction.user)
        ends = (
            f" until <t:{int(result.badge.expires_at.timestamp())}:t>"
            if result.badge.expires_at
            else ""
        )
        verb = "already had" if result.already_held else "now has"
        brief = " I've sent them the mentor brief." if result.send_brief else ""
        for_aspect = f" (for **{result.badge.aspect}**)" if result.badge.aspect else ""
        await interaction.followup.send(
            f"{student.mention} {verb} the **{plan.subject.name}** mentor badge{for_aspect}"
            f"{ends}.{brief}",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    async def give_badge(
        self,
        student: discord.Member,
        plan: GrantPlan,
        actor: discord.abc.User,
    ) -> GrantResult:
        """Role on, record written, end timer set, brief sent on a first badge (also lessons)."""
        role = await self._badge_role(student.guild, plan)
        if role not in student.roles:
            try:
                await student.add_roles(role, reason=f"Mentor badge from {actor}")
            except discord.Forbidden:
                raise UserFacingError(
                    f"Discord won't let me give the {role.name} role: move my role above it in "
                    "Server Settings → Roles."
                ) from None
        result = await self.bot.services.mentors.record_grant(plan, student.id, actor.id)
        self._schedule_expiry(result.badge)
        if result.send_brief:
            await self._send_brief(plan.settings, student.guild, student)
        return result

    @mentor_group.command(name="colour", description="The colour of mentor badge roles (teacher)")
    @app_commands.describe(colour="A hex code like #2ecc71, or green, blue, orange, purple, teal")
    async def colour(
        self, interaction: discord.Interaction, colour: app_commands.Range[str, 1, 20]
    ) -> None:
        """Recolour every badge role so mentors' messages stand out in help threads."""
        await require_teacher(interaction, "change the badge colour")
        guild = interaction.guild
        assert guild is not None
        value, role_ids = await self.bot.services.mentors.set_badge_colour(guild.id, colour)
        await interaction.response.defer(ephemeral=True, thinking=True)
        changed = 0
        for role_id in role_ids:
            role = guild.get_role(role_id)
            if role is None:
                continue
            try:
                await role.edit(colour=discord.Colour(value), reason="Mentor badge colour")
                changed += 1
            except discord.Forbidden:
                raise UserFacingError(
                    f"Discord won't let me recolour {role.name}: move my role above it."
                ) from None
        await interaction.followup.send(
            f"Mentor badges are now `#{value:06x}`; {changed} badge role"
            f"{'s' if changed != 1 else ''} recoloured.",
            ephemeral=True,
        )

    @mentor_group.command(name="suggest", description="Top scorers to badge as mentors (teacher)")
    @app_commands.describe(
        subject="The subject",
        assessment="Only this assessment (default: all of the subject's)",
        aspect="Only assessments on this aspect, e.g. fractions; the badge will name it",
    )
    @app_commands.autocomplete(subject=subject_autocomplete)
    async def suggest(
        self,
        interaction: discord.Interaction,
        subject: app_commands.Range[str, 1, 40],
        assessment: app_commands.Range[str, 1, 80] | None = None,
        aspect: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        """Top scorers who are not yet mentors, each with a one-click Grant badge button."""
        await require_teacher(interaction, "see mentor suggestions")
        guild_id = guild_id_of(interaction)
        found, ranked = await self.bot.services.progress.suggest_mentors(
            guild_id, subject, assessment, clean_aspect(aspect)
        )
        if not ranked:
            await interaction.response.send_message(
                f"No suggestions for {found.name}: no scores yet from students without its badge.",
                ephemeral=True,
            )
            return
        what = f"in {assessment}" if assessment else f"on {aspect}" if aspect else "on average"
        lines = [
            f"{i}. <@{t.user_id}>: {t.average:.0f}% {what} ({t.assessments} assessment"
            f"{'s' if t.assessments != 1 else ''})"
            for i, t in enumerate(ranked, start=1)
        ]
        badge_aspect = clean_aspect(aspect)
        view = view_of(*(GrantBadgeButton(found.id, t.user_id, badge_aspect) for t in ranked))
        await interaction.response.send_message(
            f"Top scorers in **{found.name}** without its badge:\n" + "\n".join(lines),
            view=view,
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    async def _send_brief(
        self, settings: ClassSettings, guild: discord.Guild, member: discord.Member
    ) -> None:
        embed = brief_embed(settings, guild.name)
        view = brief_view(guild.id, member.id)
        try:
            await member.send(embed=embed, view=view)
        except discord.Forbidden:
            # DMs closed (50007): the brief goes to the mentors channel, pinging only them.
            if settings.mentors_channel_id is None:
                return
            await self.bot.get_partial_messageable(settings.mentors_channel_id).send(
                f"{member.mention}, your DMs are closed, so here is your mentor brief:",
                embed=embed,
                view=view,
                allowed_mentions=only_pings(member.id),
            )
        await self.bot.services.mentors.brief_sent(guild.id, member.id)

    @mentor_group.command(name="revoke", description="Take a mentor badge away (teacher)")
    @app_commands.describe(student="The mentor", subject="The subject of the badge")
    @app_commands.autocomplete(subject=subject_autocomplete)
    async def revoke(
        self,
        interaction: discord.Interaction,
        student: discord.Member,
        subject: app_commands.Range[str, 1, 40],
    ) -> None:
        """End a badge: role off, then the record (kept in the history)."""
        await require_teacher(interaction, "revoke mentor badges")
        guild_id = guild_id_of(interaction)
        badge = await self.bot.services.mentors.plan_revoke(guild_id, subject, student.id)
        role_subject = await self.bot.services.classes.subject_by_id(badge.subject_id)
        if role_subject and role_subject.role_id and isinstance(student, discord.Member):
            role = discord.Object(role_subject.role_id)
            try:
                await student.remove_roles(role, reason=f"Badge revoked by {interaction.user}")
            except discord.NotFound:
                pass  # the role was deleted by hand already
        await self.bot.services.mentors.end_badge(badge.id, interaction.user.id, "revoked")
        self.bot.jobs.cancel(badge_expiry_job(badge.id))
        await interaction.response.send_message(
            f"{student.mention} no longer has the **{badge.subject_name}** mentor badge. "
            "Their past sessions stay in the history.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @brief_group.command(name="show", description="Show the brief mentors read first")
    async def brief_show(self, interaction: discord.Interaction) -> None:
        """Anyone may read the brief: it's about how mentoring works here."""
        settings = await self.bot.services.classes.require_configured(guild_id_of(interaction))
        name = interaction.guild.name if interaction.guild else "your class"
        note = (
            "This class uses its own brief."
            if settings.mentor_brief
            else "This is the default brief."
        )
        await interaction.response.send_message(
            note, embed=brief_embed(settings, name), ephemeral=True, allowed_mentions=NO_PINGS
        )

    @brief_group.command(name="set", description="Write the class's own mentor brief (teacher)")
    async def brief_set(self, interaction: discord.Interaction) -> None:
        """Open a form with the current brief to edit."""
        settings = await require_teacher(interaction, "change the mentor brief")
        await interaction.response.send_modal(BriefModal(settings.mentor_brief))

    @available_group.command(name="on", description="You can take help requests now (mentors)")
    @app_commands.describe(duration="How long, e.g. 2h or 45m (default: the class setting)")
    async def available_on(
        self,
        interaction: discord.Interaction,
        duration: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        """Switch availability on; it switches itself off later."""
        guild_id = guild_id_of(interaction)
        await self._repair_from_interaction(interaction)
        state, badges = await self.bot.services.mentors.set_available(
            guild_id, interaction.user.id, True, duration
        )
        assert state.available_until is not None
        subjects = ", ".join(sorted({b.subject_name for b in badges}))
        text = (
            f"🟢 You're available for **{subjects}** until "
            f"<t:{int(state.available_until.timestamp())}:t>. Requests arrive by DM."
        )
        if not state.briefed:
            text += "\nFirst read your mentor brief and press *I've read this*: until then no requests come to you."
            settings = await self.bot.services.classes.require_configured(guild_id)
            name = interaction.guild.name if interaction.guild else "your class"
            await interaction.response.send_message(
                text,
                embed=brief_embed(settings, name),
                view=brief_view(guild_id, interaction.user.id),
                ephemeral=True,
            )
            return
        await interaction.response.send_message(text, ephemeral=True)
        await mentor_ready(self.bot, guild_id, interaction.user.id)

    @available_group.command(name="off", description="Stop taking help requests for now")
    async def available_off(self, interaction: discord.Interaction) -> None:
        """Switch availability off."""
        await self.bot.services.mentors.set_available(
            guild_id_of(interaction), interaction.user.id, False
        )
        await interaction.response.send_message(
            "⚪ You're not taking requests now. Thanks for helping!", ephemeral=True
        )

    async def _repair_from_interaction(self, interaction: discord.Interaction) -> None:
        """The interaction carries the member's roles: end badges whose role was removed."""
        if isinstance(interaction.user, discord.Member) and interaction.guild_id:
            await self.bot.services.mentors.reconcile(
                interaction.guild_id, interaction.user.id, [r.id for r in interaction.user.roles]
            )

    @app_commands.command(
        name="mentors", description="Who mentors each subject, and who's free now"
    )
    @app_commands.describe(subject="Only this subject")
    @app_commands.autocomplete(subject=subject_autocomplete)
    @app_commands.guild_only()
    async def mentors(
        self,
        interaction: discord.Interaction,
        subject: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        """List mentors per subject with their availability."""
        listing = await self.bot.services.mentors.mentors_by_subject(
            guild_id_of(interaction), subject
        )
        embed = discord.Embed(title="Mentors", colour=discord.Colour.green())
        for entry in listing[:25]:
            lines = [f"{'🟢' if free else '⚪'} <@{uid}>" for uid, free in entry.mentors]
            value = "\n".join(lines[:30]) or "no mentors yet"
            embed.add_field(name=entry.subject, value=value)
        if not listing:
            embed.description = "No subjects yet: a teacher adds them with `/subject add`."
        embed.set_footer(text="🟢 available now · ⚪ not right now · stuck? use /helpme")
        await interaction.response.send_message(
            embed=embed, ephemeral=True, allowed_mentions=NO_PINGS
        )

    @app_commands.command(name="profile", description="Badges, help given and awards")
    @app_commands.describe(student="Whose profile (default: yours)")
    @app_commands.guild_only()
    async def profile(
        self, interaction: discord.Interaction, student: discord.Member | None = None
    ) -> None:
        """Show a profile privately; help received only to the student and teachers."""
        guild_id = guild_id_of(interaction)
        target: discord.Member | discord.User = student or interaction.user
        settings = await self.bot.services.classes.get(guild_id)
        full = target.id == interaction.user.id or member_is_teacher(interaction, settings)
        if target.id == interaction.user.id:
            await self._repair_from_interaction(interaction)
        profile = await self.bot.services.mentors.profile(guild_id, target.id, full=full)
        embed = profile_embed(profile, target.display_name)
        if full:
            # Gains hold raw scores: only for the student themself or a teacher, and private.
            report = await self.bot.services.progress.student_report(guild_id, target.id)
            add_gains(embed, report)
        await interaction.response.send_message(
            embed=embed,
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @commands.Cog.listener()
    async def on_guild_role_delete(self, role: discord.Role) -> None:
        """A badge role deleted by hand ends its badges; the next grant makes a new role."""
        ended = await self.bot.services.mentors.role_deleted(role.guild.id, role.id)
        if ended:
            log.info("badge role %s deleted: ended %d badges", role.id, len(ended))

    @commands.Cog.listener()
    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        """With the members intent, a badge role removed by hand ends the badge at once."""
        if before.roles != after.roles:
            await self.bot.services.mentors.reconcile(
                after.guild.id, after.id, [r.id for r in after.roles]
            )


async def setup(bot: ClassMentorBot) -> None:
    """Extension entry point."""
    await bot.add_cog(MentorsCog(bot))
