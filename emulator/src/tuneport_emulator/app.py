"""The emulator as an ASGI application: a request in, Google's answer out.

Uvicorn (:mod:`tuneport_emulator.server`) parses HTTP/1.1 and frames bodies;
this module turns one ASGI ``http`` exchange into a call to a surface's
handler through the :class:`~tuneport_emulator.routing.Router`, with
Starlette's ``Headers`` for the request's headers; answers are raw ASGI messages.

Every answer the application gives is JSON in Google's shape, whatever goes
wrong: an unknown route (404), a body too large or unreadable (400), a
handler's :class:`~tuneport_emulator.wire.ApiError`.  An unexpected exception
in a handler becomes 500 INTERNAL and is recorded in the store, where tests
look for it.  After each request the store is committed (durable with
``--state``) before the answer is written, and injected faults
(:mod:`tuneport_emulator.faults`) are applied before the handler runs or, for
the post-commit kinds, after the commit; their delays are ``asyncio`` sleeps,
so a held request holds nobody else.

Handlers are synchronous and take the store's lock.  Reads of records run
inline on the event loop (a thread hand-off costs about half of such a read),
but only when the lock is free at that moment, and a read that would have to
wait (for a dataset check, :mod:`tuneport_emulator.vertex.jobs`) runs again
on a worker instead.  Writes, Cloud Storage routes
and streamed uploads run on a pool of worker threads (:class:`HandlerPool`),
so a long one (a create that checks a large staged dataset, a big upload
copied into storage) delays only the requests that need the same lock, while
the loop keeps reading, writing and sleeping for every other connection
(see :func:`_runs_on_a_worker`).

Bodies: a route registered with ``stream_body=True`` (storage uploads) gets
its body spooled to a temporary file as it arrives (``Request.body_file``),
at most :data:`MAX_STREAMED_BODY_BYTES`; every other route gets ``bytes``, at
most :data:`MAX_BODY_BYTES`.  A larger body is refused with 400 as Google
does, and the connection is closed rather than drained.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import socket
import struct
import tempfile
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, BinaryIO, TypeVar, cast
from urllib.parse import parse_qs

import orjson
from starlette.datastructures import Headers

from tuneport_emulator.asgi import ASGIApp, Message, Receive, Scope, Send
from tuneport_emulator.auth import SECRET_QUERY_PARAMETERS, credential_kind
from tuneport_emulator.clock import EmulatorClock
from tuneport_emulator.faults import Fault, FaultInjector, applying
from tuneport_emulator.hosts import check_host, requested_host
from tuneport_emulator.request_log import loggable_body
from tuneport_emulator.routing import FileBody, Request, Response, Route, Router, check_query
from tuneport_emulator.store import Store
from tuneport_emulator.wire import ApiError, error_body, format_timestamp, parse_json_body

__all__ = [
    "ABORT_EXTENSION",
    "FILE_BLOCK_BYTES",
    "MAX_BODY_BYTES",
    "MAX_STREAMED_BODY_BYTES",
    "EmulatorApp",
    "HandlerPool",
    "connection_access",
]

T = TypeVar("T")

#: Largest request body read into memory; a larger one is refused as Google does (400).
MAX_BODY_BYTES = 64 * 1024 * 1024
#: Largest body of a ``stream_body`` route (spooled to disk, never held in memory).
MAX_STREAMED_BODY_BYTES = 8 * 1024 * 1024 * 1024
#: Bytes of a :class:`~tuneport_emulator.routing.FileBody` read and sent at a time.
FILE_BLOCK_BYTES = 1024 * 1024
#: Worker threads that run handlers.  Handlers serialize on the store's lock,
#: so more threads would not add throughput; these few keep a long handler
#: from holding up the requests that do not wait for that lock.
HANDLER_THREADS = 8
#: The scope extension through which the app drops a connection (see :func:`connection_access`).
ABORT_EXTENSION = "tuneport.abort"

_PROXY_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body>upstream answered</body></html>\n"
_FAULT_ERRORS = {
    "503": ("UNAVAILABLE", "The service is currently unavailable."),
    "500": ("INTERNAL", "Internal error encountered."),
    "429": ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
}
_ORJSON_PRETTY = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
_ORJSON_COMPACT = orjson.OPT_APPEND_NEWLINE
#: Methods whose handlers run inline on the event loop (see :func:`_runs_on_a_worker`).
_INLINE_METHODS = frozenset({"GET", "HEAD"})
#: Response.status meaning "reset the connection instead of answering".
_RESET = -1


class HandlerPool:
    """The worker threads that run handlers (a :class:`ThreadPoolExecutor` with a clean stop)."""

    def __init__(self, threads: int = HANDLER_THREADS) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="tuneport-emulator-handler"
        )

    async def run(self, function: Callable[[], T]) -> T:
        """Run ``function`` on a worker thread; its result."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, function)

    def close(self, *, wait: bool = True) -> None:
        """Stop the workers once the handlers running now have returned (``wait``: join them)."""
        self._executor.shutdown(wait=wait, cancel_futures=True)


