"""Sharded processes: `discord.shard_count` / `discord.shard_ids` and which classes a process serves."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, parse_config
from bot.sharding import ShardPlan, format_shard_ids, shard_of


def guild_on(shard_id: int, shard_count: int) -> int:
    """A guild id Discord routes to ``shard_id`` (the timestamp bits decide)."""
    return ((1_000_000 * shard_count + shard_id) << 22) | 123


def test_unsharded_by_default_owns_every_class() -> None:
    plan = parse_config({}).discord.shards
    assert plan == ShardPlan()
    assert not plan.sharded and plan.runs_shard_zero
    assert plan.owns(guild_on(3, 4)) and plan.describe() == "unsharded"


@pytest.mark.parametrize(
    ("shard_ids", "expected"),
    [("0-3", (0, 1, 2, 3)), ("0,2", (0, 2)), (" 1-2 , 5 ", (1, 2, 5)), ([3, 1], (1, 3))],
)
def test_shard_ids_as_ranges_or_lists(shard_ids: object, expected: tuple[int, ...]) -> None:
    config = parse_config({"discord": {"shard_count": 8, "shard_ids": shard_ids}})
    assert config.discord.shard_ids == expected
    assert config.discord.shards.shard_ids == expected


def test_a_count_alone_runs_every_shard() -> None:
    plan = parse_config({"discord": {"shard_count": 2}}).discord.shards
    assert plan == ShardPlan(2, (0, 1)) and plan.describe() == "shards 0-1 of 2"


def test_a_process_owns_only_its_shards_classes() -> None:
    second_half = ShardPlan(4, (2, 3))
    assert [second_half.owns(guild_on(s, 4)) for s in range(4)] == [False, False, True, True]
    assert not second_half.runs_shard_zero
    assert ShardPlan(4, (0, 1)).runs_shard_zero
    assert second_half.mine([guild_on(0, 4), guild_on(3, 4)]) == [guild_on(3, 4)]
    assert shard_of(guild_on(3, 4), 4) == 3
    assert format_shard_ids((0, 1, 2, 5, 7, 8)) == "0-2,5,7-8"


@pytest.mark.parametrize(
    ("discord", "message"),
    [
        ({"shard_ids": "0-1"}, "discord.shard_ids: set discord.shard_count too"),
        ({"shard_count": 0}, "discord.shard_count: must be at least 1"),
        ({"shard_count": "2"}, "discord.shard_count: expected a whole number"),
        ({"shard_count": 2, "shard_ids": "0-2"}, "'0-2' is outside 0-1"),
        ({"shard_count": 4, "shard_ids": "3-1"}, "range '3-1' runs backwards"),
        ({"shard_count": 4, "shard_ids": "one"}, "'one' is not a shard id"),
        ({"shard_count": 4, "shard_ids": ""}, 'expected shard ids like "0-3" or "0,2" within 0-3'),
        ({"shard_count": 4, "shard_ids": 2}, "discord.shard_ids: expected shard ids"),
    ],
)
def test_bad_shard_settings_get_one_clear_message(discord: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=r"^discord\.shard_") as caught:
        parse_config({"discord": discord})
    assert message in str(caught.value)


def test_the_unsharded_bot_stays_a_plain_bot() -> None:
    import discord

    from bot.app import ClassMentorBot, ShardedClassMentorBot, bot_class

    assert bot_class(ShardPlan()) is ClassMentorBot
    assert not issubclass(ClassMentorBot, discord.AutoShardedClient)
    assert bot_class(ShardPlan(2, (1,))) is ShardedClassMentorBot
    assert issubclass(ShardedClassMentorBot, discord.AutoShardedClient)


def test_check_names_the_shards_and_the_ops_endpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    config = tmp_path / "config.toml"
    config.write_text(
        '[database]\npath = "class.db"\n'
        '[discord]\nshard_count = 4\nshard_ids = "2-3"\n[ops]\nhttp_port = 9100\n'
    )
    assert main(["--config", str(config), "check", "--client-id", "42"], environ={}) == 0
    out = capsys.readouterr().out
    assert "Shards: shards 2-3 of 4 (per-class work only)" in out
    assert "Ops endpoint: http://127.0.0.1:9100/healthz, /metrics" in out
