"""Turning progress results into Discord replies and chart inputs."""

from __future__ import annotations

import io
from collections.abc import Mapping

import discord

from bot.charts import Chart, StudentBar
from bot.domain.gains import ConfidenceSummary, signed
from bot.services.progress import ClassReport, ImportResult, StudentReport
from cogs._shared import clip


def chart_file(chart: Chart) -> discord.File:
    """The PNG as an attachment; the alt text goes in its description."""
    return discord.File(io.BytesIO(chart.png), filename=chart.filename, description=chart.alt)


def confidence_text(summary: ConfidenceSummary | None) -> str:
    """Confidence gain, clearly labelled as self-reported."""
    if summary is None:
        return "no answers yet"
    sessions = f"{summary.sessions} session{'s' if summary.sessions != 1 else ''}"
    return f"{summary.average:+.1f} on a 1–5 scale (self-reported, {sessions})"


def class_bars(report: ClassReport, names: Mapping[int, str]) -> list[StudentBar]:
    """The teacher chart's rows."""
    return [
        StudentBar(names.get(g.user_id, str(g.user_id)), g.baseline.percent, g.latest.percent)
        for g in report.gains.gains
    ]


def class_embed(report: ClassReport) -> discord.Embed:
    """The teacher's `/gains` summary (raw scores: only ever sent privately)."""
    average = report.gains.average
    embed = discord.Embed(
        title=f"{report.subject.name} gains — {report.label}",
        colour=discord.Colour(0x0072B2),
        description=(
            f"Class average gain: **{signed(average)} points** over {len(report.gains.gains)} "
            "students."
            if average is not None
            else "No gains yet: a gain needs two scores in the period."
        ),
    )
    lines = []
    for gain in report.gains.gains[:30]:
        confidence = report.confidence_by_student.get(gain.user_id)
        extra = f" · confidence {confidence.average:+.1f}*" if confidence else ""
        lines.append(
            f"<@{gain.user_id}> {gain.baseline.percent:.0f}% → {gain.latest.percent:.0f}% "
            f"(**{signed(gain.points)}**){extra}"
        )
    if lines:
        embed.add_field(name="Students", value=clip("\n".join(lines), 1024), inline=False)
    if report.pairs:
        pairs = []
        for p in report.pairs[:15]:
            confidence = report.confidence_by_pair.get((p.mentor_id, p.mentee_id))
            extra = f" · confidence {confidence.average:+.1f}*" if confidence else ""
            pairs.append(
                f"<@{p.mentor_id}> with <@{p.mentee_id}>: **{signed(p.gain.points)}**{extra}"
            )
        embed.add_field(
            name="Mentor–mentee pairs", value=clip("\n".join(pairs), 1024), inline=False
        )
    embed.add_field(
        name="Confidence gain (self-reported)",
        value=confidence_text(report.confidence),
        inline=False,
    )
    if report.confidence_by_student or report.confidence_by_pair:
        embed.set_footer(text="* self-reported confidence change, 1–5 scale")
    return embed


def student_embed(report: StudentReport, title: str) -> discord.Embed:
    """A student's own gains (private)."""
    embed = discord.Embed(title=title, colour=discord.Colour(0x009E73))
    if not report.subjects:
        embed.description = "No quiz scores yet. Your teacher records them."
    for progress in report.subjects[:20]:
        latest = progress.points[-1]
        gain = (
            f"gain {report.label}: **{signed(progress.gain.points)} points**"
            if progress.gain
            else f"no gain {report.label} yet (needs two scores)"
        )
        embed.add_field(
            name=progress.subject,
            value=f"Latest: {latest.assessment} — {latest.percent:.0f}%\n{gain}",
            inline=False,
        )
    embed.add_field(
        name="Confidence gain (self-reported)",
        value=confidence_text(report.confidence),
        inline=False,
    )
    return embed


def import_summary(result: ImportResult) -> str:
    """What an import stored."""
    names = ", ".join(f"**{n}**" for n in result.assessments[:10])
    more = f" and {len(result.assessments) - 10} more" if len(result.assessments) > 10 else ""
    return (
        f"Imported {result.rows} scores for {names}{more}: {result.added} new, "
        f"{result.changed} changed, {result.unchanged} unchanged."
    )
