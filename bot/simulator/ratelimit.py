"""Discord's published REST rate limits, enforced by the simulator.

Every response carries ``X-RateLimit-Limit/-Remaining/-Reset/-Reset-After/-Bucket`` so
discord.py paces each bucket from the headers, as it does against Discord. A request over a
limit gets 429 with a JSON ``retry_after`` and ``X-RateLimit-Scope`` (``user`` for a route
bucket, ``global`` for the per-bot cap); discord.py sleeps and retries.

Buckets are per route *and* per top-level resource (channel, guild, webhook, interaction), so
creating messages in one channel is limited separately from another. The global cap (50 per
second) does not apply to interaction callbacks and follow-ups, as on Discord. Windows are
fixed: a bucket's window opens with its first request and closes ``per`` seconds later.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

# Routes authenticated by the token in the URL are exempt from the global cap.
_EXEMPT_PREFIXES = ("/interactions/", "/webhooks/")
# Path parameters that make separate buckets of one route (Discord's "major parameters").
_MAJOR_PARAMETERS = (
    "channel_id",
    "guild_id",
    "webhook_id",
    "webhook_token",
    "interaction_id",
    "interaction_token",
)


@dataclass(frozen=True)
class Limit:
    """``count`` requests per ``per`` seconds."""

    count: int
    per: float


@dataclass(frozen=True)
class RateLimits:
    """The limits a simulator enforces; defaults are Discord's published ones.

    Tests that want to see a limit without waiting seconds may shrink the windows.
    """

    global_cap: Limit = Limit(50, 1.0)
    message_create: Limit = Limit(5, 5.0)  # POST /channels/{channel_id}/messages, per channel
    route_default: Limit = Limit(50, 1.0)  # any other route, per route and major parameter
    routes: Mapping[str, Limit] = field(default_factory=dict)  # "POST /channels/{}/..." -> Limit

    def shortened(self, factor: float) -> RateLimits:
        """The same counts in windows ``factor`` times shorter: every limit still applies and
        discord.py still waits for each reset, just not for seconds (for tests of a script)."""

        def short(limit: Limit) -> Limit:
            return Limit(limit.count, limit.per / factor)

        return RateLimits(
            global_cap=short(self.global_cap),
            message_create=short(self.message_create),
            route_default=short(self.route_default),
            routes={route: short(limit) for route, limit in self.routes.items()},
        )

    def limit_for(self, route: str) -> Limit:
        """The bucket limit of a route template such as ``POST /channels/{channel_id}/messages``."""
        key = _shape(route)
        for name, limit in self.routes.items():
            if _shape(name) == key:
                return limit
        if key == "POST /channels/{}/messages":
            return self.message_create
        return self.route_default


@dataclass(frozen=True)
class RateLimitHit:
    """One 429 the simulator answered because a limit was exceeded."""

    route: str
    path: str
    scope: str  # "user" (a route bucket) or "global"
    retry_after: float
    at: float  # time.time()


@dataclass
class _Window:
    limit: Limit
    opened: float  # monotonic
    used: int = 0

    def expired(self, now: float) -> bool:
        return now >= self.opened + self.limit.per

    def reset_after(self, now: float) -> float:
        return max(0.0, self.opened + self.limit.per - now)


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go through, and the headers to send with the answer."""

    allowed: bool
    headers: dict[str, str]
    hit: RateLimitHit | None = None
    # Monotonic time until which the bot may be sleeping on this bucket (settle waits for it).
    busy_until: float = 0.0


class RateLimiter:
    """Per-route buckets plus the global cap; ``enabled=False`` only sends generous headers."""

    def __init__(self, limits: RateLimits | None = None, *, enabled: bool = True) -> None:
        self.limits = limits or RateLimits()
        self.enabled = enabled
        self.hits: list[RateLimitHit] = []
        self._buckets: dict[tuple[str, tuple[str, ...]], _Window] = {}
        self._global: _Window | None = None

    def check(self, route: str, path: str, params: Mapping[str, str]) -> Verdict:
        """Count a request to ``route`` (template) at ``path``; refuse it when over a limit."""
        bucket_hash = hashlib.md5(_shape(route).encode()).hexdigest()[:16]  # a label, not security
        if not self.enabled:
            return Verdict(True, _headers(Limit(50, 1.0), 49, 1.0, bucket_hash))
        now = time.monotonic()
        if not path.startswith(_EXEMPT_PREFIXES):
            glob = self._global
            if glob is None or glob.expired(now):
                glob = self._global = _Window(self.limits.global_cap, now)
            if glob.used >= glob.limit.count:
                return self._refuse(route, path, "global", glob.reset_after(now), bucket_hash, now)
        major = tuple(params[name] for name in _MAJOR_PARAMETERS if name in params)
        key = (_shape(route), major)
        window = self._buckets.get(key)
        if window is None or window.expired(now):
            window = self._buckets[key] = _Window(self.limits.limit_for(route), now)
        if window.used >= window.limit.count:
            return self._refuse(route, path, "user", window.reset_after(now), bucket_hash, now)
        window.used += 1
        if not path.startswith(_EXEMPT_PREFIXES):
            assert self._global is not None
            self._global.used += 1
        remaining = window.limit.count - window.used
        reset_after = window.reset_after(now)
        busy = now + reset_after if remaining == 0 else 0.0
        headers = _headers(window.limit, remaining, reset_after, bucket_hash)
        return Verdict(True, headers, busy_until=busy)

    def _refuse(
        self, route: str, path: str, scope: str, retry_after: float, bucket: str, now: float
    ) -> Verdict:
        # Never advertise 0: discord.py would retry at once and spin.
        retry_after = max(retry_after, 0.001)
        hit = RateLimitHit(route, path, scope, retry_after, time.time())
        self.hits.append(hit)
        headers = {
            "X-RateLimit-Limit": "0",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": bucket,
            "X-RateLimit-Scope": scope,
            "Retry-After": f"{retry_after:.3f}",
        }
        if scope == "global":
            headers["X-RateLimit-Global"] = "true"
        return Verdict(False, headers, hit, busy_until=now + retry_after)


def _headers(limit: Limit, remaining: int, reset_after: float, bucket: str) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit.count),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": bucket,
    }


def _shape(route: str) -> str:
    """A route with placeholder names dropped: ``POST /channels/{}/messages``."""
    method, _, path = route.strip().partition(" ")
    parts = ["{}" if p.startswith("{") else p for p in path.strip().split("/")]
    return f"{method.upper()} {'/'.join(parts)}"
