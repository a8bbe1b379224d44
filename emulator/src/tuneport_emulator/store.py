"""All of the emulator's state, in one object behind one lock.

Every record is plain JSON (dicts, lists, strings, numbers, booleans, None):
times are emulator seconds, enums are names.  That keeps a snapshot a
``json.dumps`` away, and lets ``--state FILE`` keep it in SQLite
(:mod:`tuneport_emulator.persistence`): after each request the server calls
:meth:`Store.commit`, which hands the state to the attached saver.

Each surface keeps its records in its own *section* (``store.section("gemini")``).
Handlers take :attr:`Store.lock` around a whole read-check-write, so a request
either applies completely or not at all.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from tuneport_emulator.request_log import DEFAULT_REQUEST_LOG_SIZE, RequestLog

__all__ = ["DEFAULT_REQUEST_LOG_SIZE", "Store"]

#: How many unexpected handler exceptions are kept.
_INTERNAL_ERROR_LOG_SIZE = 100


class Store:
    """The emulator's state: surface sections, counters, the request log, internal errors."""

    def __init__(self, *, request_log_size: int = DEFAULT_REQUEST_LOG_SIZE) -> None:
        #: Re-entrant so a helper can take it again inside a handler's transaction.
        self.lock = threading.RLock()
        self._data: dict[str, Any] = {"sections": {}, "counters": {}}
        #: The bounded request log (:mod:`tuneport_emulator.request_log`); it has its own lock.
        self.request_log = RequestLog(max_entries=request_log_size)
        self._internal_errors: deque[dict[str, Any]] = deque(maxlen=_INTERNAL_ERROR_LOG_SIZE)
        self._saver: Callable[[dict[str, Any]], object] | None = None
        #: Called after every reset (Cloud Storage deletes the object files no record refers to).
        self._reset_listeners: list[Callable[[], object]] = []

    # --- persistence ---------------------------------------------------------------------

    def attach_saver(self, saver: Callable[[dict[str, Any]], object] | None) -> None:
        """Have :meth:`commit` pass the state (records and counters) to ``saver``."""
        with self.lock:
            self._saver = saver

    def commit(self) -> None:
        """Make the current state durable (a no-op without a saver); called after each request."""
        with self.lock:
            if self._saver is not None:
                self._saver(self._data)

    def restore(self, data: dict[str, Any]) -> None:
        """Replace the records and counters (with a loaded state)."""
        with self.lock:
            self._data = {
                "sections": dict(data.get("sections", {})),
                "counters": dict(data.get("counters", {})),
            }

    # --- records -------------------------------------------------------------------------

    def section(self, name: str) -> dict[str, Any]:
        """The mutable records of one surface (created empty).  Hold :attr:`lock`."""
        sections: dict[str, Any] = self._data["sections"]
        return sections.setdefault(name, {})  # type: ignore[no-any-return]

    def next_number(self, counter: str) -> int:
        """The next value (from 1) of a named counter; counters are part of the state."""
        with self.lock:
            counters: dict[str, int] = self._data["counters"]
            counters[counter] = counters.get(counter, 0) + 1
            return counters[counter]

    def reset(self) -> None:
        """Forget every record, counter, logged request and internal error."""
        with self.lock:
            self._data = {"sections": {}, "counters": {}}
            self.request_log.reset()
            self._internal_errors.clear()
            for listener in self._reset_listeners:
                listener()

    def on_reset(self, listener: Callable[[], object]) -> None:
        """Have :meth:`reset` call ``listener`` (with the lock held) once the records are gone."""
        with self.lock:
            self._reset_listeners.append(listener)

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the records and counters (plain JSON).

        Sections and collections with nothing in them are left out: readers
        create them on first access, which changes no record.
        """
        with self.lock:
            sections = {
                name: {key: value for key, value in section.items() if value != {}}
                for name, section in self._data["sections"].items()
            }
            return copy.deepcopy(
                {
                    "sections": {name: section for name, section in sections.items() if section},
                    "counters": self._data["counters"],
                }
            )

    # --- request log --------------------------------------------------------------------

    def log_request(self, entry: dict[str, Any]) -> None:
        """Append one request to the bounded log (it gets a ``seq`` number; a large body is summarized)."""
        self.request_log.append(entry)

    def requests(self) -> list[dict[str, Any]]:
        """The logged requests, oldest first (copies)."""
        return self.request_log.entries()

    def clear_requests(self) -> None:
        """Empty the request log."""
        self.request_log.clear()

    # --- internal errors ----------------------------------------------------------------

    def record_internal_error(self, entry: dict[str, Any]) -> None:
        """Keep an unexpected handler exception (tests assert there are none)."""
        with self.lock:
            self._internal_errors.append(entry)

    @property
    def internal_errors(self) -> list[dict[str, Any]]:
        """Unexpected exceptions raised by handlers (each became a 500 INTERNAL reply)."""
        with self.lock:
            return list(self._internal_errors)
