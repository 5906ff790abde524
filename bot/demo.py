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
from bot.config import Config, DatabaseConfig
from bot.simulator import (
    DiscordSimulator,
    InteractionResult,
    SimChannel,
    SimGuild,
    SimMessage,
    SimUser,
    point_discord_at,
    running_bot,
)
from bot.wiring import build_bot
from db.database import Database

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
    """The running demo: simulator, people, channels, the bot and the transcript."""

    sim: DiscordSimulator
    guild: SimGuild
    clock: ManualClock
    people: dict[str, SimUser]
    channels: dict[str, SimChannel]
    transcript: Transcript
    bot: Any = None
    seen: int = 0
    last_reply: SimMessage | None = None
    moments: list[str] = field(default_factory=list)

    def person(self, user_id: int) -> str:
        """A display name for a user id."""
        for name, user in self.people.items():
            if user.id == user_id:
                return name
        return "ClassMentor" if user_id == self.sim.bot_user.id else str(user_id)

    def where(self, message: SimMessage) -> str:
        """Where a message appeared, as a person would say it."""
        channel = self.sim.world.channels.get(message.channel_id)
        if channel is None:
            return "?"
        if channel.recipient is not None:
            return f"DM to {self.person(channel.recipient.id)}"
        if channel.is_thread:
            return f"private thread '{channel.name}'"
        return f"#{channel.name}"

    async def act(self, who: str, command: str, **options: Any) -> InteractionResult:
        """A person runs a slash command in #general; prints what they see."""
        shown = " ".join(f"{k}:{_show(v)}" for k, v in options.items())
        self.transcript.say(f"▶ {who}: /{command} {shown}".rstrip())
        result = await self.sim.slash(
            self.people[who],
            command,
            guild=self.guild,
            channel=self.channels["general"],
            options=options,
        )
        self.show_reply(who, result)
        await self.show_new_messages()
        return result

    async def click(self, who: str, message: SimMessage, label: str) -> InteractionResult:
        """A person presses the button with this label."""
        custom_id = next(cid for text, cid, _ in message.buttons() if text == label)
        self.transcript.say(f"▶ {who} presses [{label}]")
        result = await self.sim.click(self.people[who], message, custom_id or "")
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
        return _clip(self.readable(" | ".join(parts)), 600)

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
        private = " (only they see this)" if message.ephemeral else ""
        self.transcript.say(f"   ↳ {who} sees{private}: {self.render(message)}")

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
                    f"   ✉ {self.where(message)} from {author}: {self.render(message)}"
                )
        if new:
            self.seen = max(self.seen, new[-1].id)

    async def advance(self, delta: timedelta, why: str) -> None:
        """Move the class's clock and fire whatever jobs fall due."""
        self.clock.advance(delta)
        local = self.clock.now().astimezone(LONDON)
        self.transcript.say(f"⏩ {why} — now {local:%A %H:%M}")
        await self.bot.jobs.run_due()
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
        messages = self.sim.dms(where) if isinstance(where, SimUser) else self.sim.messages(where)
        return messages[-1]


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


async def setup_class(demo: Demo) -> None:
    """The teacher sets the class up."""
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


async def badge_mentors(demo: Demo) -> None:
    """Mentor badges, the brief, availability."""
    demo.transcript.say("")
    demo.transcript.say("— Choosing mentors —")
    await demo.act("Ms Rivera", "mentor grant", student=demo.people["Alice"], subject="Math")
    await demo.act("Ms Rivera", "mentor grant", student=demo.people["Bob"], subject="Math")
    await demo.act("Ms Rivera", "mentor grant", student=demo.people["Carol"], subject="English")
    demo.moment("mentor badges granted and briefs delivered (Carol's DMs are closed)")
    await demo.click("Alice", demo.latest(demo.people["Alice"]), "I've read this")
    await demo.click("Bob", demo.latest(demo.people["Bob"]), "I've read this")
    await demo.act("Alice", "available on")
    await demo.act("Bob", "available on", duration="3h")
    await demo.act("Dan", "mentors")
    demo.moment("mentors read the brief and are available")


async def help_flow(demo: Demo) -> None:
    """A request passed on, accepted, and confirmed with a rating."""
    demo.transcript.say("")
    demo.transcript.say("— Monday, period 2: Dan is stuck —")
    await demo.advance(timedelta(minutes=30), "Half an hour later")
    await demo.act(
        "Dan",
        "helpme ask",
        subject="Math",
        topic="adding fractions with different bottoms @everyone",
    )
    await demo.click("Alice", demo.latest(demo.people["Alice"]), "Pass")
    await demo.click("Bob", demo.latest(demo.people["Bob"]), "Accept")
    thread = demo.sim.threads(demo.guild)[-1]
    await demo.say_in(thread, "Dan", "Oh, so I need the same denominator first?")
    await demo.say_in(thread, "Bob", "Yes! What's a number both 3 and 4 go into?")
    await demo.click("Dan", demo.sim.messages(thread)[0], "Solved")
    prompt = demo.last_reply
    assert prompt is not None
    await demo.click("Dan", prompt, "5")
    demo.moment("Alice passed, Bob accepted; Dan confirmed the help with a 5 and Bob earned credit")


