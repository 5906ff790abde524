"""The [privacy] section of the config."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, PrivacyConfig, parse_config


def test_defaults_and_values() -> None:
    assert parse_config({}).privacy == PrivacyConfig(retention_days=365, left_server_days=30)
    raw = {"privacy": {"retention_days": 180, "left_server_days": 7}}
    assert parse_config(raw).privacy == PrivacyConfig(180, 7)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"retention_days": 5}, "privacy.retention_days: must be at least 30"),
        ({"left_server_days": 0}, "privacy.left_server_days: must be at least 1"),
        ({"retention_days": "a year"}, "privacy.retention_days: expected a whole number"),
        ({"keep_forever": True}, "privacy.keep_forever: unknown key"),
    ],
)
def test_bad_values_name_the_key(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"privacy": raw})
