"""Drivers: run a backend's flow, doing the I/O the flow asks for.

:class:`SyncDriver` and :class:`AsyncDriver` are the only places that send
requests.  They add auth headers, apply the retry policy, turn error statuses
into typed errors (unless the flow said it expects them), and log one line
per retry with no secret in it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

import httpx

from tuneport import _http
from tuneport.errors import APIError, TuneportError
from tuneport.protocol import Authenticator, Backoff, BlockingCall, Flow, HttpRequest, HttpResponse, Sleep
from tuneport.retry import RetryPolicy
from tuneport.waiting import Clock

T = TypeVar("T")
log = logging.getLogger("tuneport.http")


class _DriverBase:
    def __init__(self, authenticator: Authenticator | None, retry: RetryPolicy, clock: Clock) -> None:
        self.authenticator = authenticator
        self.retry = retry
        self.clock = clock
        #: Requests sent so far, retries included (for diagnostics and benchmarks).
        self.request_count = 0

    def secrets(self) -> Iterable[str]:
        return tuple(self.authenticator.secrets()) if self.authenticator else ()

    def _check(self, response: HttpResponse, req: HttpRequest) -> HttpResponse:
        if response.is_success or response.status_code in req.expected:
            return response
        raise _http.status_error(response, req, self.secrets())

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

    def __init__(
        self,
        http: httpx.Client,
        authenticator: Authenticator | None,
        retry: RetryPolicy,
        clock: Clock,
    ) -> None:
        super().__init__(authenticator, retry, clock)
        self.http = http

    def run(self, flow: Flow[T], *, retry: RetryPolicy | None = None, timeout: float | None = None) -> T:
        """Drive *flow* to completion and return its result."""
        policy = retry or self.retry
        # The retry deadline covers the whole call, every request of the flow.
        started = self.clock.monotonic()
        try:
            effect = next(flow)
            while True:
                try:
                    result: Any
                    if isinstance(effect, BlockingCall):
                        result = effect.run()
                    elif isinstance(effect, Sleep):
                        self.clock.sleep(effect.seconds)
                        started += effect.seconds  # polling pauses are not retry time
                        result = None
                    elif isinstance(effect, Backoff):
                        self.clock.sleep(self._backoff(effect, policy, started))
                        result = None
                    else:
                        result = self.send(effect, policy, timeout, started=started)
                except TuneportError as error:
                    effect = flow.throw(error)
                else:
                    effect = flow.send(result)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
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
                headers: Mapping[str, str] = (
                    self.authenticator.headers() if self.authenticator and req.authenticate else {}
                )
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
    """Runs flows with an :class:`httpx.AsyncClient`; blocking calls go to a thread."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        authenticator: Authenticator | None,
        retry: RetryPolicy,
        clock: Clock,
    ) -> None:
        super().__init__(authenticator, retry, clock)
        self.http = http
        # Bounds the requests handed to httpx at once: a fan-out of 1,000 waits queues
        # here, in O(1) per request, instead of in httpcore's pool (see _http.MAX_IN_FLIGHT).
        self._in_flight = asyncio.Semaphore(_http.MAX_IN_FLIGHT)

    async def run(
        self, flow: Flow[T], *, retry: RetryPolicy | None = None, timeout: float | None = None
    ) -> T:
        """Drive *flow* to completion and return its result."""
        policy = retry or self.retry
        # The retry deadline covers the whole call, every request of the flow.
        started = self.clock.monotonic()
        try:
            effect = next(flow)
            while True:
                try:
                    result: Any
                    if isinstance(effect, BlockingCall):
                        result = await asyncio.to_thread(effect.run)
                    elif isinstance(effect, Sleep):
                        await self.clock.asleep(effect.seconds)
                        started += effect.seconds  # polling pauses are not retry time
                        result = None
                    elif isinstance(effect, Backoff):
                        await self.clock.asleep(self._backoff(effect, policy, started))
                        result = None
                    else:
                        result = await self.send(effect, policy, timeout, started=started)
                except TuneportError as error:
                    effect = flow.throw(error)
                else:
                    effect = flow.send(result)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        finally:
            flow.close()

    async def _auth_headers(self, req: HttpRequest) -> Mapping[str, str]:
        if not self.authenticator or not req.authenticate:
            return {}
        if self.authenticator.blocking:
            return await asyncio.to_thread(self.authenticator.headers)
        return self.authenticator.headers()

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
                self.request_count += 1
                try:
                    async with self._in_flight:
                        raw = await self.http.send(_http.build_request(self.http, req, headers))
                except httpx.HTTPError as exc:
                    raise _http.connection_error(exc, req, self.secrets()) from None
                return self._check(_http.to_response(raw), req)
            except APIError as error:
                delay = self._next_delay(error, req, attempt, retry, started)
                if delay is None:
                    raise
                await self.clock.asleep(delay)
