"""Drivers: run a backend's flow, doing the I/O the flow asks for.

:class:`SyncDriver` and :class:`AsyncDriver` are the only places that send
requests or run blocking work.  They resolve the backend's authenticator on
first use, add auth headers, apply the retry policy, turn error statuses into
typed errors through the backend's :meth:`~tuneport.protocol.TuningBackend.read_error`
(unless the flow said it expects them), and log one line per retry with no
secret in it.  Whatever escapes a flow is a :class:`~tuneport.errors.TuneportError`:
an untyped exception (a bug in a backend) arrives wrapped in
:class:`~tuneport.errors.BackendError`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

import httpx

from tuneport import _http
from tuneport.errors import APIError, BackendError, TuneportError
from tuneport.protocol import (
    Authenticator,
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

T = TypeVar("T")
log = logging.getLogger("tuneport.http")


class _Unresolved:
    """The authenticator before the first request that needs one."""


_UNRESOLVED = _Unresolved()


class _DriverBase:
    def __init__(self, backend: TuningBackend, retry: RetryPolicy, clock: Clock) -> None:
        self.backend = backend
        self.retry = retry
        self.clock = clock
        #: Requests sent so far, retries included (for diagnostics and benchmarks).
        self.request_count = 0
        self._authenticator: Authenticator | _Unresolved | None = _UNRESOLVED
        self._auth_lock = threading.Lock()

    @property
    def authenticator(self) -> Authenticator | None:
        """The backend's authenticator, resolved now if no request has needed it yet (may block)."""
        return self._resolve_authenticator()

    def _resolve_authenticator(self) -> Authenticator | None:
        # Locked: concurrent first requests (threads, or tasks each in a worker
        # thread) must look credentials up once, not race to build several.
        with self._auth_lock:
            if isinstance(self._authenticator, _Unresolved):
                self._authenticator = self.backend.authenticator()
            return self._authenticator

    def secrets(self) -> Iterable[str]:
        authenticator = self._authenticator
        if authenticator is None or isinstance(authenticator, _Unresolved):
            return ()
        return tuple(authenticator.secrets())

    def _check(self, response: HttpResponse, req: HttpRequest) -> HttpResponse:
        if response.is_success or response.status_code in req.expected:
            return response
        details = self.backend.read_error(response)
        raise _http.status_error(response, details, req, self.secrets())

    def _untyped(self, exc: Exception) -> BackendError:
        """The typed error for an exception a flow let escape (a bug in the backend)."""
        return BackendError(self.backend.name, exc, self.secrets())

    def _next_delay(
        self, error: APIError, req: HttpRequest, attempt: int, retry: RetryPolicy, started: float
    ) -> float | None:
        """Seconds to sleep before retrying, or ``None`` to give up."""
        if attempt >= retry.max_attempts or not retry.is_retryable(error, idempotent=req.idempotent):
            return None
        delay = retry.delay(attempt, error)
        if retry.deadline is not None and self.clock.monotonic() - started + delay > retry.deadline:
            return None
        log.warning(
            "retrying %s %s in %.2fs (attempt %d of %d): %s",
            req.method,
            _http.safe_url(req.url),
            delay,
            attempt + 1,
            retry.max_attempts,
            type(error).__name__ + (f" {getattr(error, 'status_code', '')}".rstrip()),
        )
        return delay

    def _backoff(self, effect: Backoff, retry: RetryPolicy, started: float) -> float:
        """Seconds to wait before a flow's own retry; raises the error when the policy gives up."""
        error = effect.error
        delay = retry.delay(effect.attempt, error if isinstance(error, APIError) else None)
        out_of_time = retry.deadline is not None and self.clock.monotonic() - started + delay > retry.deadline
        if effect.attempt >= retry.max_attempts or out_of_time:
            raise error
        log.warning(
            "retrying after %s in %.2fs (attempt %d of %d)",
            type(error).__name__ + (f" {getattr(error, 'status_code', '')}".rstrip()),
            delay,
            effect.attempt + 1,
            retry.max_attempts,
        )
        return delay


class SyncDriver(_DriverBase):
    """Runs flows with a blocking :class:`httpx.Client`."""

    def __init__(self, http: httpx.Client, backend: TuningBackend, retry: RetryPolicy, clock: Clock) -> None:
        super().__init__(backend, retry, clock)
        self.http = http

    def run(self, flow: Flow[T], *, retry: RetryPolicy | None = None, timeout: float | None = None) -> T:
        """Drive *flow* to completion and return its result."""
        policy = retry or self.retry
        # The retry deadline covers the whole call, every request of the flow.
        started = self.clock.monotonic()
        try:
            effect: Effect = next(flow)
            while True:
                try:
                    result: Any = None
                    if isinstance(effect, BlockingCall):
                        result = effect.run()
                    elif isinstance(effect, Sleep):
                        self.clock.sleep(effect.seconds)
                        started += effect.seconds  # polling pauses are not retry time
                    elif isinstance(effect, Backoff):
                        self.clock.sleep(self._backoff(effect, policy, started))
                    else:
                        result = self.send(effect, policy, timeout, started=started)
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

    def send(
        self,
        req: HttpRequest,
        retry: RetryPolicy,
        timeout: float | None = None,
        *,
        started: float | None = None,
    ) -> HttpResponse:
        """Send one request with retries; raise the typed error when it fails.

        ``timeout`` (a per-call override) replaces the request's own;
        ``started`` is when the call began, for the retry deadline.
        """
        if timeout is not None:
            req = replace(req, timeout=timeout)
        if started is None:
            started = self.clock.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                authenticator = self._resolve_authenticator() if req.authenticate else None
                headers: Mapping[str, str] = authenticator.headers() if authenticator else {}
                self.request_count += 1
                try:
                    raw = self.http.send(_http.build_request(self.http, req, headers))
                except httpx.HTTPError as exc:
                    raise _http.connection_error(exc, req, self.secrets()) from None
                return self._check(_http.to_response(raw), req)
            except APIError as error:
                delay = self._next_delay(error, req, attempt, retry, started)
                if delay is None:
                    raise
                self.clock.sleep(delay)


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
