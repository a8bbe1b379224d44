"""Clocks and polling schedules for ``wait()``.

The clock is injectable so tests (and the contract kit) can run a long wait
in no time: a :class:`ManualClock` advances only when someone sleeps on it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Clock", "ManualClock", "PollPolicy", "SystemClock"]


class Clock(Protocol):
    """Time as the client sees it."""

    def monotonic(self) -> float:
        """Seconds on a monotonic scale."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for *seconds*."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Suspend for *seconds*."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        import asyncio  # here, not at import: the blocking client never loads asyncio (~30 ms)

        await asyncio.sleep(max(seconds, 0))


class ManualClock:
    """A clock that only moves when slept on or :meth:`advance`\\ d (for tests)."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0)

    async def asleep(self, seconds: float) -> None:
        import asyncio

        self.sleep(seconds)
        await asyncio.sleep(0)  # still yield, so other tasks run


@dataclass(frozen=True)
class PollPolicy:
    """Intervals between polls: ``initial``, growing by ``multiplier`` up to ``maximum``.

    The pause after poll number *n* (from 0) is ``min(maximum, initial *
    multiplier ** n)``.  The intervals must be positive, ``maximum`` at least
    ``initial`` and ``multiplier`` at least 1 (``ValueError`` otherwise).
    """

    initial: float = 5.0
    """Seconds after the first poll."""
    multiplier: float = 1.5
    """Growth of the pause per poll (≥ 1)."""
    maximum: float = 60.0
    """The longest pause, in seconds (≥ ``initial``)."""

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.maximum < self.initial or self.multiplier < 1:
            raise ValueError("poll intervals must be positive, growing, and maximum ≥ initial")

    @classmethod
    def fixed(cls, interval: float) -> PollPolicy:
        """Poll every *interval* seconds."""
        return cls(initial=interval, multiplier=1.0, maximum=interval)

    @classmethod
    def coerce(cls, poll: float | PollPolicy | None) -> PollPolicy:
        """Accept a number (fixed interval), a policy, or ``None`` (the default)."""
        if poll is None:
            return cls()
        if isinstance(poll, PollPolicy):
            return poll
        return cls.fixed(float(poll))

    def interval(self, poll_number: int) -> float:
        """Seconds to wait after poll number *poll_number* (0-based)."""
        return min(self.maximum, self.initial * self.multiplier**poll_number)
