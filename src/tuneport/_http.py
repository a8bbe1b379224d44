"""The one module that talks to the HTTP library (httpx).

Keeping httpx behind this module means a change of HTTP library touches one
file, and ``import tuneport`` does not pay for httpx until a client is made.
It turns :class:`~tuneport.protocol.HttpRequest` into httpx requests,
httpx exceptions into tuneport's connection errors, and Google's error bodies
into the :class:`~tuneport.errors.APIStatusError` tree.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from tuneport import __version__
from tuneport.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    redact,
    status_error_class,
)
from tuneport.protocol import HttpRequest, HttpResponse

USER_AGENT = f"tuneport/{__version__}"
_REQUEST_ID_HEADERS = ("x-request-id", "x-goog-request-id", "request-id")


def build_request(
    client: httpx.Client | httpx.AsyncClient, req: HttpRequest, auth: Mapping[str, str]
) -> httpx.Request:
    """The httpx request for *req*, with auth headers merged in."""
    headers = {"user-agent": USER_AGENT, **req.headers, **auth}
    timeout = httpx.USE_CLIENT_DEFAULT if req.timeout is None else httpx.Timeout(req.timeout)
    query = {k: _param(v) for k, v in req.params.items()}
    params: httpx.QueryParams | dict[str, str] | None = query or None
    if query and "?" in req.url:
        # httpx replaces a URL's query with `params`: merge instead, so a URL that
        # carries its own query (a resumable upload session) keeps it.
        params = httpx.URL(req.url).params.merge(query)
    # No params at all: pass None, as httpx then neither re-parses the URL nor drops its query.
    if req.content is not None:
        return client.build_request(
            req.method, req.url, params=params, headers=headers, content=req.content, timeout=timeout
        )
    if req.json is not None:
        return client.build_request(
            req.method, req.url, params=params, headers=headers, json=req.json, timeout=timeout
        )
    return client.build_request(req.method, req.url, params=params, headers=headers, timeout=timeout)


def _param(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_response(response: httpx.Response) -> HttpResponse:
    """A fully-read :class:`HttpResponse` from an httpx response."""
    return HttpResponse(
        status_code=response.status_code,
        headers=dict(response.headers),
        content=response.content,
        # Split, not URL.copy_with(query=None): that parses the URL again, on every response.
        url=str(response.request.url).split("?", 1)[0] if response.request else "",
    )


def connection_error(exc: httpx.HTTPError, req: HttpRequest, secrets: Iterable[str]) -> APIConnectionError:
    """Map an httpx transport exception to tuneport's connection errors."""
    url = safe_url(req.url)
    detail = redact(str(exc) or type(exc).__name__, secrets)
    if isinstance(exc, httpx.TimeoutException):
        # A connect timeout never reached the service; a read timeout may have.
        sent = not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
        return APITimeoutError(
            f"{req.method} {url} timed out: {detail}", method=req.method, url=url, request_sent=sent
        )
    sent = not isinstance(exc, httpx.ConnectError)
    return APIConnectionError(
        f"{req.method} {url} failed: {detail}", method=req.method, url=url, request_sent=sent
    )


def safe_url(url: str) -> str:
    # Query strings could carry a key=...; never show them.
    return redact(url.split("?", 1)[0])


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s$")


def status_error(response: HttpResponse, req: HttpRequest, secrets: Iterable[str]) -> APIStatusError:
    """The typed error for a non-2xx response, parsed from Google's error body."""
    secrets = tuple(secrets)
    body: Any = None
    message = ""
    status: str | None = None
    request_id = next((response.headers[h] for h in _REQUEST_ID_HEADERS if h in response.headers), None)
    retry_after = _retry_after(response.headers.get("retry-after"))
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        body = response.content.decode("utf-8", "replace")[:500]
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]  # some Google frontends wrap the error in a list
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        message = str(err.get("message") or "")
        status = err.get("status") if isinstance(err.get("status"), str) else None
        for detail in err.get("details") or ():
            if not isinstance(detail, dict):
                continue
            kind = str(detail.get("@type", ""))
            if kind.endswith("google.rpc.RequestInfo") and detail.get("requestId"):
                request_id = str(detail["requestId"])
            elif kind.endswith("google.rpc.RetryInfo") and retry_after is None:
                match = _DURATION.match(str(detail.get("retryDelay", "")))
                if match:
                    retry_after = float(match.group(1))
    elif isinstance(body, str):
        message = body.strip()
    if not message:
        message = f"HTTP {response.status_code}"
    cls = status_error_class(response.status_code)
    url = safe_url(req.url)
    return cls(
        redact(message, secrets),
        status_code=response.status_code,
        # Header and body values are the server's: a careless one echoes the credentials.
        status=redact(status, secrets) if status is not None else None,
        request_id=redact(request_id, secrets) if request_id is not None else None,
        body=_redact_body(body, secrets),
        method=req.method,
        url=url,
        retry_after=retry_after,
    )


def _redact_body(body: Any, secrets: tuple[str, ...]) -> Any:
    # Redact each string, not the JSON text: a pattern such as "?key=..." would
    # otherwise swallow the closing quote and leave text json.loads refuses.
    if isinstance(body, str):
        return redact(body, secrets)
    if isinstance(body, list):
        return [_redact_body(item, secrets) for item in body]
    if isinstance(body, dict):
        return {redact(str(k), secrets): _redact_body(v, secrets) for k, v in body.items()}
    return body


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # neither a delay nor an HTTP date: ignore the hint, keep the typed error
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)  # "-0000": RFC 5322 says UTC
    return max(parsed.timestamp() - time.time(), 0.0)


def new_sync_client(timeout: float, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An httpx client with tuneport's defaults."""
    return httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)


#: Requests an async client has in flight at once (the size of its connection pool). More
#: wait in the driver's queue: httpcore's pool slows down quadratically with its own queue
#: (1,000 concurrent gets took 35 s instead of 3 s on the emulator; see docs/performance.md).
MAX_IN_FLIGHT = 100


def new_async_client(timeout: float, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """An async httpx client with tuneport's defaults.

    Every pooled connection is kept alive (httpx keeps 20 of its 100 by default and closes
    the others after each request, so a busy client reconnects all the time).
    """
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    return httpx.AsyncClient(timeout=timeout, transport=transport, follow_redirects=False, limits=limits)


HTTPError = httpx.HTTPError


class GoogleAuthRequest:
    """google-auth's transport interface over httpx, for token refreshes.

    Implements ``google.auth.transport.Request`` (a callable returning an
    object with ``status``, ``headers`` and ``data``) so credentials refresh
    through tuneport's HTTP layer instead of requiring ``requests``.
    """

    def __init__(self, timeout: float = 30.0) -> None:
        self._timeout = timeout

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: object,
    ) -> _AuthResponse:
        import google.auth.exceptions

        try:
            with httpx.Client(timeout=timeout or self._timeout) as client:
                response = client.request(method, url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            # google-auth expects its own error type for transport failures.
            raise google.auth.exceptions.TransportError(redact(str(exc))) from None  # type: ignore[no-untyped-call]
        return _AuthResponse(response.status_code, dict(response.headers), response.content)


class _AuthResponse:
    def __init__(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.status = status
        self.headers = headers
        self.data = data
