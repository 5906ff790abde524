"""The help flow's persistent buttons and selects, and the words it says.

Every component is a :class:`~cogs._components.PersistentItem` whose custom id carries the
request (or subject) id, so it answers after a restart: the state is re-read from the database on
each click, and errors go through the one error path. Callbacks hand over to the cog
(``HelpCog``), which calls the service and hands Discord work to the help desk.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, cast

import discord
from discord import app_commands

from bot.domain.classroom import Subject
from bot.domain.help_intents import StaleReason, TellAbout
from bot.domain.help_states import RequestState
from bot.errors import InvalidInput
from bot.services.help_requests import TOPIC_MAX_LENGTH, HelpRequest, Routing
from bot.services.mentors import ASPECT_MAX
from cogs._components import PersistentForm, PersistentItem, view_of
from cogs._shared import bot_of, clip, require_teacher

Button = discord.ui.Button[discord.ui.View]
Select = discord.ui.Select[discord.ui.View]


class HelpHandlers(Protocol):
    """What a click or a form hands over to (the help cog); named here so this module needs no
    import of the cog, which imports it."""

    async def on_accept(self, interaction: discord.Interaction, request_id: int) -> None: ...
    async def on_pass(self, interaction: discord.Interaction, request_id: int) -> None: ...
    async def on_solved(self, interaction: discord.Interaction, request_id: int) -> None: ...
    async def on_propose(self, interaction: discord.Interaction, request_id: int) -> None: ...
    async def on_call_teacher(self, interaction: discord.Interaction, request_id: int) -> None: ...
    async def on_rate(
        self, interaction: discord.Interaction, request_id: int, rating: int
    ) -> None: ...
    async def on_confidence(
        self, interaction: discord.Interaction, request_id: int, value: int
    ) -> None: ...
    async def on_panel_ask(
        self,
        interaction: discord.Interaction,
        subject_id: int,
        topic: str,
        aspect: str | None = None,
        confidence: int | None = None,
    ) -> None: ...
    async def on_queue_action(
        self, interaction: discord.Interaction, action: str, request_id: int
    ) -> None: ...


def flow(interaction: discord.Interaction) -> HelpHandlers:
    """The loaded help cog, which runs the flow for a click."""
    cog = bot_of(interaction).get_cog("HelpCog")
    if cog is None:  # pragma: no cover - the extension registers the items and the cog together
        raise RuntimeError("the help cog is not loaded")
    return cast("HelpHandlers", cog)


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def ts(instant: datetime, style: str = "R") -> str:
    """A Discord timestamp that each reader sees in their own time zone."""
    return f"<t:{int(instant.timestamp())}:{style}>"


def topic_line(request: HelpRequest) -> str:
    """The student's topic for the mentor, clipped (user text: always sent without pings)."""
    return clip(request.topic, TOPIC_MAX_LENGTH) if request.topic else "*(no topic given)*"


async def aspect_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """Aspects of the chosen subject, from its assessments and badges (at most 25)."""
    subject = getattr(interaction.namespace, "subject", None)
    if interaction.guild_id is None or not isinstance(subject, str) or not subject.strip():
        return []
    known = await bot_of(interaction).services.progress.known_aspects(interaction.guild_id, subject)
    typed = current.casefold().strip()
    return [app_commands.Choice(name=a, value=a) for a in known if typed in a.casefold()][:25]


def parse_confidence(raw: str) -> int | None:
    """The form's "how sure are you" box: empty, or a whole number 1–5."""
    text = raw.strip()
    if not text:
        return None
    if text not in {"1", "2", "3", "4", "5"}:
        raise InvalidInput("Confidence is a number from 1 to 5 (or leave it empty).")
    return int(text)


# --- words ------------------------------------------------------------------------------------

CONFIDENCE_AFTER_QUESTION = (
    "One more tap, only you see it: **how sure are you about this now?** "
    "1 (not at all) to 5 (very)."
)


def student_reply(routing: Routing) -> str:
    """What the student sees (privately) after asking."""
    subject = routing.request.subject_name
    if routing.offer is not None:
        return (
            f"🔎 I've asked a **{subject}** mentor for you. As soon as they accept, you'll both be "
            "added to a private thread: only the two of you are in it (your teacher can join).\n"
            "Changed your mind? `/helpme cancel`."
        )
    return (
        f"⏳ No {subject} mentor is free right now; you are **{ordinal(routing.position)}** in "
        "line and your teacher has been told. I'll add you to a private thread as soon as a "
        "mentor accepts.\nChanged your mind? `/helpme cancel`."
    )


