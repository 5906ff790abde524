"""The dashboard's settings: off by default, validated, secrets only from the environment or
files (never printed), and `classmentor check` prints the redirect URI to register."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.cli import main
from bot.config import (
    CLIENT_SECRET_ENV,
    SESSION_SECRET_ENV,
    Config,
    ConfigError,
    parse_config,
    read_web_secrets,
)

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
KEY = Fernet.generate_key().decode()


def test_off_by_default() -> None:
    assert Config().web.enabled is False
    assert parse_config({}).web.enabled is False


def test_web_settings_parse_with_redirect_and_cookie_security() -> None:
    web = parse_config(
        {"web": {"enabled": True, "port": 9000, "public_url": "https://class.example.org/"}}
    ).web
    assert web.enabled and web.port == 9000
    assert web.redirect_uri == "https://class.example.org/login/callback"
    assert web.secure_cookies
    assert not parse_config({"web": {"public_url": "http://localhost:8080"}}).web.secure_cookies


@pytest.mark.parametrize(
    ("web", "names"),
    [
        ({"client_secret": "x"}, "web.client_secret: never write secrets"),
        ({"session_secret": "x"}, "web.session_secret: never write secrets"),
        ({"port": 0}, "web.port: must be at least 1"),
        ({"public_url": "class.example.org"}, "web.public_url"),
        ({"enabled": "yes"}, "web.enabled: expected true or false"),
        ({"colour": "blue"}, "web.colour: unknown key"),
    ],
)
def test_bad_web_settings_name_the_key(web: dict[str, object], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        parse_config({"web": web})


def test_secrets_come_from_the_environment_or_files_and_stay_hidden(tmp_path: Path) -> None:
    secret_file = tmp_path / "oauth"
    secret_file.write_text("file-secret\n", encoding="utf-8")
    config = parse_config(
        {"web": {"enabled": True, "client_secret_file": str(secret_file)}}, base_dir=tmp_path
    )
    secrets = read_web_secrets(config, {SESSION_SECRET_ENV: KEY})
    assert secrets.client_secret.reveal() == "file-secret"
    assert "file-secret" not in repr(secrets) and KEY not in repr(secrets)
    with pytest.raises(ConfigError, match=SESSION_SECRET_ENV):
        read_web_secrets(config, {})
    with pytest.raises(ConfigError, match="Fernet key"):
        read_web_secrets(config, {SESSION_SECRET_ENV: "too-short"})


def test_check_prints_the_redirect_uri_and_checks_the_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "c.db"}"\n'
        '[web]\nenabled = true\npublic_url = "https://class.example.org"\n',
        encoding="utf-8",
    )
    environ = {"DISCORD_TOKEN": TOKEN}
    assert main(["--config", str(config), "check"], environ=environ) == 2
    out = capsys.readouterr().out
    assert "https://class.example.org/login/callback" in out
    assert CLIENT_SECRET_ENV in out
    environ |= {CLIENT_SECRET_ENV: "the-client-secret", SESSION_SECRET_ENV: KEY}
    assert main(["--config", str(config), "check"], environ=environ) == 0
    out = capsys.readouterr().out
    assert "secrets: OAuth2 client secret and session key found" in out
    assert "the-client-secret" not in out and KEY not in out
