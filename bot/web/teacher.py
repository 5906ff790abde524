"""The teacher's pages of a class: overview, mentors, insights, awards, roster, downloads, settings.

Every handler starts with ``class_viewer(request, teacher=True)``: the check is made again on every
request, from what Discord says about the person now.
"""

from __future__ import annotations

import json

from aiohttp import web

from bot.domain.gains import GainPeriod
from bot.domain.weeks import Period
from bot.errors import UserFacingError
from bot.letters.content import safe_filename
from bot.services.dashboard import RosterRow
from bot.services.letters import gradebook_csv
from bot.web.access import PERIODS, class_viewer, parts, period_of, render
from bot.web.goal import goal_meter
from bot.web.members import Viewer
from bot.web.render import local_time


def _download(data: bytes, filename: str, content_type: str) -> web.Response:
    return web.Response(
        body=data,
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _page(
    request: web.Request,
    viewer: Viewer,
    template: str,
    section: str,
    status: int = 200,
    **context: object,
) -> web.Response:
    dash = parts(request)
    return await render(
        request,
        template,
        status,
        viewer=viewer,
        section=section,
        class_name=dash.members.class_name(viewer.guild_id) or "Your class",
        base_url=f"/class/{viewer.guild_id}",
        periods=PERIODS,
        **context,
    )


async def overview(request: web.Request) -> web.Response:
    """This week at a glance."""
    viewer = await class_viewer(request, teacher=True)
    dash = parts(request)
    data = await dash.services.dashboard.overview(viewer.guild_id)
    settings, _ = await dash.services.dashboard.settings(viewer.guild_id)
    names = await dash.members.display_names(viewer.guild_id, data.available)
    weekly = await dash.services.progress.weekly_gains(viewer.guild_id)
    goal = await goal_meter(dash, viewer.guild_id)
    return await _page(
        request,
        viewer,
        "overview.html",
        "overview",
        data=data,
        average_gain=f"{weekly.public.average:+.1f}" if weekly is not None else None,
        goal=goal,
        gain_students=weekly.public.students if weekly is not None else 0,
        week_start=local_time(data.week_start, settings.zone),
        available=sorted(
            (
                (names.get(uid, "A mentor who left"), subjects)
                for uid, subjects in data.available.items()
            ),
            key=lambda item: item[0].casefold(),
        ),
    )


async def mentors(request: web.Request) -> web.Response:
    """Help activity per mentor in a period."""
    viewer = await class_viewer(request, teacher=True)
    dash = parts(request)
    period = period_of(request)
    rows = await dash.services.dashboard.mentor_activity(viewer.guild_id, period)
    names = await dash.members.display_names(viewer.guild_id, [r.user_id for r in rows])
    return await _page(
        request, viewer, "mentors.html", "mentors", rows=rows, names=names, period=period
    )


async def insights(request: web.Request) -> web.Response:
    """What the class asked for help with."""
    viewer = await class_viewer(request, teacher=True)
    period = period_of(request)
    dash = parts(request)
    data = await dash.services.dashboard.insights(viewer.guild_id, period)
    # Per subject, what `/insights` says (topics, aspects, waits, mentors' debrief notes); it
    # knows the gains periods, so a month is shown as the term.
    lesson_period = LESSON_PERIODS.get(period, GainPeriod.TERM)
    version = await dash.services.dashboard.requests_version(viewer.guild_id)
    cached = dash.subject_insights.get((viewer.guild_id, lesson_period.value))
    if cached is not None and cached[0] == version:
        subjects = cached[1]
    else:
        subjects = []
        for subject in await dash.services.classes.subjects(viewer.guild_id):
            name, label, summary = await dash.services.lessons.insights(
                viewer.guild_id, subject.name, lesson_period
            )
            if summary.requests:
                subjects.append((name, label, summary))
        dash.subject_insights[(viewer.guild_id, lesson_period.value)] = (version, subjects)
    return await _page(
        request,
        viewer,
        "insights.html",
        "insights",
        data=data,
        period=period,
        subjects=subjects,
    )


async def awards(request: web.Request) -> web.Response:
    """Awards that stand and the points ledger, newest first."""
    viewer = await class_viewer(request, teacher=True)
    dash = parts(request)
    history = await dash.services.dashboard.history(viewer.guild_id)
    settings, _ = await dash.services.dashboard.settings(viewer.guild_id)
    people = {a.user_id for a in history.awards} | {line.user_id for line in history.ledger}
    names = await dash.members.display_names(viewer.guild_id, people)
    return await _page(
        request,
        viewer,
        "awards.html",
        "awards",
        history=history,
        names=names,
        when=lambda instant: local_time(instant, settings.zone),
    )


async def roster(request: web.Request) -> web.Response:
    """Everyone with a record: points, sessions, badges (teacher only)."""
    viewer = await class_viewer(request, teacher=True)
    dash = parts(request)
    rows = await dash.services.dashboard.roster(viewer.guild_id)
    # Scores: each student's latest score and this term's gain per subject (teachers only).
    subjects = [s.name for s in await dash.services.classes.subjects(viewer.guild_id)]
    scores: dict[int, dict[str, tuple[float, float]]] = {}
    by_subject = await dash.services.dashboard.gains_by_subject(viewer.guild_id, GainPeriod.TERM)
    for subject, gains in by_subject.items():
        for gain in gains.gains:
            scores.setdefault(gain.user_id, {})[subject] = (gain.latest.percent, gain.points)
    people = {r.user_id for r in rows} | set(scores)
    known = {r.user_id for r in rows}
    rows += [RosterRow(uid, 0, 0, 0, ()) for uid in sorted(people - known)]
    names = await dash.members.display_names(viewer.guild_id, people)
    rows.sort(key=lambda r: names.get(r.user_id, "~").casefold())
    return await _page(
        request,
        viewer,
        "roster.html",
        "roster",
        rows=rows,
        names=names,
        subjects=[s for s in subjects if any(s in row for row in scores.values())],
        scores=scores,
    )


async def downloads(request: web.Request) -> web.Response:
    """The gradebook, letters home and a student's privacy export."""
    viewer = await class_viewer(request, teacher=True)
    dash = parts(request)
    rows = await dash.services.dashboard.roster(viewer.guild_id)
    names = await dash.members.display_names(viewer.guild_id, [r.user_id for r in rows])
    students = sorted(names.items(), key=lambda item: item[1].casefold())
    return await _page(
        request,
        viewer,
        "downloads.html",
        "downloads",
        students=students,
        message="",
    )


async def gradebook(request: web.Request) -> web.StreamResponse:
    """The gradebook as CSV (the same file as `/export`)."""
    viewer = await class_viewer(request, teacher=True)
    dash = parts(request)
    period = period_of(request)
    try:
        rows = await dash.services.letters.gradebook(viewer.guild_id, period)
    except UserFacingError as exc:
        return await _page(
            request,
            viewer,
            "downloads.html",
            "downloads",
            students=[],
            message=exc.message,
            status=404,
        )
    names = await dash.members.display_names(viewer.guild_id, [r.user_id for r in rows])
    return _download(gradebook_csv(rows, names), f"gradebook-{period.value}.csv", "text/csv")


async def letters(request: web.Request) -> web.StreamResponse:
    """Letters home for every student with something to praise, as one ZIP."""
    viewer = await class_viewer(request, teacher=True)
    dash = parts(request)
    period = period_of(request)
    service = dash.services.letters
    class_name = dash.members.class_name(viewer.guild_id) or "Class"
    try:
        facts = await service.facts(viewer.guild_id, period)
        names = await dash.members.display_names(viewer.guild_id, facts)
        batch = await service.class_letters(
            viewer.guild_id, names, teacher_name=viewer.name, class_name=class_name, period=period
        )
    except UserFacingError as exc:
        return await _page(
            request,
            viewer,
            "downloads.html",
            "downloads",
            students=[],
            message=exc.message,
            status=404,
        )
    archive = await service.render_batch(batch)
    return _download(
        archive, f"letters-{safe_filename(class_name, 'class')}.zip", "application/zip"
    )


async def privacy_export(request: web.Request) -> web.StreamResponse:
    """A student's privacy export (what `/privacy export student:` gives a teacher)."""
    viewer = await class_viewer(request, teacher=True)
    raw = request.query.get("student", "")
    if not raw.isdigit() or len(raw) > 20:
        raise web.HTTPBadRequest(text="Choose a student from the list.")
    service = parts(request).services.privacy
    document = await service.export_document(viewer.guild_id, int(raw))
    data = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
    return _download(data, f"classmentor-data-{viewer.guild_id}-{raw}.json", "application/json")


async def class_settings(request: web.Request) -> web.Response:
    """The class's set-up, read-only (changed with `/setup`)."""
    viewer = await class_viewer(request, teacher=True)
    dash = parts(request)
    settings, subjects = await dash.services.dashboard.settings(viewer.guild_id)
    members = dash.members
    g = viewer.guild_id
    weekday = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    rows = [
        ("Teacher role", members.role_name(g, settings.teacher_role_id) or "not set"),
        ("Announcements", _channel(members.channel_name(g, settings.announcements_channel_id))),
        ("Help channel", _channel(members.channel_name(g, settings.help_channel_id))),
        ("Mentors channel", _channel(members.channel_name(g, settings.mentors_channel_id))),
        ("Time zone", settings.timezone),
        (
            "Weekly post",
            f"{weekday[settings.post_weekday]} at {settings.post_time:%H:%M}",
        ),
        ("Subjects", ", ".join(s.name for s in subjects) or "none yet"),
        ("Mentor brief", "the class's own" if settings.mentor_brief else "the default"),
    ]
    return await _page(request, viewer, "settings.html", "settings", rows=rows)


LESSON_PERIODS = {
    Period.THIS_WEEK: GainPeriod.THIS_WEEK,
    Period.LAST_WEEK: GainPeriod.LAST_WEEK,
    Period.TERM: GainPeriod.TERM,
    Period.ALL_TIME: GainPeriod.ALL_TIME,
}


def _channel(name: str | None) -> str:
    return f"#{name}" if name else "not set"


def routes() -> list[web.RouteDef]:
    """The teacher's routes."""
    base = "/class/{guild_id}"
    return [
        web.get(base, overview),
        web.get(base + "/mentors", mentors),
        web.get(base + "/insights", insights),
        web.get(base + "/awards", awards),
        web.get(base + "/roster", roster),
        web.get(base + "/downloads", downloads),
        web.get(base + "/downloads/gradebook.csv", gradebook),
        web.get(base + "/downloads/letters.zip", letters),
        web.get(base + "/downloads/privacy.json", privacy_export),
        web.get(base + "/settings", class_settings),
    ]
