"""The HTTP machinery: lifecycle, keep-alive, concurrency, malformed HTTP, routing, serve()."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tuneport_emulator import (
    DEFAULT_SURFACES,
    Emulator,
    EmulatorClock,
    EmulatorError,
    Request,
    Response,
    Router,
    serve,
)
from tuneport_emulator import EmulatorConfigError as ConfigError
from tuneport_emulator.auth import UnprotectedRemoteWarning
from tuneport_emulator.instance import is_loopback
from tuneport_emulator.routing import Route
from tuneport_emulator.server import MAX_BODY_BYTES, MAX_STREAMED_BODY_BYTES
from tuneport_emulator.surface import EmulatorContext


def _raw(url: str, payload: bytes, *, read_timeout: float = 5.0, half_close: bool = False) -> bytes:
    """Send raw bytes to the emulator and read until it closes (or the timeout).

    ``half_close``: shut the sending side after the payload, as a client that
    has nothing more to send; uvicorn then drops the connection (it answers
    no half-closed client), so use it only where no answer is expected.
    """
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=read_timeout) as sock:
        sock.sendall(payload)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def _status_and_body(raw: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body.split(b"\r\n\r\nHTTP/")[0] or b"{}")


# --- lifecycle --------------------------------------------------------------------------------------


def test_start_stop_and_url() -> None:
    emu = Emulator(clock=EmulatorClock.manual())
    with pytest.raises(EmulatorError):
        _ = emu.url
    started = time.perf_counter()
    url = emu.start()
    assert time.perf_counter() - started < 0.1
    assert url.startswith("http://127.0.0.1:")
    assert url == emu.url
    assert emu.start() == url  # idempotent
    assert httpx.get(f"{url}/v1beta/tunedModels").status_code == 200
    stopping = time.perf_counter()
    emu.stop()
    assert time.perf_counter() - stopping < 0.5
    assert not emu.running
    emu.stop()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/v1beta/tunedModels")
    # It can start again (on a new ephemeral port), with its state intact.
    assert emu.start().startswith("http://127.0.0.1:")
    emu.stop()


def test_stop_does_not_wait_for_idle_keep_alive_connections() -> None:
    emu = Emulator()
    emu.start()
    with httpx.Client(base_url=emu.url) as http:
        assert http.get("/v1beta/tunedModels").status_code == 200  # the connection stays open
        started = time.perf_counter()
        emu.stop()
        assert time.perf_counter() - started < 0.5


def test_context_manager() -> None:
    with Emulator() as emu:
        assert httpx.get(f"{emu.url}/_emulator/clock").json()["mode"] == "scaled"
    assert not emu.running


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_non_loopback_host_is_refused(host: str) -> None:
    with pytest.raises(ConfigError, match="non-loopback"):
        Emulator(host=host)
    with pytest.raises(ConfigError, match="allow-remote"):
        serve(host, 0)


def test_allow_remote_binds_any_address() -> None:
    # Without a key, serving beyond loopback warns (see test_auth for the key's reach).
    with pytest.warns(UnprotectedRemoteWarning):
        emu = Emulator(host="0.0.0.0", allow_remote=True)
    with emu:
        port = emu.url.rsplit(":", 1)[1]
        assert httpx.get(f"http://127.0.0.1:{port}/v1beta/models").status_code == 200


@pytest.mark.parametrize(
    ("host", "expected"),
    [("127.0.0.1", True), ("127.8.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
     ("0.0.0.0", False), ("10.0.0.1", False), ("host.local", False)],
)  # fmt: skip
def test_is_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def test_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        emu = Emulator(host="::1")
        url = emu.start()
    except EmulatorError:
        pytest.skip("IPv6 loopback unavailable")
    try:
        assert url.startswith("http://[::1]:")
        assert httpx.get(f"{url}/v1beta/models").status_code == 200
    finally:
        emu.stop()


def test_port_in_use_is_a_typed_error() -> None:
    with Emulator() as first:
        port = int(first.url.rsplit(":", 1)[1])
        with pytest.raises(EmulatorError, match="cannot listen"):
            Emulator(port=port).start()


def test_port_out_of_range() -> None:
    with pytest.raises(ConfigError):
        Emulator(port=70000)


# --- keep-alive and concurrency ------------------------------------------------------------------------


def test_keep_alive_serves_several_requests_on_one_connection(emulator: Emulator) -> None:
    request = b"GET /v1beta/models HTTP/1.1\r\nHost: localhost\r\n\r\n"
    last = b"GET /v1beta/models HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    raw = _raw(emulator.url, request * 3 + last)
    assert raw.count(b"HTTP/1.1 200 OK") == 4


def test_many_concurrent_keep_alive_clients(emulator: Emulator) -> None:
    emulator.seed_gemini_model(tuned_model_id="shared")

    def work(worker: int) -> list[int]:
        statuses = []
        with httpx.Client(base_url=emulator.url, timeout=10) as http:
            for i in range(15):
                statuses.append(http.get("/v1beta/tunedModels/shared").status_code)
                body = {"contents": [{"parts": [{"text": f"ping {worker} {i}"}]}]}
                statuses.append(
                    http.post("/v1beta/tunedModels/shared:generateContent", json=body).status_code
                )
        return statuses

    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(work, range(24)))
    assert all(status == 200 for statuses in results for status in statuses)
    assert len(emulator.requests()) == 24 * 30


# --- malformed HTTP: uvicorn's to refuse -------------------------------------------------------------
# The HTTP parser (llhttp, through uvicorn) refuses what cannot be framed with its own
# 400 in plain text and closes the connection: no route is involved, so no JSON.  (Google's
# front end also answers malformed HTTP with a page of its own, not an API error.)


def _refused_by_the_parser(raw: bytes) -> None:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), raw[:200]
    assert b"connection: close" in head.lower()
    assert body == b"Invalid HTTP request received."


@pytest.mark.parametrize(
    "payload",
    [
        b"THIS IS NOT HTTP\r\n\r\n",
        b"BREW /v1beta/tunedModels HTTP/1.1\r\nHost: localhost\r\n\r\n",  # not an HTTP method
        b"POST /v1beta/tunedModels HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n{}",
        b"POST /v1beta/tunedModels HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n{}",  # ambiguous framing: what request smuggling uses
    ],
    ids=["garbage", "unknown method", "bad Content-Length", "Content-Length and chunked"],
)
def test_malformed_http_is_refused_by_the_parser_and_the_connection_closed(
    emulator: Emulator, payload: bytes
) -> None:
    _refused_by_the_parser(_raw(emulator.url, payload))
    assert emulator.requests() == []  # never reached the app
    assert httpx.get(f"{emulator.url}/v1beta/models").status_code == 200


def test_a_method_without_a_route_gets_googles_404(emulator: Emulator) -> None:
    raw = _raw(
        emulator.url, b"TRACE /v1beta/tunedModels HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    status, body = _status_and_body(raw)
    assert status == 404
    assert body["error"]["status"] == "NOT_FOUND"  # type: ignore[index]


def test_body_over_the_limit_is_refused_without_reading_it(emulator: Emulator) -> None:
    head = (
        "POST /v1beta/tunedModels HTTP/1.1\r\nHost: localhost\r\n"
        f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"
    )
    started = time.perf_counter()
    raw = _raw(emulator.url, head.encode() + b"{")  # answered and closed without waiting for the rest
    assert time.perf_counter() - started < 2
    status, body = _status_and_body(raw)
    assert status == 400
    assert "payload size exceeds the limit" in body["error"]["message"]  # type: ignore[index]
    assert b"connection: close" in raw.partition(b"\r\n\r\n")[0].lower()


def test_a_chunked_body_over_the_limit_is_refused_as_it_arrives(emulator: Emulator) -> None:
    head = b"POST /v1beta/tunedModels HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"%x\r\n" % (1024 * 1024) + b" " * (1024 * 1024) + b"\r\n"
    host, port = emulator.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head)
        with contextlib.suppress(OSError):  # the server may close while we still send
            for _ in range(MAX_BODY_BYTES // len(chunk) + 2):
                sock.sendall(chunk)
        answer = sock.recv(65536)
    status, body = _status_and_body(answer)
    assert status == 400
    assert "payload size exceeds the limit" in body["error"]["message"]  # type: ignore[index]


def test_a_truncated_body_from_a_client_that_hung_up_does_not_hang(emulator: Emulator) -> None:
    payload = b"POST /v1beta/tunedModels HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{}"
    started = time.perf_counter()
    assert _raw(emulator.url, payload, half_close=True) == b""  # nobody left to answer: closed
    assert time.perf_counter() - started < 2
    assert emulator.store.snapshot()["sections"] == {}
    assert httpx.get(f"{emulator.url}/v1beta/models").status_code == 200


def test_chunked_request_body(emulator: Emulator) -> None:
    body = json.dumps({"contents": [{"parts": [{"text": "ping"}]}]}).encode()
    emulator.seed_gemini_model(tuned_model_id="chunky")
    chunked = (
        b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (body[:10], body[10:]))
        + b"0\r\n\r\n"
    )
    head = (
        b"POST /v1beta/tunedModels/chunky:generateContent HTTP/1.1\r\nHost: localhost\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    status, answer = _status_and_body(_raw(emulator.url, head + chunked))
    assert status == 200
    assert answer["candidates"][0]["content"]["parts"][0]["text"] == "pong"  # type: ignore[index]


def test_head_request_has_no_body(emulator: Emulator) -> None:
    raw = _raw(emulator.url, b"HEAD /v1beta/models HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 404")
    assert raw.endswith(b"\r\n\r\n")


# --- bodies spooled to disk, and handlers that take long -----------------------------------------------


def _surface_with(route: Callable[[Router, EmulatorContext], None]) -> list[object]:
    return [*DEFAULT_SURFACES, route]


def test_a_streamed_route_gets_its_body_in_a_file_on_disk() -> None:
    seen: dict[str, object] = {}

    def upload(request: Request) -> Response:
        assert request.body_file is not None
        seen["in memory"] = request.body
        seen["on disk"] = os.fstat(request.body_file.fileno()).st_size
        seen["size"] = request.body_size
        seen["digest"] = hashlib.sha256(request.open_body().read()).hexdigest()
        return Response({"ok": True})

    def surface(router: Router, context: EmulatorContext) -> None:
        router.add("PUT", "/test/upload", upload, name="test.upload", stream_body=True)

    data = os.urandom(3 * 1024 * 1024 + 7)
    with Emulator(surfaces=_surface_with(surface)) as emu:
        chunks = (data[i : i + 65536] for i in range(0, len(data), 65536))  # chunked: no Content-Length
        assert httpx.put(f"{emu.url}/test/upload", content=chunks).status_code == 200
        assert httpx.put(f"{emu.url}/test/upload", content=data).status_code == 200
        logged = emu.requests()[-1]
    assert seen == {
        "in memory": b"",
        "on disk": len(data),
        "size": len(data),
        "digest": hashlib.sha256(data).hexdigest(),
    }
    assert logged["body"] == {"omitted": f"{len(data)} bytes"}


def test_a_streamed_body_over_its_limit_is_refused_before_it_is_read() -> None:
    def surface(router: Router, context: EmulatorContext) -> None:
        router.add("PUT", "/test/upload", lambda request: Response({}), name="test.upload", stream_body=True)

    with Emulator(surfaces=_surface_with(surface)) as emu:
        head = (
            f"PUT /test/upload HTTP/1.1\r\nHost: localhost\r\n"
            f"Content-Length: {MAX_STREAMED_BODY_BYTES + 1}\r\n\r\n"
        )
        status, body = _status_and_body(_raw(emu.url, head.encode() + b"x"))
    assert status == 400
    assert str(MAX_STREAMED_BODY_BYTES) in body["error"]["message"]  # type: ignore[index]


def test_a_long_handler_does_not_hold_up_other_clients() -> None:
    """A create that runs for a second (a large dataset to check) leaves reads to other clients."""
    started = threading.Event()

    def slow(request: Request) -> Response:
        started.set()
        time.sleep(1.0)
        return Response({})

    def surface(router: Router, context: EmulatorContext) -> None:
        router.add("POST", "/test/slow", slow, name="test.slow")

    with Emulator(surfaces=_surface_with(surface)) as emu, ThreadPoolExecutor(max_workers=1) as pool:
        long_one = pool.submit(httpx.post, f"{emu.url}/test/slow", timeout=10)
        assert started.wait(5)
        with httpx.Client(base_url=emu.url) as http:
            begun = time.perf_counter()
            for _ in range(20):
                assert http.get("/v1beta/models").status_code == 200
            assert time.perf_counter() - begun < 0.5
        assert not long_one.done()
        assert long_one.result().status_code == 200


# --- errors inside handlers --------------------------------------------------------------------------


def test_an_unexpected_exception_is_a_recorded_500_and_the_server_carries_on() -> None:
    def broken(router: Router, context: EmulatorContext) -> None:
        def fail(request: Request) -> Response:
            raise RuntimeError("boom")

        router.add("GET", "/broken", fail, name="broken")

    with Emulator(surfaces=[*DEFAULT_SURFACES, broken]) as emu, httpx.Client(base_url=emu.url) as http:
        response = http.get("/broken")
        assert response.status_code == 500
        assert response.json() == {
            "error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}
        }
        assert http.get("/broken").status_code == 500  # still serving on the same connection
        errors = emu.internal_errors
        assert len(errors) == 2
        assert "RuntimeError: boom" in errors[0]["traceback"]
        assert http.get("/_emulator/state").json()["internalErrors"][0]["error"] == "RuntimeError('boom')"


# --- the router --------------------------------------------------------------------------------------


def test_router_patterns_and_decoding() -> None:
    router = Router()

    def handler(request: Request) -> Response:
        return Response(request.params)

    router.add("GET", "/v1/b/{bucket}/o/{object:path}", handler, name="object")
    router.add("POST", "/v1/things/{thing}:do", handler, name="do")
    route, params = router.resolve("GET", "/v1/b/my-bucket/o/dir%2Ffile.jsonl")
    assert route.name == "object"
    assert params == {"bucket": "my-bucket", "object": "dir/file.jsonl"}
    assert router.resolve("GET", "/v1/b/b/o/a/b/c")[1]["object"] == "a/b/c"
    assert router.resolve("POST", "/v1/things/x:do")[1] == {"thing": "x"}
    with pytest.raises(Exception, match="was not found"):
        router.resolve("POST", "/v1/things/x:undo")
    with pytest.raises(ValueError, match="already registered"):
        router.add("GET", "/v1/b/{bucket}/o/{object:path}", handler, name="again")
    assert all(isinstance(r, Route) for r in router.routes)


def test_every_route_answers_json_errors_in_googles_shape(client: httpx.Client, emulator: Emulator) -> None:
    # Every registered route, hit with a wrong body and a bogus name, answers 2xx/4xx JSON.
    for route in emulator.router.routes:
        path = route.pattern.replace("{model}", "nope").replace("{operation}", "nope")
        response = client.request(route.method, path, content=b"{not json")
        assert 200 <= response.status_code < 500, (route.name, response.text)
        assert response.headers["content-type"].startswith("application/json")
        if response.status_code >= 400:
            assert set(response.json()["error"]) >= {"code", "message", "status"}


# --- serve() and imports -------------------------------------------------------------------------------


def test_serve_until_stopped() -> None:
    ready: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=serve, args=("127.0.0.1", 0), kwargs={"on_ready": ready.append, "stop": stop}, daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 5
    while not ready and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ready, "serve() never became ready"
    assert httpx.get(f"{ready[0]}/v1beta/models").status_code == 200
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{ready[0]}/v1beta/models")


_SERVE_SCRIPT = (
    "from tuneport_emulator import serve\n"
    "serve('127.0.0.1', 0, on_ready=lambda url: print(url, flush=True))\n"
    "print('stopped', flush=True)\n"
)


def _serve_and_signal(tmp_path: Path, signum: int, *, sigint_ignored: bool) -> None:
    command = [sys.executable, "-c", _SERVE_SCRIPT]
    if sigint_ignored:
        # What a shell does for a job started with `&` in a script: SIGINT is ignored, and
        # the program it runs inherits that (exec keeps ignored signals ignored).
        command = ["sh", "-c", 'trap "" INT; exec "$0" "$@"', *command]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr else url
        with httpx.Client(base_url=url) as http:  # a keep-alive connection stays open meanwhile
            assert http.get("/v1beta/models").status_code == 200
            process.send_signal(signum)
            out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "stopped" in out
    assert "Traceback" not in err


def test_serve_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    _serve_and_signal(tmp_path, signal.SIGINT, sigint_ignored=False)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_started_in_the_background_with_sigint_ignored_still_stops(tmp_path: Path, signum: int) -> None:
    """``tuneport emulator &`` in a script: SIGINT arrives ignored, and must stop it anyway."""
    _serve_and_signal(tmp_path, signum, sigint_ignored=True)


def test_stop_leaves_no_thread_behind() -> None:
    before = set(threading.enumerate())
    emu = Emulator()
    for _ in range(3):
        url = emu.start()
        with httpx.Client(base_url=url) as http:
            assert http.get("/v1beta/models").status_code == 200
            assert http.post("/v1beta/tunedModels", content=b"{bad").status_code == 400  # a worker thread
            emu.stop()
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert leaked == []


def test_start_is_fast_and_stop_is_prompt() -> None:
    emu = Emulator()
    try:
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            url = emu.start()
            ready = time.perf_counter() - started
            with httpx.Client(base_url=url) as http:
                assert http.get("/v1beta/models").status_code == 200
                stopping = time.perf_counter()
                emu.stop()
            timings.append((ready, time.perf_counter() - stopping))
    finally:
        emu.stop()
    assert max(ready for ready, _ in timings) < 0.1
    assert max(stop for _, stop in timings) < 0.5


def test_emulator_is_not_imported_by_tuneport_and_imports_no_heavy_dependency(tmp_path: Path) -> None:
    code = (
        "import json, sys\n"
        "import tuneport\n"
        "before = 'tuneport_emulator' in sys.modules\n"
        "import tuneport_emulator\n"
        "names = ('httpx', 'pydantic', 'click', 'rich', 'pluggy', 'google.protobuf', 'google.auth')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(json.dumps({'before': before, 'heavy': heavy}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60, check=True
    )
    report = json.loads(result.stdout)
    assert report == {"before": False, "heavy": []}
