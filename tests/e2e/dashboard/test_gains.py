"""Gains on the dashboard, from the learning-progress service: the teacher's gains page and chart
(raw scores, teachers only), a student's own scores, and the projector's public gains (average
and improvers only, no raw score) pushed live after a recorded score."""

from __future__ import annotations

import asyncio
import json
import re

import aiohttp

from bot.simulator.classroom import text_of
from tests.e2e.dashboard.conftest import WebClass, without_tokens
from tests.e2e.dashboard.test_permissions import logged_in
from tests.e2e.dashboard.test_projector import next_event

PNG = b"\x89PNG"


async def test_teacher_sees_every_students_gain_with_chart_and_alt_text(web: WebClass) -> None:
    await web.two_quizzes()
    async with await logged_in(web, web.room.teacher) as http:
        async with http.get(web.class_url + "/gains?subject=Math&period=this_week") as response:
            assert response.status == 200
            page = await response.text()
        for row in ("Alice", "40%", "80%", "+40.0", "Bob", "-5.0", "Carol", "+10.0"):
            assert row in page
        assert 'id="average-gain">+15.0<' in page
        chart = re.search(r'<img src="([^"]+)" alt="([^"]+)"', page)
        assert chart is not None and "class average gain +15.0" in chart[2]
        async with http.get(web.url + chart[1].replace("&amp;", "&")) as response:
            assert response.status == 200 and (await response.read())[:4] == PNG
        async with http.get(web.class_url + "/roster") as response:
            roster = await response.text()
        assert "80% (+40.0)" in roster  # latest score and this term's gain
        async with http.get(web.class_url) as response:
            assert "average gain this week" in await response.text()
        async with http.get(web.class_url + "/insights?period=this_week") as response:
            insights = await response.text()
        # (40 + 80 + 70 + 65 + 50 + 60) / 6 = 60.8: the class's average on fractions
        assert re.search(r"<th scope=\"row\">fractions</th><td class=\"num\">61%</td>", insights)
    async with await logged_in(web, web.room.bob) as http:
        for path in ("/gains", "/gains.png?subject=Math"):
            async with http.get(web.class_url + path) as response:
                assert response.status == 403


async def test_student_sees_only_their_own_scores(web: WebClass) -> None:
    await web.two_quizzes()
    async with await logged_in(web, web.room.alice) as http:
        async with http.get(web.class_url + "/me") as response:
            page = await response.text()
        assert "Gain this term: <strong>+40.0 points</strong>" in page
        assert "65%" not in page and "Bob" not in without_tokens(page)  # nobody else's score
        chart = re.search(r'<img src="([^"]+)" alt="(Line chart of your Math[^"]+)"', page)
        assert chart is not None and "Fractions quiz 2" in chart[2]
        async with http.get(web.url + chart[1]) as response:
            assert (await response.read())[:4] == PNG


async def test_projector_shows_gains_only_and_updates_after_a_score(web: WebClass) -> None:
    room = web.room
    reply = await room.slash(room.teacher, "dashboard projector")
    match = re.search(r"/projector/([\w-]+)>", text_of(reply))
    assert match
    base = f"{web.url}/projector/{match[1]}"
    async with aiohttp.ClientSession() as http, http.get(base + "/events") as response:
        _, first = await next_event(response.content)
        assert first["gains"] is None
        await web.two_quizzes()
        gains = None
        for _ in range(8):  # one event per recorded score that changed the public numbers
            _, data = await asyncio.wait_for(next_event(response.content), 10)
            gains = data["gains"]
            if gains is not None and gains["students"] == 3:
                break
        assert gains is not None
        assert gains["average"] == "+15.0"
        assert [name for name, _ in gains["top"]] == ["Alice", "Carol"]  # Bob did not improve
        shown = json.dumps(gains)
        assert "Bob" not in shown and "%" not in shown  # no raw score, nobody singled out
        async with http.get(f"{base}/gains.png?v={gains['version']}") as chart:
            assert chart.status == 200 and (await chart.read())[:4] == PNG
