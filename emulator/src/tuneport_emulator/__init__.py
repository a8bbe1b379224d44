"""The embedded emulator: Google's tuning APIs on a local port, for tests and offline CI.

It speaks the same wire protocol as the services (in the sense of Google's
Pub/Sub or Firestore emulators), so official clients work against it
unmodified.  It is an ASGI application served by uvicorn (see docs/emulator.md,
"The HTTP server"); the HTTP stack is imported when an :class:`Emulator` is
built, not by ``import tuneport_emulator``.  Nothing here is imported by
``import tuneport``, and it imports nothing of tuneport's.

    >>> from tuneport_emulator import Emulator, EmulatorClock
    >>> with Emulator(clock=EmulatorClock.manual()) as emulator:      # doctest: +SKIP
    ...     base_url = emulator.url
    ...     emulator.advance(600)

See docs/emulator.md for the routes, the time model, the answer rule and
what is emulated faithfully or simplified.
"""

from __future__ import annotations

from tuneport_emulator.clock import DEFAULT_SPEED, EmulatorClock
from tuneport_emulator.errors import EmulatorConfigError, EmulatorError, StateFileError, StateFileInUse
from tuneport_emulator.instance import DEFAULT_SURFACES, Emulator, is_loopback, serve
from tuneport_emulator.routing import Request, Response, Router
from tuneport_emulator.store import Store
from tuneport_emulator.surface import EmulatorContext, Surface
from tuneport_emulator.wire import ApiError

__all__ = [
    "DEFAULT_SPEED",
    "DEFAULT_SURFACES",
    "ApiError",
    "Emulator",
    "EmulatorClock",
    "EmulatorContext",
    "EmulatorConfigError",
    "EmulatorError",
    "Request",
    "Response",
    "Router",
    "StateFileError",
    "StateFileInUse",
    "Store",
    "Surface",
    "is_loopback",
    "serve",
]
