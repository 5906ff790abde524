"""The operator's commands: check, migrate, backup."""

from __future__ import annotations

import logging
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import discord
import pytest

from bot.app import required_permissions
from bot.cli import application_id_from_token, invite_url, main
from bot.config import Secret
from db.database import Database, bundled_migrations

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


def test_config_is_accepted_before_or_after_the_sub_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert main(["check", "--config", str(config)], environ={"DISCORD_TOKEN": TOKEN}) == 0
    after = capsys.readouterr().out
    assert main(["--config", str(config), "check"], environ={"DISCORD_TOKEN": TOKEN}) == 0
    assert capsys.readouterr().out == after
    assert str(tmp_path / "class.db") in after
    assert main(["migrate", "--config", str(config)], environ={}) == 0
    assert "Schema version" in capsys.readouterr().out
    assert (tmp_path / "class.db").exists()


def test_config_after_the_sub_command_wins_over_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    environ = {"CLASSMENTOR_CONFIG": str(tmp_path / "absent.toml")}
    assert main(["check", "--client-id", "42", "--config", str(config)], environ=environ) == 0
    assert "class.db" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("x", "it has 1 part(s) separated by dots, a bot token has 3"),
        ("abc.def", "it has 2 part(s)"),
        ("bm90LWFuLWlk.Gabcde.rest", "its first part is not a bot id in base64"),
    ],
)
def test_check_says_what_is_wrong_with_a_malformed_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], token: str, problem: str
) -> None:
    config = write_config(tmp_path)
    assert main(["check", "--config", str(config)], environ={"DISCORD_TOKEN": token}) == 2
    out = capsys.readouterr().out
    assert f"Token: not a bot token — {problem}" in out
    assert "Token: found" not in out
    assert "printed once the token is fixed" in out
    assert "rest" not in out  # the token itself is never printed


def test_a_missing_default_config_says_the_defaults_are_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--client-id", "42"], environ={}) == 0
    captured = capsys.readouterr()
    assert "no config.toml here; using the defaults" in captured.err
    assert "Config: OK" in captured.out


def test_run_without_a_reachable_discord_says_so_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Port 9 (discard) on loopback refuses connections: Discord is unreachable, as with no network.
    monkeypatch.setattr(discord.http.Route, "BASE", "http://127.0.0.1:9/api/v10")
    config = write_config(tmp_path)
    code = main(["run", "--config", str(config)], environ={"DISCORD_TOKEN": "x"})
    assert code == 4
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].getMessage().startswith("cannot reach Discord (")
    assert errors[0].exc_info is None  # one line, no traceback
    assert "\n" not in errors[0].getMessage()


def test_no_message_names_a_readme_section_that_does_not_exist() -> None:
    root = Path(__file__).resolve().parents[2]
    headings = {
        line.lstrip("#").strip()
        for line in (root / "README.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    cited = []
    for folder in ("bot", "cogs", "db"):
        for source in (root / folder).rglob("*.py"):
            text = source.read_text(encoding="utf-8")
            joined = re.sub(r'"\s*\n\s*"', "", text)  # implicitly joined string literals
            cited += re.findall(r"README, '([^']+)'", joined)
    assert cited
    for section in cited:
        assert section in headings, f"README has no section {section!r}"


def test_readme_says_how_to_run_check_and_get_a_token_first() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "./scripts/run.sh check" in readme
    first_token_use = readme.index("DISCORD_TOKEN=")
    assert readme.index("Reset Token") < first_token_use


def test_run_sh_installs_only_when_pyproject_changes() -> None:
    script = (Path(__file__).resolve().parents[2] / "scripts" / "run.sh").read_text()
    assert "cmp -s pyproject.toml" in script
    assert ">.venv/install.log 2>&1" in script  # pip and setuptools output only on failure


def test_scores_import_is_all_or_nothing_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from bot.clock import SystemClock
    from bot.config import load_config
    from bot.wiring import build_services

    config_path = write_config(tmp_path)
    config = load_config(config_path)

    async def set_up() -> None:
        db = await Database.open(config.database.path)
        await db.migrate()
        services = build_services(config, db, SystemClock())
        await services.classes.setup(42, 1, timezone="UTC")
        await services.classes.add_subject(42, "Math")
        await db.close()

    asyncio.run(set_up())
    alice, bob = "100000000000000011", "100000000000000012"
    good = tmp_path / "scores.csv"
    good.write_bytes(
        f"\ufeffstudent;subject;assessment;score;out_of;date\r\n<@{alice}>;Math;Q1;7,5;10;2026-01-05\r\n"
        f"{bob};Math;Q1;6;10;2026-01-05\r\n".encode()
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"student,subject,assessment,score,out_of,date\n{alice},Math,Q2,x,10,2026-01-05\n"
    )

    assert main(["--config", str(config_path), "scores", "import", str(bad), "--guild", "42"]) == 1
    assert "Row 2, score: not a number" in capsys.readouterr().err
    assert main(["--config", str(config_path), "scores", "import", str(good), "--guild", "42"]) == 0
    assert "Imported 2 scores (Q1): 2 new" in capsys.readouterr().out
    with sqlite3.connect(tmp_path / "class.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == 2
