"""`/helpme ask|cancel|panel` and `/queue`: a stuck student reaches a free mentor, privately.

The cog reads the interaction, calls :class:`~bot.services.help_requests.HelpService`, and does
what the result says on Discord: send an offer, open or close a session thread, tidy an old
offer, tell the teacher. Timers (offer expiry, idle close) are rebuilt from the database in
``cog_load``, so a restart loses nothing.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.help_states import RequestState
from bot.errors import UserFacingError
from bot.services.help_requests import Closed, HelpRequest, Routing, StaleOffer
from cogs._shared import (
    NO_PINGS,
    guild_id_of,
    only_pings,
    require_teacher,
    subject_autocomplete,
)
from cogs.help._views import (
    PERSISTENT_ITEMS,
    STALE_WORDS,
    closing_words,
    offer_view,
    offer_words,
    panel_view,
    queue_embed,
    queue_view,
    rating_view,
    requeued_words,
    session_starter,
    session_view,
    student_reply,
    teacher_notice,
)

if TYPE_CHECKING:
    from bot.app import ClassMentorBot

log = logging.getLogger(__name__)

# A busy thread writes "last activity" at most this often: the idle close needs minutes, not ms.
TOUCH_EVERY = timedelta(seconds=60)


def offer_job(request_id: int) -> str:
    """The scheduler id of an offer's expiry."""
    return f"help-offer:{request_id}"


def idle_job(request_id: int) -> str:
    """The scheduler id of a session's idle close."""
    return f"help-idle:{request_id}"


