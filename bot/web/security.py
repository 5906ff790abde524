"""Headers every response carries, the CSRF check on every form, the log-in rate limit."""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp_session import Session, get_session

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CSRF_FIELD = "csrf_token"

# No inline script or style anywhere: the pages' few lines of JavaScript live in /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Add the CSP and friends to every answer, errors included."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(SECURITY_HEADERS)
        raise
    if not response.prepared:  # a stream (server-sent events) sent its headers itself
        response.headers.update(SECURITY_HEADERS)
    if "Cache-Control" not in response.headers and not response.prepared:
        response.headers["Cache-Control"] = "no-store"
    return response


def csrf_token(session: Session) -> str:
    """The session's CSRF token (made on first use); every form carries it."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


@web.middleware
async def csrf_protect(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a state-changing request whose form does not carry the session's token."""
    if request.method in _UNSAFE_METHODS:
        session = await get_session(request)
        expected = session.get(CSRF_FIELD)
        form = await request.post()
        sent = form.get(CSRF_FIELD)
        if (
            not isinstance(expected, str)
            or not isinstance(sent, str)
            or not secrets.compare_digest(expected, sent)
        ):
            raise web.HTTPForbidden(
                text="This form has expired or did not come from ClassMentor. Go back, reload "
                "the page and try again."
            )
    return await handler(request)


class RateLimiter:
    """At most ``limit`` events per ``window_s`` seconds per key (a sliding window)."""

    def __init__(
        self, limit: int, window_s: float, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._now = now
        self._events: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        """Count one event for ``key``; ``False`` when it is over the limit."""
        now = self._now()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window_s:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        if len(self._events) > 10_000:  # forget idle keys so memory stays bounded
            for stale in [k for k, v in self._events.items() if not v]:
                del self._events[stale]
        return True

    def retry_after(self, key: str) -> int:
        """Whole seconds until ``key`` may try again."""
        events = self._events.get(key)
        if not events:
            return 0
        return max(1, int(events[0] + self.window_s - self._now()) + 1)
