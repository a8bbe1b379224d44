"""The transport guard (tuneport_emulator.guard) in front of a small ASGI app, in process.

Each attack of issue #14 part 4 is replayed against the guard: foreign Host
headers (DNS rebinding), cross-origin pages, simple-request admin writes, a
remote emulator's open routes, and requests that hold too much at once.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx
import pytest
from emulator_helpers import assert_error

from tuneport_emulator import Emulator, EmulatorClock
from tuneport_emulator.guard import Guard, is_loopback_host
from tuneport_emulator.routing import Request, Response, Router

KEY = "AIzaSyGUARD-test-key-0123456789"


class EchoApp:
    """Reads the whole body, then answers ``{"path", "bodyBytes"}``; counts the calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.release: asyncio.Event | None = None
        self.running = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        self.calls += 1
        self.running += 1
        try:
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ConnectionError("client went away")  # as Starlette's ClientDisconnect
                size += len(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            if self.release is not None:
                await self.release.wait()
            body = json.dumps({"path": scope["path"], "bodyBytes": size}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            self.running -= 1


def _client(guard: Guard) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=guard), base_url="http://127.0.0.1:8765")


async def _get(guard: Guard, path: str = "/v1beta/tunedModels", **kwargs: Any) -> httpx.Response:
    async with _client(guard) as http:
        return await http.get(path, **kwargs)


async def _post(guard: Guard, path: str, **kwargs: Any) -> httpx.Response:
    async with _client(guard) as http:
        return await http.post(path, **kwargs)


def _error(response: httpx.Response, code: int, status: str) -> dict[str, Any]:
    assert response.status_code == code, response.text
    error: dict[str, Any] = response.json()["error"]
    assert (error["code"], error["status"]) == (code, status)
    return error


# --- Host: DNS rebinding -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:8765",
        "LOCALHOST.",
        "127.0.0.1",
        "127.0.0.1:8765",
        "127.5.6.7:1",
        "[::1]",
        "[::1]:8765",
    ],
)
async def test_loopback_hosts_are_served(host: str) -> None:
    assert (await _get(Guard(EchoApp()), headers={"Host": host})).status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:8765",
        "127.0.0.1.evil.example",
        "localhost.evil.example",
        "192.168.1.5:8765",
        "[::1",
        "[::2]:8765",
        "localhost:80x",
        "",
    ],
)
async def test_other_hosts_are_refused_before_the_app(host: str) -> None:
    app = EchoApp()
    error = _error(
        await _get(Guard(app), "/_emulator/state", headers={"Host": host}), 403, "PERMISSION_DENIED"
    )
    assert "--allow-remote" in error["message"]
    assert app.calls == 0


async def test_the_bound_host_and_allowed_hosts_are_served() -> None:
    guard = Guard(EchoApp(), bound_host="emulator.internal", allowed_hosts=["ci-box"])
    assert (await _get(guard, headers={"Host": "emulator.internal:8765"})).status_code == 200
    assert (await _get(guard, headers={"Host": "ci-box"})).status_code == 200
    assert (await _get(guard, headers={"Host": "other"})).status_code == 403


async def test_allow_remote_serves_any_host() -> None:
    assert (
        await _get(Guard(EchoApp(), allow_remote=True), headers={"Host": "evil.example"})
    ).status_code == 200


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        *[
            ("localhost", True),
            ("127.0.0.9", True),
            ("::1", True),
            ("[::1]", True),
            ("::ffff:127.0.0.1", True),
        ],
        *[("0.0.0.0", False), ("10.0.0.1", False), ("example.com", False), ("", False)],
    ],
)
def test_is_loopback_host(host: str, expected: bool) -> None:
    assert is_loopback_host(host) is expected


# --- Origin: web pages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin", ["http://localhost:3000", "https://127.0.0.1", "http://[::1]:8080", "http://LOCALHOST"]
)
async def test_loopback_origins_are_served(origin: str) -> None:
    assert (await _get(Guard(EchoApp()), headers={"Origin": origin})).status_code == 200


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "https://localhost.evil.example",
        "null",
        "file://",
        "chrome-extension://abcdef",
        "http://127.0.0.1:99999",
        "http://10.0.0.1",
    ],
)
@pytest.mark.parametrize("allow_remote", [False, True])
@pytest.mark.parametrize("path", ["/v1beta/tunedModels", "/_emulator/state", "/storage/v1/b"])
async def test_foreign_origins_are_refused_on_every_route(origin: str, allow_remote: bool, path: str) -> None:
    app = EchoApp()
    response = await _get(Guard(app, allow_remote=allow_remote), path, headers={"Origin": origin})
    _error(response, 403, "PERMISSION_DENIED")
    assert "access-control-allow-origin" not in response.headers
    assert app.calls == 0