class _BodyError(Exception):
    """The body could not be taken; answered with ``error``, and the connection is closed."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


class _Disconnected(Exception):
    """The client went away before its body arrived: there is nobody to answer."""


@dataclass
class _Answer:
    """What the synchronous part of a request produced, ready to be written."""

    response: Response
    payload: bytes = b""
    #: A body sent from a file (``payload`` is then empty).
    file: FileBody | None = None
    close: bool = False
    slow: float = 0.0


class EmulatorApp:
    """The ASGI application: one instance serves every surface registered on ``router``."""

    def __init__(
        self,
        router: Router,
        store: Store,
        clock: EmulatorClock,
        faults: FaultInjector | None = None,
        *,
        pool: HandlerPool | None = None,
    ) -> None:
        self.router = router
        self.store = store
        self.clock = clock
        self.faults = faults or FaultInjector()
        self._pool = pool

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # the emulator speaks no WebSocket
        request = _request(scope)
        try:
            answer = await self._answer(request, receive)
        except _Disconnected:
            return
        finally:
            if request.body_file is not None:
                request.body_file.close()  # the spooled body is deleted with it
        try:
            if answer.response.status == _RESET:
                await _abort(scope)
                return
            if answer.slow:
                await asyncio.sleep(answer.slow)  # committed; the answer leaves late
            await _write(scope, receive, send, answer)
        finally:
            if answer.file is not None:
                answer.file.close()  # written, or abandoned (the client left, the server stops)

    async def _answer(self, request: Request, receive: Receive) -> _Answer:
        route: Route | None = None
        fault: Fault | None = None
        try:
            route, request.params = self.router.resolve(request.method, request.path)
            if route.stream_body:
                request.body_file = await _spool_body(request, receive)
            else:
                request.body = await _read_body(request, receive)
            if route.log:  # admin routes (not logged) are never faulted
                fault = self.faults.decide(request.method, request.path, route.name)
                if fault.delay or fault.stall:
                    await asyncio.sleep(fault.delay + fault.stall)
        except _BodyError as exc:
            return await self._finish(request, route, None, _error_response(exc.error), close=True)
        except ApiError as exc:
            return await self._finish(request, route, None, _error_response(exc))
        return await self._finish(request, route, fault, None)

    async def _finish(
        self,
        request: Request,
        route: Route | None,
        fault: Fault | None,
        response: Response | None,
        *,
        close: bool = False,
    ) -> _Answer:
        def work() -> _Answer:
            return self._handle(request, route, fault, response, close=close)

        if self._pool is None:
            return work()
        if response is None and route is not None and _runs_on_a_worker(route, request.method):
            return await self._pool.run(work)
        # Inline on the loop, but never waiting there for the store's lock: a worker holds it
        # for as long as its handler runs, and the loop would stall every connection meanwhile.
        if not self.store.lock.acquire(blocking=False):
            return await self._pool.run(work)
        try:
            return self._handle(request, route, fault, response, close=close, inline=True)
        except BlockingIOError:
            pass  # the read must wait (for a dataset check): it runs again, on a worker
        finally:
            self.store.lock.release()
        return await self._pool.run(work)

    # --- the synchronous part (inline, or on a worker thread) -----------------------------------------------

    def _handle(
        self,
        request: Request,
        route: Route | None,
        fault: Fault | None,
        response: Response | None,
        *,
        close: bool,
        inline: bool = False,
    ) -> _Answer:
        """Run the handler (unless ``response`` is already decided), commit, log, encode.

        ``inline``: run on the event loop, where a read that would have to wait
        raises :class:`BlockingIOError` (having done nothing that running it
        again undoes or repeats differently); it propagates (see :meth:`_finish`).
        """
        handled: Response | None = None
        if response is None:
            assert route is not None
            try:
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
                    check_host(route, request)  # as the Google host the request names would
                    if fault is not None and fault.kind:
                        with applying(fault):  # a kind that changes what the handler does (short-store)
                            response = handled = route.handler(request)
                    else:  # no fault to show the handler (a context manager per request cost 5% of a read)
                        response = handled = route.handler(request)
            except ApiError as exc:
                response = _error_response(exc)
            except Exception as exc:  # the emulator's own bug: answer 500, keep a record
                if inline and isinstance(exc, BlockingIOError):
                    raise
                response = self._internal_error(request, exc)
        try:
            # Durable before it is reported: an answer never gets ahead of the state file.
            self.store.commit()
        except Exception as exc:
            response = self._internal_error(request, exc)
        if fault is not None and fault.kind == "html-after":
            if 200 <= response.status < 300:  # a proxy's page in place of the JSON: the body is unreadable
                response = Response(_PROXY_PAGE, status=200, content_type="text/html; charset=utf-8")
        elif fault is not None and fault.after_commit:
            response = _fault_response(fault)  # the change stays committed; the answer is lost
        if route is None or route.log:
            try:
                # Logged before the answer is written: a client that has it finds its request here.
                self._log(request, route, response, fault)
            except Exception as exc:  # never lose the answer over the log
                response = self._internal_error(request, exc)
        if handled is not None and handled is not response and isinstance(handled.body, FileBody):
            handled.body.close()  # replaced (a fault, an error): its file is never sent
        slow = fault.slow if fault is not None else 0.0
        if response.status == _RESET:
            return _Answer(response, slow=0.0)
        if isinstance(response.body, FileBody):
            return _Answer(response, file=response.body, close=close, slow=slow)
        try:
            payload = _encode(response, pretty=request.pretty)
        except Exception as exc:  # a handler returned what JSON cannot hold: the emulator's bug
            response = self._internal_error(request, exc)
            payload = _encode(response, pretty=request.pretty)
        return _Answer(response, payload, close=close, slow=slow)

    def _internal_error(self, request: Request, exc: Exception) -> Response:
        self.store.record_internal_error(
            {
                "time": format_timestamp(self.clock.now()),
                "method": request.method,
                "path": request.path,
                "error": repr(exc),
                "traceback": traceback.format_exc(limit=-20),  # the innermost frames
            }
        )
        return Response(error_body(500, "INTERNAL", "Internal error encountered."), status=500)

    def _log(self, request: Request, route: Route | None, response: Response, fault: Fault | None) -> None:
        size = request.body_size
        body: Any = request.log_body
        if body is None and request.body:
            try:
                body = parse_json_body(request.body)  # bounded depth: safe to keep and copy
            except ApiError:
                body = {"unparsed": f"{size} bytes"}
        entry = {
            "time": format_timestamp(self.clock.now()),
            "method": request.method,
            "path": request.path,
            "query": {k: v for k, v in request.query.items() if k not in SECRET_QUERY_PARAMETERS},
            "route": route.name if route is not None else None,
            "credentials": credential_kind(request),
            # A body spooled to disk is never read back for the log.
            "body": {"omitted": f"{size} bytes"} if body is None and size else loggable_body(body, size),
            "status": None if response.status == _RESET else response.status,
        }
        host = requested_host(request)
        if host is not None:
            entry["host"] = host[:255]  # the Google host the request stood for (X-Tuneport-Host)
        if fault is not None and (fault.kind or fault.delay or fault.slow or fault.stall):
            entry["fault"] = fault.kind or ("stall" if fault.stall else "slow" if fault.slow else "latency")
        self.store.log_request(entry)


def _runs_on_a_worker(route: Route, method: str) -> bool:
    """Whether a handler runs on a worker thread rather than inline on the event loop.

    Measured (docs/emulator.md, "The HTTP server"): a thread hand-off costs a
    read several times its own run time, so reads of records run inline.
    Writes may check a staged dataset, and Cloud Storage routes copy object
    bytes to and from disk: those run on a worker, where a long one holds up
    only the requests waiting for the store's lock.
    """
    return route.stream_body or method not in _INLINE_METHODS or "storage." in route.name


# --- the ASGI side ----------------------------------------------------------------------------------


def _request(scope: Scope) -> Request:
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    # The path as sent (percent escapes kept: the router decodes what it captures); the
    # query's bytes read as Latin-1, then split and percent-decoded (as UTF-8) by parse_qs.
    path = raw_path.decode("latin-1").partition("?")[0] or "/"
    query_string: bytes = scope.get("query_string", b"")
    query = parse_qs(query_string.decode("latin-1"), keep_blank_values=True) if query_string else {}
    return Request(method=scope["method"], path=path, query=query, headers=Headers(scope=scope))


def _declared_length(request: Request, limit: int) -> int | None:
    """The Content-Length (None for a chunked body); refuses one over ``limit`` before reading."""
    value = request.headers.get("content-length")
    if value is None:
        return None
    length = int(value)  # uvicorn has refused a malformed one already
    if length > limit:
        raise _BodyError(_too_large(limit))
    return length


async def _read_body(request: Request, receive: Receive) -> bytes:
    _declared_length(request, MAX_BODY_BYTES)
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Disconnected
        chunk: bytes = message.get("body", b"")
        total += len(chunk)
        if total > MAX_BODY_BYTES:  # chunked: counted as it arrives
            raise _BodyError(_too_large(MAX_BODY_BYTES))
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _spool_body(request: Request, receive: Receive) -> BinaryIO:
    """The body written to an anonymous temporary file as it arrives (never whole in memory)."""
    _declared_length(request, MAX_STREAMED_BODY_BYTES)
    # Closed by the app once the request is answered (an anonymous file: gone with it).
    spool = cast("BinaryIO", tempfile.TemporaryFile(prefix="tuneport-emulator-body-"))  # noqa: SIM115
    total = 0
    try:
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _Disconnected
            chunk: bytes = message.get("body", b"")
            total += len(chunk)
            if total > MAX_STREAMED_BODY_BYTES:
                raise _BodyError(_too_large(MAX_STREAMED_BODY_BYTES))
            if chunk:
                spool.write(chunk)  # the page cache takes it at memory speed; no loop stall worth a thread
            if not message.get("more_body", False):
                spool.seek(0)
                return spool
    except BaseException:
        spool.close()
        raise


async def _write(scope: Scope, receive: Receive, send: Send, answer: _Answer) -> None:
    response = answer.response
    payload = answer.payload
    length = len(payload) if answer.file is None else answer.file.length
    # The content type as the handler gave it, then the handler's headers (a repeated name
    # replaces the earlier one), as raw ASGI messages: a Starlette Response cost more than this.
    headers = {"content-type": response.content_type}
    for name, value in response.headers.items():
        headers[name.lower()] = value
    if response.status >= 200 and response.status not in (204, 304):  # those have no body to frame
        headers["content-length"] = str(length)
    if answer.close:
        headers["connection"] = "close"  # the body was not read to its end: the framing is lost
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    await send({"type": "http.response.start", "status": response.status, "headers": raw})
    if answer.file is None:
        await send({"type": "http.response.body", "body": payload})
    else:
        await _send_file(scope, receive, send, answer.file)


async def _send_file(scope: Scope, receive: Receive, send: Send, body: FileBody) -> None:
    """Send ``body.length`` bytes of the file in blocks of :data:`FILE_BLOCK_BYTES`.

    Each block waits for the server's write buffer to drain (uvicorn's flow
    control), so a download holds about one block in memory.  Reads from the
    file are inline on the loop: object files are local, and the page cache
    serves a block in far less time than the network takes to send it.  A
    client that goes away ends the sending; a file shorter than its length
    (cut behind the emulator's back) resets the connection, since the
    ``Content-Length`` already sent cannot be kept.
    """
    if scope.get("method") == "HEAD" or body.length == 0:
        await send({"type": "http.response.body", "body": b""})
        return
    gone = asyncio.ensure_future(_client_gone(receive))
    try:
        remaining = body.length
        while remaining:
            if gone.done():
                return  # nobody to send to
            block = body.file.read(min(FILE_BLOCK_BYTES, remaining))
            if not block:
                await _abort(scope)
                return
            remaining -= len(block)
            await send({"type": "http.response.body", "body": block, "more_body": remaining > 0})
    finally:
        gone.cancel()


async def _client_gone(receive: Receive) -> None:
    """Returns once the client has disconnected (the request's body has been read already)."""
    with contextlib.suppress(Exception):  # a receive that fails means the same
        while (await receive())["type"] != "http.disconnect":
            pass


async def _abort(scope: Scope) -> None:
    """Drop the connection with no answer, as a failing network would (a TCP reset)."""
    abort = scope.get("extensions", {}).get(ABORT_EXTENSION)
    if abort is None:
        raise ConnectionResetError("connection reset by the emulator (injected fault)")
    abort()
    await asyncio.sleep(0)  # the server learns of the lost connection before the app returns


def connection_access(app: ASGIApp) -> ASGIApp:
    """Wrap the outermost app with what ASGI does not offer: dropping the connection, one write per answer.

    Uvicorn's receive callable is bound to the request's cycle, which holds
    the transport.  With it, this wrapper

    * puts a callable under ``scope["extensions"][ABORT_EXTENSION]`` that sets
      ``SO_LINGER`` to zero (so that closing sends RST instead of FIN) and
      aborts the transport: the ``reset`` faults.  Without a transport (an
      in-process ASGI client) the app raises :class:`ConnectionResetError`
      instead, which such clients pass on;
    * gives the cycle a :class:`_HeadHolder` in place of the transport for the
      request, which holds the response's head until its first body write, so
      that both leave in one write.  Uvicorn writes them separately: two small
      packets per answer cost the client a second wake-up and halved the
      requests per second measured on loopback (docs/emulator.md, "The HTTP
      server"); one write also costs the server one system call instead of
      two (corking the socket around them, as before, cost two more).
    """

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        cycle: Any = getattr(receive, "__self__", None)
        transport: Any = getattr(cycle, "transport", None)
        # Duck-typed: uvloop's transports are not asyncio.Transport subclasses.
        if scope["type"] != "http" or not hasattr(transport, "abort") or not hasattr(transport, "write"):
            await app(scope, receive, send)
            return
        scope.setdefault("extensions", {})[ABORT_EXTENSION] = lambda: _reset_transport(transport)
        holder = _HeadHolder(transport)

        async def joining_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                holder.holding = True
                await send(message)
                holder.holding = False  # nothing was written (a closed connection): hold nothing later
            else:
                await send(message)
                if not message.get("more_body", False):
                    holder.flush()

        cycle.transport = holder
        try:
            await app(scope, receive, joining_send)
        finally:
            holder.flush()
            cycle.transport = transport

    return wrapped


class _HeadHolder:
    """The transport as one request's cycle sees it: a response head is held until the next write.

    Everything but :meth:`write` and :meth:`close` goes to the transport.
    """

    __slots__ = ("_head", "_transport", "holding")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head = b""
        #: Set while the response's head is being written: that write is held.
        self.holding = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.holding:
            self.holding = False
            self._head = bytes(data)
            return
        if self._head:
            data, self._head = self._head + data, b""
        self._transport.write(data)

    def flush(self) -> None:
        """Write a head still held (an answer that ended without a body write)."""
        if self._head:
            head, self._head = self._head, b""
            self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _reset_transport(transport: asyncio.Transport) -> None:
    sock = cast("socket.socket | None", transport.get_extra_info("socket"))
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed by the client
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to set up or tear down: the emulator is built before it serves."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


# --- answers ----------------------------------------------------------------------------------------


def _encode(response: Response, *, pretty: bool) -> bytes:
    """The body's bytes: JSON as Google writes it (pretty-printed unless ``prettyPrint=false``)."""
    if isinstance(response.body, bytes):
        return response.body
    if response.body is None:
        return b""
    # orjson writes the same text as json.dumps(indent=2, ensure_ascii=False) about a
    # hundred times faster (the stdlib's indenting encoder is pure Python): on a record
    # read that is half the emulator's time per request.
    try:
        return orjson.dumps(response.body, option=_ORJSON_PRETTY if pretty else _ORJSON_COMPACT)
    except (orjson.JSONEncodeError, TypeError):
        pass  # what orjson refuses (integers beyond 64 bits, non-string keys, NaN as a token…)
    try:
        text = json.dumps(response.body, indent=2 if pretty else None, ensure_ascii=False)
    except RecursionError:
        # Pretty-printing recurses in Python; the compact C encoder goes deeper.
        text = json.dumps(response.body, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def _past_server_timeout(request: Request, held: float) -> bool:
    """Whether a request held ``held`` seconds outlived its ``X-Server-Timeout`` (whole seconds)."""
    if not held:
        return False
    value = (request.headers.get("X-Server-Timeout") or "").strip()
    return value.isdigit() and value.isascii() and held > int(value)


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


def _too_large(limit: int) -> ApiError:
    return ApiError("INVALID_ARGUMENT", f"Request payload size exceeds the limit: {limit} bytes.")
