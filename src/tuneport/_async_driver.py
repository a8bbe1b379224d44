"""The asyncio driver: :class:`AsyncDriver` runs flows on an event loop, blocking work in threads.

Apart from :mod:`tuneport._driver` so that only the async client imports asyncio.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

import httpx

from tuneport import _http
from tuneport._driver import _DriverBase, _Unresolved
from tuneport.errors import APIError, TuneportError
from tuneport.protocol import (
    Backoff,
    BlockingCall,
    Effect,
    Flow,
    HttpRequest,
    HttpResponse,
    Sleep,
    TuningBackend,
)
from tuneport.retry import RetryPolicy
from tuneport.waiting import Clock

__all__ = ["AsyncDriver"]

T = TypeVar("T")


class AsyncDriver(_DriverBase):
    """Runs flows with an :class:`httpx.AsyncClient`; blocking work goes to a thread.

    Given a factory instead of a client, it builds the client on the first
    request, in a worker thread, together with what httpx imports on its
    first connection: loading the CA bundle and importing the async network
    backend take tens of milliseconds that would otherwise stall the loop.
    """

    def __init__(
        self,
        http: httpx.AsyncClient | Callable[[], httpx.AsyncClient],
        backend: TuningBackend,
        retry: RetryPolicy,
        clock: Clock,
    ) -> None:
        super().__init__(backend, retry, clock)
        self._http = http if isinstance(http, httpx.AsyncClient) else None
        self._make_http = None if isinstance(http, httpx.AsyncClient) else http
        self._http_lock = asyncio.Lock()
        # Bounds the requests handed to httpx at once: a fan-out of 1,000 waits queues
        # here, in O(1) per request, instead of in httpcore's pool (see _http.MAX_IN_FLIGHT).
        self._in_flight = asyncio.Semaphore(_http.MAX_IN_FLIGHT)

    @property
    def http(self) -> httpx.AsyncClient:
        """The HTTP client (built now, blocking, if no request has needed it yet)."""
        if self._http is None:
            assert self._make_http is not None
            self._http = self._make_http()
        return self._http

    @property
    def has_http(self) -> bool:
        """Whether the HTTP client exists (a client that never sent anything built none)."""
        return self._http is not None

    async def _ready_http(self) -> httpx.AsyncClient:
        if self._http is not None:
            return self._http
        async with self._http_lock:  # concurrent first requests build one client
            if self._http is None:
                assert self._make_http is not None
                self._http = await asyncio.to_thread(_http.prepared_async_client, self._make_http)
        return self._http

    async def run(
        self, flow: Flow[T], *, retry: RetryPolicy | None = None, timeout: float | None = None
    ) -> T:
        """Drive *flow* to completion and return its result."""
        self._check_call_timeout(timeout)
        policy = retry or self.retry
        # The retry deadline covers the whole call, every request of the flow.
        started = self.clock.monotonic()
        try:
            effect: Effect = next(flow)
            while True:
                try:
                    result: Any = None
                    if isinstance(effect, BlockingCall):
                        result = await asyncio.to_thread(effect.run)
                    elif isinstance(effect, Sleep):
                        await self.clock.asleep(effect.seconds)
                        started += effect.seconds  # polling pauses are not retry time
                    elif isinstance(effect, Backoff):
                        await self.clock.asleep(self._backoff(effect, policy, started))
                    else:
                        result = await self.send(effect, policy, timeout, started=started)
                except Exception as error:  # typed errors, and a blocking call's own, go back to the flow
                    effect = flow.throw(error)
                else:
                    effect = flow.send(result)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        except TuneportError:
            raise
        except Exception as exc:
            raise self._untyped(exc) from exc
        finally:
            flow.close()

    async def _auth_headers(self, req: HttpRequest) -> Mapping[str, str]:
        if not req.authenticate:
            return {}
        authenticator = self._authenticator
        if isinstance(authenticator, _Unresolved):
            # Looking credentials up may read files or probe a metadata server.
            authenticator = await asyncio.to_thread(self._resolve_authenticator)
        if authenticator is None:
            return {}
        if authenticator.blocking:
            return await asyncio.to_thread(authenticator.headers)
        return authenticator.headers()

    async def send(
        self,
        req: HttpRequest,
        retry: RetryPolicy,
        timeout: float | None = None,
        *,
        started: float | None = None,
    ) -> HttpResponse:
        """Send one request with retries (see :meth:`SyncDriver.send`)."""
        if timeout is not None:
            req = replace(req, timeout=timeout)
        if started is None:
            started = self.clock.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                headers = await self._auth_headers(req)
                http = await self._ready_http()
                self.request_count += 1
                try:
                    async with self._in_flight:
                        raw = await http.send(_http.build_request(http, req, headers))
                except httpx.HTTPError as exc:
                    raise _http.connection_error(exc, req, self.secrets()) from None
                return self._check(_http.to_response(raw), req)
            except APIError as error:
                delay = self._next_delay(error, req, attempt, retry, started)
                if delay is None:
                    raise
                await self.clock.asleep(delay)
