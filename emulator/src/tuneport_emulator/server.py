"""The HTTP side: a threading HTTP/1.1 server that hands requests to the router.

Every answer is JSON in Google's shape, whatever goes wrong: a bad request
line, a body that cannot be read, an unknown route, a handler's
:class:`~tuneport_emulator.wire.ApiError`.  An unexpected exception in a
handler becomes 500 INTERNAL and is recorded in the store, where tests look
for it.  After each request the store is committed (durable with
``--state``) before the answer is written, and injected faults
(:mod:`tuneport_emulator.faults`) are applied before the handler runs or,
for the post-commit kinds, after the commit.  Connections stay open between
requests (keep-alive); :meth:`close` shuts the open ones so that stopping
never waits on an idle client.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import socket
import struct
import threading
import time
import traceback
from email.errors import MissingHeaderBodySeparatorDefect
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tuneport_emulator.auth import SECRET_QUERY_PARAMETERS, credential_kind
from tuneport_emulator.clock import EmulatorClock
from tuneport_emulator.faults import Fault, FaultInjector, applying
from tuneport_emulator.routing import Request, Response, Route, Router, check_query
from tuneport_emulator.store import Store
from tuneport_emulator.wire import ApiError, error_body, format_timestamp, parse_json_body

__all__ = ["MAX_BODY_BYTES", "EmulatorHTTPServer"]

#: Largest request body read; a larger one is refused as Google does (400).
MAX_BODY_BYTES = 64 * 1024 * 1024
#: Bodies up to this size are kept in the request log; larger ones are summarized.
_LOGGED_BODY_BYTES = 4 * 1024 * 1024
#: Seconds an idle keep-alive connection may wait for its next request.
_IDLE_TIMEOUT = 120.0
_HTTP_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    413: "INVALID_ARGUMENT",
    501: "UNIMPLEMENTED",
    505: "UNIMPLEMENTED",
}
#: A chunk-size line: hex digits only (``int(x, 16)`` would also take ``-2``, ``0x10``, ``1_0``).
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


class _BodyError(Exception):
    """The body could not be read; the connection is closed after the answer."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


