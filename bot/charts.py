"""Gains charts as PNG bytes (matplotlib, Agg backend).

These functions are blocking CPU work: callers run them through :class:`ChartRenderer`, never on
the event loop.
Each chart comes with alt text (sent as the attachment's description). Colours are the Okabe–Ito
palette, which stays distinguishable with the common colour-vision deficiencies; values are also
written on the bars so nothing relies on colour alone.
"""

from __future__ import annotations

import asyncio
import functools
import io
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from bot.cpu import allowed_before_pin, unpin

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# matplotlib (and numpy) is imported where a chart is drawn, in the chart worker: the bot's own
# process never loads it (about half a second and tens of megabytes at every start). Each chart
# owns its Figure and draws on the Agg canvas directly (no pyplot, no display, thread-safe).
MATPLOTLIB = ("matplotlib.figure", "matplotlib.backends.backend_agg")

# Okabe–Ito colour-blind-safe palette.
BLUE = "#0072B2"
ORANGE = "#E69F00"
GREEN = "#009E73"
VERMILLION = "#D55E00"
GREY = "#555555"

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.5, 100  # 800 × 450 px: readable at Discord's preview width
ALT_MAX = 1024  # Discord's limit for an attachment description


@dataclass(frozen=True)
class Chart:
    """A rendered chart and its description for screen readers."""

    png: bytes
    alt: str
    filename: str


T = TypeVar("T")