class HelpCog(commands.Cog):
    """Help requests, offers to mentors, and private sessions."""

    helpme = app_commands.Group(
        name="helpme", description="Get help from a classmate mentor", guild_only=True
    )

    def __init__(self, bot: ClassMentorBot) -> None:
        self.bot = bot
        self.service = bot.services.help
        # Session threads -> request id, and when their activity was last written.
        self._threads: dict[int, int] = {}
        self._touched: dict[int, datetime] = {}
        self._not_sessions: set[int] = set()  # bot-made threads known not to be sessions

    async def cog_load(self) -> None:
        """Re-add the persistent components and rebuild the timers of this process's classes."""
        self.bot.add_dynamic_items(*PERSISTENT_ITEMS)
        timers = await self.service.timers()
        for request in timers.offers:
            if self.bot.owns_guild(request.guild_id):
                self._schedule_offer(request)
        for request in timers.sessions:
            if not self.bot.owns_guild(request.guild_id):
                continue  # another shard's process keeps this class's timers
            self._schedule_idle(request)
            if request.thread_id:
                self._threads[request.thread_id] = request.id

    async def cog_unload(self) -> None:
        """Forget the dynamic components (for reloads)."""
        self.bot.remove_dynamic_items(*PERSISTENT_ITEMS)

    # --- timers -----------------------------------------------------------------------------

    def _schedule_offer(self, request: HelpRequest) -> None:
        if request.offer_expires_at is None:
            return
        request_id = request.id

        async def expire() -> None:
            routing = await self.service.expire_offer(request_id)
            if routing is not None:
                await self.deliver(routing, requeued=True)

        self.bot.jobs.at(offer_job(request_id), request.offer_expires_at, expire)

    def _schedule_idle(self, request: HelpRequest, when: datetime | None = None) -> None:
        request_id = request.id

        async def check() -> None:
            result = await self.service.idle_check(request_id)
            if isinstance(result, Closed):
                await self.after_close(result)
            elif isinstance(result, datetime):
                self.bot.jobs.at(idle_job(request_id), result, check)

        self.bot.jobs.at(idle_job(request_id), when or self.service.idle_deadline(request), check)

    # --- commands ---------------------------------------------------------------------------

    @helpme.command(name="ask", description="Ask a classmate mentor for help, privately")
    @app_commands.describe(
        subject="The subject you're stuck on",
        topic="A few words for your mentor (only they see it; at most 200 characters)",
    )
    @app_commands.autocomplete(subject=subject_autocomplete)
    async def ask(
        self,
        interaction: discord.Interaction,
        subject: app_commands.Range[str, 1, 40],
        topic: str | None = None,
    ) -> None:
        """File a request; the reply is private, and nothing public names the student."""
        routing = await self.service.ask(
            guild_id_of(interaction), interaction.user.id, subject, topic
        )
        await interaction.response.send_message(
            student_reply(routing), ephemeral=True, allowed_mentions=NO_PINGS
        )
        await self.deliver(routing)

    async def on_panel_ask(
        self, interaction: discord.Interaction, subject_id: int, topic: str
    ) -> None:
        """The help panel's form was sent: same as `/helpme ask`."""
        routing = await self.service.ask_subject(
            guild_id_of(interaction), interaction.user.id, subject_id, topic
        )
        await interaction.response.send_message(
            student_reply(routing), ephemeral=True, allowed_mentions=NO_PINGS
        )
        await self.deliver(routing)

    @helpme.command(name="cancel", description="Withdraw your open help request")
    async def cancel(self, interaction: discord.Interaction) -> None:
        """Cancel whatever state the request is in; no credit is given."""
        closed = await self.service.cancel_own(guild_id_of(interaction), interaction.user.id)
        await interaction.response.send_message(
            f"Cancelled your **{closed.request.subject_name}** request. `/helpme ask` any time!",
            ephemeral=True,
        )
        await self.after_close(closed)

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
        await interaction.response.send_message(
            embed=queue_embed(requests, self.bot.clock.now()),
            view=queue_view(requests),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    # --- offers -----------------------------------------------------------------------------

    async def deliver(
        self, routing: Routing, *, requeued: bool = False, tell_teacher: bool = True
    ) -> None:
        """Act on a routing: tidy old offers, send the new one, or tell the teacher."""
        request = routing.request
        for stale in routing.stale:
            await self._tidy(stale, request.id)
        if routing.offer is not None:
            self._schedule_offer(request)
            await self._send_offer(request, routing.offer.offer_id, routing.offer.mentor_id)
            return
        self.bot.jobs.cancel(offer_job(request.id))
        settings = await self.bot.services.classes.get(request.guild_id)
        if tell_teacher and settings is not None and settings.mentors_channel_id is not None:
            role = settings.teacher_role_id
            await self.bot.get_partial_messageable(settings.mentors_channel_id).send(
                teacher_notice(routing, role),
                allowed_mentions=discord.AllowedMentions(
                    everyone=False,
                    users=False,
                    replied_user=False,
                    roles=[discord.Object(role)] if role else False,
                ),
            )
        if requeued:
            await self._dm(request.student_id, requeued_words(routing))

    async def _send_offer(self, request: HelpRequest, offer_id: int, mentor_id: int) -> None:
        expires = request.offer_expires_at or self.bot.clock.now()
        try:
            dm = await self.bot.create_dm(discord.Object(mentor_id))
            message = await dm.send(
                offer_words(request, expires, in_dm=True),
                view=offer_view(request.id),
                allowed_mentions=NO_PINGS,
            )
        except discord.Forbidden:
            # DMs closed (50007): mention only them in the mentors channel, without the topic.
            settings = await self.bot.services.classes.get(request.guild_id)
            if settings is None or settings.mentors_channel_id is None:
                log.warning("offer %s: DMs closed and no mentors channel", request.id)
                return
            message = await self.bot.get_partial_messageable(settings.mentors_channel_id).send(
                f"<@{mentor_id}> " + offer_words(request, expires, in_dm=False),
                view=offer_view(request.id),
                allowed_mentions=only_pings(mentor_id),
            )
        await self.service.offer_posted(offer_id, message.channel.id, message.id)

    async def _tidy(self, stale: StaleOffer, request_id: int) -> None:
        """Replace an offer's buttons with a word on what happened (one edit)."""
        if stale.channel_id is None or stale.message_id is None:
            return
        message = self.bot.get_partial_messageable(stale.channel_id).get_partial_message(
            stale.message_id
        )
        with contextlib.suppress(discord.HTTPException):
            await message.edit(
                content=STALE_WORDS[stale.reason].format(id=request_id),
                view=None,
                allowed_mentions=NO_PINGS,
            )

    async def on_accept(self, interaction: discord.Interaction, request_id: int) -> None:
        """Accept: the winner opens the session; a loser gets a kind word (the error path)."""
        accepted = await self.service.accept(request_id, interaction.user.id)
        self.bot.jobs.cancel(offer_job(request_id))
        await interaction.response.edit_message(
            content=f"✅ You accepted request #{request_id} ({accepted.request.subject_name}). "
            "I'm opening a private thread in the help channel for you both.",
            view=None,
            allowed_mentions=NO_PINGS,
        )
        for stale in accepted.stale:
            await self._tidy(stale, request_id)
        await self.open_session(accepted.request, interaction)

    async def on_pass(self, interaction: discord.Interaction, request_id: int) -> None:
        """Pass: the next mentor is asked at once."""
        routing = await self.service.pass_offer(request_id, interaction.user.id)
        await interaction.response.edit_message(
            content=f"👌 Passed on request #{request_id}: I'm asking someone else. Thanks!",
            view=None,
            allowed_mentions=NO_PINGS,
        )
        await self.deliver(routing, requeued=True)
        await self.serve_queue(routing.request.guild_id)

    async def serve_queue(self, guild_id: int) -> None:
        """Offer waiting requests to whoever is free now, first come first served."""
        for routing in await self.service.serve_queue(guild_id):
            await self.deliver(routing)

    @commands.Cog.listener()
    async def on_mentor_ready(self, guild_id: int, user_id: int) -> None:
        """A mentor said `/available on` or read the brief: serve the queue."""
        await self.serve_queue(guild_id)

    # --- sessions ---------------------------------------------------------------------------

    async def open_session(self, request: HelpRequest, interaction: discord.Interaction) -> None:
        """A private thread in the help channel with the student and mentor, and the starter."""
        settings = await self.bot.services.classes.get(request.guild_id)
        channel = (
            await self._help_channel(settings.help_channel_id)
            if settings and settings.help_channel_id
            else None
        )
        assert request.mentor_id is not None
        thread = None
        if isinstance(channel, discord.TextChannel):
            try:
                thread = await channel.create_thread(
                    name=f"{request.subject_name} help #{request.id}",
                    type=discord.ChannelType.private_thread,
                    invitable=False,
                    reason="ClassMentor help session",
                )
            except discord.HTTPException:
                log.warning("could not create the thread for help request %s", request.id)
        if thread is None:
            closed = await self.service.session_failed(request.id)
            await interaction.followup.send(
                "I couldn't open a private thread in the help channel (is it set, and can I "
                "create private threads there?). The request is closed; please tell your teacher.",
                ephemeral=True,
            )
            await self._dm(
                request.student_id,
                f"Sorry: I couldn't open your {request.subject_name} help session. Please tell "
                "your teacher, or try `/helpme ask` again.",
            )
            await self.after_close(closed, post_in_thread=False)
            return
        await self.service.session_opened(request.id, thread.id)
        self._threads[thread.id] = request.id
        self._schedule_idle(request)
        await thread.add_user(discord.Object(request.student_id))
        await thread.add_user(discord.Object(request.mentor_id))
        await thread.send(
            session_starter(request),
            view=session_view(request.id),
            allowed_mentions=only_pings(request.student_id, request.mentor_id),
        )

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
        """The student confirms: resolved and credited, then the thread is archived and locked."""
        resolved = await self.service.rate(request_id, interaction.user.id, rating)
        self.bot.jobs.cancel(idle_job(request_id))
        text = closing_words(resolved.request)
        message = interaction.message
        if message is not None and message.flags.ephemeral:
            # Rated from the private prompt: say it in the thread, where the mentor sees it.
            await interaction.response.send_message(text, allowed_mentions=NO_PINGS)
        else:
            await interaction.response.edit_message(content=text, view=None)
        await self._end_thread(resolved.request)
        await self.serve_queue(resolved.request.guild_id)

    async def after_close(self, closed: Closed, *, post_in_thread: bool = True) -> None:
        """A request ended without credit: tidy its offer or thread, free the mentor."""
        request = closed.request
        self.bot.jobs.cancel(offer_job(request.id))
        self.bot.jobs.cancel(idle_job(request.id))
        for stale in closed.stale:
            await self._tidy(stale, request.id)
        if closed.previous is RequestState.ACTIVE and request.thread_id:
            if post_in_thread:
                with contextlib.suppress(discord.HTTPException):
                    await self.bot.get_partial_messageable(request.thread_id).send(
                        closing_words(request), allowed_mentions=NO_PINGS
                    )
            await self._end_thread(request)
        if closed.previous is not RequestState.QUEUED:
            await self.serve_queue(request.guild_id)

    async def _help_channel(
        self, channel_id: int
    ) -> discord.abc.GuildChannel | discord.Thread | discord.abc.PrivateChannel | None:
        """The class's help channel, from the cache or (sharded) from Discord.

        Discord sends every DM interaction (a mentor's Accept) to shard 0, so with several
        processes the one handling it may not hold that class's server in its cache.
        """
        channel = self.bot.get_channel(channel_id)
        if channel is None and self.bot.shard_plan.sharded:
            try:
                return await self.bot.fetch_channel(channel_id)
            except discord.HTTPException:
                return None
        return channel

    async def _end_thread(self, request: HelpRequest) -> None:
        """Archive and lock the session thread in one call."""
        if request.thread_id is None:
            return
        self._threads.pop(request.thread_id, None)
        self._touched.pop(request.thread_id, None)
        with contextlib.suppress(discord.HTTPException):
            await self.bot.http.edit_channel(
                request.thread_id, reason="Help session closed", archived=True, locked=True
            )

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Talk in a session thread keeps it open (only the timing is used, not the content)."""
        request_id = self._threads.get(message.channel.id)
        if request_id is None and not message.author.bot:
            request_id = await self._session_opened_elsewhere(message.channel)
        if request_id is None or message.author.bot:
            return
        now = self.bot.clock.now()
        last = self._touched.get(message.channel.id)
        if last is not None and now - last < TOUCH_EVERY:
            return
        self._touched[message.channel.id] = now
        await self.service.touch(request_id)

    async def _session_opened_elsewhere(self, channel: object) -> int | None:
        """A session thread another process opened for one of this process's classes.

        Sharded only: the mentor's Accept (a DM, so shard 0) may open a thread in a class this
        process serves; it learns the thread from the database on its first message. Only
        private threads the bot made are looked up, each at most once.
        """
        if not self.bot.shard_plan.sharded or not isinstance(channel, discord.Thread):
            return None
        if channel.id in self._not_sessions or self.bot.user is None:
            return None
        if channel.owner_id != self.bot.user.id or not self.bot.owns_guild(channel.guild.id):
            return None
        for request in (await self.service.timers()).sessions:
            if request.thread_id == channel.id:
                self._threads[channel.id] = request.id
                return request.id
        self._not_sessions.add(channel.id)
        return None

    # --- the teacher's queue ----------------------------------------------------------------

    async def on_queue_action(
        self, interaction: discord.Interaction, action: str, request_id: int
    ) -> None:
        """Reassign, close or join from `/queue`, then show the fresh queue."""
        await require_teacher(interaction, "manage the help queue")
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
            await self.bot.http.add_user_to_thread(request.thread_id, interaction.user.id)
            note = f"Added you to <#{request.thread_id}>."
        requests = await self.service.open_requests(guild_id)
        await interaction.response.edit_message(
            content=note,
            embed=queue_embed(requests, self.bot.clock.now()),
            view=queue_view(requests),
            allowed_mentions=NO_PINGS,
        )
        if routing is not None:
            await self.deliver(routing, tell_teacher=False)
        if closed is not None:
            await self.after_close(closed)

    # --- helpers ----------------------------------------------------------------------------

    async def _dm(self, user_id: int, text: str) -> None:
        """A best-effort private word (DMs may be closed: then there is nowhere private)."""
        try:
            dm = await self.bot.create_dm(discord.Object(user_id))
            await dm.send(text, allowed_mentions=NO_PINGS)
        except discord.HTTPException:
            log.info("could not DM user %s about their help request", user_id)


async def setup(bot: ClassMentorBot) -> None:
    """Extension entry point."""
    await bot.add_cog(HelpCog(bot))
