"""Keeping a bot that chose its own CPU (``cpu = "auto"``) off a crowded one.

A pinned bot cannot be moved by the operating system, so when other work settles on its CPU
(another container's pinned process, a job pinned by its operator) while another CPU idles, the
bot would share a busy CPU for nothing. Unpinned work is not the case: the OS moves that to the
idle CPU by itself. Every few seconds the keeper compares its CPU's load, less the bot's own,
with the others', and moves the bot when its CPU stays crowded and another stays nearly idle.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.config import CpuChoice
from bot.cpu import (
    CpuClaim,
    busy_shares,
    can_pin,
    claim_cpu,
    move_to_cpu,
    pin_automatically,
    pin_to_cpu,
    read_cpu_times,
)

__all__ = ["CpuKeeper", "Sample", "quieter_cpu", "sample", "take_a_cpu"]

log = logging.getLogger(__name__)

# Other work on the bot's CPU that makes it crowded, and the most a CPU may be busy to take the
# bot instead; far apart, so the bot does not move back and forth between two half-busy CPUs.
CROWDED = 0.5
NEARLY_IDLE = 0.2
# Seconds between looks, plus up to JITTER_S more at random: two bots crowding each other in
# separate containers (which do not see each other's claims) look at different moments, so one
# moves and the other then finds its CPU free.
INTERVAL_S = 5.0
JITTER_S = 2.0


def quieter_cpu(current: int, shares: Mapping[int, float], own_share: float) -> int | None:
    """Where to move: the least busy other CPU when other work crowds ``current``, else ``None``.

    ``shares`` is each allowed CPU's busy share since the last look; ``own_share`` how much of a
    CPU this process used in that time (all of it on ``current``).
    """
    others_here = shares.get(current, 0.0) - own_share
    if others_here < CROWDED:
        return None
    quiet = [cpu for cpu, share in shares.items() if cpu != current and share <= NEARLY_IDLE]
    return min(quiet, key=lambda cpu: shares[cpu]) if quiet else None


@dataclass(frozen=True)
class Sample:
    """One look at the CPUs: when, this process's CPU time so far, each CPU's times so far."""

    at: float
    process_cpu: float
    times: Mapping[int, tuple[int, int]]


class CpuKeeper:
    """Moves this process to a quieter CPU when its claimed one stays crowded (a daemon thread)."""

    def __init__(self, claim: CpuClaim, allowed: frozenset[int]) -> None:
        self._claim = claim
        self._allowed = allowed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-keeper", daemon=True)

    @property
    def cpu(self) -> int:
        """The CPU the bot runs on now."""
        return self._claim.cpu

    def start(self) -> None:
        """Start looking, in a thread of its own (pinned with the others, it moves with them)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop looking and give the CPU back."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._claim.release()

    def look(self, before: Sample, now: Sample, crowded_before: bool) -> bool:
        """One look since ``before``: whether the CPU is crowded with a quieter one to go to.

        Moves the process there when that was so at the last look too (``crowded_before``).
        """
        elapsed = now.at - before.at
        if elapsed <= 0:
            return crowded_before
        shares = {
            cpu: share
            for cpu, share in busy_shares(before.times, now.times).items()
            if cpu in self._allowed
        }
        own = (now.process_cpu - before.process_cpu) / elapsed
        target = quieter_cpu(self._claim.cpu, shares, own)
        if target is None or not crowded_before:
            return target is not None
        claim = claim_cpu([target], self._claim.lock_dir)
        if claim is None:  # another ClassMentor process took it first
            return True
        try:
            move_to_cpu(target)
        except OSError:
            claim.release()
            raise
        log.info(
            "moved to CPU %d: other work kept CPU %d %d %% busy",
            target,
            self._claim.cpu,
            round(100 * (shares[self._claim.cpu] - own)),
        )
        self._claim.release()
        self._claim = claim
        return False

    def _run(self) -> None:
        last = sample()
        crowded = False
        while not self._stop.wait(INTERVAL_S + random.uniform(0, JITTER_S)):
            now = sample()
            try:
                crowded = self.look(last, now, crowded)
            except OSError as exc:  # /proc gone or the move refused: stay where we are
                log.warning("cannot look at the CPUs (%s); staying on CPU %d", exc, self.cpu)
                return
            last = now


def sample() -> Sample:
    """A look at the CPUs now."""
    times = os.times()
    return Sample(time.monotonic(), times.user + times.system, read_cpu_times())


def take_a_cpu(choice: CpuChoice, lock_dir: Path | None = None) -> CpuKeeper | None:
    """Pin this process to its CPU as ``ops.cpu`` says; with ``"auto"``, the keeper that moves it.

    Call it before the process starts other threads (the store's, the event loop's executor).
    Raises :class:`ConfigError` for a named CPU this process may not use. ``lock_dir``: where
    the claims of the host's ClassMentor processes meet (default: the temporary directory).
    """
    if isinstance(choice, int):
        pin_to_cpu(choice)
        log.info("running on CPU %d (ops.cpu)", choice)
        return None
    if choice == "off" or not can_pin():
        return None
    allowed = frozenset(os.sched_getaffinity(0))
    try:
        claim = pin_automatically(lock_dir)
    except OSError as exc:  # a read-only temporary directory, a CPU set changed meanwhile
        log.warning("cannot take a CPU of its own (%s); the OS places this bot", exc)
        return None
    if claim is None:
        if len(allowed) > 1:
            log.info("every CPU already runs a ClassMentor process; the OS places this one")
        return None
    log.info("running on CPU %d of %s (ops.cpu = auto)", claim.cpu, sorted(allowed))
    keeper = CpuKeeper(claim, allowed)
    keeper.start()
    return keeper
