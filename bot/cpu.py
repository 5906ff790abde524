"""Running the bot's threads on one CPU (``[ops] cpu``), an operator's choice on Linux.

A bot process runs Python on about one CPU at a time (the GIL), but its work is spread over
threads: the event loop and one thread per database connection. When the operating system puts
them on different CPUs, every hand-off between them is a wake-up across CPUs, and on a virtual
machine with an idle second CPU that costs more than the work handed off: measured on a 2-CPU
machine, a leaderboard took 1.8–1.9 ms of CPU spread over two CPUs and 0.8–0.9 ms on one
(docs/benchmarks-speed.md, "One CPU per bot process"). Pinning trades that for the OS's freedom
to move the bot, so it is off unless the operator names a CPU, and each bot process on a host
should get its own.

Linux applies an affinity to the thread that sets it and to every thread and process it starts
afterwards; the bot pins its main thread before it opens the store or starts the event loop.
The chart worker (matplotlib, tens of milliseconds per chart) goes back to every CPU the bot
was allowed, so a chart never competes with the event loop for its one CPU.
"""

from __future__ import annotations

import os

from bot.config import ConfigError

__all__ = ["allowed_before_pin", "pin_to_cpu", "unpin"]

# The CPUs this process was allowed before pin_to_cpu, for the processes it starts afterwards.
_before_pin: frozenset[int] | None = None


def pin_to_cpu(cpu: int) -> None:
    """Run the calling thread, and every thread and process it starts from now on, on ``cpu``.

    Call it before any other thread starts. Raises :class:`ConfigError` when this system cannot
    pin threads or ``cpu`` is not one this process may use.
    """
    global _before_pin
    if not hasattr(os, "sched_setaffinity"):
        raise ConfigError("ops.cpu: this system cannot pin a process to a CPU (Linux only)")
    allowed = frozenset(os.sched_getaffinity(0))
    if cpu not in allowed:
        raise ConfigError(f"ops.cpu: CPU {cpu} is not one this process may use {sorted(allowed)}")
    os.sched_setaffinity(0, {cpu})
    if _before_pin is None:
        _before_pin = allowed


def allowed_before_pin() -> frozenset[int] | None:
    """The CPUs this process could use before :func:`pin_to_cpu`; ``None`` if never pinned."""
    return _before_pin


def unpin(cpus: frozenset[int]) -> None:
    """Let the calling thread (a worker process's main thread) run on ``cpus`` again."""
    os.sched_setaffinity(0, cpus)