async def test_a_cross_site_fetch_without_origin_is_refused() -> None:
    _error(await _get(Guard(EchoApp()), headers={"Sec-Fetch-Site": "cross-site"}), 403, "PERMISSION_DENIED")
    for site in ("same-origin", "same-site", "none"):
        assert (await _get(Guard(EchoApp()), headers={"Sec-Fetch-Site": site})).status_code == 200


# --- admin writes need JSON --------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                     "multipart/form-data; boundary=x", "application/json, text/plain", "application/jsonx"],
)  # fmt: skip
@pytest.mark.parametrize(
    "path", ["/_emulator/reset", "/_EMULATOR/reset", "/%5Femulator/reset", "/_emulator//clock:advance"]
)
async def test_admin_writes_without_json_are_refused(content_type: str | None, path: str) -> None:
    app = EchoApp()
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = await _post(Guard(app), path, content=b"{}", headers=headers)
    error = _error(response, 415, "INVALID_ARGUMENT")
    assert "application/json" in error["message"]
    assert app.calls == 0


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_every_admin_write_method_needs_json(method: str) -> None:
    async with _client(Guard(EchoApp())) as http:
        refused = await http.request(
            method, "/_emulator/faults", content=b"{}", headers={"Content-Type": "text/plain"}
        )
        served = await http.request(method, "/_emulator/faults", json={"spec": None})
    _error(refused, 415, "INVALID_ARGUMENT")
    assert served.status_code == 200


async def test_admin_writes_with_json_and_admin_reads_are_served() -> None:
    guard = Guard(EchoApp())
    async with _client(guard) as http:
        assert (await http.delete("/_emulator/requests")).status_code == 200  # no body: always preflighted
    assert (await _post(guard, "/_emulator/reset", json={})).status_code == 200
    charset = {"Content-Type": "application/json; charset=utf-8"}
    assert (await _post(guard, "/_emulator/reset", content=b"{}", headers=charset)).status_code == 200
    assert (await _get(guard, "/_emulator/state")).status_code == 200


