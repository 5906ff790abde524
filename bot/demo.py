"""`classmentor demo`: a scripted class week against the simulated Discord, no token needed.

It starts the simulator and the real bot (same wiring as `classmentor run`) on a temporary
database with a clock the script moves, plays the week, and prints what each person sees.
"""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
import time as wall_time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import ManualClock
from bot.domain.points import (
    DEFAULT_AWARD_POINTS,
    GOOD_RATING,
    GOOD_RATING_BONUS,
    SESSION_BASE_POINTS,
    AwardKind,
)
from bot.pacing import Pacing
from bot.simulator import (
    DiscordSimulator,
    InteractionResult,
    RateLimits,
    SimChannel,
    SimGuild,
    SimMessage,
    SimUser,
    point_discord_at,
)
from bot.simulator.classroom import Classroom

# Monday 16 November 2026, 08:30 in London: the start of the demo's class week.
WEEK_START = datetime(2026, 11, 16, 8, 30, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.demo.token"

Step = Callable[["Demo"], Awaitable[None]]


@dataclass
class Transcript:
    """Collects readable lines; prints them unless quiet."""

    quiet: bool
    lines: list[str] = field(default_factory=list)

    def say(self, text: str = "") -> None:
        """Add a line."""
        self.lines.append(text)
        if not self.quiet:
            print(text, flush=True)


@dataclass
class Demo:
    """The running demo: a :class:`Classroom` on the simulated Discord, and the transcript."""

    room: Classroom
    transcript: Transcript
    seen: int = 0
    last_reply: SimMessage | None = None
    moments: list[str] = field(default_factory=list)

    @property
    def sim(self) -> DiscordSimulator:
        """The simulated Discord."""
        return self.room.sim

    @property
    def guild(self) -> SimGuild:
        """The class server."""
        return self.room.guild

    @property
    def clock(self) -> ManualClock:
        """The class's clock, which the script moves."""
        return self.room.clock

    @property
    def channels(self) -> dict[str, SimChannel]:
        """The class's channels by name."""
        return self.room.channels

    @property
    def people(self) -> dict[str, SimUser]:
        """Everyone in the class by name."""
        return self.room.people()

    def person(self, user_id: int) -> str:
        """A display name for a user id."""
        for name, user in self.people.items():
            if user.id == user_id:
                return name
        return "ClassMentor" if user_id == self.sim.bot_user.id else str(user_id)

    async def submit(self, who: str, result: InteractionResult, answers: list[str]) -> None:
        """A person fills in the form the bot opened, one answer per field, and sends it."""
        modal = result.modal
        if modal is None:
            raise RuntimeError(f"{who} was shown no form")
        self.transcript.say(f"▶ {who} fills in the form: " + " / ".join(answers))
        sent = await self.sim.submit_modal(
            self.people[who], modal, dict(zip(modal.fields(), answers, strict=False))
        )
        self.show_reply(who, sent)
        await self.show_new_messages()

    async def restart(self, why: str) -> None:
        """Stop the bot's process and start it again on the same database."""
        self.transcript.say(f"⟳ {why}: the bot stops and starts again")
        await self.room.restart()
        await self.show_new_messages()

    def note(self, text: str) -> None:
        """A line for the reader that explains what they just saw."""
        self.transcript.say(f"   ℹ {text}")

    def where(self, message: SimMessage) -> str:
        """Where a message appeared and who can read it, as a person would say it."""
        channel = self.sim.world.channels.get(message.channel_id)
        if channel is None:
            return "?"
        if channel.recipient is not None:
            name = self.person(channel.recipient.id)
            return f"DM to {name} (only {name} sees)"
        if channel.is_thread:
            members = [
                self.person(uid) for uid in channel.thread_members if uid != self.sim.bot_user.id
            ]
            readers = " and ".join(members) if members else "nobody yet"
            return f"private thread '{channel.name}' ({readers}, and teachers, see)"
        return f"#{channel.name} (everyone in the channel sees)"

    async def act(self, who: str, command: str, **options: Any) -> InteractionResult:
        """A person runs a slash command in #general; prints what they see."""
        shown = " ".join(f"{k}:{_show(v)}" for k, v in options.items())
        self.transcript.say(f"▶ {who}: /{command} {shown}".rstrip())
        result = await self.room.slash(self.people[who], command, **options)
        self.show_reply(who, result)
        await self.show_new_messages()
        return result

    async def click(self, who: str, message: SimMessage, label: str) -> InteractionResult:
        """A person presses the button with this label."""
        self.transcript.say(f"▶ {who} presses [{label}]")
        result = await self.room.click(self.people[who], message, label)
        self.show_reply(who, result)
        await self.show_new_messages()
        return result

    def render(self, message: SimMessage) -> str:
        """A message on one line, with mentions and timestamps as a person sees them."""
        parts = [message.content] if message.content else []
        for embed in message.embeds:
            if embed.get("title"):
                parts.append(f"[{embed['title']}]")
            if embed.get("description"):
                parts.append(_clip(str(embed["description"]), 160))
            for item in embed.get("fields", []):
                parts.append(f"{item['name']}: {item['value']}")
        buttons = [label for label, _, disabled in message.buttons() if not disabled]
        if buttons:
            parts.append("buttons: " + " ".join(f"[{b}]" for b in buttons))
        if message.attachments:
            parts.append("files: " + ", ".join(a.filename for a in message.attachments))
        text = " | ".join(parts)
        if ("@everyone" in text or "@here" in text) and not message.pinged_everyone:
            parts.append("(the @everyone in it is plain text: it pinged nobody)")
        return _clip(self.readable(" | ".join(parts)), 700)

    def readable(self, text: str) -> str:
        """Replace Discord's mention and timestamp markup with names and local times."""

        def mention(match: re.Match[str]) -> str:
            kind, ident = match.group(1), int(match.group(2))
            if kind == "#":
                channel = self.sim.world.channels.get(ident)
                return f"#{channel.name}" if channel else "#?"
            if kind == "@&":
                role = self.guild.roles.get(ident)
                return f"@{role.name}" if role else "@?"
            return f"@{self.person(ident)}"

        def stamp(match: re.Match[str]) -> str:
            local = datetime.fromtimestamp(int(match.group(1)), UTC).astimezone(LONDON)
            return f"{local:%a %H:%M}"

        text = re.sub(r"<(@&|@!?|#)(\d+)>", mention, text)
        return re.sub(r"<t:(\d+)(?::\w)?>", stamp, text)

    def show_reply(self, who: str, result: InteractionResult) -> None:
        """The interaction's answer, marked private when only that person saw it."""
        message = result.message or (result.followups[-1] if result.followups else None)
        self.last_reply = message
        if result.modal is not None:
            self.transcript.say(f"   ↳ {who} sees a form: {result.modal.title}")
        if message is None:
            return
        if message.ephemeral:
            self.transcript.say(f"   ↳ only {who} sees: {self.render(message)}")
        else:
            self.transcript.say(f"   ↳ in {self.where(message)}: {self.render(message)}")

    async def show_new_messages(self) -> None:
        """Every new non-private message since the last step, with where it appeared."""
        await self.sim.settle()
        new = sorted(
            (m for m in self.sim.world.message_index.values() if m.id > self.seen),
            key=lambda m: m.id,
        )
        for message in new:
            if not message.ephemeral and message.interaction_id is None and message.author.bot:
                author = self.person(message.author.id)
                self.transcript.say(
                    f"   ✉ {author} in {self.where(message)}: {self.render(message)}"
                )
        if new:
            self.seen = max(self.seen, new[-1].id)

    async def advance(self, delta: timedelta, why: str) -> None:
        """Move the class's clock and fire whatever jobs fall due."""
        self.clock.advance(delta)
        local = self.clock.now().astimezone(LONDON)
        self.transcript.say(f"⏩ {why} — now {local:%A %H:%M}")
        await self.room.run_jobs()
        await self.show_new_messages()

    async def advance_to(self, weekday: int, hour: int, why: str) -> None:
        """Move the clock to a local weekday (0 = Monday) and hour of the demo's week."""
        monday = WEEK_START.astimezone(LONDON).date()
        target = datetime(monday.year, monday.month, monday.day, hour, tzinfo=LONDON)
        await self.advance(target + timedelta(days=weekday) - self.clock.now(), why)

    async def say_in(self, channel: SimChannel, who: str, text: str) -> None:
        """A person writes in a channel or thread."""
        self.transcript.say(f"▶ {who} writes in '{channel.name}': {text}")
        await self.sim.send_message(self.people[who], channel, text)
        await self.show_new_messages()

    def moment(self, text: str) -> None:
        """A key moment, checked in CI and listed in the summary."""
        self.moments.append(text)
        self.transcript.say(f"★ {text}")

    def latest(self, where: SimChannel | SimUser) -> SimMessage:
        """The newest message in a channel or in someone's DMs."""
        return self.room.latest(where)


def _show(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], bytes):
        return f"[{value[0]}, {len(value[1])} bytes]"  # an attached file
    if isinstance(value, SimUser):
        return f"@{value.global_name or value.name}"
    if isinstance(value, SimChannel):
        return f"#{value.name}"
    if hasattr(value, "name"):
        return f"@{value.name}"
    return str(value)


