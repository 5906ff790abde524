"""Class goals: a metric, a target and a reward the teacher grants when the class gets there.

No Discord, no SQL: the metrics' meaning, input checks and the progress bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.text import has_visible, normalise_text

REWARD_MAX = 200
TARGET_MAX = 10_000
BAR_WIDTH = 10


class GoalMetric(StrEnum):
    """What a class goal counts (from the moment it is set)."""

    SESSIONS = "sessions"
    STUDENTS_HELPED = "students_helped"
    STARS = "stars"
    AVERAGE_GAIN = "average_gain"

    @property
    def label(self) -> str:
        """The metric in a sentence: "12 confirmed help sessions"."""
        return METRIC_LABELS[self]


METRIC_LABELS = {
    GoalMetric.SESSIONS: "confirmed help sessions",
    GoalMetric.STUDENTS_HELPED: "different students helped",
    GoalMetric.STARS: "gold stars",
    GoalMetric.AVERAGE_GAIN: "points of class average gain",
}


class GoalState(StrEnum):
    """Where a goal is: open until reached, cancelled or past its deadline."""

    OPEN = "open"
    REACHED = "reached"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Goal:
    """A class goal."""

    id: int
    guild_id: int
    metric: GoalMetric
    target: float
    reward: str
    deadline: datetime | None
    set_by: int | None
    set_at: datetime
    state: GoalState
    closed_at: datetime | None = None


def parse_metric(text: str) -> GoalMetric:
    """A metric by its name (as the command's choices give it); ``ValueError`` otherwise."""
    try:
        return GoalMetric(text.strip().casefold())
    except ValueError:
        names = ", ".join(m.value for m in GoalMetric)
        raise ValueError(f"Unknown goal metric `{text[:30]}`. Pick one of: {names}.") from None


def check_target(metric: GoalMetric, target: float) -> float:
    """A positive target; whole numbers for counts."""
    if not target > 0:
        raise ValueError("A goal's target must be more than zero.")
    if target > TARGET_MAX:
        raise ValueError(f"A goal's target can be at most {TARGET_MAX}.")
    if metric is not GoalMetric.AVERAGE_GAIN and target != int(target):
        raise ValueError(f"Count {metric.label} in whole numbers.")
    return float(target)


def clean_reward(text: str) -> str:
    """The reward in the teacher's words, e.g. "15 minutes of free reading time"."""
    reward = normalise_text(text)
    if not has_visible(reward):
        raise ValueError("Name the reward, e.g. `15 minutes of free reading time`.")
    if len(reward) > REWARD_MAX:
        raise ValueError(f"A reward is at most {REWARD_MAX} characters.")
    return reward


def reached(value: float, target: float) -> bool:
    """Whether the class got there."""
    return value >= target


def amount(metric: GoalMetric, value: float) -> str:
    """A metric's value as shown: whole counts, one decimal for a gain."""
    if metric is GoalMetric.AVERAGE_GAIN:
        return f"{value:+.1f}"
    return f"{int(value)}"


def progress_bar(value: float, target: float, width: int = BAR_WIDTH) -> str:
    """``▰▰▰▰▰▰▱▱▱▱ 60%``: never below empty or above full."""
    share = 0.0 if target <= 0 else max(0.0, min(1.0, value / target))
    filled = int(share * width + 1e-9)
    return "▰" * filled + "▱" * (width - filled) + f" {int(share * 100 + 1e-9)}%"


def progress_line(goal: Goal, value: float) -> str:
    """``▰▰▰▱▱▱▱▱▱▱ 30% · 3/10 confirmed help sessions → **free reading time**``."""
    return (
        f"{progress_bar(value, goal.target)} · {amount(goal.metric, value)}"
        f"/{amount(goal.metric, goal.target)} {goal.metric.label} → **{goal.reward}**"
    )
