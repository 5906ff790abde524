"""Gains on the dashboard, from the learning-progress service and its chart renderer.

- the teacher's gains page: every student's baseline and latest score per subject and period,
  with the teacher chart (raw scores: teachers only);
- a student's own scores and gains, with their own chart;
- the projector's public view: this term's class average gain and the top gains, never a raw
  score and never anyone who did not improve (the same rule as `/gains share`).

Charts are rendered in the progress feature's worker (:class:`bot.charts.ChartRenderer`) and kept
by a digest of what they show, so a page view re-renders only after the numbers changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.charts import StudentBar, public_chart, student_chart, teacher_chart
from bot.domain.gains import PERIOD_LABELS, ClassGains, GainPeriod, PublicGains, public_gains
from bot.errors import UserFacingError
from bot.web.access import Dashboard, class_viewer, parts, render
from bot.web.chart_cache import digest, png
from bot.web.members import Viewer

GAIN_PERIODS = {
    GainPeriod.THIS_WEEK: "This week",
    GainPeriod.LAST_WEEK: "Last week",
    GainPeriod.TERM: "This term",
    GainPeriod.ALL_TIME: "All time",
}
PROJECTOR_TOP = 3


def gain_period_of(request: web.Request) -> GainPeriod:
    """The ``period`` parameter among the gains periods (default: this term)."""
    try:
        return GainPeriod(request.query.get("period", GainPeriod.TERM.value))
    except ValueError:
        return GainPeriod.TERM


# -- the teacher's gains page --------------------------------------------------------------------
async def _teacher_report(request: web.Request) -> tuple[Viewer, Any, list[str], str | None]:
    viewer = await class_viewer(request, teacher=True)
    dash = parts(request)
    subjects = [s.name for s in await dash.services.classes.subjects(viewer.guild_id)]
    period = gain_period_of(request)
    asked = request.query.get("subject")
    # Without a choice, the first subject that has gains in the period (else the first one).
    candidates = [asked] if asked in subjects else subjects
    report, chosen = None, None
    for subject in candidates:
        found = await dash.services.progress.class_report(viewer.guild_id, subject, period)
        if report is None or (found.gains.gains and not report.gains.gains):
            report, chosen = found, subject
        if found.gains.gains:
            break
    return viewer, report, subjects, chosen


async def gains_page(request: web.Request) -> web.Response:
    """Every student's gain in a subject and period, with the chart and a table of the numbers."""
    viewer, report, subjects, chosen = await _teacher_report(request)
    dash = parts(request)
    rows: list[dict[str, Any]] = []
    pairs: list[dict[str, Any]] = []
    version = ""
    if report is not None:
        people = {g.user_id for g in report.gains.gains}
        people |= {p.mentor_id for p in report.pairs} | {p.mentee_id for p in report.pairs}
        names = await dash.members.display_names(viewer.guild_id, people)
        rows = [
            {
                "name": names.get(g.user_id, "A former member"),
                "baseline": g.baseline,
                "latest": g.latest,
                "gain": g.points,
                "confidence": report.confidence_by_student.get(g.user_id),
            }
            for g in report.gains.gains
        ]
        if report.gains.gains:
            version = dash.charts.key(viewer.guild_id, *_teacher_chart_args(report, names))
        pairs = [
            {
                "mentor": names.get(p.mentor_id, "A former member"),
                "mentee": names.get(p.mentee_id, "A former member"),
                "gain": p.gain.points,
            }
            for p in report.pairs
        ]
    query = urlencode(
        {"subject": chosen or "", "period": gain_period_of(request).value, "v": version}
    )
    return await render(
        request,
        "gains.html",
        viewer=viewer,
        section="gains",
        class_name=dash.members.class_name(viewer.guild_id) or "Your class",
        base_url=f"/class/{viewer.guild_id}",
        subjects=subjects,
        chosen=chosen,
        period=gain_period_of(request),
        gain_periods=GAIN_PERIODS,
        report=report,
        rows=rows,
        pairs=pairs,
        chart_url=f"/class/{viewer.guild_id}/gains.png?{query}",
        chart_alt=teacher_chart_alt(report) if report is not None and report.gains.gains else "",
    )


def _teacher_chart_args(report: Any, names: dict[int, str]) -> tuple[Any, ...]:
    bars = [
        StudentBar(names.get(g.user_id, "A former member"), g.baseline.percent, g.latest.percent)
        for g in report.gains.gains
    ]
    return (teacher_chart, f"{report.subject.name}, {report.label}", bars, report.gains.average)


async def gains_chart(request: web.Request) -> web.StreamResponse:
    """The teacher chart of the gains page (the page names the version it shows)."""
    dash = parts(request)
    viewer = await class_viewer(request, teacher=True)
    known = dash.charts.cached(viewer.guild_id, request.query.get("v", ""))
    if known is not None:
        return png(known)
    viewer, report, _, _ = await _teacher_report(request)
    if report is None or not report.gains.gains:
        raise web.HTTPNotFound(text="No gains to chart yet.")
    people = [g.user_id for g in report.gains.gains]
    names = await dash.members.display_names(viewer.guild_id, people)
    return png(await dash.charts.get(viewer.guild_id, *_teacher_chart_args(report, names)))