def _clip(text: str, limit: int) -> str:
    text = text.replace("\n", " / ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


LEGEND = (
    "How to read this: ▶ someone acts · ↳ the bot's answer to them, and who sees it · "
    "✉ a message the bot posted, where, and who sees it · ℹ a note for you · "
    "★ a key moment (checked) · ⏩ the class clock moves on · ⟳ the bot restarts"
)


async def setup_class(demo: Demo) -> None:
    """The teacher sets the class up and posts the help panel."""
    demo.transcript.say("— Monday morning: setting up the class —")
    await demo.act(
        "Mr Owner",
        "setup class",
        teacher_role=demo.guild.role_named("Teacher"),
        announcements=demo.channels["announcements"],
        help_channel=demo.channels["help"],
        mentors_channel=demo.channels["mentors"],
        timezone="Europe/London",
    )
    for subject in ("Math", "English"):
        await demo.act("Ms Rivera", "subject add", name=subject)
    demo.moment("class set up with Math and English")
    await demo.act("Ms Rivera", "helpme panel")
    demo.moment("help panel posted: a button per subject, for students who prefer clicking")


async def badge_mentors(demo: Demo) -> None:
    """Mentor badges (one only for a lesson), the brief, availability."""
    demo.transcript.say("")
    demo.transcript.say("— Choosing mentors —")
    await demo.act("Ms Rivera", "mentor grant", student=demo.people["Alice"], subject="Math")
    await demo.act("Ms Rivera", "mentor grant", student=demo.people["Bob"], subject="Math")
    await demo.act("Ms Rivera", "mentor grant", student=demo.people["Carol"], subject="English")
    demo.moment("mentor badges granted and briefs delivered (Carol's DMs are closed)")
    await demo.act(
        "Ms Rivera", "mentor grant", student=demo.people["Eve"], subject="English", until="45m"
    )
    demo.moment("Eve got an English badge for this lesson only (45 minutes)")
    await demo.click("Alice", demo.latest(demo.people["Alice"]), "I've read this")
    await demo.click("Bob", demo.latest(demo.people["Bob"]), "I've read this")
    await demo.act("Alice", "available on")
    await demo.act("Bob", "available on", duration="3h")
    await demo.act("Dan", "mentors")
    demo.moment("mentors read the brief and are available")


async def help_flow(demo: Demo) -> None:
    """A request passed on, accepted, the teacher called in, a restart, and a rating."""
    demo.transcript.say("")
    demo.transcript.say("— Monday, period 2: Dan is stuck —")
    await demo.advance(timedelta(minutes=30), "Half an hour later")
    await demo.act(
        "Dan",
        "helpme ask",
        subject="Math",
        topic="adding fractions with different bottoms @everyone",
    )
    pinged = [m for m in demo.sim.world.message_index.values() if m.pinged_everyone]
    assert not pinged, [m.content for m in pinged]
    demo.moment("Dan's topic said @everyone, and it pinged nobody")
    await demo.click("Alice", demo.latest(demo.people["Alice"]), "Pass")
    await demo.click("Bob", demo.latest(demo.people["Bob"]), "Accept")
    thread = demo.sim.threads(demo.guild)[-1]
    await demo.say_in(thread, "Dan", "Oh, so I need the same denominator first?")
    await demo.say_in(thread, "Bob", "I think so, but I'm not sure how to explain why.")
    starter = demo.sim.messages(thread)[0]
    await demo.click("Bob", starter, "Need the teacher")
    demo.moment("Bob pressed Need the teacher: the teacher role was pinged inside the thread")
    await demo.say_in(thread, "Ms Rivera", "Both bottoms must match: 12 works for 3 and 4.")
    await demo.restart("An update is deployed during the lesson")
    await demo.click("Dan", starter, "Solved")
    prompt = demo.last_reply
    assert prompt is not None
    await demo.click("Dan", prompt, "5")
    demo.moment("after the restart the thread's buttons still worked")
    demo.moment("Alice passed, Bob accepted; Dan confirmed the help with a 5 and Bob earned credit")


async def timeout_and_idle(demo: Demo) -> None:
    """A request from the help panel; an unanswered offer moves on; a quiet session closes."""
    demo.transcript.say("")
    demo.transcript.say("— The help panel, and an offer that times out —")
    panel = next(
        m for m in demo.sim.messages(demo.channels["general"]) if m.buttons() and m.author.bot
    )
    form = await demo.click("Eve", panel, "Math")
    await demo.submit("Eve", form, ["long division"])
    demo.moment("Eve asked from the help panel: a button, then a short form")
    await demo.advance(timedelta(minutes=3, seconds=5), "Alice doesn't answer for 3 minutes")
    await demo.click("Bob", demo.latest(demo.people["Bob"]), "Accept")
    demo.moment("the offer to Alice timed out and went to Bob")
    await demo.advance(timedelta(minutes=61), "The session goes quiet for an hour")
    demo.moment("the idle session closed by itself, without credit")
    roles = {role.name for role in demo.guild.member_roles(demo.people["Eve"])}
    assert "English Mentor" not in roles, roles
    await demo.act("Eve", "profile")
    demo.moment("Eve's lesson badge ended by itself: her profile lists it under past badges")


async def nobody_free(demo: Demo) -> None:
    """No English mentor is ready: Dan waits in line, the teacher looks at the queue."""
    demo.transcript.say("")
    demo.transcript.say("— Nobody free for English —")
    await demo.act("Dan", "helpme ask", subject="English", topic="how to structure my essay")
    demo.moment("no English mentor free: Dan told privately, the teacher told without his name")
    await demo.act("Ms Rivera", "queue")
    demo.moment("the teacher's /queue shows who waits, for what and how long (only she sees it)")
    brief = next(
        m for m in demo.sim.messages(demo.channels["mentors"]) if "mentor brief" in m.content
    )
    await demo.click("Carol", brief, "I've read this")
    await demo.act("Carol", "available on")
    offer = demo.latest(demo.channels["mentors"])
    await demo.click("Carol", offer, "Accept")
    thread = demo.sim.threads(demo.guild)[-1]
    await demo.click("Carol", demo.sim.messages(thread)[0], "Wrap up (mentor)")
    await demo.click("Dan", demo.latest(thread), "4")
    demo.moment("Carol became available, took Dan's queued request, and Dan confirmed it")


def _quiz_csv(demo: Demo, assessment: str, scores: dict[str, int]) -> tuple[str, bytes]:
    """A spreadsheet export: ids (the demo has no members intent), semicolons, BOM, CRLF."""
    day = demo.clock.now().astimezone(LONDON).date().isoformat()
    lines = ["student;subject;assessment;score;out_of;date;aspect"] + [
        f"{demo.people[name].id};Math;{assessment};{score};20;{day};fractions"
        for name, score in scores.items()
    ]
    return (f"{assessment.lower().replace(' ', '-')}.csv", ("\ufeff" + "\r\n".join(lines)).encode())


async def quiz_before(demo: Demo) -> None:
    """Monday: a fractions quiz before the week's sessions, imported from a spreadsheet."""
    demo.transcript.say("")
    demo.transcript.say("— Monday: a fractions quiz before the sessions —")
    scores = {"Dan": 8, "Eve": 11, "Alice": 17, "Bob": 18, "Carol": 12}
    await demo.act("Mr Owner", "score import", file=_quiz_csv(demo, "Fractions quiz 1", scores))
    demo.moment("quiz before the sessions imported from a CSV")


async def quiz_after(demo: Demo) -> None:
    """Thursday morning: the same quiz again; gains for the class, the student and the chart."""
    demo.transcript.say("")
    await demo.advance_to(3, 9, "Thursday 09:00: the fractions quiz again")
    scores = {"Dan": 15, "Eve": 13, "Alice": 18, "Bob": 17, "Carol": 14}
    await demo.act("Mr Owner", "score import", file=_quiz_csv(demo, "Fractions quiz 2", scores))
    result = await demo.act("Ms Rivera", "gains", subject="Math", period="this_week")
    chart = next(
        a for m in (result.message, *result.followups) if m is not None for a in m.attachments
    )
    saved = Path(tempfile.gettempdir()) / "classmentor-demo-gains.png"
    saved.write_bytes(chart.data)
    demo.transcript.say(f"   ↳ chart ({chart.description}) saved as {saved}")
    demo.moment(f"gains chart saved as {saved}")
    await demo.act("Dan", "gains", subject="Math", period="this_week")
    demo.moment("Dan saw only his own gain, privately")


def _offer_for(demo: Demo, mentors: tuple[str, ...]) -> tuple[str, SimMessage]:
    """The mentor holding a live offer, and the message with its Accept (DM or #mentors)."""
    for name in mentors:
        places = [*demo.sim.dms(demo.people[name]), *demo.sim.messages(demo.channels["mentors"])]
        for message in reversed(places):
            mentioned = message.channel_id != demo.channels["mentors"].id or (
                f"<@{demo.people[name].id}>" in message.content
            )
            if mentioned and any(
                label == "Accept" for label, _, off in message.buttons() if not off
            ):
                return name, message
    raise RuntimeError(f"no offer for {mentors}")


async def lesson(demo: Demo) -> None:
    """Thursday: a class goal, a fractions lesson with its mentors, and its celebration."""
    demo.transcript.say("")
    demo.transcript.say("— Thursday, period 2: a fractions lesson —")
    await demo.advance(timedelta(minutes=45), "Thursday 09:45: before the lesson")
    await demo.act(
        "Ms Rivera",
        "goal set",
        metric="sessions",
        target=2,
        reward="15 minutes of free reading time",
    )
    demo.moment("class goal set: 2 confirmed help sessions for 15 minutes of free reading time")
    alice, carol = demo.people["Alice"], demo.people["Carol"]
    await demo.act(
        "Ms Rivera",
        "lesson start",
        subject="Math",
        aspect="fractions",
        mentors=f"<@{alice.id}> <@{carol.id}>",
        until="50m",
    )
    demo.moment("lesson started: Alice and Carol (a Math badge for this lesson) mentor fractions")
    invite = next(m for m in demo.sim.dms(alice) if "two quick questions" in m.content)
    form = await demo.click("Alice", invite, "Answer the two questions")
    await demo.submit("Alice", form, ["Finding a common denominator", "Drawing pizza slices"])
    invite = next(
        m for m in demo.sim.messages(demo.channels["mentors"]) if "two quick questions" in m.content
    )
    form = await demo.click("Carol", invite, "Answer the two questions")
    await demo.submit("Carol", form, ["Simplifying at the end", "Practising with a friend"])
    await demo.act("Ms Rivera", "lesson brief-answers")
    demo.moment("the mentor meeting's answers reached only the teacher")
    helped: dict[str, str] = {}
    for student, topic in (("Dan", "simplifying 6/8"), ("Eve", "mixed numbers")):
        await demo.advance(timedelta(minutes=2), "A couple of minutes later")
        await demo.act(student, "helpme ask", subject="Math", topic=topic)
        mentor, offer = _offer_for(demo, ("Alice", "Carol", "Bob"))
        assert mentor in ("Alice", "Carol"), f"{mentor} is not a lesson mentor"
        await demo.click(mentor, offer, "Accept")
        thread = demo.sim.threads(demo.guild)[-1]
        await demo.click(student, demo.sim.messages(thread)[0], "Solved")
        prompt = demo.last_reply
        assert prompt is not None
        await demo.click(student, prompt, "5")
        helped[student] = mentor
    demo.moment("requests during the lesson went to the lesson mentors first")
    if "Alice" in helped.values():
        question = next(m for m in demo.sim.dms(alice) if "What was hard for them" in m.content)
        form = await demo.click("Alice", question, "Add a note")
        await demo.submit("Alice", form, ["Dividing top and bottom by the same number clicked"])
        demo.moment("Alice added a private note after her session")
    await demo.act("Ms Rivera", "lesson end")
    celebration = next(
        m for m in demo.sim.messages(demo.channels["announcements"]) if "That's a wrap" in m.content
    )
    assert "decided when today's quiz is in" in celebration.content, celebration.content
    demo.moment("lesson celebration: mentors thanked; the pair prize waits for today's quiz")
    await demo.advance(timedelta(minutes=5), "Right after the lesson: the quiz is marked")
    scores = {"Dan": 17, "Eve": 14, "Alice": 19, "Carol": 16}
    await demo.act("Mr Owner", "score import", file=_quiz_csv(demo, "Fractions quiz 3", scores))
    prize = next(
        m
        for m in demo.sim.messages(demo.channels["announcements"])
        if "The quiz is in for" in m.content
    )
    pair = f"<@{demo.people[helped['Dan']].id}> & <@{demo.people['Dan'].id}>"
    assert pair in prize.content, prize.content
    assert prize.attachments, "the gains chart"
    demo.moment(f"the quiz came in after the lesson: {helped['Dan']} and Dan won the pair prize")
    reached = [
        m for m in demo.sim.messages(demo.channels["announcements"]) if "goal reached" in m.content
    ]
    assert len(reached) == 1, [m.content for m in reached]
    demo.moment("the class goal was reached once: one post, pinging nobody")
    await demo.act("Mr Owner", "insights", subject="Math", period="this_week")
    demo.moment("/insights showed the teacher what the class struggled with")


async def recognition(demo: Demo) -> None:
    """Points, awards, the leaderboard, a profile, the suggestion and the weekly post."""
    demo.transcript.say("")
    demo.transcript.say("— Praise —")
    demo.note(
        f"Points: a help session the student confirms earns the mentor {SESSION_BASE_POINTS}, "
        f"+{GOOD_RATING_BONUS} when rated {GOOD_RATING} or 5 (a low rating never costs points); "
        f"awards add a gold star {DEFAULT_AWARD_POINTS[AwardKind.GOLD_STAR]}, effort "
        f"{DEFAULT_AWARD_POINTS[AwardKind.EFFORT]}, tutor of the week "
        f"{DEFAULT_AWARD_POINTS[AwardKind.TUTOR_OF_THE_WEEK]}. Leaderboards add up points."
    )
    await demo.act(
        "Ms Rivera",
        "award give",
        student=demo.people["Alice"],
        kind="gold_star",
        reason="Patient explanations in class",
    )
    await demo.act("Bob", "leaderboard")
    demo.moment("gold star shout-out for Alice; leaderboard shown")
    await demo.act("Bob", "profile")
    demo.moment("Bob's /profile shows his badge, the help he gave and his points")
    await demo.advance_to(3, 15, "Thursday 15:00: the teacher gets a suggestion")
    suggestion = demo.latest(demo.channels["mentors"])
    await demo.click("Ms Rivera", suggestion, "Award tutor of the week")
    demo.moment("tutor of the week suggested from the data and awarded with one click")
    await demo.advance_to(4, 15, "Friday 15:00: the weekly post")
    demo.moment("weekly leaderboard and shout-outs posted")
    asked = {demo.people[name].id for name in ("Dan", "Eve")}
    public = [
        m
        for name in ("general", "announcements", "help", "mentors")
        for m in demo.sim.messages(demo.channels[name])
        if not m.ephemeral
    ]
    # The lesson's prizes name a winning pair or group, as praise for their gain (issue 12);
    # nothing else public may name someone who asked.
    prizes = ("Biggest gains pair prize", "Most correct answers")
    named = [
        line
        for m in public
        for line in m.content.splitlines()
        if any(f"<@{uid}>" in line for uid in asked) and not line.lstrip("🏅✅ ").startswith(prizes)
    ]
    assert not named, named
    demo.moment("no public message named a student who asked for help (prizes praise gains)")


SCRIPT: tuple[Step, ...] = (
    setup_class,
    badge_mentors,
    quiz_before,
    help_flow,
    timeout_and_idle,
    nobody_free,
    quiz_after,
    lesson,
    recognition,
)


async def run_demo(
    *,
    quiet: bool = False,
    pacing: Pacing | None = None,
    rate_limits: RateLimits | None = None,
) -> int:
    """Play the scripted week; returns 0 when every step worked.

    ``pacing`` (the bot's background pauses) and ``rate_limits`` (the simulated Discord's)
    default to production's and Discord's, as `classmentor demo` plays them; a test of the
    script itself may pass shorter ones, since those pauses are waiting, not behaviour.
    """
    started = wall_time.monotonic()
    # The transcript is the output; the bot's own logs would drown it (levels restored after,
    # for a caller that goes on).
    loggers = {name: logging.getLogger(name) for name in ("", "discord")}
    levels = {name: logger.level for name, logger in loggers.items()}
    loggers[""].setLevel(logging.WARNING)
    loggers["discord"].setLevel(logging.ERROR)
    try:
        return await _play(Transcript(quiet), started, pacing, rate_limits)
    finally:
        for name, logger in loggers.items():
            logger.setLevel(levels[name])


async def _play(
    transcript: Transcript,
    started: float,
    pacing: Pacing | None,
    rate_limits: RateLimits | None,
) -> int:
    with tempfile.TemporaryDirectory(prefix="classmentor-demo-") as folder:
        async with DiscordSimulator(token=TOKEN, rate_limits=rate_limits) as sim:
            point_discord_at(sim)
            room = Classroom.create(
                sim,
                clock=ManualClock(WEEK_START),
                database=Path(folder) / "demo.db",
                students=("Alice", "Bob", "Carol", "Dan", "Eve"),
            )
            room.pacing = pacing
            sim.close_dms(room.carol)
            demo = Demo(room=room, transcript=transcript)
            await room.start()
            try:
                transcript.say("ClassMentor demo — a class week on a simulated Discord")
                transcript.say(LEGEND)
                transcript.say("")
                for step in SCRIPT:
                    await step(demo)
            finally:
                await room.stop()
    elapsed = wall_time.monotonic() - started
    print(f"\nDemo finished in {elapsed:.1f} s: " + "; ".join(demo.moments), flush=True)
    return 0


def main() -> None:
    """Run the demo directly (`python -m bot.demo`)."""
    raise SystemExit(asyncio.run(run_demo()))


if __name__ == "__main__":
    main()
