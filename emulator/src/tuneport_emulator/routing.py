"""A small router: HTTP method + path pattern → handler.

Surfaces register routes on one :class:`Router`; the HTTP server resolves
each request to a :class:`Route` and calls its handler with a
:class:`Request`.  Patterns are Google's resource paths with named segments:
``/v1beta/tunedModels/{model}:generateContent`` (``{name}`` matches one
segment up to a ``/`` or ``:``) or ``/storage/v1/b/{bucket}/o/{object:path}``
(``{name:path}`` matches the rest, slashes included).  Captured values are
percent-decoded.

Each route lists the query parameters it binds (camelCase; the snake_case
spelling is accepted too); like Google's front end, the server refuses any
other parameter that is not a system parameter (``$alt``, ``key``…).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import unquote

from tuneport_emulator.wire import ApiError, bad_request, parse_json_body

__all__ = [
    "SYSTEM_PARAMETERS",
    "AuthCheck",
    "FileBody",
    "Handler",
    "Request",
    "Response",
    "Route",
    "Router",
]

#: Query parameters every Google REST method accepts (system parameters).
SYSTEM_PARAMETERS = frozenset(
    {
        "$alt", "alt", "key", "fields", "$fields", "prettyPrint", "$prettyPrint", "quotaUser",
        "$quotaUser", "callback", "$callback", "upload_protocol", "uploadType", "access_token",
        "oauth_token", "$.xgafv", "userIp", "$userProject", "$outputDefaults",
    }
)  # fmt: skip

_SEGMENT = re.compile(r"\{(\w+)(:path)?\}")
#: Resolved (method, path) pairs the router remembers, and the longest path it remembers.
_RESOLVED_CACHE_SIZE = 1024
_RESOLVED_CACHE_PATH = 512
_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass
class Request:
    """One HTTP request as a handler sees it."""

    method: str
    path: str  # without the query string, not decoded
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # case-insensitive (Starlette's Headers; the first value of a repeated header)
    body: bytes = b""
    #: Values captured by the route's pattern, percent-decoded.
    params: dict[str, str] = field(default_factory=dict)
    #: What the request log records as the body; handlers set it to the
    #: normalized (camelCase) body once they have read it.
    log_body: Any = None
    #: For a route registered with ``stream_body=True``: the body spooled to a
    #: temporary file by the server (``body`` is then empty).  Read it with
    #: :meth:`open_body`, which works for every route.
    body_file: BinaryIO | None = field(default=None, repr=False)
    _json: Any = field(default=None, repr=False)

    def open_body(self) -> BinaryIO:
        """The body as a binary file positioned at its start (spooled on disk for streamed routes)."""
        if self.body_file is None:
            return io.BytesIO(self.body)
        self.body_file.seek(0)
        return self.body_file

    @property
    def body_size(self) -> int:
        """The body's length in bytes, wherever it is kept."""
        if self.body_file is None:
            return len(self.body)
        return self.body_file.seek(0, io.SEEK_END)

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (``{}`` when empty); 400 if it is not one."""
        if self._json is None:
            self._json = parse_json_body(self.body)
            if self.log_body is None:
                self.log_body = self._json
        return self._json  # type: ignore[no-any-return]

    def param(self, name: str) -> str | None:
        """A query parameter by camelCase name (or its snake_case spelling); the last value wins."""
        for spelling in (name, _CAMEL_BOUNDARY.sub("_", name).lower()):
            values = self.query.get(spelling)
            if values:
                return values[-1]
        return None

    @property
    def alt(self) -> str:
        """The ``$alt``/``alt`` system parameter, e.g. ``json;enum-encoding=int``."""
        values = self.query.get("$alt") or self.query.get("alt") or ["json"]
        return values[-1]

    @property
    def enum_int(self) -> bool:
        """Whether the client asked for enums as integers (``$alt=json;enum-encoding=int``)."""
        options = [part.strip().lower() for part in self.alt.split(";")]
        return "enum-encoding=int" in options[1:]

    @property
    def pretty(self) -> bool:
        """Google pretty-prints replies unless ``prettyPrint=false``."""
        values = self.query.get("prettyPrint") or self.query.get("$prettyPrint") or ["true"]
        return values[-1].lower() != "false"


@dataclass
class FileBody:
    """A response body sent from an open binary file: ``length`` bytes from where it stands.

    The server writes it in blocks, so that it is never whole in memory, and
    closes the file once the answer is written, or abandoned (a client that
    went away, a fault that replaced the answer).
    """

    file: BinaryIO
    length: int

    def close(self) -> None:
        """Close the file (idempotent)."""
        self.file.close()


@dataclass
class Response:
    """What a handler returns: a JSON-able body, bytes, or a :class:`FileBody`, with a content type."""

    body: Any = None
    status: int = 200
    content_type: str = "application/json; charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]
#: Checks a request's credentials; raises :class:`ApiError` to refuse it.
AuthCheck = Callable[[Request], None]


@dataclass(frozen=True)
class Route:
    """A registered route."""

    method: str
    pattern: str
    handler: Handler
    name: str
    query: frozenset[str]
    auth: AuthCheck | None
    #: Whether requests to it go to the request log (admin routes do not).
    log: bool
    regex: re.Pattern[str]
    #: Whether the server spools the body to disk (``Request.body_file``) instead of memory.
    stream_body: bool = False


class Router:
    """Routes by method and path; the first registered match wins."""

    def __init__(self) -> None:
        self._routes: list[Route] = []
        # (method, path) -> (route, captured values): the same paths come again and again (a
        # polled operation, a collection's creates), and matching them against every route's
        # pattern in turn was most of a resolve.  Bounded; emptied when a route is added.
        self._resolved: dict[tuple[str, str], tuple[Route, dict[str, str]]] = {}

    @property
    def routes(self) -> tuple[Route, ...]:
        return tuple(self._routes)

    def add(
        self,
        method: str,
        pattern: str,
        handler: Handler,
        *,
        name: str,
        query: Iterable[str] = (),
        auth: AuthCheck | None = None,
        log: bool = True,
        stream_body: bool = False,
    ) -> Route:
        """Register ``handler`` for ``method`` on ``pattern``; a duplicate is a bug (ValueError)."""
        method = method.upper()
        if any(r.method == method and r.pattern == pattern for r in self._routes):
            raise ValueError(f"route {method} {pattern} is already registered")
        allowed = set()
        for spelling in query:
            allowed.add(spelling)
            allowed.add(_CAMEL_BOUNDARY.sub("_", spelling).lower())
        route = Route(
            method, pattern, handler, name, frozenset(allowed), auth, log, _compile(pattern), stream_body
        )
        self._routes.append(route)
        self._resolved.clear()
        return route

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for a request and its captured values; 404 in Google's shape if none."""
        key = (method, path)
        known = self._resolved.get(key)
        if known is not None:
            return known[0], dict(known[1])
        route, params = self._match(method, path)
        if len(path) <= _RESOLVED_CACHE_PATH:
            if len(self._resolved) >= _RESOLVED_CACHE_SIZE:
                self._resolved.clear()
            self._resolved[key] = (route, params)
        return route, dict(params)

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed: list[str] = []
        for route in self._routes:
            match = route.regex.fullmatch(path)
            if match is None:
                continue
            if route.method != method.upper():
                allowed.append(route.method)
                continue
            return route, {k: unquote(v) for k, v in match.groupdict().items()}
        headers = {"Allow": ", ".join(sorted(set(allowed)))} if allowed else None
        # Google's front end answers an unknown path, or a known path with the
        # wrong verb, with 404; the Allow header is this emulator's courtesy.
        raise ApiError(
            "NOT_FOUND", f"The requested URL {unquote(path)} was not found on this server.", headers=headers
        )


def require_json_alt(request: Request) -> None:
    """Refuse an ``$alt`` other than JSON (``json;enum-encoding=int`` is JSON), as Google's reads do."""
    fmt = request.alt.split(";", 1)[0].strip().lower() or "json"
    if fmt != "json":
        raise bad_request(f"Invalid value for the alt system parameter: '{fmt}'.", field="$alt")


def check_query(route: Route, request: Request) -> None:
    """Refuse query parameters the route does not bind, as ESF does."""
    for name in request.query:
        if name not in route.query and name not in SYSTEM_PARAMETERS:
            raise bad_request(
                f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter. '
                f"Field '{name}' could not be found in request message."
            )


def _compile(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    position = 0
    for match in _SEGMENT.finditer(pattern):
        parts.append(re.escape(pattern[position : match.start()]))
        name, is_path = match.group(1), match.group(2)
        parts.append(f"(?P<{name}>.+?)" if is_path else f"(?P<{name}>[^/:]+)")
        position = match.end()
    parts.append(re.escape(pattern[position:]))
    return re.compile("".join(parts))
