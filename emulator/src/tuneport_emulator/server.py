"""The HTTP side: uvicorn serving the emulator's ASGI app on a background thread.

Uvicorn (with httptools' llhttp parser when it is installed, h11 otherwise;
request heads bounded by :mod:`tuneport_emulator.head_limit`) parses
requests, frames bodies, keeps connections alive and refuses malformed HTTP;
:mod:`tuneport_emulator.app` answers the requests.  The app is wrapped in
:class:`~tuneport_emulator.guard.Guard` (Host/Origin checks, bounds on
requests and body bytes) and in :func:`~tuneport_emulator.app.connection_access`
(a connection reset for the ``reset`` faults, and one packet per answer).

:class:`EmulatorServer` binds the listening socket itself, so that the port
is known, and a bind error raised, before :meth:`EmulatorServer.start`
returns; it then runs uvicorn's serving loop on its own event loop in a
thread.  :meth:`EmulatorServer.stop` closes the listening socket and every
open connection (idle keep-alive connections at once; a request in progress
gets :data:`GRACEFUL_STOP_SECONDS` to finish) and joins the threads.

Uvicorn and Starlette are imported by :func:`load_stack`, which
:class:`~tuneport_emulator.instance.Emulator` calls on construction: importing
``tuneport_emulator`` stays light, and ``start()`` stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, cast

from tuneport_emulator.app import (
    MAX_BODY_BYTES,
    MAX_STREAMED_BODY_BYTES,
    EmulatorApp,
    HandlerPool,
    connection_access,
)
from tuneport_emulator.clock import EmulatorClock
from tuneport_emulator.faults import FaultInjector
from tuneport_emulator.guard import BACKLOG, MAX_CONNECTIONS, Guard, streamed_routes
from tuneport_emulator.head_limit import MAX_HEAD_BYTES, bounded_http_protocol
from tuneport_emulator.routing import Router
from tuneport_emulator.store import Store

if TYPE_CHECKING:
    import uvicorn

__all__ = [
    "GRACEFUL_STOP_SECONDS",
    "IDLE_TIMEOUT",
    "MAX_BODY_BYTES",
    "MAX_STREAMED_BODY_BYTES",
    "EmulatorServer",
    "load_stack",
]

#: Seconds an idle keep-alive connection may wait for its next request.
IDLE_TIMEOUT = 120.0
#: Seconds :meth:`EmulatorServer.stop` lets a request in progress finish before cancelling it.
GRACEFUL_STOP_SECONDS = 2.0
#: Seconds :meth:`EmulatorServer.start` waits for the serving loop to come up.
_START_TIMEOUT = 10.0
#: Seconds :meth:`EmulatorServer.stop` waits for the serving thread to end.
_JOIN_TIMEOUT = 10.0


def load_stack() -> None:
    """Import uvicorn (and its HTTP protocol) now, so that the first ``start()`` does not pay for it."""
    import uvicorn.lifespan.off
    import uvicorn.protocols.http.h11_impl  # noqa: F401

    with contextlib.suppress(ImportError):
        import uvloop  # noqa: F401

    bounded_http_protocol()


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on a new event loop: uvloop's (libuv, in C) when it is installed, asyncio's otherwise.

    uvloop's transports and timers cost a request a sixth less of the
    emulator's CPU than asyncio's (docs/emulator.md, "The HTTP server").
    ``asyncio.Runner``, which takes a loop factory, is Python 3.11's.
    """
    factory = _uvloop_factory()
    runner_class = getattr(asyncio, "Runner", None)
    if factory is None or runner_class is None:
        asyncio.run(main)
        return
    with runner_class(loop_factory=factory) as runner:
        runner.run(main)


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return cast("Callable[[], asyncio.AbstractEventLoop]", uvloop.new_event_loop)


def _http_protocol() -> type[asyncio.Protocol] | str:
    # httptools (llhttp, in C) parses several times faster than h11 (pure Python); uvicorn's
    # httptools protocol has no bound on a request's head, which head_limit's subclass adds.
    return bounded_http_protocol() or "h11"


