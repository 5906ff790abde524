"""Jinja2 templates (autoescaped) and the small formatters the pages use."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

AWARD_TITLES = {
    "gold_star": "Gold star",
    "tutor_of_the_week": "Tutor of the week",
    "effort": "Effort",
    "custom": "Award",
}
LEDGER_REASONS = {
    "session": "Confirmed help session",
    "award": "Award",
    "goal": "Class goal",
    "undo": "Award taken back",
}


def duration_words(delta: timedelta) -> str:
    """``3 min``, ``1 h 20 min``, ``2 days``: how long something has waited."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days = hours // 24
    return f"{days} day" if days == 1 else f"{days} days"


def local_time(instant: datetime, zone: ZoneInfo) -> str:
    """A date and time in the class's zone, e.g. ``Mon 3 Nov 2026, 14:05``."""
    local = instant.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


@functools.cache
def make_environment() -> jinja2.Environment:
    """The template environment: autoescape on for every template, undefined names fail.

    One per process, so each template is compiled once however many dashboards the process
    starts (the tests start one per test); nothing changes it after this function.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["waited"] = duration_words
    env.globals["award_titles"] = AWARD_TITLES
    env.globals["ledger_reasons"] = LEDGER_REASONS
    return env


def page(
    env: jinja2.Environment, name: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    """Render a template into an HTML response."""
    text = env.get_template(name).render(**context)
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