class ChartRenderer:
    """Runs chart functions off the event loop, in one worker process by default.

    A thread would do for correctness, but matplotlib keeps the GIL for tens of milliseconds at a
    time, which stalls the event loop (measured in bench/progress.py); a separate process does
    not. The worker starts on the first chart (see :func:`_worker_context`: no copy of the
    bot's threads), so a class that never asks for a chart never pays for it.
    """

    def __init__(self, *, processes: bool = True) -> None:
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None

    async def render(self, func: Callable[..., T], *args: Any) -> T:
        """``func(*args)`` in the worker, awaited without blocking the loop."""
        loop = asyncio.get_running_loop()
        call = functools.partial(func, *args)
        if not self._processes:
            return await loop.run_in_executor(None, call)
        if self._pool is None:
            # A bot pinned to one CPU (ops.cpu) lets its chart worker use every CPU it had.
            cpus = allowed_before_pin()
            if cpus is None:
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=_worker_context())
            else:
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=_worker_context(), initializer=unpin, initargs=(cpus,)
                )
        return await loop.run_in_executor(self._pool, call)

    async def close(self) -> None:
        """Stop the worker (waits in a thread so the loop keeps running)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)


def _worker_context() -> multiprocessing.context.BaseContext:
    """How the chart worker starts: forked from a clean server process that has imported this
    module and matplotlib once, where the platform has one; otherwise spawned afresh.

    Either way the worker holds no copy of the bot's threads. A process that builds the bot
    more than once (tests, the demo's restart) pays for importing matplotlib once, not per bot.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, *MATPLOTLIB])
    return context


@dataclass(frozen=True)
class StudentBar:
    """One student on the teacher's chart."""

    name: str
    baseline: float
    latest: float


def _figure(height_in: float = HEIGHT_IN) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _clip(text: str) -> str:
    return text if len(text) <= ALT_MAX else text[: ALT_MAX - 1] + "…"


def teacher_chart(title: str, bars: Sequence[StudentBar], average_gain: float | None) -> Chart:
    """Baseline vs latest percentage per student, sorted by gain, with the class average gain."""
    ordered = sorted(bars, key=lambda b: (b.latest - b.baseline, b.name))
    figure = _figure(max(HEIGHT_IN, 1.2 + 0.28 * len(ordered)))
    axes = figure.add_subplot()
    rows = range(len(ordered))
    height = 0.38
    axes.barh(
        [r - height / 2 for r in rows],
        [b.baseline for b in ordered],
        height,
        color=BLUE,
        label="Baseline",
    )
    axes.barh(
        [r + height / 2 for r in rows],
        [b.latest for b in ordered],
        height,
        color=ORANGE,
        label="Latest",
    )
    for r, b in zip(rows, ordered, strict=True):
        gain = b.latest - b.baseline
        axes.text(101, r, f"{gain:+.0f}", va="center", fontsize=8, color=GREY)
    axes.set_yticks(list(rows), [b.name for b in ordered], fontsize=9)
    axes.set_xlim(0, 110)
    axes.set_xlabel("Score (%)")
    average = (
        "no gains yet" if average_gain is None else f"class average gain {average_gain:+.1f} points"
    )
    axes.set_title(f"{title} — {average}", fontsize=11)
    # Beside the plot, never over a bar or a gain label.
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    axes.grid(axis="x", alpha=0.3)
    # Fixed margins: tight_layout() would measure every label first and double the render time.
    inches = figure.get_figheight()
    figure.subplots_adjust(left=0.2, right=0.84, top=1 - 0.45 / inches, bottom=0.55 / inches)
    lines = [f"{b.name}: {b.baseline:.0f}% to {b.latest:.0f}%" for b in reversed(ordered)]
    alt = f"Bar chart, {title}: baseline and latest score per student, {average}. " + "; ".join(
        lines
    )
    return Chart(_png(figure), _clip(alt), "gains-class.png")


def student_chart(title: str, points: Sequence[tuple[date, float, str]]) -> Chart:
    """One student's percentages over time (only ever sent to that student or a teacher)."""
    figure = _figure()
    axes = figure.add_subplot()
    # Day numbers on the x axis keep the spacing true to time; labels show the dates.
    days = [p[0].toordinal() for p in points]
    values = [p[1] for p in points]
    axes.plot(days, values, marker="o", color=BLUE, linewidth=2)
    ticks = sorted(set(days))
    step = max(1, len(ticks) // 8)
    axes.set_xticks(ticks[::step], [date.fromordinal(t).strftime("%d %b") for t in ticks[::step]])
    for day, value in zip(days, values, strict=True):
        axes.annotate(
            f"{value:.0f}%",
            (day, value),
            textcoords="offset points",
            xytext=(0, 7),
            ha="center",
            fontsize=8,
        )
    axes.set_ylim(0, 105)
    axes.set_ylabel("Score (%)")
    axes.set_title(title, fontsize=11)
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.subplots_adjust(left=0.09, right=0.97, top=0.9, bottom=0.18)
    listing = "; ".join(
        f"{label} on {day.isoformat()}: {value:.0f}%" for day, value, label in points
    )
    alt = f"Line chart, {title}: your scores over time. {listing}"
    return Chart(_png(figure), _clip(alt), "gains-mine.png")


def public_chart(title: str, average_gain: float, top: Sequence[tuple[str, float]]) -> Chart:
    """Gains only, for everyone: the class average and the top (positive) gains; no raw scores."""
    labels = ["Class average", *[name for name, _ in top]]
    values = [average_gain, *[gain for _, gain in top]]
    colours = [GREEN, *[ORANGE] * len(top)]
    figure = _figure()
    axes = figure.add_subplot()
    axes.bar(labels, values, color=colours)
    for index, value in enumerate(values):
        axes.text(
            index,
            value,
            f"{value:+.1f}",
            ha="center",
            va="bottom" if value >= 0 else "top",
            fontsize=10,
        )
    axes.axhline(0, color=GREY, linewidth=0.8)
    axes.set_ylabel("Gain (percentage points)")
    axes.set_title(title, fontsize=11)
    axes.margins(y=0.2)
    figure.subplots_adjust(left=0.09, right=0.97, top=0.9, bottom=0.1)
    named = "; ".join(f"{name} {gain:+.1f}" for name, gain in top)
    alt = f"Bar chart, {title}: class average gain {average_gain:+.1f} points." + (
        f" Top gains: {named}." if named else ""
    )
    return Chart(_png(figure), _clip(alt), "gains-class-average.png")