class EmulatorHTTPServer(ThreadingHTTPServer):
    """One thread per connection, daemon threads, and a registry of open connections."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        router: Router,
        store: Store,
        clock: EmulatorClock,
        faults: FaultInjector | None = None,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.router = router
        self.store = store
        self.clock = clock
        self.faults = faults or FaultInjector()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut every open client connection (their threads then end)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "tuneport-emulator"
    sys_version = ""
    timeout = _IDLE_TIMEOUT
    # Buffer the writer so headers and body leave in one packet (the base
    # class flushes after each request); with Nagle's algorithm on and the
    # client's delayed ACK, two small writes would cost ~40 ms per request.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def __getattr__(self, name: str) -> Any:
        # BaseHTTPRequestHandler looks up do_<METHOD>; every method goes through
        # the router, so an unexpected verb gets Google's 404 rather than 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the store's request log is the record of what was received."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors found by the base class (bad request line, headers…) in Google's JSON shape."""
        status = _HTTP_STATUS_NAMES.get(code, "INVALID_ARGUMENT" if code < 500 else "INTERNAL")
        self.close_connection = True
        # An unparsable request line leaves the HTTP/0.9 default, under which
        # no status line or headers would be written: answer in HTTP/1.1.
        self.request_version = self.protocol_version
        self._write(Response(error_body(code, status, message or "Bad request."), status=code))

    # --- one request --------------------------------------------------------------------

    def _dispatch(self) -> None:
        framing = self._framing_error()
        if framing is not None:
            self.send_error(400, framing)
            return
        split = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=split.path or "/",
            query=parse_qs(split.query, keep_blank_values=True),
            headers=self.headers,  # type: ignore[arg-type]
        )
        route: Route | None = None
        fault: Fault | None = None
        try:
            request.body = self._read_body()
            route, request.params = self.server.router.resolve(request.method, request.path)
            if route.log:  # admin routes (not logged) are never faulted
                fault = self.server.faults.decide(request.method, request.path, route.name)
                if fault.delay or fault.stall:
                    time.sleep(fault.delay + fault.stall)
            if fault is not None and _past_server_timeout(request, fault.delay + fault.stall):
                # Held longer than the client allowed: abandoned before the handler, as Google does.
                response = _error_response(
                    ApiError("DEADLINE_EXCEEDED", "Deadline expired before operation could complete.")
                )
            elif fault is not None and fault.before_commit:
                response = _fault_response(fault)
            else:
                check_query(route, request)
                if route.auth is not None:
                    route.auth(request)
                with applying(fault):  # a kind that changes what the handler does (short-store)
                    response = route.handler(request)
        except _BodyError as exc:
            self.close_connection = True
            response = _error_response(exc.error)
        except ApiError as exc:
            response = _error_response(exc)
        except Exception as exc:  # the emulator's own bug: answer 500, keep a record
            response = self._internal_error(request, exc)
        try:
            # Durable before it is reported: an answer never gets ahead of the state file.
            self.server.store.commit()
        except Exception as exc:
            response = self._internal_error(request, exc)
        if fault is not None and fault.kind == "html-after":
            if 200 <= response.status < 300:  # a proxy's page in place of the JSON: the body is unreadable
                response = Response(_PROXY_PAGE, status=200, content_type="text/html; charset=utf-8")
        elif fault is not None and fault.after_commit:
            response = _fault_response(fault)  # the change stays committed; the answer is lost
        if fault is not None and fault.slow:
            time.sleep(fault.slow)  # committed; the answer leaves late
        if route is None or route.log:
            try:
                self._log(request, route, response, fault)
            except Exception as exc:  # never lose the answer over the log
                response = self._internal_error(request, exc)
        if response.status == _RESET:
            self._reset_connection()
            return
        self._write(response, pretty=request.pretty)

    def _reset_connection(self) -> None:
        """Drop the connection with a TCP reset and no answer, as a failing network would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            # Linger 0: close() sends RST instead of FIN, so the client sees ECONNRESET.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def _framing_error(self) -> str | None:
        """Why the request's head cannot be trusted to frame it (RFC 9112), or None.

        Ambiguous framing is what request smuggling exploits, so it is refused
        rather than guessed at, as Google's front end does.
        """
        if self.request_version == "HTTP/0.9":
            return "HTTP/0.9 requests are not supported."
        if any(isinstance(d, MissingHeaderBodySeparatorDefect) for d in self.headers.defects):
            return "Malformed request header line."  # a line without a colon
        lengths = self.headers.get_all("Content-Length") or []
        if len(set(lengths)) > 1:
            return "Conflicting Content-Length headers."
        if lengths and self.headers.get("Transfer-Encoding"):
            return "A request cannot have both Content-Length and Transfer-Encoding."
        return None

    def _read_body(self) -> bytes:
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                return self._read_chunked()
            return b""
        if not length_header.strip().isdigit() or not length_header.strip().isascii():
            raise _BodyError(ApiError("INVALID_ARGUMENT", "Invalid Content-Length header."))
        length = int(length_header)
        if length > MAX_BODY_BYTES:
            raise _BodyError(_too_large())
        body = self.rfile.read(length)
        if len(body) < length:
            raise _BodyError(ApiError("INVALID_ARGUMENT", "The request body ended early."))
        return body

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            digits = line.split(b";", 1)[0].strip()
            if not _CHUNK_SIZE.fullmatch(digits):
                raise _BodyError(ApiError("INVALID_ARGUMENT", "Malformed chunked request body."))
            size = int(digits, 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise _BodyError(_too_large())
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)  # the CRLF after each chunk

    def _internal_error(self, request: Request, exc: Exception) -> Response:
        self.server.store.record_internal_error(
            {
                "time": format_timestamp(self.server.clock.now()),
                "method": request.method,
                "path": request.path,
                "error": repr(exc),
                "traceback": traceback.format_exc(limit=-20),  # the innermost frames
            }
        )
        return Response(error_body(500, "INTERNAL", "Internal error encountered."), status=500)

    def _log(self, request: Request, route: Route | None, response: Response, fault: Fault | None) -> None:
        # Logged before the reply is written, so a client that has its answer
        # always finds its request in the log.
        body: Any = request.log_body
        if len(request.body) > _LOGGED_BODY_BYTES:
            body = {"omitted": f"{len(request.body)} bytes"}  # keeps the bounded log small
        elif body is None and request.body:
            try:
                body = parse_json_body(request.body)  # bounded depth: safe to keep and copy
            except ApiError:
                body = {"unparsed": f"{len(request.body)} bytes"}
        entry = {
            "time": format_timestamp(self.server.clock.now()),
            "method": request.method,
            "path": request.path,
            "query": {k: v for k, v in request.query.items() if k not in SECRET_QUERY_PARAMETERS},
            "route": route.name if route is not None else None,
            "credentials": credential_kind(request),
            "body": body,
            "status": None if response.status == _RESET else response.status,
        }
        if fault is not None and (fault.kind or fault.delay or fault.slow or fault.stall):
            entry["fault"] = fault.kind or ("stall" if fault.stall else "slow" if fault.slow else "latency")
        self.server.store.log_request(entry)

    def _write(self, response: Response, *, pretty: bool = True) -> None:
        if isinstance(response.body, bytes):
            payload = response.body
        elif response.body is None:
            payload = b""
        else:
            try:
                text = json.dumps(response.body, indent=2 if pretty else None, ensure_ascii=False)
            except RecursionError:
                # Pretty-printing recurses in Python; the compact C encoder goes deeper.
                text = json.dumps(response.body, ensure_ascii=False)
            payload = (text + "\n").encode("utf-8")
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except OSError:
            self.close_connection = True  # the client went away


#: Response.status meaning "reset the connection instead of answering".
_RESET = -1
_FAULT_ERRORS = {
    "503": ("UNAVAILABLE", "The service is currently unavailable."),
    "500": ("INTERNAL", "Internal error encountered."),
    "429": ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
}


_PROXY_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body>upstream answered</body></html>\n"


def _past_server_timeout(request: Request, held: float) -> bool:
    """Whether a request held ``held`` seconds outlived its ``X-Server-Timeout`` (whole seconds)."""
    if not held:
        return False
    value = (request.headers.get("X-Server-Timeout") or "").strip()
    return value.isdigit() and held > int(value)


def _fault_response(fault: Fault) -> Response:
    """The answer an injected fault gives (``_RESET``: none, the connection is reset)."""
    kind = (fault.kind or "").removesuffix("-after")
    if kind == "reset":
        return Response(status=_RESET)
    status, message = _FAULT_ERRORS[kind]
    headers = {"Retry-After": str(math.ceil(fault.retry_after))} if kind == "429" else {}
    return _error_response(ApiError(status, message, headers=headers))


def _error_response(error: ApiError) -> Response:
    return Response(error.body(), status=error.http_status, headers=error.headers)


def _too_large() -> ApiError:
    return ApiError("INVALID_ARGUMENT", f"Request payload size exceeds the limit: {MAX_BODY_BYTES} bytes.")
