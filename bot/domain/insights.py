"""What a class struggled with, from its help requests: for the teacher to plan the next lesson.

No Discord, no SQL. Only counts and the mentors' private notes: never who asked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from bot.domain.text import normalise_text

LOW_RATING = 2  # a rating of 1 or 2 out of 5: "it didn't help much"
TOP = 5


@dataclass(frozen=True)
class RequestFacts:
    """One help request, as insights see it (no student id)."""

    topic: str
    aspect: str | None
    state: str
    created_at: datetime
    accepted_at: datetime | None
    rating: int | None
    debrief: str | None


@dataclass(frozen=True)
class Insights:
    """`/insights`: the summary of a subject's requests over a period."""

    requests: int
    topics: list[tuple[str, int]]  # most frequent first
    aspects: list[tuple[str, int]]
    median_wait: timedelta | None  # from asking to a mentor accepting
    unserved: int  # cancelled or expired before any mentor took it
    low_ratings: int
    debriefs: list[str]


def summarise(facts: Iterable[RequestFacts], top: int = TOP) -> Insights:
    """Counts per topic and aspect, the median time to a mentor, the unmet and the unhappy."""
    rows = list(facts)
    topics: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for row in rows:
        text = normalise_text(row.topic)
        if text:
            key = text.casefold()
            topics[key] += 1
            shown.setdefault(key, text)
    aspects = Counter((row.aspect or "no aspect named") for row in rows)
    waits = [
        (row.accepted_at - row.created_at).total_seconds()
        for row in rows
        if row.accepted_at is not None
    ]
    return Insights(
        requests=len(rows),
        topics=[(shown[k], n) for k, n in sorted(topics.items(), key=lambda kv: (-kv[1], kv[0]))][
            :top
        ],
        aspects=sorted(aspects.items(), key=lambda kv: (-kv[1], kv[0].casefold())),
        median_wait=timedelta(seconds=median(waits)) if waits else None,
        unserved=sum(
            1 for row in rows if row.accepted_at is None and row.state in ("cancelled", "expired")
        ),
        low_ratings=sum(1 for row in rows if row.rating is not None and row.rating <= LOW_RATING),
        debriefs=[row.debrief for row in rows if row.debrief],
    )
