"""The emulator's clock: emulator time, which jobs progress on.

Two modes:

* **scaled** (the default): emulator seconds pass ``speed`` times faster than
  wall-clock seconds, starting from the wall-clock time of construction, so
  timestamps look current and a small tuning job finishes in a second or two;
* **manual**: time stands still except when :meth:`EmulatorClock.advance`
  moves it, starting from a fixed instant so tests are reproducible.

Both modes accept :meth:`advance` (time never goes backwards).  Readers
compute job states from :meth:`now` on demand, so nothing runs in the
background.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

from tuneport_emulator.wire import format_timestamp

__all__ = ["DEFAULT_SPEED", "MANUAL_START", "MAX_TIME", "EmulatorClock"]

#: Emulator seconds per wall-clock second in scaled mode.  A 10-step job
#: (5 examples, batch 4, 5 epochs) takes 30 s of set-up plus 10 x 6 s of
#: steps = 90 emulator seconds, which is 1.5 s of wall time.
DEFAULT_SPEED = 60.0

#: Where a manual clock starts by default: 2024-06-01T00:00:00Z, when
#: gemini-1.5-flash-001-tuning was the current tunable model.
MANUAL_START = 1717200000.0

#: The last instant a timestamp can show, 9999-12-31T23:59:59Z: the clock never passes it.
MAX_TIME = 253402300799.0


class EmulatorClock:
    """Emulator time in seconds since the Unix epoch (thread-safe)."""

    def __init__(
        self, *, mode: str = "scaled", speed: float = DEFAULT_SPEED, start: float | datetime | None = None
    ) -> None:
        if mode not in ("scaled", "manual"):
            raise ValueError("mode must be 'scaled' or 'manual'")
        if not speed > 0:
            raise ValueError("speed must be positive")
        self._lock = threading.Lock()
        self._manual = mode == "manual"
        self.speed = float(speed)
        if isinstance(start, datetime):
            start = start.timestamp()
        if start is None:
            start = MANUAL_START if self._manual else time.time()
        self._start = float(start)
        self._wall_origin = time.monotonic()
        self._offset = 0.0

    @classmethod
    def manual(cls, start: float | datetime | None = None) -> EmulatorClock:
        """A clock that moves only by :meth:`advance` (default start: :data:`MANUAL_START`)."""
        return cls(mode="manual", start=start)

    @classmethod
    def scaled(cls, speed: float = DEFAULT_SPEED, start: float | datetime | None = None) -> EmulatorClock:
        """A clock running ``speed`` times faster than wall time (default start: now)."""
        return cls(mode="scaled", speed=speed, start=start)

    @property
    def mode(self) -> str:
        """``"manual"`` or ``"scaled"``."""
        return "manual" if self._manual else "scaled"

    def now(self) -> float:
        """The current emulator time (seconds since the epoch)."""
        with self._lock:
            return self._now()

    def _now(self) -> float:
        elapsed = 0.0 if self._manual else (time.monotonic() - self._wall_origin) * self.speed
        return self._start + elapsed + self._offset

    def advance(self, seconds: float) -> float:
        """Move emulator time forward by ``seconds``; return the new time.

        ``ValueError`` for a negative or NaN step, or one that would take the
        clock past :data:`MAX_TIME` (timestamps could no longer be written).
        """
        if not seconds >= 0:  # also refuses NaN
            raise ValueError("the clock only moves forward: seconds must be >= 0")
        with self._lock:
            if self._now() + float(seconds) > MAX_TIME:
                raise ValueError("the clock cannot move past 9999-12-31T23:59:59Z")
            self._offset += float(seconds)
        return self.now()

    def describe(self) -> dict[str, Any]:
        """The clock as JSON (for the admin surface)."""
        now = self.now()
        return {"mode": self.mode, "speed": self.speed, "now": format_timestamp(now), "epochSeconds": now}
