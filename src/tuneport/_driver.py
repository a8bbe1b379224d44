"""Drivers: run a backend's flow, doing the I/O the flow asks for.

:class:`SyncDriver` and :class:`~tuneport._async_driver.AsyncDriver` (in a module of its
own, so the blocking client never imports asyncio) are the only places that send
requests or run blocking work.  They resolve the backend's authenticator on
first use, add auth headers, apply the retry policy, turn error statuses into
typed errors through the backend's :meth:`~tuneport.protocol.TuningBackend.read_error`
(unless the flow said it expects them), and log one line per retry with no
secret in it.  Whatever escapes a flow is a :class:`~tuneport.errors.TuneportError`:
an untyped exception (a bug in a backend) arrives wrapped in
:class:`~tuneport.errors.BackendError`.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

import httpx

from tuneport import _http
from tuneport._endpoint import MAX_TIMEOUT
from tuneport.errors import APIError, BackendError, Problem, SpecError, TuneportError
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
        self._json_replies = backend.capabilities.json_replies

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
        if response.is_success:
            if self._json_replies:
                response.json()  # a broken body raises APIResponseError here, where it can be retried
            return response
        if response.status_code in req.expected:
            return response
        details = self.backend.read_error(response)
        raise _http.status_error(response, details, req, self.secrets())

    @staticmethod
    def _check_call_timeout(timeout: float | None) -> None:
        """Refuse a per-call ``timeout=`` the sockets cannot take, before anything is sent."""
        if timeout is None:
            return
        number = isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
        if not number or not math.isfinite(timeout) or not 0 < timeout <= MAX_TIMEOUT:
            problem = Problem(
                f"must be seconds above 0 and at most {MAX_TIMEOUT:,.0f} (a day), got {timeout!r}",
                field="timeout",
                rule="out-of-range",
            )
            raise SpecError([problem], summary="invalid timeout")

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
