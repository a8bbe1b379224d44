"""The request log: what clients sent, kept within a fixed memory budget.

Each entry is stored as its compact JSON encoding (bytes), so what the log
holds is exactly what it counts: at most :data:`DEFAULT_REQUEST_LOG_SIZE`
entries and :data:`REQUEST_LOG_BYTES` bytes together, the oldest dropped
first.  A body whose encoding exceeds :data:`MAX_LOGGED_BODY_BYTES` is kept as
a summary, ``{"omitted": "<n> bytes", "keys": [...]}`` (its size and, for an
object, its first field names), never in full.  :meth:`RequestLog.json_array`
hands the stored encodings to the admin route as they are, so listing the
log costs no more than the log itself.

(Before: parsed bodies of up to 4 MiB for 1,000 entries, deep-copied on every
read: 40 POSTs of 4 MiB held 3.9 GB, and ``GET /_emulator/requests`` 10 GB.)
"""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

import orjson

__all__ = [
    "DEFAULT_REQUEST_LOG_SIZE",
    "MAX_LOGGED_BODY_BYTES",
    "REQUEST_LOG_BYTES",
    "RequestLog",
    "loggable_body",
]

#: How many requests the log keeps (the oldest are dropped first).
DEFAULT_REQUEST_LOG_SIZE = 1000
#: The largest body (its compact JSON encoding, or the raw request body) kept in full.
MAX_LOGGED_BODY_BYTES = 64 * 1024
#: What all entries together may take (their compact JSON encodings); the oldest go first.
REQUEST_LOG_BYTES = 16 * 1024 * 1024
#: How many field names a summarized body keeps, and how long each may be.
_SUMMARY_KEYS = 20
_SUMMARY_KEY_CHARS = 100


def loggable_body(body: Any, raw_size: int) -> Any:
    """What the server should hand the log for a body of ``raw_size`` bytes.

    A raw body larger than :data:`MAX_LOGGED_BODY_BYTES` is summarized before
    anything encodes it (its parsed form may be far larger than its bytes).
    """
    if raw_size > MAX_LOGGED_BODY_BYTES:
        return _summary(body, raw_size)
    return body


def _summary(body: Any, size: int) -> dict[str, Any]:
    summary: dict[str, Any] = {"omitted": f"{size} bytes"}
    if isinstance(body, dict):
        summary["keys"] = [str(key)[:_SUMMARY_KEY_CHARS] for key in list(body)[:_SUMMARY_KEYS]]
    return summary


def _name_of_type(value: Any) -> str:
    return f"<{type(value).__name__}>"


# Compact, and total: a value JSON cannot hold is named, not an error (the log never fails a
# request).  ASCII escapes keep lone surrogates (which UTF-8 cannot carry) round-tripping.
# One encoder for every entry: json.dumps with options builds a new one on each call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_name_of_type)


def _encode(value: Any) -> bytes:
    return _ENCODER.encode(value).encode("ascii")


def _encode_fields(fields: dict[str, Any]) -> bytes:
    """An entry without its body: the server's own strings and numbers, which orjson writes faster."""
    try:
        return orjson.dumps(fields)
    except (orjson.JSONEncodeError, TypeError):  # a lone surrogate, an integer beyond 64 bits…
        return _encode(fields)


class RequestLog:
    """A bounded, thread-safe log of requests, oldest first; each entry gets a ``seq`` number."""

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_REQUEST_LOG_SIZE,
        max_bytes: int = REQUEST_LOG_BYTES,
        max_body_bytes: int = MAX_LOGGED_BODY_BYTES,
    ) -> None:
        if max_entries < 0 or max_bytes < 0 or max_body_bytes < 0:
            raise ValueError("request log bounds must be >= 0")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_body_bytes = max_body_bytes
        self._entries: deque[bytes] = deque()
        self._bytes = 0
        self._seq = 0
        self._lock = threading.Lock()

    def append(self, entry: dict[str, Any]) -> None:
        """Add one request (its ``body`` summarized if too large), dropping the oldest beyond the bounds."""
        rest = dict(entry)
        has_body = "body" in rest
        body = rest.pop("body", None)
        encoded_body = b"null" if body is None else _encode(body)  # encoded once, spliced in below
        if len(encoded_body) > self.max_body_bytes:
            encoded_body = _encode(_summary(body, len(encoded_body)))
        with self._lock:
            self._seq += 1
            encoded = _encode_fields({"seq": self._seq, **rest})
            if has_body:
                encoded = encoded[:-1] + b',"body":' + encoded_body + b"}"
            self._entries.append(encoded)
            self._bytes += len(encoded)
            while self._entries and (len(self._entries) > self.max_entries or self._bytes > self.max_bytes):
                self._bytes -= len(self._entries.popleft())

    def entries(self) -> list[dict[str, Any]]:
        """The logged requests, oldest first (fresh copies)."""
        with self._lock:
            stored = list(self._entries)
        return [json.loads(encoded) for encoded in stored]

    def json_array(self) -> bytes:
        """The logged requests as one JSON array (the stored encodings, joined)."""
        with self._lock:
            return b"[" + b",".join(self._entries) + b"]"

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """What the entries take together (their encodings' bytes)."""
        with self._lock:
            return self._bytes

    def clear(self) -> None:
        """Drop every entry (``seq`` goes on counting)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def reset(self) -> None:
        """Drop every entry and start ``seq`` from 1 again."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self._seq = 0