def _streamed(router: Router) -> Callable[[str, str], bool]:
    """The Guard's ``streamed`` predicate, resolving the route only for methods that may stream."""
    resolve = streamed_routes(router)
    methods = frozenset(route.method for route in router.routes if route.stream_body)

    def streamed(method: str, path: str) -> bool:
        return method.upper() in methods and resolve(method, path)

    return streamed


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say so (base_events._set_nodelay);
    # with proto 0, Nagle holds the body behind the headers until a delayed ACK: 40 ms per answer.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class EmulatorServer:
    """uvicorn serving the emulator's app on ``address`` from a background thread."""

    def __init__(
        self,
        address: tuple[str, int],
        router: Router,
        store: Store,
        clock: EmulatorClock,
        faults: FaultInjector | None = None,
        *,
        allow_remote: bool = False,
        require_key: str | None = None,
    ) -> None:
        load_stack()
        import uvicorn

        host, port = address
        #: The listening socket (raises OSError here if the address cannot be bound).
        self.socket = _bind(host, port)
        self.server_address: tuple[str, int] = self.socket.getsockname()[:2]
        self._pool = HandlerPool()
        app = EmulatorApp(router, store, clock, faults, pool=self._pool)
        guarded = Guard(
            app,
            bound_host=host,
            allow_remote=allow_remote,
            api_key=require_key,
            streamed=_streamed(router),
        )
        config = uvicorn.Config(
            connection_access(guarded),
            http=_http_protocol(),
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            loop="asyncio",
            lifespan="off",
            ws="none",  # the emulator speaks no WebSocket
            interface="asgi3",
            proxy_headers=False,  # no proxy in front: X-Forwarded-* are a client's, not to be trusted
            log_config=None,  # an embedded emulator leaves its host's logging alone
            access_log=False,  # the store's request log is the record of what was received
            server_header=False,
            timeout_keep_alive=int(IDLE_TIMEOUT),
            timeout_graceful_shutdown=int(GRACEFUL_STOP_SECONDS),
            limit_concurrency=MAX_CONNECTIONS,
            backlog=BACKLOG,
        )
        self._server = _Server(config)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve in a background thread; returns once the loop accepts connections."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                _run(self._server.serve_until_stopped([self.socket], ready))
            except BaseException as exc:  # reported to start(); the thread ends
                failure.append(exc)
                ready.set()

        self._thread = threading.Thread(
            target=run, name=f"tuneport-emulator:{self.server_address[1]}", daemon=True
        )
        self._thread.start()
        if not ready.wait(_START_TIMEOUT) or failure:
            self.stop()
            raise OSError(f"the HTTP server did not start: {failure[0] if failure else 'timed out'}")

    def stop(self) -> None:
        """Stop accepting, close every connection, end the threads (idempotent)."""
        self._server.request_stop()
        if self._thread is not None:
            self._thread.join(_JOIN_TIMEOUT)
            self._thread = None
        with contextlib.suppress(OSError):
            self.socket.close()
        self._pool.close(wait=True)


class _Server:
    """Runs a uvicorn ``Server``; its stop can be requested from any thread, and takes effect at once."""

    def __init__(self, config: uvicorn.Config) -> None:
        self._server = _server_class()(config, self)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._ready: threading.Event | None = None
        self._lock = threading.Lock()

    async def serve_until_stopped(self, sockets: list[socket.socket], ready: threading.Event) -> None:
        """uvicorn's ``serve``: startup, the serving loop (``ready`` is set then), shutdown."""
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._wake = asyncio.Event()
            self._ready = ready
            if self._server.should_exit:  # stopped before it started
                ready.set()
                return
        await self._server.serve(sockets=sockets)

    async def wait(self) -> None:
        """Called by the serving loop once it accepts connections: until a stop is requested."""
        assert self._ready is not None
        assert self._wake is not None
        self._ready.set()
        counter = 0
        # uvicorn polls should_exit every 0.1 s; this wakes on request instead, and
        # ticks once a second (on_tick refreshes the Date header).
        while not await self._server.on_tick(counter):
            counter = (counter + 10) % 864000
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 1.0)

    def request_stop(self) -> None:
        with self._lock:
            self._server.should_exit = True
            loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                loop.call_soon_threadsafe(wake.set)


@functools.cache
def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, its serving loop replaced by :meth:`_Server.wait`."""

        def __init__(self, config: uvicorn.Config, runner: _Server) -> None:
            super().__init__(config)
            self.runner = runner

        async def main_loop(self) -> None:
            await self.runner.wait()

    return Server
