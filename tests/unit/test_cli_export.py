"""`classmentor export`: the gradebook CSV and a person's privacy export, for operators."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import SystemClock
from bot.config import load_config
from bot.wiring import build_services
from db.database import Database
from tests.services.classroom import GUILD, TEACHER, set_up_class

BOB = 12


def make_class(config_path: Path) -> None:
    async def build() -> None:
        config = load_config(config_path)
        db = await Database.open(config.database.path)
        await db.migrate()
        services = build_services(config, db, SystemClock())
        await set_up_class(services)
        await services.recognition.give_award(
            GUILD, TEACHER, BOB, student_is_bot=False, kind="gold_star", reason="Tidy work"
        )
        await db.close()

    asyncio.run(build())


def test_export_writes_the_gradebook_and_a_privacy_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[database]\npath = "class.db"\n')
    make_class(config)
    out = tmp_path / "gradebook.csv"
    assert main(["--config", str(config), "export", "--guild", str(GUILD), "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))
    assert [(r["student_id"], r["gold_stars"]) for r in rows] == [(str(BOB), "1")]
    person = tmp_path / "bob.json"
    args = ["export", "--guild", str(GUILD), "--user", str(BOB), "--out", str(person)]
    assert main(["--config", str(config), *args]) == 0
    document = json.loads(person.read_text("utf-8"))
    assert document["sections"]["awards"][0]["reason"] == "Tidy work"
    assert "Wrote the privacy export" in capsys.readouterr().out


def test_export_of_an_unknown_class_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[database]\npath = "class.db"\n')
    make_class(config)
    out = tmp_path / "x.csv"
    assert main(["--config", str(config), "export", "--guild", "999", "--out", str(out)]) == 1
    assert "isn't set up yet" in capsys.readouterr().err
    assert not out.exists()
