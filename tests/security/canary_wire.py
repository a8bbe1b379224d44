"""The network side of the canary tests: what tuneport sent, and servers that misbehave.

* :class:`WireRecorder` is an httpx transport (sync and async) that records
  every request tuneport sends, headers included, so a test can prove where
  the credentials travelled.  It can redirect every host to the emulator, so a
  backend configured for a real Google host (and therefore sending OAuth
  tokens) talks to the emulator, and it can answer the next requests itself
  with an error that *echoes* the credentials it received, as a careless proxy
  might.
* :func:`closed_port` and :class:`SilentServer` give a refused connection and a
  server that never answers (a timeout).
* :class:`TokenEndpoint` is an OAuth token endpoint on loopback, for the
  google-auth refresh pathway.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx

_CREDENTIAL_HEADERS = ("x-goog-api-key", "authorization")


@dataclass(frozen=True)
class SentRequest:
    method: str
    url: str
    headers: dict[str, str]


@dataclass
class _EchoFault:
    status: int
    times: int


@dataclass
class WireRecorder:
    """Records, optionally redirects, and optionally fails the requests tuneport sends."""

    redirect_port: int | None = None
    sent: list[SentRequest] = field(default_factory=list)
    _faults: list[_EchoFault] = field(default_factory=list)

    def fail_next(self, status: int, *, times: int = 1) -> None:
        """Answer the next *times* requests with *status*, echoing their credentials."""
        self._faults.append(_EchoFault(status, times))

    def sync(self) -> httpx.BaseTransport:
        return _SyncTransport(self)

    def asynchronous(self) -> httpx.AsyncBaseTransport:
        return _AsyncTransport(self)

    def _prepare(self, request: httpx.Request) -> httpx.Response | None:
        self.sent.append(SentRequest(request.method, str(request.url), dict(request.headers)))
        if self._faults:
            fault = self._faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self._faults.pop(0)
            return _echo(fault.status, request)
        if self.redirect_port is not None:
            request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.redirect_port)
            # The emulator answers only to loopback names (its DNS-rebinding guard): say which.
            request.headers["Host"] = f"127.0.0.1:{self.redirect_port}"
        return None


def _echo(status: int, request: httpx.Request) -> httpx.Response:
    """An error that repeats the request's credentials everywhere a client might show them."""
    echoed = " ".join(request.headers.get(name, "") for name in _CREDENTIAL_HEADERS).strip()
    body = {
        "error": {
            "code": status,
            "message": f"credentials {echoed} refused for {request.url}",
            "status": "UNAUTHENTICATED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RequestInfo", "servingData": echoed}],
        }
    }
    headers = {"www-authenticate": f'Bearer error="{echoed}"', "x-request-id": echoed, "retry-after": "0"}
    return httpx.Response(status, json=body, headers=headers, request=request)


class _SyncTransport(httpx.HTTPTransport):
    def __init__(self, recorder: WireRecorder) -> None:
        super().__init__()
        self.recorder = recorder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        canned = self.recorder._prepare(request)
        return canned if canned is not None else super().handle_request(request)


class _AsyncTransport(httpx.AsyncHTTPTransport):
    def __init__(self, recorder: WireRecorder) -> None:
        super().__init__()
        self.recorder = recorder

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        canned = self.recorder._prepare(request)
        return canned if canned is not None else await super().handle_async_request(request)


def port_of(url: str) -> int:
    """The port of a base URL such as the emulator's."""
    port = urlsplit(url).port
    assert port is not None
    return port


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SilentServer:
    """Accepts connections (the kernel does) and never answers: every read times out."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self.port = int(self._socket.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._socket.close()


class TokenEndpoint:
    """An OAuth 2 token endpoint on loopback: grants *access_token*, or refuses and echoes the grant.

    A refusal answers ``400 invalid_grant`` with the request's form (refresh
    token and client secret included) in ``error_description``.
    """

    def __init__(self, access_token: str, *, refuse: bool = False) -> None:
        self.grants: list[str] = []
        grants = self.grants

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                grants.append(self.rfile.read(length).decode())
                answer: dict[str, Any]
                if refuse:
                    status, answer = 400, {"error": "invalid_grant", "error_description": grants[-1]}
                else:
                    status, answer = 200, {"access_token": access_token, "expires_in": 3600}
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def credential_headers(sent: list[SentRequest]) -> Iterator[tuple[str, str]]:
    """Each (header, value) among the credential headers of the recorded requests."""
    for request in sent:
        for name in _CREDENTIAL_HEADERS:
            if name in request.headers:
                yield name, request.headers[name]


def assert_credentials_only_in_headers(
    sent: list[SentRequest], needles: tuple[str, ...], expected: tuple[str, str]
) -> None:
    """Every request carried exactly the *expected* credential header, and no secret anywhere else.

    *needles* are the canary's forms (see :meth:`canary_scan.Canary.needles`):
    none may be in a URL (``?key=``) or in any header but the expected one.
    """
    assert sent, "no request was recorded: the check would prove nothing"
    header, value = expected
    for request in sent:
        assert not [n for n in needles if n in request.url], f"a secret is in the URL {request.url!r}"
        assert request.headers.get(header) == value, f"{request.method} {request.url} lacks its {header}"
        others = {k: v for k, v in request.headers.items() if k != header}
        leaked = [name for name, text in others.items() if any(n in text for n in needles)]
        assert not leaked, f"a secret is in the header(s) {leaked} of {request.url!r}"