async def timeout_and_idle(demo: Demo) -> None:
    """An offer nobody answers moves on; a session that goes quiet closes without credit."""
    demo.transcript.say("")
    demo.transcript.say("— An offer that times out —")
    await demo.act("Eve", "helpme ask", subject="Math", topic="long division")
    await demo.advance(timedelta(minutes=3, seconds=5), "Alice doesn't answer for 3 minutes")
    await demo.click("Bob", demo.latest(demo.people["Bob"]), "Accept")
    demo.moment("the offer to Alice timed out and went to Bob")
    await demo.advance(timedelta(minutes=61), "The session goes quiet for an hour")
    demo.moment("the idle session closed by itself, without credit")


async def nobody_free(demo: Demo) -> None:
    """No English mentor is ready: Dan waits in line until Carol is."""
    demo.transcript.say("")
    demo.transcript.say("— Nobody free for English —")
    await demo.act("Dan", "helpme ask", subject="English", topic="how to structure my essay")
    demo.moment("no English mentor free: Dan told privately, the teacher told without his name")
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


async def recognition(demo: Demo) -> None:
    """Awards, the leaderboard, the suggestion and the weekly post."""
    demo.transcript.say("")
    demo.transcript.say("— Praise —")
    await demo.act(
        "Ms Rivera",
        "award give",
        student=demo.people["Alice"],
        kind="gold_star",
        reason="Patient explanations in class",
    )
    await demo.act("Dan", "leaderboard")
    demo.moment("gold star shout-out for Alice; leaderboard shown")
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
    named = [m for m in public if any(f"<@{uid}>" in m.content for uid in asked)]
    assert not named, [m.content for m in named]
    demo.moment("no public message named a student who asked for help")


SCRIPT: tuple[Step, ...] = (
    setup_class,
    badge_mentors,
    quiz_before,
    help_flow,
    timeout_and_idle,
    nobody_free,
    quiz_after,
    recognition,
)


async def run_demo(*, quiet: bool = False) -> int:
    """Play the scripted week; returns 0 when every step worked."""
    started = wall_time.monotonic()
    # The transcript is the output; the bot's own logs would drown it.
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("discord").setLevel(logging.ERROR)
    transcript = Transcript(quiet)
    with tempfile.TemporaryDirectory(prefix="classmentor-demo-") as folder:
        config = Config(database=DatabaseConfig(path=Path(folder) / "demo.db"))
        async with DiscordSimulator(token=TOKEN) as sim:
            point_discord_at(sim)
            demo = _build_world(sim, transcript)
            db = await Database.open(config.database.path)
            try:
                await db.migrate()
                bot = build_bot(config, db, demo.clock, manual_jobs=True, guild_ready_timeout=0.1)
                demo.bot = bot
                async with running_bot(sim, bot, TOKEN):
                    transcript.say("ClassMentor demo — a class week on a simulated Discord")
                    transcript.say("")
                    for step in SCRIPT:
                        await step(demo)
            finally:
                await db.close()
    elapsed = wall_time.monotonic() - started
    print(f"\nDemo finished in {elapsed:.1f} s: " + "; ".join(demo.moments), flush=True)
    return 0


def _build_world(sim: DiscordSimulator, transcript: Transcript) -> Demo:
    owner = sim.create_user("Mr Owner")
    guild = sim.create_guild("Class 7B", owner=owner)
    teacher_role = guild.create_role("Teacher")
    people = {"Mr Owner": owner, "Ms Rivera": sim.create_user("Ms Rivera")}
    guild.add_member(people["Ms Rivera"], roles=[teacher_role])
    for name in ("Alice", "Bob", "Carol", "Dan", "Eve"):
        people[name] = sim.create_user(name)
        guild.add_member(people[name])
    sim.close_dms(people["Carol"])
    channels = {
        name: guild.create_text_channel(name)
        for name in ("general", "announcements", "help", "mentors")
    }
    return Demo(
        sim=sim,
        guild=guild,
        clock=ManualClock(WEEK_START),
        people=people,
        channels=channels,
        transcript=transcript,
    )


def main() -> None:
    """Run the demo directly (`python -m bot.demo`)."""
    raise SystemExit(asyncio.run(run_demo()))


if __name__ == "__main__":
    main()
