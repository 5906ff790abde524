"""Rendered gains charts, kept by a digest of what they show (a page view re-renders only after
the numbers changed)."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.charts import Chart, ChartRenderer

CACHE_SIZE = 64


class ChartCache:
    """Rendered charts by a digest of their inputs (a few dozen PNGs at most)."""

    def __init__(self, renderer: ChartRenderer) -> None:
        self._renderer = renderer
        self._charts: OrderedDict[str, Chart] = OrderedDict()

    @staticmethod
    def key(scope: int, func: Callable[..., Chart], *args: Any) -> str:
        """The cache key (and image version) of ``func(*args)`` for one class (``scope``)."""
        return digest(scope, func.__name__, *args)

    def cached(self, scope: int, version: str) -> Chart | None:
        """A chart of this class already rendered under ``version``."""
        chart = self._charts.get(f"{scope}:{version}")
        return chart

    async def get(self, scope: int, func: Callable[..., Chart], *args: Any) -> Chart:
        """The chart for ``func(*args)`` in a class, rendered in the worker only when needed."""
        key = f"{scope}:{self.key(scope, func, *args)}"
        chart = self._charts.get(key)
        if chart is None:
            chart = await self._renderer.render(func, *args)
            self._charts[key] = chart
            while len(self._charts) > CACHE_SIZE:
                self._charts.popitem(last=False)
        else:
            self._charts.move_to_end(key)
        return chart

    async def close(self) -> None:
        """Stop the chart worker."""
        await self._renderer.close()


def digest(*parts: Any) -> str:
    """A short stable fingerprint of chart inputs."""
    text = json.dumps(parts, default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def png(chart: Chart) -> web.Response:
    """A chart as an image response (private: never cached by a shared proxy)."""
    return web.Response(
        body=chart.png, content_type="image/png", headers={"Cache-Control": "private, max-age=60"}
    )
