"""Fixtures shared by every test tier: a real, migrated SQLite file and a clock tests can move."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import Config
from bot.services import Services
from bot.wiring import build_services
from db.database import Database
from tests.fast_db import copy_migrated
from tests.scheduling import pytest_collection_modifyitems  # noqa: F401 - the long tests first

# A Wednesday morning in term time, so "this week" has a past and a future.
START = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    """A clock that stands still until the test moves it."""
    return ManualClock(START)


@pytest.fixture
def config() -> Config:
    """The documented defaults."""
    return Config()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A real SQLite file with every migration applied."""
    database = await Database.open(await copy_migrated(tmp_path / "classmentor.db"))
    await database.migrate()
    yield database
    await database.close()


@pytest.fixture
def services(config: Config, db: Database, clock: ManualClock) -> Services:
    """All services over the test database and clock."""
    return build_services(config, db, clock)
