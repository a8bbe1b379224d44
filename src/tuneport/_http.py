"""The one module that talks to the HTTP library (httpx).

Keeping httpx behind this module means a change of HTTP library touches one
file, and ``import tuneport`` does not pay for httpx until a client is made.
It turns :class:`~tuneport.protocol.HttpRequest` into httpx requests,
httpx exceptions into tuneport's connection errors, and what a backend read in
an error answer (:class:`~tuneport.protocol.ErrorDetails`) into the
:class:`~tuneport.errors.APIStatusError` tree.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import ssl

from tuneport import __version__
from tuneport._secrets import redact
from tuneport.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    status_error_class,
)
from tuneport.protocol import BackendSettings, ErrorDetails, HttpRequest, HttpResponse

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
        content: bytes | AsyncIterator[bytes] = req.content
        if isinstance(client, httpx.AsyncClient) and len(req.content) > STREAM_SLICE:
            # Written in slices: one 8 MiB write is copied in a single loop step (~10 ms).
            headers.setdefault("content-length", str(len(req.content)))
            content = _slices(req.content)
        return client.build_request(
            req.method, req.url, params=params, headers=headers, content=content, timeout=timeout
        )
    if req.json is not None:
        return client.build_request(
            req.method, req.url, params=params, headers=headers, json=req.json, timeout=timeout
        )
    return client.build_request(req.method, req.url, params=params, headers=headers, timeout=timeout)


#: Bodies larger than this are handed to an async client in slices of this size.
STREAM_SLICE = 256 * 1024


async def _slices(content: bytes) -> AsyncIterator[bytes]:
    view = memoryview(content)
    for start in range(0, len(view), STREAM_SLICE):
        yield bytes(view[start : start + STREAM_SLICE])


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


def status_error(
    response: HttpResponse, details: ErrorDetails, req: HttpRequest, secrets: Iterable[str]
) -> APIStatusError:
    """The typed error for a non-2xx response, from what the backend read in it (*details*).

    A request id or ``Retry-After`` the body does not give is taken from the
    standard headers.  Every text is the server's: a careless one echoes the
    credentials, so each is masked.
    """
    secrets = tuple(secrets)
    request_id = details.request_id or next(
        (response.headers[h] for h in _REQUEST_ID_HEADERS if h in response.headers), None
    )
    retry_after = _retry_after(response.headers.get("retry-after"))
    if retry_after is None:
        retry_after = details.retry_after
    cls = status_error_class(response.status_code)
    return cls(
        redact(details.message or f"HTTP {response.status_code}", secrets),
        status_code=response.status_code,
        status=redact(details.status, secrets) if details.status is not None else None,
        request_id=redact(request_id, secrets) if request_id is not None else None,
        body=_redact_body(details.body, secrets),
        method=req.method,
        url=safe_url(req.url),
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


def tls_verification(settings: BackendSettings) -> ssl.SSLContext | bool:
    """How a client verifies TLS: with the CA bundle, unless it can only ever speak plain HTTP.

    A declared emulator on an ``http://`` endpoint receives every request, so
    the CA bundle (about 40 ms to load) is not needed: its context holds no
    certificate at all, so an ``https`` request would fail verification —
    never pass unchecked.
    """
    endpoint = settings.endpoint or ""
    if settings.emulator and endpoint.startswith("http://"):
        import ssl

        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, and trusts no one
    return True


def new_sync_client(
    timeout: float, transport: httpx.BaseTransport | None = None, *, verify: ssl.SSLContext | bool = True
) -> httpx.Client:
    """An httpx client with tuneport's defaults."""
    return httpx.Client(timeout=timeout, transport=transport, follow_redirects=False, verify=verify)


#: Requests an async client has in flight at once (the size of its connection pool). More
#: wait in the driver's queue: httpcore's pool slows down quadratically with its own queue
#: (1,000 concurrent gets took 35 s instead of 3 s on the emulator; see docs/performance.md).
MAX_IN_FLIGHT = 100


#: What httpcore imports on an async client's first connection (its anyio network backend).
_ASYNC_FIRST_USE_MODULES = ("httpcore._backends.anyio", "anyio._backends._asyncio")


def prepared_async_client(make: Callable[[], httpx.AsyncClient]) -> httpx.AsyncClient:
    """*make()* and import what its first connection would (blocking: run it in a worker thread).

    Building an async client loads the CA bundle, and its first connection
    imports anyio's asyncio backend: together 30-60 ms, which would stall an
    event loop if done there.  The imports are a warm-up only: a module that
    an httpx release no longer has is skipped.
    """
    import contextlib
    import importlib

    client = make()
    for module in _ASYNC_FIRST_USE_MODULES:
        # Another httpcore/anyio layout: it loads on first use instead.
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    return client


def new_async_client(
    timeout: float,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    verify: ssl.SSLContext | bool = True,
) -> httpx.AsyncClient:
    """An async httpx client with tuneport's defaults.

    Every pooled connection is kept alive (httpx keeps 20 of its 100 by default and closes
    the others after each request, so a busy client reconnects all the time).
    """
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    return httpx.AsyncClient(
        timeout=timeout, transport=transport, follow_redirects=False, limits=limits, verify=verify
    )
