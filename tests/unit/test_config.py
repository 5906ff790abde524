"""Configuration: the example parses; every kind of mistake gets one clear message naming the key."""

from __future__ import annotations

import shutil
from datetime import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import (
    Config,
    ConfigError,
    Secret,
    find_config_path,
    load_config,
    parse_config,
    read_token,
)

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_parses_to_the_documented_defaults(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.example.toml", tmp_path / "config.toml")
    config = load_config(tmp_path / "config.toml")
    assert config.defaults.timezone == "Europe/London"
    assert config.defaults.post_weekday == 4
    assert config.defaults.post_time == time(15, 0)
    assert config.mentoring.offer_timeout_minutes == 3
    assert config.database.path == tmp_path / "classmentor.db"
    assert config.discord.dev_guild_id is None


@pytest.mark.parametrize(
    ("toml", "names"),
    [
        ('[discord]\ntoken = "abc.def.ghi"', "discord.token: never write the token"),
        ("[mentoring]\noffer_timout_minutes = 3", "mentoring.offer_timout_minutes: unknown key"),
        ("[database]\npath = 3", "database.path: expected a string"),
        (
            '[mentoring]\noffer_timeout_minutes = "3"',
            "mentoring.offer_timeout_minutes: expected a whole number",
        ),
        (
            "[mentoring]\noffer_timeout_minutes = 0",
            "mentoring.offer_timeout_minutes: must be at least 1",
        ),
        (
            '[defaults]\ntimezone = "Mars/Olympus"',
            "defaults.timezone: unknown time zone 'Mars/Olympus'",
        ),
        ('[defaults]\npost_weekday = "fryday"', "defaults.post_weekday: expected a day name"),
        ('[defaults]\npost_time = "3pm"', "defaults.post_time: expected a time like '15:00'"),
        ('[logging]\nlevel = "LOUD"', "logging.level: expected DEBUG"),
        ("[surprise]\nx = 1", "surprise: unknown key"),
        ('discord = "x"', "discord: expected a [discord] table"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, toml: str, names: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert names in str(caught.value)


@pytest.mark.parametrize(
    ("toml", "args", "env", "message"),
    [
        ('[defaults]\ntimezone = "Nowhere/City"', ["check"], {}, "defaults.timezone"),
        ("this is [not toml", ["check"], {}, "is not valid TOML"),
        ("", ["run"], {}, "no bot token"),
    ],
)
def test_cli_reports_config_errors_with_exit_code_2_and_no_traceback(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    toml: str,
    args: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(toml)
    code = main(["--config", str(path), *args], environ=env)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_missing_named_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_config_path_precedence() -> None:
    assert find_config_path("a.toml", {"CLASSMENTOR_CONFIG": "b.toml"}) == Path("a.toml")
    assert find_config_path(None, {"CLASSMENTOR_CONFIG": "b.toml"}) == Path("b.toml")
    assert find_config_path(None, {}) == Path("config.toml")


def test_token_comes_from_env_or_file_and_never_shows(tmp_path: Path) -> None:
    config = parse_config({})
    token = read_token(config, {"DISCORD_TOKEN": " abc.def.ghi\n"})
    assert token.reveal() == "abc.def.ghi"
    assert "abc" not in repr(token) and "abc" not in str(token) and "abc" not in f"{token}"

    secret_file = tmp_path / "token"
    secret_file.write_text("from.a.file\n")
    with_file = parse_config({"discord": {"token_file": str(secret_file)}})
    assert read_token(with_file, {}) == Secret("from.a.file")


def test_unreadable_token_file_names_the_key(tmp_path: Path) -> None:
    config = parse_config({"discord": {"token_file": "missing-token"}}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"discord\.token_file: cannot read"):
        read_token(config, {})


def test_config_is_frozen() -> None:
    config = Config()
    with pytest.raises(AttributeError):
        config.log_level = "DEBUG"  # type: ignore[misc]