async def test_api_writes_are_not_admin_writes() -> None:
    guard = Guard(EchoApp())
    response = await _post(
        guard, "/upload/storage/v1/b/b/o", content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "content_type", ["application/octet-stream", "application/jsonl", "application/json"]
)
async def test_the_storage_seed_takes_bytes_of_a_non_simple_type(content_type: str) -> None:
    path = "/_emulator/storage/b/bucket/o/name"
    response = await _post(Guard(EchoApp()), path, content=b"abc", headers={"Content-Type": content_type})
    assert response.json() == {"path": path, "bodyBytes": 3}


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_the_storage_seed_refuses_what_a_page_can_send(content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    _error(
        await _post(Guard(EchoApp()), "/_emulator/storage/b/bucket/o/name", content=b"abc", headers=headers),
        415,
        "INVALID_ARGUMENT",
    )


# --- a remote emulator's key covers every route --------------------------------------------


REMOTE_PATHS = [
    "/v1beta/tunedModels",
    "/v1/projects/p/locations/l/tuningJobs",
    "/storage/v1/b",
    "/_emulator/state",
]


@pytest.mark.parametrize("path", REMOTE_PATHS)
async def test_remote_routes_demand_the_key(path: str) -> None:
    app = EchoApp()
    guard = Guard(app, allow_remote=True, api_key=KEY)
    _error(await _get(guard, path), 403, "PERMISSION_DENIED")
    wrong_key = _error(await _get(guard, path, headers={"x-goog-api-key": "wrong"}), 400, "INVALID_ARGUMENT")
    assert wrong_key["details"][0]["reason"] == "API_KEY_INVALID"
    wrong_token = await _get(guard, path, headers={"Authorization": "Bearer ya29.fake-token"})
    _error(wrong_token, 401, "UNAUTHENTICATED")
    assert wrong_token.headers["www-authenticate"].startswith("Bearer")
    assert app.calls == 0
    for credentials in ({"headers": {"x-goog-api-key": KEY}}, {"params": {"key": KEY}}):
        assert (await _get(guard, path, **credentials)).status_code == 200  # type: ignore[arg-type]
    assert (await _get(guard, path, headers={"Authorization": f"Bearer {KEY}"})).status_code == 200


async def test_a_loopback_guard_leaves_the_key_to_the_routes() -> None:
    # On loopback the key guards the Gemini routes only, through the route's ApiKeyAuth.
    assert (await _get(Guard(EchoApp(), api_key=KEY), "/storage/v1/b")).status_code == 200


async def test_the_key_never_shows() -> None:
    guard = Guard(EchoApp(), allow_remote=True, api_key=KEY)
    assert KEY not in repr(guard)
    for headers in ({"x-goog-api-key": KEY + "x"}, {"Authorization": f"Bearer {KEY}x"}, {}):
        assert KEY not in (await _get(guard, headers=headers)).text


# --- bounds ------------------------------------------------------------------------------------


async def test_requests_beyond_the_concurrency_limit_get_503() -> None:
    app = EchoApp()
    app.release = asyncio.Event()
    guard = Guard(app, max_concurrent_requests=2)
    async with _client(guard) as http:
        held = [asyncio.create_task(http.get("/v1beta/tunedModels")) for _ in range(2)]
        while app.running < 2:
            await asyncio.sleep(0.001)
        refused = await http.get("/v1beta/tunedModels")
        app.release.set()
        answers = await asyncio.gather(*held)
        after = await http.get("/v1beta/tunedModels")
    error = _error(refused, 503, "UNAVAILABLE")
    assert "2 requests" in error["message"]
    assert refused.headers["retry-after"] == "1"
    assert [a.status_code for a in answers] == [200, 200]
    assert after.status_code == 200


async def test_a_body_of_the_whole_budget_is_served() -> None:
    guard = Guard(EchoApp(), max_inflight_body_bytes=1000)
    assert (await _post(guard, "/v1beta/tunedModels", content=b"x" * 1000)).json()["bodyBytes"] == 1000
    assert guard.inflight_body_bytes == 0


async def test_a_body_declared_beyond_the_whole_budget_is_left_to_the_apps_own_limit() -> None:
    async def refuses_large(scope: dict[str, Any], receive: Any, send: Any) -> None:
        # Like the emulator's app: a declared body over its limit is refused unread (400).
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b"too large"})

    guard = Guard(refuses_large, max_inflight_body_bytes=1000)
    response = await _post(guard, "/v1beta/tunedModels", content=b"x" * 5000)
    assert (response.status_code, response.text) == (400, "too large")
    assert guard.inflight_body_bytes == 0
    counted = Guard(EchoApp(), max_inflight_body_bytes=1000)  # an app that reads it: cut at the budget
    _error(await _post(counted, "/v1beta/tunedModels", content=b"x" * 5000), 429, "RESOURCE_EXHAUSTED")
    assert counted.inflight_body_bytes == 0


async def test_concurrent_bodies_share_one_budget() -> None:
    app = EchoApp()
    app.release = asyncio.Event()
    guard = Guard(app, max_inflight_body_bytes=1000)
    async with _client(guard) as http:
        held = asyncio.create_task(http.post("/v1beta/tunedModels", content=b"x" * 600))
        while app.running < 1:
            await asyncio.sleep(0.001)
        assert guard.inflight_body_bytes == 600
        refused = await http.post("/v1beta/tunedModels", content=b"y" * 600)
        assert app.calls == 1  # refused unread, before the app
        app.release.set()
        assert (await held).status_code == 200
    _error(refused, 429, "RESOURCE_EXHAUSTED")
    assert refused.headers["retry-after"] == "1"
    assert guard.inflight_body_bytes == 0


async def _chunks(pieces: Iterable[bytes], pause: float = 0.0) -> AsyncIterator[bytes]:
    for piece in pieces:
        if pause:
            await asyncio.sleep(pause)
        yield piece


async def test_a_chunked_body_is_counted_as_it_arrives() -> None:
    app = EchoApp()
    guard = Guard(app, max_inflight_body_bytes=1000)
    within = await _post(guard, "/v1beta/tunedModels", content=_chunks([b"x" * 100] * 10))
    assert within.json()["bodyBytes"] == 1000
    beyond = await _post(guard, "/v1beta/tunedModels", content=_chunks([b"x" * 100] * 11))
    _error(beyond, 429, "RESOURCE_EXHAUSTED")
    assert beyond.headers["connection"] == "close"
    assert guard.inflight_body_bytes == 0


async def test_streamed_routes_do_not_count() -> None:
    router = Router()

    def upload(request: Request) -> Response:
        return Response({})

    router.add("POST", "/upload/storage/v1/b/{bucket}/o", upload, name="upload", stream_body=True)
    from tuneport_emulator.guard import streamed_routes

    guard = Guard(EchoApp(), max_inflight_body_bytes=10, streamed=streamed_routes(router))
    assert (await _post(guard, "/upload/storage/v1/b/b/o", content=b"x" * 100)).status_code == 200
    _error(await _post(guard, "/v1beta/tunedModels", content=b"x" * 100), 429, "RESOURCE_EXHAUSTED")


