"""A bound on request heads (request line and headers), which uvicorn's httptools protocol lacks.

uvicorn's h11 protocol refuses a head larger than ``h11_max_incomplete_event_size``,
but its httptools protocol (llhttp, the faster parser) buffers a head of any
size: one connection sending a 20 MiB header line held 40 MiB.  The protocol
class returned by :func:`bounded_http_protocol` refuses a head once more than
:data:`MAX_HEAD_BYTES` have arrived without completing it (431, Google's
error shape, connection closed; reads are counted whole, so a head may pass
the limit by at most one read, 256 KiB), and closes a connection whose head is not
complete :data:`HEAD_TIMEOUT` seconds after its first byte (or after the
connection opened): a client cannot hold one of the
:data:`~tuneport_emulator.guard.MAX_CONNECTIONS` slots by dribbling a head.

How to use it (``uvicorn.Config``)::

    protocol = bounded_http_protocol()          # None: httptools is not installed
    uvicorn.Config(app, http=protocol or "h11", h11_max_incomplete_event_size=MAX_HEAD_BYTES, ...)

uvicorn is imported when :func:`bounded_http_protocol` is called, not before.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
from typing import Any

from tuneport_emulator.wire import error_body

__all__ = ["HEAD_TIMEOUT", "MAX_HEAD_BYTES", "bounded_http_protocol"]

#: Largest request head (request line and headers) accepted; Google's front end refuses larger ones too.
MAX_HEAD_BYTES = 64 * 1024
#: Seconds a connection may take to send a complete head (from its first byte, or from opening).
HEAD_TIMEOUT = 30.0

#: Seconds a refused connection stays open (its input dropped) so the client reads the answer.
_LINGER_SECONDS = 1.0

_PROTOCOL: type[asyncio.Protocol] | None = None


def _too_large_answer() -> bytes:
    body = (
        json.dumps(
            error_body(
                431,
                "INVALID_ARGUMENT",
                f"The request's line and headers exceed the limit: {MAX_HEAD_BYTES} bytes.",
            ),
            indent=2,
        )
        + "\n"
    ).encode("utf-8")
    head = (
        "HTTP/1.1 431 Request Header Fields Too Large\r\n"
        "content-type: application/json; charset=UTF-8\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    ).encode("ascii")
    return head + body


def bounded_http_protocol() -> type[asyncio.Protocol] | None:
    """uvicorn's httptools protocol with the head bounds above, or None if httptools is missing."""
    global _PROTOCOL
    if _PROTOCOL is not None:
        return _PROTOCOL
    if importlib.util.find_spec("httptools") is None:
        return None
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        """Refuses heads over :data:`MAX_HEAD_BYTES`; closes heads slower than :data:`HEAD_TIMEOUT`."""

        _head_open = True
        _head_bytes = 0
        _refused = False
        #: Whether a head or a message ended during the read being parsed.
        _boundary = False
        _head_timer: asyncio.TimerHandle | None = None
        #: When the head being read began (loop time); None while no head is being read.
        _head_since: float | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._begin_head()

        def connection_lost(self, exc: Exception | None) -> None:
            self._head_since = None
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return  # read and dropped until the client closes (see _refuse)
            self._boundary = False
            super().data_received(data)
            if self._head_open and not self._boundary and not self.transport.is_closing():
                # Counted after parsing, and only a read in which no head or message ended:
                # the rest of such a read may be a body (or a whole request), not a head.
                self._head_bytes += len(data)
                if self._head_bytes > MAX_HEAD_BYTES:
                    self._refuse()

        def _refuse(self) -> None:
            # Answer, then half-close and keep reading (dropping) for a moment: closing
            # with unread bytes would send a TCP reset, which can discard the answer.
            self._refused = True
            self._head_since = None
            self.transport.write(_too_large_answer())
            if self.transport.can_write_eof():
                self.transport.write_eof()
            self.loop.call_later(_LINGER_SECONDS, self.transport.close)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_open = True
            self._begin_head()

        def on_headers_complete(self) -> None:
            self._boundary = True
            self._head_open = False
            self._head_bytes = 0
            self._head_since = None
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._boundary = True
            self._head_open = True  # the next request's head, if any, starts here
            self._head_bytes = 0

        def _begin_head(self) -> None:
            # One timer per connection, not one per request (scheduling and cancelling a timer
            # on every request cost more than the rest of this class): when it fires it checks
            # the head in progress then, if any, and comes back at that head's deadline.
            if self._head_since is None:  # the first head's time runs from the connection's opening
                self._head_since = self.loop.time()
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(HEAD_TIMEOUT, self._check_head_time)

        def _check_head_time(self) -> None:
            self._head_timer = None
            since = self._head_since
            if since is None or self.transport.is_closing():
                return  # no head in progress: the next one starts the timer again
            deadline = since + HEAD_TIMEOUT
            if self.loop.time() >= deadline:
                self.transport.close()
            else:
                self._head_timer = self.loop.call_at(deadline, self._check_head_time)

    _PROTOCOL = BoundedHttpToolsProtocol
    return _PROTOCOL
