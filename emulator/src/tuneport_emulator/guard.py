"""Transport-level protections: an ASGI middleware in front of the emulator's app.

The emulator listens on loopback for tests and CI, where the threats are a web
page in the developer's browser and a runaway client, not a hostile network.
:class:`Guard` wraps the ASGI app and, before the app sees a request:

* **refuses foreign Host headers** (DNS rebinding: a page on ``evil.example``
  whose name re-resolves to 127.0.0.1 would otherwise read
  ``GET /_emulator/state``).  Served: ``localhost``, ``127.0.0.0/8``,
  ``[::1]`` (with or without a port), the bound host and ``allowed_hosts``;
  every Host is served with ``allow_remote``;
* **refuses a non-loopback ``Origin``** (and ``Origin: null``, which sandboxed
  frames send) and ``Sec-Fetch-Site: cross-site`` on every route, so no page
  can drive the emulator with simple cross-origin requests;
* **requires ``Content-Type: application/json`` on admin writes** (``POST``,
  ``PUT``, ``DELETE``… under ``/_emulator/``; a ``DELETE`` without a body needs
  none): a browser sends that type only after a CORS preflight, which the
  emulator never grants.  The routes under
  ``raw_admin_prefixes`` (the storage seed, whose body is the object's bytes)
  take any type a browser cannot send without a preflight;
* **demands the key on every route** when ``allow_remote`` and ``api_key`` are
  both set (:class:`~tuneport_emulator.auth.RemoteAccessKey`);
* **bounds what requests hold**: at most :data:`MAX_CONCURRENT_REQUESTS`
  requests at once (503 beyond), at most :data:`MAX_INFLIGHT_BODY_BYTES` of
  request bodies held in memory by all requests together (429 beyond;
  routes for which ``streamed(method, path)`` is true spool to disk and do
  not count), and a body that makes no progress for
  :data:`BODY_IDLE_TIMEOUT` seconds is abandoned (408).

Every refusal is an error in Google's shape (``{"error": {code, message,
status}}``); refused requests never reach the app, so they are not in the
request log.  No header value that may carry a secret is ever echoed.

How to wrap the app (``serve`` and ``Emulator.start``)::

    from tuneport_emulator.guard import MAX_CONNECTIONS, Guard, streamed_routes

    app = Guard(
        asgi_app,
        bound_host=emulator.host,
        allow_remote=allow_remote,
        api_key=require_key,              # only enforced here with allow_remote
        streamed=streamed_routes(router), # spooled uploads are not held in memory
    )
    uvicorn.Config(app, host=..., port=..., limit_concurrency=MAX_CONNECTIONS, backlog=BACKLOG)
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import threading
from collections.abc import Callable, Iterable
from urllib.parse import parse_qs, urlsplit

from tuneport_emulator.asgi import ASGIApp, Message, Receive, Scope, Send
from tuneport_emulator.auth import RemoteAccessKey
from tuneport_emulator.routing import Router
from tuneport_emulator.wire import ApiError

__all__ = [
    "BACKLOG",
    "BODY_IDLE_TIMEOUT",
    "MAX_CONCURRENT_REQUESTS",
    "MAX_CONNECTIONS",
    "MAX_INFLIGHT_BODY_BYTES",
    "Guard",
    "is_loopback_host",
    "streamed_routes",
]


#: Open connections the server keeps at once (uvicorn's ``limit_concurrency``; it answers 503 beyond).
MAX_CONNECTIONS = 256
#: Connections waiting to be accepted (the listening socket's backlog).
BACKLOG = 128
#: Requests the app handles at once; beyond it the guard answers 503 UNAVAILABLE.
MAX_CONCURRENT_REQUESTS = MAX_CONNECTIONS
#: Request-body bytes all requests together may hold in memory; beyond it 429 RESOURCE_EXHAUSTED.
#: Two bodies of the largest accepted size (64 MiB) fit at once.
MAX_INFLIGHT_BODY_BYTES = 128 * 1024 * 1024
#: Seconds a request body may go without a byte arriving before it is abandoned (408).
BODY_IDLE_TIMEOUT = 60.0

#: Content types a browser sends cross-origin without a preflight (the CORS-safelisted ones).
_SIMPLE_CONTENT_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_ADMIN_PREFIX = "/_emulator"
_JSON = "application/json"
#: Longest refused Host or Origin echoed in an error message.
_ECHO_LIMIT = 100
#: Distinct Host header values whose verdict the guard remembers.
_SERVED_HOSTS_CACHE = 256


def is_loopback_host(host: str) -> bool:
    """Whether a Host header's host part names loopback: ``localhost``, 127.0.0.0/8 or ``::1``.

    ``host`` has no port; an IPv6 address may keep its brackets.
    """
    name = host.strip().lower().removesuffix(".")
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False  # any other name may resolve anywhere, at any time (DNS rebinding)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _host_part(value: str) -> str | None:
    """The host of a ``Host`` header value (without its port), or None if it is malformed."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, rest = value[: end + 1], value[end + 1 :]
    else:
        host, colon, port = value.partition(":")
        rest = colon + port
    if rest and not (rest.startswith(":") and rest[1:].isdigit() and rest[1:].isascii()):
        return None
    return host or None


