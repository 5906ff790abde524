"""What the bot counts for operators, exposed on ``/metrics`` in Prometheus' text format.

One :class:`BotMetrics` per bot process (its own registry: no global state), updated at three
explicit points: the command tree's admission (every command, button and form), the one error
path (what went wrong), and the first answer to an interaction (how long Discord waited).
Gauges that live in the database (open help requests, the queue) are read at scrape time.

prometheus_client (pure Python, no dependencies, kept by the Prometheus project) writes the
exposition format, so escaping, histogram buckets and content negotiation are not ours to get
right.
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Discord allows 3 s to acknowledge; the watchdog defers at 2 s. Buckets around both.
ACK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0)
# Outcomes of an interaction that did not go as the person wanted.
FAILURES = ("refused", "user_error", "store_error", "error")
_DIGITS = re.compile(r":\d.*$")


def component_family(custom_id: str) -> str:
    """A button's or form's metric label: its custom id without the record ids.

    ``help:accept:42`` -> ``help:accept``; ids would make one time series per request.
    """
    return _DIGITS.sub("", custom_id)[:60] or "component"


class BotMetrics:
    """Counters and gauges of one bot process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.interactions = Counter(
            "classmentor_interactions",
            "Commands, button presses and forms admitted, by command",
            ["command"],
            registry=self.registry,
        )
        self.failures = Counter(
            "classmentor_interaction_failures",
            "Interactions answered with a refusal or an error, by command and outcome",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.ack_latency = Histogram(
            "classmentor_ack_latency_seconds",
            "Time from the interaction's creation to the bot's first answer (Discord allows 3 s)",
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "classmentor_discord_rate_limited",
            "HTTP 429 answers from Discord seen by the bot, by scope",
            ["scope"],
            registry=self.registry,
        )
        self.open_requests = Gauge(
            "classmentor_help_requests_open",
            "Help requests not yet closed in this process's classes, by state",
            ["state"],
            registry=self.registry,
        )
        self.queue_length = Gauge(
            "classmentor_help_queue_length",
            "Help requests waiting for a free mentor in this process's classes",
            registry=self.registry,
        )
        self.shard_connected = Gauge(
            "classmentor_gateway_connected",
            "1 while the shard's gateway session is connected",
            ["shard"],
            registry=self.registry,
        )
        self.database_up = Gauge(
            "classmentor_database_up", "1 when the database answered", registry=self.registry
        )

    def admitted(self, command: str) -> None:
        """An interaction entered the bot."""
        self.interactions.labels(command).inc()

    def failed(self, command: str, outcome: str) -> None:
        """An interaction was refused (burst limit) or ended on the error path."""
        if outcome not in FAILURES:
            raise ValueError(f"unknown outcome {outcome!r}; one of {FAILURES}")
        self.failures.labels(command, outcome).inc()

    def acknowledged(self, seconds: float) -> None:
        """The first answer to an interaction went out ``seconds`` after Discord created it."""
        self.ack_latency.observe(max(0.0, seconds))

    def discord_rate_limited(self, scope: str) -> None:
        """Discord answered 429 (``scope``: user, global, shared)."""
        self.rate_limited.labels(scope or "unknown").inc()

    def exposition(self) -> bytes:
        """The current values in Prometheus' text format."""
        return generate_latest(self.registry)