def tell_words(about: TellAbout, request: HelpRequest, position: int = 0) -> str:
    """A private word to the student or mentor about a request that changed course."""
    subject = request.subject_name
    if about == "requeued":
        return (
            f"⏳ The {subject} mentor I asked couldn't take your request, and nobody else is "
            f"free right now. You're **{ordinal(position)}** in line and your teacher has been "
            "told."
        )
    if about == "no_thread":
        return (
            f"Sorry: I couldn't open the private thread for {subject} help request "
            f"#{request.id} (is the help channel set, and can I create private threads there?). "
            "The request is closed; please tell your teacher, or try `/helpme ask` again."
        )
    if about == "session_requeued_student":
        return (
            f"Sorry: Discord didn't let me open your {subject} help session just now. Your "
            "request is back in line with its place kept, and I'll add you to a private thread "
            "as soon as a mentor accepts."
        )
    return (
        f"Sorry: Discord didn't let me open the session for {subject} request #{request.id}, "
        "so it went back in line. Thanks for accepting: you're free for the next one."
    )


def queue_notice_words(subject: str, waiting: int, teacher_role_id: int | None) -> str:
    """The mentors channel's live notice for a subject's line. It never names a student."""
    ping = f"<@&{teacher_role_id}> " if teacher_role_id else ""
    if waiting <= 0:
        return f"✅ Nobody is waiting for a **{subject}** mentor any more. Thank you, mentors!"
    who = "A student is waiting" if waiting == 1 else f"{waiting} students are waiting"
    return (
        f"{ping}⏳ {who} for a mentor in **{subject}**. {subject} mentors: `/available on` if "
        "you can help. Teachers: `/queue` shows the details. (This message keeps itself up to "
        "date.)"
    )


def offer_words(request: HelpRequest, expires_at: datetime, *, in_dm: bool) -> str:
    """The offer a mentor gets. In the shared mentors channel the topic stays hidden."""
    head = f"🙋 **A classmate needs help with {request.subject_name}** (request #{request.id})."
    if in_dm:
        body = f"**Topic:** {topic_line(request)}"
    else:
        body = "Your DMs are closed, so the details wait for you in the private thread."
    return (
        f"{head}\n{body}\nPlease accept or pass {ts(expires_at)}; then it goes to another mentor."
    )


STALE_WORDS: dict[StaleReason, str] = {
    "expired": "⏰ Request #{id} went to another mentor after a few minutes. I've paused your "
    "availability so nobody waits on you: `/available on` when you're back.",
    "taken": "🙌 Request #{id} was taken by another mentor. Thanks for being ready to help!",
    "withdrawn": "↪️ Your teacher moved request #{id} on to someone else. Thanks anyway!",
    "cancelled": "✅ Request #{id} was closed: the student doesn't need help any more.",
}


def session_starter(request: HelpRequest) -> str:
    """The first message in a session thread: who, what, and two short reminders."""
    return (
        f"👋 <@{request.student_id}>, meet your **{request.subject_name}** mentor "
        f"<@{request.mentor_id}>.\n**Topic:** {topic_line(request)}\n\n"
        "• Mentor: ask what they've tried and guide with questions; don't just give the answer.\n"
        "• This thread is private: keep it kind, and press *Need the teacher* whenever you're "
        "unsure.\n"
        "When it's sorted, the student presses **Solved**."
    )


def closing_words(request: HelpRequest) -> str:
    """Said in the thread when a session ends, by why it ended."""
    if request.state is RequestState.RESOLVED:
        return (
            f"✅ Solved! Thank you <@{request.mentor_id}>: this session counts for you. "
            "Closing the thread."
        )
    if request.close_reason == "idle":
        return "💤 This session was quiet for a while, so I've closed it (no credit counted)."
    if request.close_reason == "teacher":
        return "🔒 Your teacher closed this session."
    return "🔒 The student closed this session. Thanks for your time!"