def streamed_routes(router: Router) -> Callable[[str, str], bool]:
    """A ``streamed`` predicate for :class:`Guard`: whether the route spools its body to disk."""

    def streamed(method: str, path: str) -> bool:
        try:
            route, _ = router.resolve(method, path)
        except ApiError:
            return False
        return route.stream_body

    return streamed


class _Budget:
    """A byte budget shared by every request (thread-safe: a guard may serve several loops)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self, amount: int) -> bool:
        with self._lock:
            if self.used + amount > self.limit:
                return False
            self.used += amount
            return True

    def give(self, amount: int) -> None:
        with self._lock:
            self.used -= amount


class _Refused(Exception):
    """A request the guard answers itself."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


class Guard:
    """The ASGI middleware described in the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        bound_host: str | None = None,
        allowed_hosts: Iterable[str] = (),
        allow_remote: bool = False,
        api_key: str | None = None,
        streamed: Callable[[str, str], bool] | None = None,
        raw_admin_prefixes: Iterable[str] = ("/_emulator/storage/",),
        max_concurrent_requests: int | None = None,
        max_inflight_body_bytes: int | None = None,
        body_idle_timeout: float | None = None,
    ) -> None:
        """Wrap ``app``; the limits default to this module's constants (read when the guard is made)."""
        self.app = app
        self.allow_remote = allow_remote
        self._hosts = frozenset(
            name.strip().lower().removesuffix(".")
            for name in [*allowed_hosts, *([bound_host] if bound_host else [])]
        )
        # The key is enforced here only for a remote emulator: on loopback it
        # guards the Gemini routes alone, as the route-level ApiKeyAuth does.
        self._key = RemoteAccessKey(api_key) if allow_remote and api_key is not None else None
        self._streamed = streamed
        self._raw_admin_prefixes = tuple(raw_admin_prefixes)
        self._max_requests = (
            MAX_CONCURRENT_REQUESTS if max_concurrent_requests is None else max_concurrent_requests
        )
        self._active = 0
        self._active_lock = threading.Lock()
        self._bodies = _Budget(
            MAX_INFLIGHT_BODY_BYTES if max_inflight_body_bytes is None else max_inflight_body_bytes
        )
        self._idle_timeout = BODY_IDLE_TIMEOUT if body_idle_timeout is None else body_idle_timeout
        # Host header value -> whether it is served: clients send the same one on every request,
        # and parsing it as an address each time was a tenth of a cached read.  Bounded.
        self._served_hosts: dict[str, bool] = {}

    def __repr__(self) -> str:
        # Never the key: reprs end up in logs and tracebacks.
        return (
            f"Guard(allow_remote={self.allow_remote}, key_required={self._key is not None}, "
            f"max_inflight_body_bytes={self._bodies.limit})"
        )

    @property
    def inflight_body_bytes(self) -> int:
        """Request-body bytes currently held by requests in progress (for tests and monitoring)."""
        return self._bodies.used

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # the emulator speaks no WebSocket
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # lifespan
            return
        headers = _headers(scope)
        try:
            self._check_site(headers)
            self._check_credentials(scope, headers)
            self._check_admin_write(scope, headers)
        except _Refused as refused:
            await _reply(send, refused.error, close=_has_body(headers))
            return
        with self._active_lock:
            busy = self._active >= self._max_requests
            if not busy:
                self._active += 1
        if busy:
            error = ApiError(
                "UNAVAILABLE",
                f"The emulator is handling {self._max_requests} requests already; retry later.",
                headers={"Retry-After": "1"},
            )
            await _reply(send, error, close=True)
            return
        try:
            await self._serve(scope, receive, send, headers)
        finally:
            with self._active_lock:
                self._active -= 1

    # --- checks ----------------------------------------------------------------------------

    def _check_site(self, headers: dict[str, list[str]]) -> None:
        if not self.allow_remote:
            for value in headers.get("host", []):
                if not self._serves(value):
                    raise _Refused(
                        ApiError(
                            "PERMISSION_DENIED",
                            f"Host '{_echo(value)}' is not served: this emulator answers only to "
                            "loopback names (localhost, 127.0.0.1, [::1]); start it with "
                            "--allow-remote to serve other names.",
                        )
                    )
            if len(headers.get("host", [])) > 1:
                raise _Refused(ApiError("INVALID_ARGUMENT", "A request has one Host header."))
        for origin in headers.get("origin", []):
            if not _is_loopback_origin(origin):
                raise _Refused(
                    ApiError(
                        "PERMISSION_DENIED",
                        f"Cross-origin requests from '{_echo(origin)}' are refused: only pages "
                        "served from loopback may call the emulator.",
                    )
                )
        if any(value.strip().lower() == "cross-site" for value in headers.get("sec-fetch-site", [])):
            raise _Refused(ApiError("PERMISSION_DENIED", "Cross-site requests are refused."))

    def _serves(self, value: str) -> bool:
        """Whether the ``Host`` header ``value`` names this emulator (loopback or an allowed name)."""
        served = self._served_hosts.get(value)
        if served is None:
            host = _host_part(value)
            served = host is not None and (
                is_loopback_host(host) or host.lower().removesuffix(".") in self._hosts
            )
            if len(self._served_hosts) >= _SERVED_HOSTS_CACHE:
                self._served_hosts.clear()
            self._served_hosts[value] = served
        return served

    def _check_credentials(self, scope: Scope, headers: dict[str, list[str]]) -> None:
        if self._key is None:
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        single = {name: values[-1] for name, values in headers.items()}
        try:
            self._key.check(single, query)
        except ApiError as exc:
            raise _Refused(exc) from None

    def _check_admin_write(self, scope: Scope, headers: dict[str, list[str]]) -> None:
        method = str(scope.get("method", "GET")).upper()
        path = _normal_path(str(scope.get("path", "/")))
        if method in _SAFE_METHODS or not (path == _ADMIN_PREFIX or path.startswith(_ADMIN_PREFIX + "/")):
            return
        if method == "DELETE" and not _has_body(headers):
            return  # browsers preflight every cross-origin DELETE; a bodiless one declares nothing
        types = headers.get("content-type", [])
        essence = types[0].split(";", 1)[0].strip().lower() if len(types) == 1 else None
        if any(path.startswith(prefix) for prefix in self._raw_admin_prefixes):
            if essence and essence not in _SIMPLE_CONTENT_TYPES:
                return
            wanted = "a Content-Type other than " + ", ".join(sorted(_SIMPLE_CONTENT_TYPES))
        elif essence == _JSON:
            return
        else:
            wanted = "Content-Type: application/json"
        raise _Refused(
            ApiError(
                "INVALID_ARGUMENT",
                f"Admin requests that change state need {wanted} (so that no web page can send them).",
                http_status=415,
            )
        )

    # --- bodies -----------------------------------------------------------------------------

    async def _serve(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, list[str]]) -> None:
        if not _has_body(headers):
            # Nothing to reserve, count or time out: the app talks to the server directly.
            await self.app(scope, receive, send)
            return
        method = str(scope.get("method", "GET")).upper()
        counted = not (self._streamed is not None and self._streamed(method, str(scope.get("path", "/"))))
        declared = _content_length(headers)
        reserved = 0
        # A declared body within the budget is reserved whole, before a byte is read; a larger
        # one (which the app refuses as too large) is counted as it arrives, like a chunked one.
        if counted and 0 < declared <= self._bodies.limit:
            if not self._bodies.take(declared):
                await _reply(send, self._over_budget(), close=True)
                return
            reserved = declared
        state = _RequestState(expects_body=_has_body(headers))

        async def guarded_receive() -> Message:
            if state.cut is not None:
                return {"type": "http.disconnect"}
            if not state.expects_body or state.body_done:
                return await receive()
            try:
                message = await _within(receive, self._idle_timeout)
            except asyncio.TimeoutError:
                state.cut = ApiError(
                    "DEADLINE_EXCEEDED",
                    f"The request body stalled for {self._idle_timeout:g} seconds.",
                    http_status=408,
                )
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                size = len(message.get("body", b""))
                state.body_done = not message.get("more_body", False)
                if counted and state.received + size > reserved:
                    # Chunked (or more than declared): counted as it arrives.
                    extra = state.received + size - max(reserved, state.received)
                    if not self._bodies.take(extra):
                        state.cut = self._over_budget()
                        return {"type": "http.disconnect"}
                    state.taken += extra
                state.received += size
            return message

        async def guarded_send(message: Message) -> None:
            if state.cut is not None:
                return  # the guard answers instead (below)
            if message["type"] == "http.response.start":
                state.started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if state.cut is None:
                raise
            # The app saw the body end early and gave up (ClientDisconnect and the like).
        finally:
            self._bodies.give(reserved + state.taken)
        if state.cut is not None and not state.started:
            await _reply(send, state.cut, close=True)

    def _over_budget(self) -> ApiError:
        return ApiError(
            "RESOURCE_EXHAUSTED",
            f"The emulator is holding {self._bodies.limit} bytes of request bodies already; retry later.",
            headers={"Retry-After": "1"},
        )