def teacher_chart_alt(report: Any) -> str:
    """Alt text of the teacher chart, from the same numbers (the table below has them all)."""
    average = report.gains.average
    return (
        f"Bar chart of {report.subject.name} scores, {report.label}: each student's baseline "
        f"and latest score, {len(report.gains.gains)} students, class average gain "
        f"{average:+.1f} percentage points. The table below lists every number."
    )


# -- a student's own gains -------------------------------------------------------------------------
@dataclass(frozen=True)
class OwnSubject:
    """A student's progress in one subject, for their page."""

    subject: str
    latest_percent: float
    latest_assessment: str
    gain: float | None
    scores: list[Any]
    chart_url: str
    chart_alt: str


async def own_gains(dash: Dashboard, viewer: Viewer) -> tuple[list[OwnSubject], Any]:
    """The student's subjects with scores (this term's gain) and their confidence summary."""
    report = await dash.services.progress.student_report(
        viewer.guild_id, viewer.user_id, None, GainPeriod.TERM
    )
    subjects = []
    for progress in report.subjects:
        if not progress.points:
            continue
        latest = progress.points[-1]
        listing = "; ".join(
            f"{p.assessment} on {p.taken_on.isoformat()}: {p.percent:.0f}%" for p in progress.points
        )
        subjects.append(
            OwnSubject(
                subject=progress.subject,
                latest_percent=latest.percent,
                latest_assessment=latest.assessment,
                gain=progress.gain.points if progress.gain else None,
                scores=list(progress.points),
                chart_url=f"/class/{viewer.guild_id}/me/gains.png?"
                + urlencode({"subject": progress.subject}),
                chart_alt=f"Line chart of your {progress.subject} scores over time: {listing}",
            )
        )
    return subjects, report.confidence


async def my_gains_chart(request: web.Request) -> web.StreamResponse:
    """The logged-in student's own chart for one subject."""
    viewer = await class_viewer(request, teacher=False)
    dash = parts(request)
    subject = request.query.get("subject", "")
    try:
        report = await dash.services.progress.student_report(
            viewer.guild_id, viewer.user_id, subject or None, GainPeriod.TERM
        )
    except UserFacingError:
        raise web.HTTPNotFound(text="No such subject.") from None
    points = [p for s in report.subjects for p in s.points]
    if not points:
        raise web.HTTPNotFound(text="No scores yet.")
    chart = await dash.charts.get(
        viewer.guild_id,
        student_chart,
        f"Your {subject} scores",
        [(p.taken_on, p.percent, p.assessment) for p in points],
    )
    return png(chart)


# -- the projector's public gains ------------------------------------------------------------------
async def term_public_gains(dash: Dashboard, guild_id: int) -> PublicGains | None:
    """This term's gains over every subject, public-safe (average and top improvers only)."""
    gains = []
    by_subject = await dash.services.dashboard.gains_by_subject(guild_id, GainPeriod.TERM)
    for subject_gains in by_subject.values():
        gains.extend(subject_gains.gains)
    gains.sort(key=lambda g: (-g.points, g.user_id))
    return public_gains(ClassGains(gains), PROJECTOR_TOP)


async def projector_gains(dash: Dashboard, guild_id: int) -> dict[str, Any] | None:
    """The projector's gains block: average, top gains by name, the chart's version and alt
    (recomputed only when the class's scores changed)."""
    version = await dash.services.dashboard.scores_version(guild_id)
    cached = dash.projector_gains.get(guild_id)
    if cached is not None and cached[0] == version:
        block: dict[str, Any] | None = cached[1]
        return block
    block = await _projector_gains(dash, guild_id)
    dash.projector_gains[guild_id] = (version, block)
    return block


async def _projector_gains(dash: Dashboard, guild_id: int) -> dict[str, Any] | None:
    public = await term_public_gains(dash, guild_id)
    if public is None:
        return None
    names = await dash.members.display_names(guild_id, [uid for uid, _ in public.top])
    top = [[names.get(uid, "A classmate"), round(points, 1)] for uid, points in public.top]
    average = round(public.average, 1)
    named = "; ".join(f"{name} {points:+.1f}" for name, points in top)
    alt = (
        f"Bar chart, gains {PERIOD_LABELS[GainPeriod.TERM]}: class average gain {average:+.1f} "
        f"points over {public.students} students." + (f" Top gains: {named}." if named else "")
    )
    return {
        "average": f"{average:+.1f}",
        "students": public.students,
        "top": top,
        "alt": alt,
        "version": digest(average, top),
    }


async def projector_chart(dash: Dashboard, guild_id: int) -> web.Response:
    """The public gains chart (gains only), rendered when the numbers changed."""
    block = await projector_gains(dash, guild_id)
    if block is None:
        raise web.HTTPNotFound(text="No gains yet.")
    chart = await dash.charts.get(
        guild_id,
        public_chart,
        f"Gains {PERIOD_LABELS[GainPeriod.TERM]}",
        float(block["average"]),
        [(name, points) for name, points in block["top"]],
    )
    return png(chart)


def routes() -> list[web.RouteDef]:
    """The gains routes of the teacher and the student pages."""
    return [
        web.get("/class/{guild_id}/gains", gains_page),
        web.get("/class/{guild_id}/gains.png", gains_chart),
        web.get("/class/{guild_id}/me/gains.png", my_gains_chart),
    ]