async def test_a_stalled_body_is_abandoned() -> None:
    guard = Guard(EchoApp(), body_idle_timeout=0.05)
    stalled = await _post(guard, "/v1beta/tunedModels", content=_chunks([b"x", b"y"], pause=0.3))
    error = _error(stalled, 408, "DEADLINE_EXCEEDED")
    assert "stalled" in error["message"]
    assert guard.inflight_body_bytes == 0
    slow = await _post(guard, "/v1beta/tunedModels", content=_chunks([b"x", b"y"], pause=0.01))
    assert slow.json()["bodyBytes"] == 2


async def test_other_scopes() -> None:
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    guard = Guard(app)
    await guard({"type": "lifespan"}, receive, send)
    await guard({"type": "websocket", "headers": []}, receive, send)
    assert seen == ["lifespan"]
    assert sent == [{"type": "websocket.close", "code": 1008}]


# --- end to end: the attacks against a running emulator -----------------------------------------


def _raw(url: str, data: bytes) -> bytes:
    """Send raw bytes to the emulator; everything it answers until it closes (or 10 s pass)."""
    host, port = httpx.URL(url).host, httpx.URL(url).port
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_page_cannot_reset_the_state_with_a_simple_request(
    emulator: Emulator, client: httpx.Client
) -> None:
    emulator.seed_gemini_model(tuned_model_id="kept")
    # What <form enctype="text/plain"> or fetch(..., {mode: "no-cors"}) can send without a preflight.
    for headers in (
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {},
    ):
        response = client.post("/_emulator/reset", content=b'{"x": 1}', headers=headers)
        assert response.status_code == 415, response.text
    assert client.get("/v1beta/tunedModels/kept").status_code == 200
    assert client.post("/_emulator/reset", json={}).status_code == 200
    assert client.get("/v1beta/tunedModels/kept").status_code == 404


def test_dns_rebinding_cannot_read_the_state(emulator: Emulator, client: httpx.Client) -> None:
    emulator.put_storage_object("private", "train.jsonl", b'{"secret": "dataset"}\n')
    port = httpx.URL(emulator.url).port
    for host in (f"rebind.evil.example:{port}", "rebind.evil.example", f"192.168.0.10:{port}"):
        response = client.get("/_emulator/state", headers={"Host": host})
        assert response.status_code == 403, host
        assert "dataset" not in response.text
    raw = _raw(
        emulator.url, b"GET /_emulator/state HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
    )
    assert raw.startswith(b"HTTP/1.1 403")
    assert client.get("/_emulator/state", headers={"Host": f"localhost:{port}"}).status_code == 200


def test_a_foreign_origin_is_refused_on_every_surface(client: httpx.Client) -> None:
    origin = {"Origin": "https://evil.example"}
    for path in (
        "/v1beta/tunedModels",
        "/v1beta1/projects/p/locations/us-central1/tuningJobs",
        "/_emulator/state",
    ):
        error = assert_error(client.get(path, headers=origin), 403, "PERMISSION_DENIED")
        assert "evil.example" in error["message"]
    assert client.get("/v1beta/tunedModels", headers={"Origin": "http://localhost:3000"}).status_code == 200


def test_a_remote_emulator_demands_its_key_on_every_route() -> None:
    with Emulator(clock=EmulatorClock.manual(), allow_remote=True, require_key=KEY) as emu:
        emu.put_storage_object("bucket", "data.jsonl", b"{}\n")
        routes = [
            ("GET", "/v1beta/tunedModels"),
            ("GET", "/v1beta1/projects/p/locations/us-central1/tuningJobs"),
            ("GET", "/storage/v1/b/bucket/o/data.jsonl"),
            ("GET", "/_emulator/state"),
            ("POST", "/_emulator/reset"),
        ]
        with httpx.Client(base_url=emu.url, timeout=10) as http:
            for method, path in routes:
                assert_error(http.request(method, path, json={}), 403, "PERMISSION_DENIED")
                wrong = http.request(
                    method, path, json={}, headers={"Authorization": "Bearer ya29.not-the-key"}
                )
                assert_error(wrong, 401, "UNAUTHENTICATED")
                for headers in ({"x-goog-api-key": KEY}, {"Authorization": f"Bearer {KEY}"}):
                    assert http.request(method, path, json={}, headers=headers).status_code == 200, (
                        path,
                        headers,
                    )
            logged = http.get("/_emulator/requests", headers={"x-goog-api-key": KEY}).text
        assert KEY not in logged
        assert emu.internal_errors == []
