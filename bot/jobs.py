"""APScheduler wiring: one-shot timers, weekly posts and periodic sweeps.

The database is the source of truth; jobs only say *when* to look. Each job calls a handler that
re-reads the database, so a job that fires twice or late does no harm, and all jobs are rebuilt from
the database at start-up.

With a :class:`~bot.clock.ManualClock` (tests, the demo) the scheduler is started paused and
:meth:`Jobs.run_due` fires whatever is due at the clock's time, using the same triggers.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock

log = logging.getLogger(__name__)

# APScheduler logs every job added, removed, run and finished at INFO: with 10,000 open help
# requests that is tens of thousands of lines at start-up. One summary line says it better.
_PER_JOB_LINES = (
    "Scheduler started",  # said by our own summary line
    "Adding job tentatively",
    "Added job ",
    "Removed job ",
    "Running job ",
    "Job ",  # 'Job "..." executed successfully'
)


class _PerJobLines(logging.Filter):
    """Drops APScheduler's per-job INFO lines; warnings and errors pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or not str(record.msg).startswith(_PER_JOB_LINES)


_QUIET = _PerJobLines()

JobFunc = Callable[[], Awaitable[None]]
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# What a job's callable takes: nothing. APScheduler checks the arguments of every job it adds
# with inspect.signature, which for a partial works the signature out again from the method
# under it (~20 µs of a job's ~150); a callable that states its signature is answered at once.
_NO_ARGUMENTS = inspect.Signature()


class Jobs:
    """A thin, testable face over ``AsyncIOScheduler``."""

    def __init__(self, clock: Clock, *, manual: bool = False) -> None:
        self._clock = clock
        self._manual = manual
        self._before_each: Callable[[], Awaitable[object]] | None = None
        # Ids added before the scheduler starts: until then APScheduler keeps its jobs in a list
        # that every remove_job walks, and start-up (re)builds and cancels one timer per open
        # request (10,000 of them made that quadratic: seconds of CPU before the bot was ready).
        self._added_before_start: set[str] = set()
        scheduler_log = logging.getLogger(f"{__name__}.scheduler")
        for logger in (scheduler_log, logging.getLogger("apscheduler.executors.default")):
            if _QUIET not in logger.filters:
                logger.addFilter(_QUIET)
        self._scheduler = AsyncIOScheduler(
            logger=scheduler_log,
            timezone=UTC,
            # A job that missed its time while the bot was busy still runs (once).
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )

    def start(self, before_each: Callable[[], Awaitable[object]] | None = None) -> None:
        """Start firing jobs (paused with a manual clock: :meth:`run_due` drives them).

        ``before_each`` is awaited before every job: the bot passes ``wait_until_ready`` so a job
        due at start-up waits until the guilds are known.
        """
        self._before_each = before_each
        if not self._scheduler.running:
            self._scheduler.start(paused=self._manual)
            self._added_before_start.clear()
            log.info("scheduler started with %s", self.summary())

    def summary(self) -> str:
        """The scheduled jobs counted by kind (the id up to its first ``:``), for the log."""
        kinds = Counter(job_id.split(":", 1)[0] for job_id in self.job_ids())
        listing = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        return f"{sum(kinds.values())} jobs ({listing or 'none'})"

    def shutdown(self) -> None:
        """Stop the scheduler; running jobs are not waited for."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def at(self, job_id: str, when: datetime, func: JobFunc) -> None:
        """Run ``func`` once at ``when`` (at once if that is already past); replaces ``job_id``."""
        self._add(job_id, DateTrigger(run_date=when.astimezone(UTC), timezone=UTC), func)

    def weekly(self, job_id: str, zone: ZoneInfo, weekday: int, at: time, func: JobFunc) -> None:
        """Run ``func`` every week on ``weekday`` (0 = Monday) at local time ``at`` in ``zone``."""
        trigger = CronTrigger(
            day_of_week=_DAYS[weekday], hour=at.hour, minute=at.minute, timezone=zone
        )
        self._add(job_id, trigger, func)

    def daily(self, job_id: str, at: time, func: JobFunc) -> None:
        """Run ``func`` every day at ``at`` (UTC)."""
        self._add(job_id, CronTrigger(hour=at.hour, minute=at.minute, timezone=UTC), func)

    def every(self, job_id: str, seconds: float, func: JobFunc) -> None:
        """Run ``func`` every ``seconds``."""
        # The first run is one interval from *our* clock's now (APScheduler would use the wall's).
        first = self._clock.now() + timedelta(seconds=seconds)
        self._add(job_id, IntervalTrigger(seconds=seconds, start_date=first, timezone=UTC), func)

    def cancel(self, job_id: str) -> None:
        """Forget a job; no error if it is already gone."""
        if not self._scheduler.running:
            if job_id not in self._added_before_start:
                return  # never added: nothing to walk the pending list for
            self._added_before_start.discard(job_id)
        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(job_id)

    def next_run(self, job_id: str) -> datetime | None:
        """When a job fires next, or ``None`` if there is no such job."""
        job = self._scheduler.get_job(job_id)
        return None if job is None else job.next_run_time

    def job_ids(self) -> list[str]:
        """The ids of all scheduled jobs."""
        return [job.id for job in self._scheduler.get_jobs()]

    async def run_due(self) -> int:
        """Fire every job due at the clock's time (manual clock only); returns how many ran."""
        if not self._manual:
            raise RuntimeError("run_due is for a manual clock; the real scheduler fires by itself")
        ran = 0
        while True:
            now = self._clock.now()
            due = sorted(
                (
                    j
                    for j in self._scheduler.get_jobs()
                    if j.next_run_time and j.next_run_time <= now
                ),
                key=lambda j: j.next_run_time,
            )
            if not due:
                return ran
            for job in due:
                fired_at = job.next_run_time
                following = job.trigger.get_next_fire_time(fired_at, now)
                # Coalesce runs missed in one clock jump into this one, like the real scheduler.
                while following is not None and following <= now:
                    following = job.trigger.get_next_fire_time(following, now)
                try:
                    if following is None:
                        self._scheduler.remove_job(job.id)
                    else:
                        job.modify(next_run_time=following)
                except JobLookupError:
                    continue
                await job.func()
                ran += 1

    async def _run(self, job_id: str, func: JobFunc) -> None:
        """One job's run: after ``before_each``, and logged rather than raised if it fails."""
        try:
            if self._before_each is not None:
                await self._before_each()
            await func()
        except Exception:
            log.exception("scheduled job %s failed", job_id)

    def _add(self, job_id: str, trigger: BaseTrigger, func: JobFunc) -> None:
        if not self._scheduler.running:
            self._added_before_start.add(job_id)
        # A partial, not a closure: a third of the memory per timer, and there is one per open
        # request (APScheduler still sees a coroutine function through it).
        run = functools.partial(self._run, job_id, func)
        run.__signature__ = _NO_ARGUMENTS  # type: ignore[attr-defined]  # see _NO_ARGUMENTS
        if not self._manual:
            self._scheduler.add_job(run, trigger, id=job_id, replace_existing=True)
            return
        # The first run from *our* clock (APScheduler would compute it from the wall's).
        first = trigger.get_next_fire_time(None, self._clock.now())
        if first is None:
            self.cancel(job_id)  # never fires: gone, as a replaced job would be
        else:
            self._scheduler.add_job(
                run, trigger, id=job_id, replace_existing=True, next_run_time=first
            )
