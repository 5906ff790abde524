"""One simulated class, driven from outside: the end-to-end tests, the benchmark and the demo.

A :class:`Classroom` is a class server on the simulated Discord (an owner, a teacher with the
teacher role, students, the four channels ClassMentor uses), a real SQLite file, a clock the
driver moves, and the real bot built by :func:`bot.wiring.build_bot` running against it. Its
methods are what people do (run a command, press a button, become a mentor) and what time does
(move the clock and fire the jobs that fall due), each returning once the bot has settled.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bot.app import ClassMentorBot
from bot.clock import ManualClock
from bot.config import Config, DatabaseConfig, WebConfig
from bot.pacing import Pacing
from bot.simulator.interactions import InteractionResult, SimulatorError
from bot.simulator.server import DiscordSimulator
from bot.simulator.state import (
    SimChannel,
    SimGuild,
    SimMessage,
    SimRole,
    SimUser,
    WorldSnapshot,
)
from bot.simulator.testing import as_bot_work, running_bot, simulated_bot
from db.database import Database

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.sim.token"
STUDENTS = ("Alice", "Bob", "Carol", "Dan")
CHANNELS = ("general", "announcements", "help", "mentors")
SUBJECTS = ("Math", "English")


class DriverError(SimulatorError):
    """A scripted step could not be done (no such button, no offer in the DMs)."""


@dataclass(frozen=True)
class ClassIds:
    """Who and where one class is on the simulated Discord, by id."""

    guild_id: int
    owner_id: int
    teacher_id: int
    teacher_role_id: int
    student_ids: tuple[int, ...]
    channel_ids: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ClassSnapshot:
    """Classes as they stood once their bots stopped: what Discord knew and the store's file
    they share, for other classes to start from (:func:`classes_from_snapshot`), each time on
    copies of their own.

    Classes started from one are where a restarted bot finds them: set up in the store, their
    people, channels, roles and messages on Discord, the bot's commands synced."""

    world: WorldSnapshot
    database: Path  # a closed store: the one file holds it all
    classes: tuple[ClassIds, ...]


def snapshot_classes(rooms: Sequence[Classroom], database: Path) -> ClassSnapshot:
    """A snapshot of ``rooms`` (on one simulator, sharing one store file, no bot running); the
    store's file is copied to ``database``."""
    sims = {id(room.sim) for room in rooms}
    stores = {room.config.database.path for room in rooms}
    if len(sims) != 1 or len(stores) != 1:
        raise DriverError("the classes of a snapshot share one simulator and one store")
    if any(room.bot is not None or room.db is not None for room in rooms):
        raise DriverError("stop the bot before taking a snapshot of its class")
    (store,) = stores
    if store.with_name(store.name + "-wal").exists():
        raise DriverError(f"{store} still has a write-ahead log; its store was not closed")
    database.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(store, database)
    classes = tuple(
        ClassIds(
            guild_id=room.guild.id,
            owner_id=room.owner.id,
            teacher_id=room.teacher.id,
            teacher_role_id=room.teacher_role.id,
            student_ids=tuple(student.id for student in room.students),
            channel_ids=tuple((name, channel.id) for name, channel in room.channels.items()),
        )
        for room in rooms
    )
    return ClassSnapshot(world=rooms[0].sim.snapshot(), database=database, classes=classes)


def classes_from_snapshot(
    sim: DiscordSimulator,
    snapshot: ClassSnapshot,
    *,
    clock: ManualClock,
    database: Path,
    web: WebConfig | None = None,
) -> list[Classroom]:
    """The classes ``snapshot`` holds, on ``sim`` (before any bot connects to it) and a copy of
    their store at ``database``; their bot not started."""
    sim.restore(snapshot.world)
    database.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(snapshot.database, database)
    world = sim.world
    config = Config(database=DatabaseConfig(path=database), web=web or WebConfig())
    rooms = []
    for ids in snapshot.classes:
        guild = world.guilds[ids.guild_id]
        rooms.append(
            Classroom(
                sim=sim,
                guild=guild,
                clock=clock,
                config=config,
                owner=world.users[ids.owner_id],
                teacher=world.users[ids.teacher_id],
                teacher_role=guild.roles[ids.teacher_role_id],
                students=[world.users[user_id] for user_id in ids.student_ids],
                channels={name: world.channels[channel_id] for name, channel_id in ids.channel_ids},
                token=sim.token,
            )
        )
    return rooms