def queue_embed(
    requests: list[HelpRequest], now: datetime, from_board: frozenset[int] = frozenset()
) -> discord.Embed:
    """The teacher's `/queue`: open requests, ages and who is on what (names allowed here);
    ``from_board``: requests a mentor took from the rounds board."""
    embed = discord.Embed(title="Help requests", colour=discord.Colour.orange())
    lines = []
    for r in requests[:25]:
        age = max(0, int((now - r.created_at).total_seconds() // 60))
        where = {
            RequestState.QUEUED: "⏳ waiting in line",
            RequestState.OFFERED: f"🔎 offered to <@{r.mentor_id}>",
            RequestState.ACTIVE: f"💬 with <@{r.mentor_id}>"
            + (f" in <#{r.thread_id}>" if r.thread_id else ""),
        }.get(r.state, r.state.value)
        if r.id in from_board:
            where += " · 🚶 taken from the board"
        lines.append(f"**#{r.id} {r.subject_name}** · <@{r.student_id}> · {age} min · {where}")
    embed.description = "\n".join(lines) or "No open requests. 🎉"
    return embed


# --- components ---------------------------------------------------------------------------------


class _RequestButton(PersistentItem[Button], template=r"help:(?!)"):
    """A button whose custom id is ``help:<action>:<request id>``."""

    _action = ""
    _label = ""
    _style = discord.ButtonStyle.secondary

    def __init__(self, request_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=self._label,
                style=self._style,
                custom_id=f"help:{self._action}:{request_id}",
            )
        )
        self.request_id = request_id


class AcceptButton(_RequestButton, template=r"help:accept:(?P<id>\d+)"):
    """A mentor takes the request."""

    _action, _label, _style = "accept", "Accept", discord.ButtonStyle.success

    async def run(self, interaction: discord.Interaction) -> None:
        """Accept: exactly one mentor wins."""
        await flow(interaction).on_accept(interaction, self.request_id)


class PassButton(_RequestButton, template=r"help:pass:(?P<id>\d+)"):
    """A mentor can't take it now: the next mentor is asked at once."""

    _action, _label, _style = "pass", "Pass", discord.ButtonStyle.secondary

    async def run(self, interaction: discord.Interaction) -> None:
        """Pass to the next mentor."""
        await flow(interaction).on_pass(interaction, self.request_id)


class SolvedButton(_RequestButton, template=r"help:solved:(?P<id>\d+)"):
    """The student is done: asked privately how it went."""

    _action, _label, _style = "solved", "Solved", discord.ButtonStyle.success

    async def run(self, interaction: discord.Interaction) -> None:
        """Ask the student for a rating."""
        await flow(interaction).on_solved(interaction, self.request_id)


class TeacherButton(_RequestButton, template=r"help:teacher:(?P<id>\d+)"):
    """Ping the teacher role, inside the thread only."""

    _action, _label, _style = "teacher", "Need the teacher", discord.ButtonStyle.danger

    async def run(self, interaction: discord.Interaction) -> None:
        """Call the teacher into the session."""
        await flow(interaction).on_call_teacher(interaction, self.request_id)


class ProposeButton(_RequestButton, template=r"help:propose:(?P<id>\d+)"):
    """The mentor suggests closing; the student confirms with a rating."""

    _action, _label, _style = "propose", "Wrap up (mentor)", discord.ButtonStyle.secondary

    async def run(self, interaction: discord.Interaction) -> None:
        """Ask the student to confirm."""
        await flow(interaction).on_propose(interaction, self.request_id)


class RateButton(PersistentItem[Button], template=r"help:rate:(?P<id>\d+):(?P<rating>[1-5])"):
    """ "Did this help?" 1–5: the student's answer closes the session and credits the mentor."""

    def __init__(self, request_id: int, rating: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=str(rating),
                style=discord.ButtonStyle.primary if rating >= 4 else discord.ButtonStyle.secondary,
                custom_id=f"help:rate:{request_id}:{rating}",
            )
        )
        self.request_id = request_id
        self.rating = rating

    async def run(self, interaction: discord.Interaction) -> None:
        """Resolve and credit."""
        await flow(interaction).on_rate(interaction, self.request_id, self.rating)


class ConfidenceButton(
    PersistentItem[Button], template=r"help:confidence:(?P<id>\d+):(?P<value>[1-5])"
):
    """ "How sure are you now?" 1–5, asked once after a confirmed session."""

    def __init__(self, request_id: int, value: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=str(value),
                style=discord.ButtonStyle.secondary,
                custom_id=f"help:confidence:{request_id}:{value}",
            )
        )
        self.request_id = request_id
        self.value = value

    async def run(self, interaction: discord.Interaction) -> None:
        """Record the answer."""
        await flow(interaction).on_confidence(interaction, self.request_id, self.value)


class PanelButton(PersistentItem[Button], template=r"help:panel:(?P<subject>\d+)"):
    """One subject on the help panel: opens a short form for the (optional) topic."""

    def __init__(self, subject_id: int, name: str = "Help") -> None:
        super().__init__(
            discord.ui.Button(
                label=name, style=discord.ButtonStyle.primary, custom_id=f"help:panel:{subject_id}"
            )
        )
        self.subject_id = subject_id

    async def run(self, interaction: discord.Interaction) -> None:
        """Open the topic form."""
        await interaction.response.send_modal(TopicModal(self.subject_id))