class _RequestState:
    """What the guard knows of one request in progress."""

    def __init__(self, *, expects_body: bool) -> None:
        self.expects_body = expects_body
        self.body_done = False
        self.received = 0
        self.taken = 0
        self.started = False
        #: Set when the guard cut the body short; it answers with this error.
        self.cut: ApiError | None = None


async def _within(receive: Receive, seconds: float) -> Message:
    """``receive()``, or ``asyncio.TimeoutError`` after ``seconds``.

    ``asyncio.timeout`` (Python 3.11) sets one timer; ``wait_for`` wraps the
    call in a task of its own too, which cost a body's request more than the
    rest of the guard.
    """
    timeout = getattr(asyncio, "timeout", None)
    if timeout is None:
        return await asyncio.wait_for(receive(), seconds)
    async with timeout(seconds):
        return await receive()


def _headers(scope: Scope) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in scope.get("headers", []):
        headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return headers


def _has_body(headers: dict[str, list[str]]) -> bool:
    if "transfer-encoding" in headers:
        return True
    return bool(_content_length(headers))


def _content_length(headers: dict[str, list[str]]) -> int:
    values = headers.get("content-length", [])
    text = values[0].strip() if values else ""
    return int(text) if text.isdigit() and text.isascii() else 0


def _is_loopback_origin(origin: str) -> bool:
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False  # "null" (sandboxed frames, file: pages), extensions' schemes…
    try:
        host = parts.hostname
        parts.port  # noqa: B018 -- raises on a malformed port
    except ValueError:
        return False
    return host is not None and is_loopback_host(host)


def _normal_path(path: str) -> str:
    """The path as a router might see it: lower case, no repeated slashes (for the admin check)."""
    while "//" in path:
        path = path.replace("//", "/")
    return path.lower()


def _echo(value: str) -> str:
    text = value if len(value) <= _ECHO_LIMIT else value[:_ECHO_LIMIT] + "…"
    return text.encode("ascii", "backslashreplace").decode("ascii")


async def _reply(send: Send, error: ApiError, *, close: bool) -> None:
    """Answer with ``error`` in Google's shape (``close``: the body was not read, drop the connection)."""
    payload = (json.dumps(error.body(), indent=2) + "\n").encode("utf-8")
    headers = [
        (b"content-type", b"application/json; charset=UTF-8"),
        (b"content-length", str(len(payload)).encode("ascii")),
        *((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in error.headers.items()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": error.http_status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
