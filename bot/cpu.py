"""Running the bot's threads on one CPU (``[ops] cpu``), on Linux.

A bot process runs Python on about one CPU at a time (the GIL), but its work is spread over
threads: the event loop and one thread per database connection. When the operating system puts
them on different CPUs, every hand-off between them is a wake-up across CPUs, and on a virtual
machine with an idle second CPU that costs more than the work handed off: measured on a 2-CPU
machine, a leaderboard took 1.8–1.9 ms of CPU spread over two CPUs and 0.8–0.9 ms on one
(docs/benchmarks-speed.md, "One CPU per bot process").

So by default (``cpu = "auto"``) the bot takes a CPU of its own: the least busy one that no other
ClassMentor process on the host has claimed (a lock file per CPU, held for the process's life and
freed by the kernel when it ends), and moves to a quieter one when other work crowds it
(:mod:`bot.cpu_keeper`). With every CPU claimed it stays where the OS puts it, as with
``cpu = "off"``. An operator can also name the CPU (``cpu = 2``).

Linux applies an affinity to the thread that sets it and to every thread and process it starts
afterwards; the bot pins its main thread before it opens the store or starts the event loop.
The chart worker (matplotlib, tens of milliseconds per chart) goes back to every CPU the bot
was allowed, so a chart never competes with the event loop for its one CPU.
"""

from __future__ import annotations

import fcntl
import os
import random
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.config import ConfigError

__all__ = [
    "CpuClaim",
    "allowed_before_pin",
    "busy_shares",
    "can_pin",
    "claim_cpu",
    "move_to_cpu",
    "pin_automatically",
    "pin_to_cpu",
    "read_cpu_times",
    "unpin",
]

# The CPUs this process was allowed before it was pinned, for the processes it starts afterwards.
_before_pin: frozenset[int] | None = None

# How long the start-up looks at the CPUs to find the least busy one.
START_SAMPLE_S = 0.05


def can_pin() -> bool:
    """Whether this system lets a process choose its CPUs (Linux)."""
    return hasattr(os, "sched_setaffinity")


def pin_to_cpu(cpu: int) -> None:
    """Run the calling thread, and every thread and process it starts from now on, on ``cpu``.

    Call it before any other thread starts. Raises :class:`ConfigError` when this system cannot
    pin threads or ``cpu`` is not one this process may use.
    """
    if not can_pin():
        raise ConfigError("ops.cpu: this system cannot pin a process to a CPU (Linux only)")
    allowed = frozenset(os.sched_getaffinity(0))
    if cpu not in allowed:
        raise ConfigError(f"ops.cpu: CPU {cpu} is not one this process may use {sorted(allowed)}")
    _remember(allowed)
    os.sched_setaffinity(0, {cpu})


def move_to_cpu(cpu: int) -> None:
    """Move every thread of this process, already running or not, onto ``cpu``."""
    _remember(frozenset(os.sched_getaffinity(0)))
    # Twice: a thread started during the first pass by a thread not yet moved inherits the old
    # CPU; the second pass catches it.
    for _ in range(2):
        for tid in _thread_ids():
            try:
                os.sched_setaffinity(tid, {cpu})
            except ProcessLookupError:  # the thread ended meanwhile
                pass


def allowed_before_pin() -> frozenset[int] | None:
    """The CPUs this process could use before it was pinned; ``None`` if never pinned."""
    return _before_pin


def unpin(cpus: frozenset[int]) -> None:
    """Let the calling thread (a worker process's main thread) run on ``cpus`` again."""
    os.sched_setaffinity(0, cpus)


@dataclass
class CpuClaim:
    """This process's claim on one CPU: a lock no other ClassMentor process on the host gets
    while this one lives (the kernel frees it when the process ends, however it ends)."""

    cpu: int
    fd: int
    lock_dir: Path

    def release(self) -> None:
        """Give the CPU back (the keeper calls it after moving to another); once is enough."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def claim_cpu(cpus: Iterable[int], lock_dir: Path | None = None) -> CpuClaim | None:
    """Claim the first of ``cpus`` that no other process holds; ``None`` if all are held."""
    where = lock_dir or default_lock_dir()
    for cpu in cpus:
        fd = _open_lock(where / f"classmentor-cpu-{cpu}.lock")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return CpuClaim(cpu, fd, where)
    return None


def pin_automatically(lock_dir: Path | None = None) -> CpuClaim | None:
    """``cpu = "auto"``: claim the least busy free CPU and pin this thread to it.

    Returns the claim, or ``None`` when there is nothing to choose (one CPU allowed, or a system
    that cannot pin) or every CPU is claimed by another ClassMentor process.
    """
    if not can_pin():
        return None
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        return None
    first = read_cpu_times()
    time.sleep(START_SAMPLE_S)
    shares = busy_shares(first, read_cpu_times())
    # Least busy first; ties in random order, so that bots in separate containers (each with
    # its own lock directory) do not all start on the same CPU.
    order = sorted(allowed, key=lambda cpu: (round(shares.get(cpu, 0.0), 1), random.random()))
    claim = claim_cpu(order, lock_dir)
    if claim is not None:
        try:
            pin_to_cpu(claim.cpu)
        except OSError:
            claim.release()
            raise
    return claim


def default_lock_dir() -> Path:
    """Where the CPU claims of every ClassMentor process on this host meet."""
    return Path(tempfile.gettempdir())


# Per CPU: (busy, total) jiffies since boot.
CpuTimes = Mapping[int, tuple[int, int]]


def read_cpu_times() -> dict[int, tuple[int, int]]:
    """Each CPU's busy and total time so far, from ``/proc/stat``; empty where unreadable."""
    times: dict[int, tuple[int, int]] = {}
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            lines = stat.read().splitlines()
    except OSError:
        return times
    for line in lines:
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or name == "cpu":
            continue
        fields = [int(value) for value in rest.split()[:8]]
        user, nice, system, idle, iowait, irq, softirq, steal = fields + [0] * (8 - len(fields))
        busy = user + nice + system + irq + softirq + steal  # steal: the hypervisor took it
        times[int(name[3:])] = (busy, busy + idle + iowait)
    return times


def busy_shares(before: CpuTimes, after: CpuTimes) -> dict[int, float]:
    """How busy each CPU was between two readings, from 0 (idle) to 1."""
    shares: dict[int, float] = {}
    for cpu, (busy, total) in after.items():
        if cpu not in before:
            continue
        elapsed = total - before[cpu][1]
        if elapsed > 0:
            shares[cpu] = min(1.0, max(0.0, (busy - before[cpu][0]) / elapsed))
    return shares


def _remember(allowed: frozenset[int]) -> None:
    global _before_pin
    if _before_pin is None:
        _before_pin = allowed


def _thread_ids() -> list[int]:
    return [int(tid) for tid in os.listdir("/proc/self/task")]


def _open_lock(path: Path) -> int:
    # Without O_CREAT when it exists: another user's file in a sticky /tmp cannot be opened
    # with O_CREAT where fs.protected_regular is set, and a read-only descriptor can hold a lock.
    while True:
        try:
            return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            pass
        try:
            return os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            continue  # another process created it between the two
