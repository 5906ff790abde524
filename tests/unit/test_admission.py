"""The per-person burst limit, on its own (monotonic time passed in)."""

from __future__ import annotations

from bot.admission import BurstLimiter


def test_a_person_gets_the_limit_then_is_refused_until_the_window_passes() -> None:
    limiter = BurstLimiter(limit=3, window_s=10.0)
    assert [limiter.allow(1, now=t) for t in (0.0, 1.0, 2.0, 3.0)] == [True, True, True, False]
    assert limiter.allow(2, now=3.0)  # someone else is not affected
    assert not limiter.allow(1, now=9.0)  # refusals are not counted, but the window still holds
    assert limiter.allow(1, now=10.5)  # the first one left the window


def test_after_a_quiet_spell_a_person_gets_the_full_allowance_again() -> None:
    limiter = BurstLimiter(limit=2, window_s=1.0)
    assert [limiter.allow(7, now=0.0) for _ in range(3)] == [True, True, False]
    assert [limiter.allow(7, now=5.0) for _ in range(3)] == [True, True, False]
