"""`classmentor migrate`, `check --deep` and `backup` on a ``postgresql://`` database.url."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from db.database import bundled_migrations
from tests import postgres


@pytest.fixture
def pg_config(tmp_path: Path, postgres_server: postgres.PostgresServer) -> Iterator[Path]:
    url = asyncio.run(postgres.create_database(postgres_server))
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', "utf-8")
    yield config
    asyncio.run(postgres.drop_database(postgres_server, url))


def test_migrate_then_a_deep_check_on_postgresql(
    pg_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    latest = bundled_migrations()[-1].version
    assert main(["--config", str(pg_config), "migrate"], environ={}) == 0
    assert f"Schema version {latest}." in capsys.readouterr().out
    assert main(["--config", str(pg_config), "migrate"], environ={}) == 0
    assert "nothing to do" in capsys.readouterr().out
    main(["--config", str(pg_config), "check", "--deep"], environ={})
    out = capsys.readouterr().out
    assert "Config: OK (database postgresql://postgres@127.0.0.1:" in out
    assert f"schema version {latest}, up to date, integrity ok" in out
    assert "Point totals: equal the ledger's sums" in out


def test_backup_of_postgresql_points_to_pg_dump(
    pg_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--config", str(pg_config), "backup", str(tmp_path / "b.db")], environ={})
    assert code != 0
    assert "pg_dump" in capsys.readouterr().err
    assert not (tmp_path / "b.db").exists()
