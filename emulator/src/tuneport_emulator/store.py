"""All of the emulator's state, in one object behind one lock.

Each surface keeps its records in its own *section*.  A section holds
*typed collections* — ``store.collection("gemini", "tunedModels", TunedModel.from_json)``,
a dict of :class:`Record` objects (dataclasses with enum states) — and plain
JSON entries (``store.section("vertex")``: indexes, settings).  The
*state* of the store is its plain-JSON form (dicts, lists, strings, numbers,
booleans, None; times are emulator seconds, enums are names): every typed
record rendered by its ``to_json``.  That keeps a snapshot a ``json.dumps``
away, and lets ``--state FILE`` keep it in SQLite
(:mod:`tuneport_emulator.persistence`): after each request the server calls
:meth:`Store.commit`, which hands the state to the attached saver.  A
restored state is decoded collection by collection, on first access, by the
decoder the surface passes to :meth:`Store.collection`.

Handlers take :attr:`Store.lock` around a whole read-check-write, so a request
either applies completely or not at all.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from tuneport_emulator.request_log import DEFAULT_REQUEST_LOG_SIZE, RequestLog

__all__ = ["DEFAULT_REQUEST_LOG_SIZE", "Record", "Store"]

#: How many unexpected handler exceptions are kept.
_INTERNAL_ERROR_LOG_SIZE = 100


class Record(Protocol):
    """A typed record of a collection: it renders itself as plain JSON for the state."""

    def to_json(self) -> dict[str, Any]:
        """The record as stored (plain JSON, decoded again by its collection's decoder)."""
        ...


R = TypeVar("R", bound=Record)


class Store:
    """The emulator's state: surface sections, counters, the request log, internal errors."""

    def __init__(self, *, request_log_size: int = DEFAULT_REQUEST_LOG_SIZE) -> None:
        #: Re-entrant so a helper can take it again inside a handler's transaction.
        self.lock = threading.RLock()
        self._data: dict[str, Any] = {"sections": {}, "counters": {}}
        #: (section, collection) -> the typed records of that collection, by key.
        self._typed: dict[tuple[str, str], dict[str, Any]] = {}
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
                self._saver(self._plain())

    def restore(self, data: dict[str, Any]) -> None:
        """Replace the records and counters (with a loaded state)."""
        with self.lock:
            self._data = {
                "sections": {name: dict(section) for name, section in data.get("sections", {}).items()},
                "counters": dict(data.get("counters", {})),
            }
            self._typed = {}  # decoded again on first access

    # --- records -------------------------------------------------------------------------

    def section(self, name: str) -> dict[str, Any]:
        """The plain-JSON entries of one surface (created empty).  Hold :attr:`lock`."""
        sections: dict[str, Any] = self._data["sections"]
        return sections.setdefault(name, {})  # type: ignore[no-any-return]

    def collection(self, section: str, name: str, decode: Callable[[dict[str, Any]], R]) -> dict[str, R]:
        """The typed records of collection ``name`` of ``section``, by key.  Hold :attr:`lock`.

        The first access after a restore decodes the stored JSON with
        ``decode``; from then on the records are the objects themselves
        (mutate them in place, add and delete keys).
        """
        key = (section, name)
        found = self._typed.get(key)
        if found is None:
            stored = self.section(section).pop(name, None) or {}
            found = {record_key: decode(value) for record_key, value in stored.items()}
            self._typed[key] = found
        return found

    def _plain(self) -> dict[str, Any]:
        """The state as plain JSON; typed records rendered, plain entries shared (not copied)."""
        sections: dict[str, dict[str, Any]] = {
            name: dict(section) for name, section in self._data["sections"].items()
        }
        for (section, name), records in self._typed.items():
            sections.setdefault(section, {})[name] = {key: r.to_json() for key, r in records.items()}
        return {"sections": sections, "counters": self._data["counters"]}

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
            self._typed = {}
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
            state = self._plain()
            sections = {
                name: {key: value for key, value in section.items() if value != {}}
                for name, section in state["sections"].items()
            }
            return copy.deepcopy(
                {
                    "sections": {name: section for name, section in sections.items() if section},
                    "counters": state["counters"],
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
