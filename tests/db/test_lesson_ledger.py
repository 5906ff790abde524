"""The rebuilt ledger (migration 0011): prizes of their own kind, once, still append-only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.points import LedgerReason
from bot.wiring import Services
from db import ledger as ledger_sql
from db.database import Database
from db.errors import IntegrityError
from db.timefmt import to_db
from tests.services.classroom import GUILD, TEACHER, set_up_class

NOW = datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
STUDENT = 11


async def test_a_gains_pair_prize_counts_once_and_cannot_be_edited(
    db: Database, services: Services
) -> None:
    subjects = await set_up_class(services)
    async with db.transaction() as conn:
        rows = await conn.execute_fetchall(
            "INSERT INTO lessons (guild_id, subject_id, started_by, started_at, ended_at)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            (GUILD, subjects["Math"], TEACHER, to_db(NOW), to_db(NOW)),
        )
        lesson_id = int(next(iter(rows))[0])
        await ledger_sql.add_entry(
            conn,
            guild_id=GUILD,
            user_id=STUDENT,
            points=10,
            reason=LedgerReason.GAINS_PAIR,
            created_at=NOW,
            subject_id=subjects["Math"],
            lesson_id=lesson_id,
        )
    async with db.reading() as conn:
        assert await ledger_sql.user_total(conn, GUILD, STUDENT) == 10
        assert await ledger_sql.totals_mismatches(conn) == []
    with pytest.raises(IntegrityError):
        async with db.transaction() as conn:
            await ledger_sql.add_entry(
                conn,
                guild_id=GUILD,
                user_id=STUDENT,
                points=10,
                reason=LedgerReason.GAINS_PAIR,
                created_at=NOW,
                lesson_id=lesson_id,
            )
    with pytest.raises(IntegrityError):  # a prize must name its lesson
        async with db.transaction() as conn:
            await ledger_sql.add_entry(
                conn,
                guild_id=GUILD,
                user_id=STUDENT,
                points=10,
                reason=LedgerReason.GAINS_PAIR,
                created_at=NOW,
            )
    with pytest.raises(IntegrityError, match="append-only"):
        async with db.transaction() as conn:
            await conn.execute("UPDATE ledger SET points = 50 WHERE user_id = ?", (STUDENT,))
