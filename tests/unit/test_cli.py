"""The operator's commands: check, migrate, backup."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import required_permissions
from bot.cli import application_id_from_token, invite_url, main
from bot.config import Secret
from db.database import bundled_migrations

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.fake-token-for-tests"


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text('[database]\npath = "class.db"\nbackup_dir = "backups"\n')
    return config


def test_check_prints_invite_url_with_exact_scopes_and_permissions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    code = main(["--config", str(config), "check"], environ={"DISCORD_TOKEN": TOKEN})
    out = capsys.readouterr().out
    assert code == 0
    permissions = required_permissions()
    assert (
        "Invite URL: https://discord.com/oauth2/authorize?client_id=123456789012345678"
        f"&scope=bot+applications.commands&permissions={permissions.value}"
    ) in out
    assert "Gateway intents: guilds, guild_messages (no privileged intents needed)" in out
    assert "does not exist yet" in out
    assert TOKEN not in out  # the token is never printed


def test_invite_permissions_are_only_what_the_features_need() -> None:
    granted = {name for name, on in required_permissions() if on}
    assert granted == {
        "read_messages",  # discord.py's name for View Channel
        "send_messages",
        "send_messages_in_threads",
        "create_private_threads",
        "manage_threads",
        "embed_links",
        "attach_files",
        "read_message_history",
        "manage_roles",
    }
    assert not required_permissions().administrator
    assert not required_permissions().mention_everyone


def test_check_without_token_still_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert main(["--config", str(config), "check", "--client-id", "42"], environ={}) == 0
    out = capsys.readouterr().out
    assert "Token: missing" in out
    assert "client_id=42" in out


def test_migrate_then_backup_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    assert main(["--config", str(config), "migrate"], environ={}) == 0
    assert "Schema version" in capsys.readouterr().out
    assert main(["--config", str(config), "migrate"], environ={}) == 0
    assert "nothing to do" in capsys.readouterr().out
    target = tmp_path / "copies" / "class-copy.db"
    assert main(["--config", str(config), "backup", str(target)], environ={}) == 0
    with sqlite3.connect(target) as copy:
        version = copy.execute("PRAGMA user_version").fetchone()[0]
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert version == bundled_migrations()[-1].version
    assert main(["--config", str(config), "check"], environ={}) == 0
    assert "up to date, integrity ok" in capsys.readouterr().out
    assert main(["--config", str(config), "check", "--deep"], environ={}) == 0
    assert "Point totals: equal the ledger's sums" in capsys.readouterr().out


def test_newer_database_is_refused_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    with sqlite3.connect(tmp_path / "class.db") as raw:
        raw.execute("PRAGMA user_version = 999")
    assert main(["--config", str(config), "migrate"], environ={}) == 3
    err = capsys.readouterr().err
    assert "newer than this ClassMentor knows" in err
    assert "Traceback" not in err


def test_backup_of_a_missing_database_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert main(["--config", str(config), "backup", str(tmp_path / "x.db")], environ={}) == 3
    assert "does not exist" in capsys.readouterr().err


def test_application_id_comes_from_the_token() -> None:
    assert application_id_from_token(Secret(TOKEN)) == 123456789012345678
    assert application_id_from_token(Secret("garbage")) is None
    assert invite_url(1, 8).endswith("client_id=1&scope=bot+applications.commands&permissions=8")


def test_python_dash_m_bot_is_the_same_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "usage: classmentor" in done.stdout
    for command in ("run", "check", "migrate", "backup", "demo"):
        assert command in done.stdout
