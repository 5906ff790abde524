"""`/helpme ask|cancel|panel` and `/queue`: a stuck student reaches a free mentor, privately.

The cog reads the interaction, calls :class:`~bot.services.help_requests.HelpService`, replies,
and hands the rest to the :class:`~cogs.help._desk.HelpDesk`, which owns the flow's Discord side
(offers, session threads, timers, serving the queue) and finishes it even after a crash.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.help_states import RequestState
from bot.errors import UserFacingError
from bot.services.help_requests import Closed, Routing
from cogs._discord_api import add_thread_member
from cogs._progress_hook import session_confirmed
from cogs._shared import (
    NO_PINGS,
    guild_id_of,
    only_pings,
    require_teacher,
    subject_autocomplete,
)
from cogs.help._desk import HelpDesk
from cogs.help._views import (
    CONFIDENCE_AFTER_QUESTION,
    PERSISTENT_ITEMS,
    aspect_autocomplete,
    closing_words,
    confidence_view,
    panel_view,
    queue_embed,
    queue_view,
    rating_view,
    student_reply,
)

if TYPE_CHECKING:
    from bot.app import ClassMentorBot

log = logging.getLogger(__name__)


class HelpCog(commands.Cog):
    """Help requests, offers to mentors, and private sessions."""

    helpme = app_commands.Group(
        name="helpme", description="Get help from a classmate mentor", guild_only=True
    )

    def __init__(self, bot: ClassMentorBot) -> None:
        self.bot = bot
        self.service = bot.services.help
        self.desk = HelpDesk(bot)

    async def cog_load(self) -> None:
        """Re-add the persistent components; the desk rebuilds timers and finishes pending work."""
        self.bot.add_dynamic_items(*PERSISTENT_ITEMS)
        await self.desk.start()

    async def cog_unload(self) -> None:
        """Forget the dynamic components and stop the desk (unfinished work stays pending)."""
        self.bot.remove_dynamic_items(*PERSISTENT_ITEMS)
        await self.desk.stop()

    # --- commands ---------------------------------------------------------------------------

    @helpme.command(name="ask", description="Ask a classmate mentor for help, privately")
    @app_commands.describe(
        subject="The subject you're stuck on",
        topic="A few words for your mentor (only they see it; at most 200 characters)",
        aspect="The part of the subject, e.g. fractions: a mentor strong in it is asked first",
        confidence="How sure are you about this? 1 (not at all) to 5 (very); only for you",
    )
    @app_commands.autocomplete(subject=subject_autocomplete, aspect=aspect_autocomplete)
    async def ask(
        self,
        interaction: discord.Interaction,
        subject: app_commands.Range[str, 1, 40],
        topic: str | None = None,
        aspect: app_commands.Range[str, 1, 40] | None = None,
        confidence: app_commands.Range[int, 1, 5] | None = None,
    ) -> None:
        """File a request; the reply is private, and nothing public names the student."""
        routing = await self.service.ask(
            guild_id_of(interaction),
            interaction.user.id,
            subject,
            topic,
            aspect=aspect,
            confidence=confidence,
        )
        await interaction.response.send_message(
            student_reply(routing), ephemeral=True, allowed_mentions=NO_PINGS
        )
        await self.desk.settle(routing)

    async def on_panel_ask(
        self,
        interaction: discord.Interaction,
        subject_id: int,
        topic: str,
        aspect: str | None = None,
        confidence: int | None = None,
    ) -> None:
        """The help panel's form was sent: same as `/helpme ask`."""
        routing = await self.service.ask_subject(
            guild_id_of(interaction),
            interaction.user.id,
            subject_id,
            topic,
            aspect=aspect,
            confidence=confidence,
        )
        await interaction.response.send_message(
            student_reply(routing), ephemeral=True, allowed_mentions=NO_PINGS
        )
        await self.desk.settle(routing)

    @helpme.command(name="cancel", description="Withdraw your open help request")
    async def cancel(self, interaction: discord.Interaction) -> None:
        """Cancel whatever state the request is in; no credit is given."""
        closed = await self.service.cancel_own(guild_id_of(interaction), interaction.user.id)
        await interaction.response.send_message(
            f"Cancelled your **{closed.request.subject_name}** request. `/helpme ask` any time!",
            ephemeral=True,
        )
        await self.desk.settle(closed)

    @helpme.command(
        name="panel", description="Post a help panel with a button per subject (teacher)"
    )
    async def panel(self, interaction: discord.Interaction) -> None:
        """A message students can click when stuck; it keeps working across restarts."""
        await require_teacher(interaction, "post the help panel")
        subjects = await self.bot.services.classes.subjects(guild_id_of(interaction))
        if not subjects:
            raise UserFacingError("Add subjects first with `/subject add`.")
        await interaction.response.send_message(
            "🆘 **Stuck?** Pick a subject and a classmate mentor will help you in a private "
            "thread. Nobody else sees that you asked.",
            view=panel_view(subjects),
            allowed_mentions=NO_PINGS,
        )

    @app_commands.command(
        name="queue", description="Open help requests, with reassign and close (teacher)"
    )
    @app_commands.guild_only()
    async def queue(self, interaction: discord.Interaction) -> None:
        """Open requests, their ages and who is on what; only the teacher sees it."""
        await require_teacher(interaction, "see the help queue")
        requests = await self.service.open_requests(guild_id_of(interaction))
        from_board = await self.service.taken_from_board([r.id for r in requests])
        await interaction.response.send_message(
            embed=queue_embed(requests, self.bot.clock.now(), frozenset(from_board)),
            view=queue_view(requests),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    # --- offers -----------------------------------------------------------------------------

    async def on_accept(self, interaction: discord.Interaction, request_id: int) -> None:
        """Accept: the winner's session opens; a loser gets a kind word (the error path)."""
        accepted = await self.service.accept(request_id, interaction.user.id)
        await interaction.response.edit_message(
            content=f"✅ You accepted request #{request_id} ({accepted.request.subject_name}). "
            "I'm opening a private thread in the help channel for you both.",
            view=None,
            allowed_mentions=NO_PINGS,
        )
        await self.desk.settle(accepted)

    async def on_pass(self, interaction: discord.Interaction, request_id: int) -> None:
        """Pass: the next mentor is asked at once."""
        routing = await self.service.pass_offer(request_id, interaction.user.id)
        await interaction.response.edit_message(
            content=f"👌 Passed on request #{request_id}: I'm asking someone else. Thanks!",
            view=None,
            allowed_mentions=NO_PINGS,
        )
        await self.desk.settle(routing)

    # --- sessions ---------------------------------------------------------------------------

    async def on_solved(self, interaction: discord.Interaction, request_id: int) -> None:
        """The student says it's solved: ask, privately, whether it helped."""
        await self.service.require_student(request_id, interaction.user.id)
        await interaction.response.send_message(
            "🎉 Great! **Did this help?** Pick 1 (not really) to 5 (a lot). Your answer closes the "
            "session and thanks your mentor.",
            view=rating_view(request_id),
            ephemeral=True,
        )

    async def on_propose(self, interaction: discord.Interaction, request_id: int) -> None:
        """The mentor suggests closing: the student is asked in the thread to confirm."""
        request = await self.service.propose_close(request_id, interaction.user.id)
        await interaction.response.send_message(
            f"<@{request.student_id}>, your mentor thinks you're sorted. **Did this help?** "
            "Rate 1–5 to close the session, or just keep talking if you still need help.",
            view=rating_view(request_id),
            allowed_mentions=only_pings(request.student_id),
        )

    async def on_call_teacher(self, interaction: discord.Interaction, request_id: int) -> None:
        """Ping the teacher role, inside the private thread only."""
        request = await self.service.call_teacher(request_id, interaction.user.id)
        settings = await self.bot.services.classes.get(request.guild_id)
        role = settings.teacher_role_id if settings else None
        if role is None:
            raise UserFacingError("This class has no teacher role set, so I can't call them.")
        await interaction.response.send_message(
            f"🧑‍🏫 <@&{role}>, you're needed in this {request.subject_name} help session.",
            allowed_mentions=discord.AllowedMentions(
                everyone=False, users=False, replied_user=False, roles=[discord.Object(role)]
            ),
        )

    async def on_rate(self, interaction: discord.Interaction, request_id: int, rating: int) -> None:
        """The student confirms: resolved and credited, then the thread is archived and locked.

        A student who said how sure they were when asking is asked once more, privately.
        """
        resolved = await self.service.rate(request_id, interaction.user.id, rating)
        text = closing_words(resolved.request)
        message = interaction.message
        if message is not None and message.flags.ephemeral:
            # Rated from the private prompt: say it in the thread, where the mentor sees it.
            await interaction.response.send_message(text, allowed_mentions=NO_PINGS)
        else:
            await interaction.response.edit_message(content=text, view=None)
        if await self.bot.services.progress.awaits_confidence_after(request_id):
            await interaction.followup.send(
                CONFIDENCE_AFTER_QUESTION, view=confidence_view(request_id), ephemeral=True
            )
        await self.desk.settle(resolved)
        request = resolved.request
        if request.mentor_id is not None:
            await session_confirmed(
                self.bot, request.guild_id, request.id, request.mentor_id, request.subject_name
            )

    async def on_confidence(
        self, interaction: discord.Interaction, request_id: int, value: int
    ) -> None:
        """The one-tap answer after a confirmed session (only the student's counts)."""
        await self.bot.services.progress.record_confidence_after(
            request_id, value, student_id=interaction.user.id
        )
        await interaction.response.edit_message(
            content=f"Thanks! Noted: {value}/5. `/profile` shows how your confidence has grown.",
            view=None,
        )

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Talk in a session thread keeps it open (only the timing is used, not the content)."""
        if not message.author.bot:
            await self.desk.activity(message.channel.id)

    # --- the teacher's queue ----------------------------------------------------------------

    async def on_queue_action(
        self, interaction: discord.Interaction, action: str, request_id: int
    ) -> None:
        """Reassign, close or join from `/queue` (the select checked it is a teacher), then
        show the fresh queue."""
        guild_id = guild_id_of(interaction)
        request = await self.service.get(request_id)
        if request.guild_id != guild_id:
            raise UserFacingError("That request belongs to another class.")
        note = ""
        routing: Routing | None = None
        closed: Closed | None = None
        if action == "reassign":
            routing = await self.service.reassign(request_id, interaction.user.id)
            note = (
                f"Request #{request_id} went back in line: no other mentor is free."
                if routing.queued
                else f"Request #{request_id} was offered to <@{routing.request.mentor_id}>."
            )
        elif action == "close":
            closed = await self.service.close_by_teacher(request_id, interaction.user.id)
            note = f"Closed request #{request_id} (no credit)."
        elif action == "join":
            if request.state is not RequestState.ACTIVE or request.thread_id is None:
                raise UserFacingError("That request has no session thread open.")
            await add_thread_member(self.bot, request.thread_id, interaction.user.id)
            note = f"Added you to <#{request.thread_id}>."
        requests = await self.service.open_requests(guild_id)
        await interaction.response.edit_message(
            content=note,
            embed=queue_embed(requests, self.bot.clock.now()),
            view=queue_view(requests),
            allowed_mentions=NO_PINGS,
        )
        if routing is not None:
            await self.desk.settle(routing)
        if closed is not None:
            await self.desk.settle(closed)


async def setup(bot: ClassMentorBot) -> None:
    """Extension entry point."""
    await bot.add_cog(HelpCog(bot))