class TopicModal(PersistentForm, title="Ask for help"):
    """The optional topic, aspect and confidence, asked after a panel click (a slash option
    can't follow a button)."""

    topic: discord.ui.TextInput[TopicModal] = discord.ui.TextInput(
        label="What are you stuck on? (optional)",
        style=discord.TextStyle.short,
        max_length=TOPIC_MAX_LENGTH,
        required=False,
        placeholder="e.g. question 4, adding fractions",
    )
    aspect: discord.ui.TextInput[TopicModal] = discord.ui.TextInput(
        label="Which part of the subject? (optional)",
        style=discord.TextStyle.short,
        max_length=ASPECT_MAX,
        required=False,
        placeholder="e.g. fractions",
    )
    confidence: discord.ui.TextInput[TopicModal] = discord.ui.TextInput(
        label="How sure are you about it? 1–5 (optional)",
        style=discord.TextStyle.short,
        max_length=1,
        required=False,
        placeholder="1 = not at all, 5 = very",
    )

    def __init__(self, subject_id: int) -> None:
        super().__init__(timeout=600, custom_id=f"help:topic:{subject_id}")
        self.subject_id = subject_id

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """File the request."""
        await flow(interaction).on_panel_ask(
            interaction,
            self.subject_id,
            self.topic.value,
            aspect=self.aspect.value or None,
            confidence=parse_confidence(self.confidence.value),
        )


QUEUE_ACTIONS = {
    "reassign": "Reassign to the next mentor…",
    "close": "Close a request (no credit)…",
    "join": "Join a session thread…",
}


class QueueSelect(PersistentItem[Select], template=r"help:queue:(?P<action>[a-z]+)"):
    """A teacher picks a request in `/queue` to reassign, close or join."""

    def __init__(self, action: str, requests: list[HelpRequest] | None = None) -> None:
        options = [
            discord.SelectOption(
                label=f"#{r.id} {r.subject_name} ({r.state.value})", value=str(r.id)
            )
            for r in (requests or [])[:25]
        ]
        super().__init__(
            discord.ui.Select(
                custom_id=f"help:queue:{action}",
                placeholder=QUEUE_ACTIONS.get(action, action),
                options=options or [discord.SelectOption(label="-", value="0")],
                disabled=not options,
            )
        )
        self.action = action

    async def check(self, interaction: discord.Interaction) -> None:
        """Only a teacher manages the queue."""
        await require_teacher(interaction, "manage the help queue")

    async def run(self, interaction: discord.Interaction) -> None:
        """Act on the chosen request, then show the queue again."""
        values = self.item.values
        if values:
            await flow(interaction).on_queue_action(interaction, self.action, int(values[0]))


PERSISTENT_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    AcceptButton,
    PassButton,
    SolvedButton,
    TeacherButton,
    ProposeButton,
    RateButton,
    ConfidenceButton,
    PanelButton,
    QueueSelect,
)


def offer_view(request_id: int) -> discord.ui.View:
    """Accept / Pass under an offer."""
    return view_of(AcceptButton(request_id), PassButton(request_id))


def session_view(request_id: int) -> discord.ui.View:
    """Solved / Need the teacher / Wrap up under the session starter."""
    return view_of(SolvedButton(request_id), TeacherButton(request_id), ProposeButton(request_id))


def rating_view(request_id: int) -> discord.ui.View:
    """1–5 under "Did this help?"."""
    return view_of(*(RateButton(request_id, n) for n in range(1, 6)))


def confidence_view(request_id: int) -> discord.ui.View:
    """1–5 under "how sure are you now?"."""
    return view_of(*(ConfidenceButton(request_id, n) for n in range(1, 6)))


def panel_view(subjects: list[Subject]) -> discord.ui.View:
    """One button per subject (at most 25: five rows of five)."""
    return view_of(*(PanelButton(s.id, s.name) for s in subjects[:25]))


def queue_view(requests: list[HelpRequest]) -> discord.ui.View:
    """The teacher's actions under `/queue`."""
    waiting = [r for r in requests if r.state in (RequestState.QUEUED, RequestState.OFFERED)]
    joinable = [r for r in requests if r.state is RequestState.ACTIVE and r.thread_id]
    return view_of(
        QueueSelect("reassign", waiting),
        QueueSelect("close", requests),
        QueueSelect("join", joinable),
    )