@dataclass
class Classroom:
    """A class on the simulated Discord, with the real bot running against it.

    Build one with :meth:`create`, then ``await start()``; ``stop()`` and ``restart()`` act like
    the bot's process ending and starting again on the same database and simulator.
    """

    sim: DiscordSimulator
    guild: SimGuild
    clock: ManualClock
    config: Config
    owner: SimUser  # the server owner: Manage Server
    teacher: SimUser  # has the teacher role only
    teacher_role: SimRole
    students: list[SimUser]
    channels: dict[str, SimChannel]
    token: str = TOKEN
    bot: ClassMentorBot | None = None
    db: Database | None = None
    start_timeout: float = 5.0
    pacing: Pacing | None = None  # the bot's background pauses (None: production's)
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    # -- building ------------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        sim: DiscordSimulator,
        *,
        clock: ManualClock,
        database: Path,
        name: str = "Class 7B",
        students: Sequence[str] = STUDENTS,
        owner: str = "Mr Owner",
        teacher: str = "Ms Rivera",
        token: str | None = None,
        web: WebConfig | None = None,
        shard: tuple[int, int] | None = None,
    ) -> Classroom:
        """A class server with an owner, a teacher (role "Teacher"), students and channels.

        ``shard=(shard_id, shard_count)`` puts the server on that gateway shard.
        """
        owner_user = sim.create_user(owner)
        guild = sim.create_guild(name, owner=owner_user, shard=shard)
        teacher_role = guild.create_role("Teacher")
        teacher_user = sim.create_user(teacher)
        guild.add_member(teacher_user, roles=[teacher_role])
        people = [sim.create_user(student) for student in students]
        for person in people:
            guild.add_member(person)
        channels = {channel: guild.create_text_channel(channel) for channel in CHANNELS}
        return cls(
            sim=sim,
            guild=guild,
            clock=clock,
            config=Config(database=DatabaseConfig(path=database), web=web or WebConfig()),
            owner=owner_user,
            teacher=teacher_user,
            teacher_role=teacher_role,
            students=people,
            channels=channels,
            token=token or sim.token,
        )

    @classmethod
    def from_snapshot(
        cls,
        sim: DiscordSimulator,
        snapshot: ClassSnapshot,
        *,
        clock: ManualClock,
        database: Path,
        web: WebConfig | None = None,
    ) -> Classroom:
        """The one class ``snapshot`` holds (see :func:`classes_from_snapshot`)."""
        if len(snapshot.classes) != 1:
            raise DriverError(f"the snapshot holds {len(snapshot.classes)} classes, not one")
        (room,) = classes_from_snapshot(sim, snapshot, clock=clock, database=database, web=web)
        return room

    def snapshot(self, database: Path) -> ClassSnapshot:
        """This class as it stands, its bot stopped; the store's file is copied to ``database``."""
        return snapshot_classes([self], database)

    # -- people and places ---------------------------------------------------------------------
    def people(self) -> dict[str, SimUser]:
        """Owner, teacher and students by display name."""
        users = (self.owner, self.teacher, *self.students)
        return {user.global_name or user.name: user for user in users}

    def person(self, name: str) -> SimUser:
        """A member by display name or user name (owner, teacher or student)."""
        for user in (self.owner, self.teacher, *self.students):
            if name in (user.global_name, user.name):
                return user
        raise DriverError(f"nobody called {name!r} in {self.guild.name}")

    @property
    def alice(self) -> SimUser:
        """The first student."""
        return self.students[0]

    @property
    def bob(self) -> SimUser:
        """The second student."""
        return self.students[1]

    @property
    def carol(self) -> SimUser:
        """The third student."""
        return self.students[2]

    @property
    def dan(self) -> SimUser:
        """The fourth student."""
        return self.students[3]

    @property
    def general(self) -> SimChannel:
        """#general, where commands are run."""
        return self.channels["general"]

    @property
    def announcements(self) -> SimChannel:
        """#announcements: shout-outs and weekly posts."""
        return self.channels["announcements"]

    @property
    def help_channel(self) -> SimChannel:
        """#help: the help panel and session threads."""
        return self.channels["help"]

    @property
    def mentors_channel(self) -> SimChannel:
        """#mentors: teacher notices and the DM fallback."""
        return self.channels["mentors"]

    # -- the bot process -----------------------------------------------------------------------
    async def start(self) -> ClassMentorBot:
        """Open the database and start a fresh bot process against the simulator."""
        self.db = await Database.open(self.config.database.path)
        await self.db.migrate()
        self.bot = simulated_bot(self.config, self.db, self.clock, self.pacing)
        await self._stack.enter_async_context(
            running_bot(self.sim, self.bot, self.token, timeout=self.start_timeout)
        )
        return self.bot

    async def stop(self) -> None:
        """Stop the bot and close the database, as a process exit would."""
        await self._stack.aclose()
        self._stack = contextlib.AsyncExitStack()
        if self.db is not None:
            await self.db.close()
        self.bot, self.db = None, None

    async def restart(self) -> ClassMentorBot:
        """Stop and start again on the same database and simulator."""
        await self.stop()
        return await self.start()

    async def run_jobs(self) -> int:
        """Fire the scheduled jobs due at the clock's time, then let the bot finish talking."""
        if self.bot is None:
            raise DriverError("the bot is not running")
        ran = await as_bot_work(self.sim, self.bot, self.bot.jobs.run_due())
        await self.sim.settle()
        return ran

    async def advance(self, delta: timedelta) -> int:
        """Move the class's clock by ``delta`` and fire whatever falls due."""
        self.clock.advance(delta)
        return await self.run_jobs()

    # -- people acting -------------------------------------------------------------------------
    async def slash(self, user: SimUser, command: str, **options: object) -> InteractionResult:
        """Run a slash command in #general."""
        return await self.sim.slash(
            user, command, guild=self.guild, channel=self.general, options=options
        )

    async def click(self, user: SimUser, message: SimMessage, label: str) -> InteractionResult:
        """Press the enabled button with this label."""
        return await self.sim.click(user, message, button_id(message, label))

    async def say(self, user: SimUser, channel: SimChannel, text: str) -> SimMessage:
        """A person writes in a channel or thread; returns once the bot has reacted."""
        message = await self.sim.send_message(user, channel, text)
        await self.sim.settle()
        return message

    async def set_up(self, subjects: Sequence[str] = SUBJECTS) -> None:
        """`/setup class` by the owner, then `/subject add` for each subject by the teacher."""
        result = await self.slash(
            self.owner,
            "setup class",
            teacher_role=self.teacher_role,
            announcements=self.announcements,
            help_channel=self.help_channel,
            mentors_channel=self.mentors_channel,
            timezone="Europe/London",
        )
        expect(result, "Class set up")
        for subject in subjects:
            expect(await self.slash(self.teacher, "subject add", name=subject), "Added")

    async def grant(self, user: SimUser, subject: str = "Math") -> InteractionResult:
        """`/mentor grant` by the teacher."""
        result = await self.slash(self.teacher, "mentor grant", student=user, subject=subject)
        return expect(result, "mentor badge")

    async def acknowledge(self, user: SimUser) -> InteractionResult:
        """Press "I've read this" on the newest mentor brief in the user's DMs."""
        for message in reversed(self.sim.dms(user)):
            if any(label == "I've read this" for label, _, _ in message.buttons()):
                return await self.click(user, message, "I've read this")
        raise DriverError(f"no mentor brief in {user.name}'s DMs")

    async def make_mentor(self, user: SimUser, subject: str = "Math") -> None:
        """Badge, brief read, available now."""
        await self.grant(user, subject)
        await self.acknowledge(user)
        expect(await self.slash(user, "available on"), "available")

    # -- reading -------------------------------------------------------------------------------
    def public_messages(self) -> list[SimMessage]:
        """Every message in the class's normal channels (not DMs, not private threads)."""
        return [m for channel in self.channels.values() for m in self.sim.messages(channel)]

    def latest(self, where: SimChannel | SimUser) -> SimMessage:
        """The newest message in a channel, thread, or someone's DMs with the bot."""
        messages = self.sim.dms(where) if isinstance(where, SimUser) else self.sim.messages(where)
        if not messages:
            raise DriverError(f"no messages in {where.name}")
        return messages[-1]

    def offer_to(self, mentor: SimUser) -> SimMessage:
        """The mentor's newest DM that still carries Accept."""
        for message in reversed(self.sim.dms(mentor)):
            if any(label == "Accept" for label, _, _ in message.buttons()):
                return message
        raise DriverError(f"no offer in {mentor.name}'s DMs")

    def newest_thread(self) -> SimChannel:
        """The newest thread in the class (a help session)."""
        threads = self.sim.threads(self.guild)
        if not threads:
            raise DriverError("no session thread was opened")
        return threads[-1]

    def thread_starter(self) -> SimMessage:
        """The starter message of the newest session thread."""
        return self.sim.messages(self.newest_thread())[0]


def text_of(result: InteractionResult) -> str:
    """Everything a user reads in a reply: content and embed text."""
    parts = [result.content or ""]
    for embed in result.embeds:
        parts += [str(embed.get("title", "")), str(embed.get("description", ""))]
    return "\n".join(parts)


def expect(result: InteractionResult, needle: str) -> InteractionResult:
    """Stop the script if a step did not do what it should."""
    if needle not in text_of(result):
        raise DriverError(f"expected {needle!r} in the reply, got {text_of(result)[:300]!r}")
    return result


def button_id(message: SimMessage, label: str) -> str:
    """The custom id of the enabled button with this label."""
    for text, custom_id, disabled in message.buttons():
        if text == label and custom_id and not disabled:
            return custom_id
    raise DriverError(f"no {label!r} button on {message.content[:120]!r}")
