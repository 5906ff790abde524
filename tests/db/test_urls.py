"""``database.url``: the config key, its older ``path`` spelling, and ``Database.open_url``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from db.database import Database, DatabaseError
from db.urls import redacted


def _config(tmp_path: Path, body: str) -> Path:
    (tmp_path / "config.toml").write_text(body, "utf-8")
    return tmp_path / "config.toml"


def test_a_relative_sqlite_url_is_relative_to_the_config_folder(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, '[database]\nurl = "sqlite:///data/class.db"\n'))
    assert config.database.engine == "sqlite"
    assert config.database.path == tmp_path / "data" / "class.db"
    assert config.database.url == f"sqlite:///{tmp_path}/data/class.db"


def test_the_older_path_key_still_names_the_sqlite_file(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, '[database]\npath = "old.db"\n'))
    assert config.database.url == f"sqlite:///{tmp_path}/old.db"
    assert config.database.path == tmp_path / "old.db"


def test_a_postgresql_url_is_kept_as_written(tmp_path: Path) -> None:
    url = "postgresql://cm@db.example:5432/classmentor"
    config = load_config(_config(tmp_path, f'[database]\nurl = "{url}"\n'))
    assert config.database.engine == "postgresql"
    assert config.database.url == url


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('[database]\nurl = "mysql://x/y"', "database.url: expected sqlite:///FILE"),
        ('[database]\nurl = "sqlite:///a.db"\npath = "b.db"', "not both"),
    ],
)
def test_a_bad_database_url_is_a_config_error(tmp_path: Path, body: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_config(_config(tmp_path, body))


def test_a_password_never_shows_in_messages() -> None:
    assert redacted("postgresql://cm:s3cret@h:5432/db") == "postgresql://cm:***@h:5432/db"


async def test_open_url_opens_an_sqlite_file(tmp_path: Path) -> None:
    db = await Database.open_url(f"sqlite:///{tmp_path}/class.db")
    try:
        assert db.engine == "sqlite"
        await db.migrate()
        assert (tmp_path / "class.db").exists()
    finally:
        await db.close()


async def test_open_url_refuses_an_unknown_scheme() -> None:
    with pytest.raises(DatabaseError, match="expected sqlite"):
        await Database.open_url("oracle://somewhere/db")
