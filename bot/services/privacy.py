"""Privacy use cases: what is stored about a person, their export, their deletion, and retention.

Which table holds what, and how each is exported, deleted or anonymised, lives in one place:
the registry in :mod:`db.privacy`. This service adds the rules around it (who may ask, what must
be finished first, how big an export may be) and the plain-words report.
"""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from bot.clock import Clock
from bot.config import PrivacyConfig
from bot.errors import Conflict, NotFound, UserFacingError
from bot.services.classes import ClassService
from db import classes as classes_sql
from db import privacy as privacy_sql
from db.database import Database
from db.timefmt import to_db

log = logging.getLogger(__name__)

EXPORT_FORMAT = "classmentor.privacy-export"
EXPORT_VERSION = 1
# Discord's upload limit for a bot in a server without boosts (10 MiB).
DISCORD_FILE_LIMIT = 10 * 1024 * 1024


class ExportTooLarge(UserFacingError):
    """The export does not fit in one Discord attachment, even compressed."""


@dataclass(frozen=True)
class PrivacySummary:
    """What `/privacy show` tells a person."""

    counts: list[tuple[str, int]]
    retention_days: int
    left_server_days: int

    @property
    def empty(self) -> bool:
        """Nothing stored about the person in this class."""
        return not any(n for _label, n in self.counts)


@dataclass(frozen=True)
class ExportFile:
    """An export ready to attach."""

    filename: str
    data: bytes
    compressed: bool


@dataclass(frozen=True)
class ErasurePlan:
    """What must happen on Discord before the records go: badge roles to take off."""

    guild_id: int
    user_id: int
    badge_role_ids: list[int]


@dataclass(frozen=True)
class RetentionResult:
    """What one retention run did."""

    report: privacy_sql.Report
    classes_deleted: list[int]


class PrivacyService:
    """Show, export and delete a person's data in a class; apply the retention limits."""

    def __init__(
        self, db: Database, clock: Clock, classes: ClassService, config: PrivacyConfig
    ) -> None:
        self._db = db
        self._clock = clock
        self._classes = classes
        self.config = config

    async def summary(self, guild_id: int, user_id: int) -> PrivacySummary:
        """Counts of what is stored about the person in this class, and the retention limits."""
        await self._classes.require_configured(guild_id)
        async with self._db.reading() as conn:
            counts = await privacy_sql.counts(conn, guild_id, user_id)
        return PrivacySummary(counts, self.config.retention_days, self.config.left_server_days)

    async def export_document(self, guild_id: int, user_id: int) -> dict[str, Any]:
        """Everything stored about the person in this class, in the documented format."""
        settings = await self._classes.get(guild_id)
        if settings is None:
            raise NotFound("There is no ClassMentor class in that server.")
        async with self._db.reading() as conn:
            sections = await privacy_sql.export_sections(conn, guild_id, user_id)
            name = await classes_sql.class_name(conn, guild_id)
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "generated_at": to_db(self._clock.now()),
            "class": {"server_id": str(guild_id), "name": name},
            "you": {"user_id": str(user_id)},
            "retention_days": self.config.retention_days,
            "sections": sections,
        }

    async def export(
        self, guild_id: int, user_id: int, limit: int = DISCORD_FILE_LIMIT
    ) -> ExportFile:
        """The export as a file that fits in ``limit`` bytes (gzip-compressed if it must be).

        Beyond the limit even compressed, :class:`ExportTooLarge` says how to get it anyway.
        """
        await self._classes.require_configured(guild_id)
        document = await self.export_document(guild_id, user_id)
        data = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
        name = f"classmentor-data-{guild_id}-{self._clock.now():%Y%m%d}.json"
        if len(data) <= limit:
            return ExportFile(name, data, compressed=False)
        packed = gzip.compress(data, mtime=0)
        if len(packed) <= limit:
            return ExportFile(name + ".gz", packed, compressed=True)
        raise ExportTooLarge(
            f"Your data is larger than Discord lets me send ({len(packed) / 2**20:.1f} MB "
            f"compressed; the limit is {limit / 2**20:.0f} MB). Ask your teacher to contact "
            "the person who runs ClassMentor: they can write the full export to a file with "
            f"`classmentor export --guild {guild_id} --user {user_id} --out FILE`."
        )

    async def erasure_plan(self, guild_id: int, user_id: int) -> ErasurePlan:
        """Check a deletion can go ahead now; nothing is changed.

        Refused (with a clear message) when there is nothing to delete or when the person is in
        an open help request: a session in progress needs its people.
        """
        await self._classes.require_configured(guild_id)
        async with self._db.reading() as conn:
            if not await privacy_sql.has_data(conn, guild_id, user_id):
                raise NotFound("ClassMentor has no data about that person in this class.")
            if await privacy_sql.open_help_requests(conn, guild_id, user_id):
                raise Conflict(
                    "There is an open help request or session for that person. Finish or "
                    "cancel it first (`/helpme cancel`, or a teacher closes it in `/queue`), "
                    "then delete."
                )
            roles = await privacy_sql.current_badge_role_ids(conn, guild_id, user_id)
        return ErasurePlan(guild_id, user_id, roles)

    async def erase(
        self,
        plan: ErasurePlan,
        *,
        requested_by: Literal["student", "teacher", "operator"],
        teacher_id: int | None = None,
    ) -> privacy_sql.Report:
        """Delete the person's data in the class in one transaction; returns what was done."""
        now = self._clock.now()
        async with self._db.transaction() as conn:
            # Re-checked inside the transaction: a request opened since the plan must not lose
            # its student half-way.
            if await privacy_sql.open_help_requests(conn, plan.guild_id, plan.user_id):
                raise Conflict("A help request was opened meanwhile; finish it, then delete.")
            report = await privacy_sql.erase_student(
                conn,
                plan.guild_id,
                plan.user_id,
                requested_by=requested_by,
                teacher_id=teacher_id,
                now=now,
            )
        log.info(
            "privacy deletion in class %s (requested by %s): %s",
            plan.guild_id,
            requested_by,
            report.as_json(),
        )
        return report

    async def run_retention(self) -> RetentionResult:
        """Age out old personal data and delete classes whose server left long enough ago."""
        now = self._clock.now()
        cutoff = now - timedelta(days=self.config.retention_days)
        left_cutoff = now - timedelta(days=self.config.left_server_days)
        async with self._db.transaction() as conn:
            report = await privacy_sql.apply_retention(conn, cutoff, now)
            gone = await privacy_sql.classes_left_before(conn, left_cutoff)
            for guild_id in gone:
                await privacy_sql.delete_class(conn, guild_id, "retention", now)
        for guild_id in gone:
            self._classes.forget(guild_id)  # the settings cache must not outlive the class
        if report.steps or gone:
            log.info(
                "retention: %s; deleted %d class(es) the bot had left", report.as_json(), len(gone)
            )
        return RetentionResult(report, gone)
