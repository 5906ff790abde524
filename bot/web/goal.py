"""The class goal's meter, for the teacher's overview and the projector (from the goals service)."""

from __future__ import annotations

from typing import Any

from bot.domain.goals import amount
from bot.web.access import Dashboard


async def goal_meter(dash: Dashboard, guild_id: int) -> dict[str, Any] | None:
    """The open goal as plain data (what, how far, the reward), or ``None`` without one."""
    progress = await dash.services.goals.progress(guild_id)
    if progress is None:
        return None
    goal, value = progress.goal, progress.value
    share = 0.0 if goal.target <= 0 else max(0.0, min(1.0, value / goal.target))
    return {
        "label": goal.metric.label,
        "value": amount(goal.metric, value),
        "target": amount(goal.metric, goal.target),
        "percent": int(share * 100 + 1e-9),
        "reward": goal.reward,
    }
