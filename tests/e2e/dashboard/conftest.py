"""A class with the web dashboard switched on: the real bot, the simulated Discord (with its
OAuth2 endpoints), a real SQLite file, and the dashboard's server on a loopback port.

``web`` is a :class:`WebClass`: the classroom (set up, Math and English), the running dashboard,
and helpers that act as the people in it (log in as someone, run a full help session).
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.clock import ManualClock
from bot.config import Secret, WebConfig, WebSecrets
from bot.simulator import DiscordSimulator, SimUser
from bot.simulator.classroom import Classroom, button_id, expect
from bot.web.server import WebDashboard
from tests.e2e.conftest import class_from_snapshot

# Projector updates go out right after each commit (production waits 0.1 s to fold a burst of
# commits into one update): the tests take one settled step at a time, so there is no burst,
# and every settle would otherwise wait out that window (~2 s over the dashboard tests).
LIVE_COALESCE_S = 0.0


def without_tokens(page: str) -> str:
    """``page`` with its forms' CSRF tokens blanked, to check which names it shows.

    A token is 43 random URL-safe characters: one in ~6,000 holds "Bob" (one such run failed
    ``"Bob" not in page``). Everything else on the page is checked as it is.
    """
    return re.sub(r'(name="csrf_token" value=")[^"]*"', r'\1"', page)


def free_port() -> int:
    """A loopback port nobody listens on (kept across a restart of the bot and dashboard)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class WebClass:
    """The class and its dashboard, as the tests drive them."""

    room: Classroom
    config: WebConfig
    secrets: WebSecrets
    dashboard: WebDashboard | None = None

    @property
    def url(self) -> str:
        """The dashboard's address."""
        return self.config.public_url

    @property
    def class_url(self) -> str:
        """The teacher's overview of the class."""
        return f"{self.url}/class/{self.room.guild.id}"

    async def start_dashboard(self) -> WebDashboard:
        """Serve the dashboard for the running bot."""
        assert self.room.bot is not None
        self.dashboard = WebDashboard(
            self.config,
            self.secrets,
            self.room.bot,
            client_id=self.room.sim.world.application_id,
            live_coalesce_s=LIVE_COALESCE_S,
        )
        await self.dashboard.start()
        return self.dashboard

    async def stop_dashboard(self) -> None:
        """Stop serving (the process ending)."""
        if self.dashboard is not None:
            await self.dashboard.stop()
            self.dashboard = None

    async def restart(self) -> None:
        """The bot's process stops and starts again: same database, same port."""
        await self.stop_dashboard()
        await self.room.restart()
        await self.start_dashboard()

    def log_in_as(self, user: SimUser | None) -> None:
        """Who is logged in to Discord in the browser (the simulator approves as them)."""
        self.room.sim.oauth.approve_as = user

    async def quiz(
        self, student: SimUser, name: str, value: float, days_ago: int = 0, **more: object
    ) -> None:
        """The owner (Manage Server) records a Math quiz score, as `/score add` does."""
        day = (self.room.clock.now().date() - timedelta(days=days_ago)).isoformat()
        result = await self.room.slash(
            self.room.owner,
            "score add",
            student=student,
            subject="Math",
            assessment=name,
            score=value,
            date=day,
            **more,
        )
        expect(result, "%")

    async def two_quizzes(self) -> None:
        """Fractions quizzes on Monday and today: Alice 40 → 80, Bob 70 → 65, Carol 50 → 60."""
        for student, first, second in (
            (self.room.alice, 40, 80),
            (self.room.bob, 70, 65),
            (self.room.carol, 50, 60),
        ):
            await self.quiz(student, "Fractions quiz 1", first, days_ago=2, aspect="fractions")
            await self.quiz(student, "Fractions quiz 2", second, aspect="fractions")

    async def confirmed_session(
        self, mentor: SimUser, student: SimUser, subject: str = "Math", rating: str = "5"
    ) -> None:
        """A full help session through Discord: ask, accept, Solved, rate."""
        room = self.room
        expect(await room.slash(student, "helpme ask", subject=subject, topic="fractions"), "")
        offer = room.offer_to(mentor)
        await room.click(mentor, offer, "Accept")
        starter = room.thread_starter()
        prompt = await room.click(student, starter, "Solved")
        assert prompt.message is not None, prompt.content
        await room.sim.click(student, prompt.message, button_id(prompt.message, rating))


async def _with_a_mentor(room: Classroom) -> None:
    await room.set_up(("Math", "English"))
    await room.make_mentor(room.alice, "Math")


@contextlib.asynccontextmanager
async def web_class(
    sim: DiscordSimulator, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[WebClass]:
    """A set-up class (Math, English) with the dashboard on; Alice mentors Math, available."""
    port = free_port()
    config = WebConfig(
        enabled=True, host="127.0.0.1", port=port, public_url=f"http://127.0.0.1:{port}"
    )
    secrets = WebSecrets(
        client_secret=Secret(sim.oauth.client_secret),
        session_key=Secret(Fernet.generate_key().decode()),
    )
    room = await class_from_snapshot(
        "dashboard",
        _with_a_mentor,
        sim,
        clock=clock,
        database=tmp_path / "classmentor.db",
        web=config,
    )
    await room.start()
    driver = WebClass(room, config, secrets)
    await driver.start_dashboard()
    yield driver
    await driver.stop_dashboard()
    await room.stop()


@pytest.fixture
async def web(sim: DiscordSimulator, tmp_path: Path, clock: ManualClock) -> AsyncIterator[WebClass]:
    """A set-up class (Math, English) with the dashboard on; Alice mentors Math, available."""
    async with web_class(sim, tmp_path, clock) as driver:
        yield driver
