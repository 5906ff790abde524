"""Class set-up use cases: `/setup`, subjects, and the "is this class ready?" question."""

from __future__ import annotations

from datetime import date, time

from bot.clock import Clock
from bot.config import ClassDefaults, ConfigError, check_timezone
from bot.domain.classroom import ClassSettings, Subject, clean_subject_name
from bot.domain.gains import Term
from bot.domain.text import normalise_text
from bot.errors import Conflict, InvalidInput, NotConfigured, NotFound
from db import classes as class_sql
from db import scores as score_sql
from db.database import Connection, Database

MAX_SUBJECTS = 25  # one autocomplete page / one help-panel of buttons


class ClassService:
    """Reads and changes a class's set-up."""

    def __init__(self, db: Database, clock: Clock, defaults: ClassDefaults) -> None:
        self._db = db
        self._clock = clock
        self._defaults = defaults
        # Settings are read by nearly every interaction and change rarely (only through this
        # service, or forget()): keep them in memory. A read that raced a change is not kept.
        self._cache: dict[int, ClassSettings | None] = {}
        self._changes = 0

    async def get(self, guild_id: int) -> ClassSettings | None:
        """The class for a guild, or ``None`` if it was never set up (from memory once read)."""
        try:
            return self._cache[guild_id]
        except KeyError:
            pass
        changes = self._changes
        async with self._db.reading() as conn:
            settings = await class_sql.get_class(conn, guild_id)
        if changes == self._changes:
            self._cache[guild_id] = settings
        return settings

    def forget(self, guild_id: int) -> None:
        """Drop a class's cached settings: call after changing them outside this service."""
        self._changes += 1
        self._cache.pop(guild_id, None)

    def _remember(self, settings: ClassSettings) -> None:
        self.forget(settings.guild_id)
        self._cache[settings.guild_id] = settings

    async def require_configured(self, guild_id: int) -> ClassSettings:
        """The class, or :class:`NotConfigured` with a hint to run `/setup`."""
        settings = await self.get(guild_id)
        if settings is None or not settings.configured:
            raise NotConfigured()
        return settings

    async def configured_classes(self) -> list[ClassSettings]:
        """All classes that are set up and still have the bot."""
        async with self._db.reading() as conn:
            return await class_sql.configured_classes(conn)

    async def setup(
        self,
        guild_id: int,
        actor_id: int,
        *,
        name: str | None = None,
        teacher_role_id: int | None = None,
        announcements_channel_id: int | None = None,
        help_channel_id: int | None = None,
        mentors_channel_id: int | None = None,
        timezone: str | None = None,
        post_weekday: int | None = None,
        post_time: str | None = None,
    ) -> ClassSettings:
        """Create or change a class's set-up; only the given fields change."""
        fields: dict[str, object] = {}
        if timezone is not None:
            try:
                check_timezone(timezone)
            except ConfigError:
                raise InvalidInput(
                    f"I don't know the time zone `{timezone[:60]}`. Pick one from the list, "
                    "e.g. `Europe/London`."
                ) from None
            fields["timezone"] = timezone
        if post_time is not None:
            fields["post_time"] = parse_post_time(post_time)
        if post_weekday is not None:
            if not 0 <= post_weekday <= 6:
                raise InvalidInput("The weekly post day must be Monday to Sunday.")
            fields["post_weekday"] = post_weekday
        for column, value in (
            ("name", name[:100] if name else None),
            ("teacher_role_id", teacher_role_id),
            ("announcements_channel_id", announcements_channel_id),
            ("help_channel_id", help_channel_id),
            ("mentors_channel_id", mentors_channel_id),
        ):
            if value is not None:
                fields[column] = value
        now = self._clock.now()
        async with self._db.transaction() as conn:
            defaults = (
                self._defaults.timezone,
                self._defaults.post_weekday,
                self._defaults.post_time,
            )
            await class_sql.ensure_class(conn, guild_id, defaults, now)
            settings = await class_sql.save_setup(conn, guild_id, fields, actor_id, now)
        self._remember(settings)
        return settings

    async def term(self, guild_id: int) -> Term | None:
        """The class's term dates, when a teacher set them with `/setup term`."""
        async with self._db.reading() as conn:
            return await score_sql.get_term(conn, guild_id)

    async def set_term(self, guild_id: int, start: str, end: str) -> Term:
        """Set the term dates ("this term" in gains); dates as YYYY-MM-DD."""
        await self.require_configured(guild_id)
        try:
            term = Term(date.fromisoformat(start.strip()), date.fromisoformat(end.strip()))
        except ValueError as exc:
            reason = str(exc) if "ends after" in str(exc) else "write dates as YYYY-MM-DD"
            raise InvalidInput(f"I can't use those term dates: {reason}.") from None
        if (term.end - term.start).days > 366:
            raise InvalidInput("A term lasts at most a year.")
        async with self._db.transaction() as conn:
            await score_sql.set_term(conn, guild_id, term)
        return term

    async def bot_removed(self, guild_id: int) -> None:
        """The bot left the guild: keep the data, stop scheduling for it."""
        async with self._db.transaction() as conn:
            await class_sql.mark_left(conn, guild_id, self._clock.now())
        self.forget(guild_id)

    async def bot_returned(self, guild_id: int) -> ClassSettings | None:
        """The bot was invited back: the kept class is active again (None if never set up)."""
        async with self._db.transaction() as conn:
            await class_sql.mark_returned(conn, guild_id)
            settings = await class_sql.get_class(conn, guild_id)
        self.forget(guild_id)
        return settings if settings is not None and settings.configured else None

    async def subjects(self, guild_id: int) -> list[Subject]:
        """The class's subjects, alphabetically."""
        async with self._db.reading() as conn:
            return await class_sql.list_subjects(conn, guild_id)

    async def subject(self, guild_id: int, name: str) -> Subject:
        """A subject by name, or a friendly error listing the class's subjects."""
        async with self._db.reading() as conn:
            found = await class_sql.find_subject(conn, guild_id, normalise_text(name)[:40])
            if found is not None:
                return found
            known = await class_sql.list_subjects(conn, guild_id)
        raise no_such_subject(name, known)

    async def subject_in(self, conn: Connection, guild_id: int, name: str) -> Subject:
        """:meth:`subject`, read on ``conn`` (the caller's open transaction)."""
        found = await class_sql.find_subject(conn, guild_id, normalise_text(name)[:40])
        if found is None:
            raise no_such_subject(name, await class_sql.list_subjects(conn, guild_id))
        return found

    async def get_in(self, conn: Connection, guild_id: int) -> ClassSettings | None:
        """:meth:`get` for a caller inside a transaction: from memory, else read on ``conn``.

        Never through the read connection (an in-memory database has none, and its reads
        would wait for the caller's own transaction).
        """
        try:
            return self._cache[guild_id]
        except KeyError:
            return await class_sql.get_class(conn, guild_id)

    async def subject_by_id(self, subject_id: int) -> Subject | None:
        """A subject by id, even if it was removed since."""
        async with self._db.reading() as conn:
            return await class_sql.get_subject(conn, subject_id)

    async def add_subject(self, guild_id: int, raw_name: str) -> Subject:
        """Add a subject; adding an existing one is refused with a clear message."""
        try:
            name = clean_subject_name(raw_name)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        async with self._db.transaction() as conn:
            if len(await class_sql.list_subjects(conn, guild_id)) >= MAX_SUBJECTS:
                raise Conflict(f"A class can have at most {MAX_SUBJECTS} subjects.")
            subject, created = await class_sql.add_subject(conn, guild_id, name, self._clock.now())
        if not created:
            raise Conflict(f"{subject.name} is already a subject.")
        return subject

    async def remove_subject(self, guild_id: int, name: str) -> Subject:
        """Remove a subject; its history stays."""
        async with self._db.transaction() as conn:
            subject = await class_sql.find_subject(conn, guild_id, normalise_text(name)[:40])
            if subject is None:
                raise NotFound(f"There is no subject called `{name[:40]}`.")
            await class_sql.remove_subject(conn, subject.id, self._clock.now())
        return subject


def parse_post_time(text: str) -> time:
    """'HH:MM' in 24-hour time, or a friendly error."""
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise InvalidInput("Write the post time as HH:MM in 24-hour time, e.g. `15:00`.") from None


def no_such_subject(name: str, known: list[Subject]) -> InvalidInput:
    """The friendly error for a subject name the class does not have, listing those it has."""
    listing = ", ".join(s.name for s in known) or "none yet: a teacher adds them with /subject add"
    return InvalidInput(
        f"There is no subject called `{name[:40]}` in this class. Subjects: {listing}."
    )
