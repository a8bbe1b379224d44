"""The HTTP machinery: lifecycle, keep-alive, concurrency, malformed HTTP, routing, serve()."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
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
from tuneport_emulator.instance import is_loopback
from tuneport_emulator.routing import Route
from tuneport_emulator.server import MAX_BODY_BYTES
from tuneport_emulator.surface import EmulatorContext


def _raw(url: str, payload: bytes, *, read_timeout: float = 5.0) -> bytes:
    """Send raw bytes to the emulator and read until it closes (or the timeout)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=read_timeout) as sock:
        sock.sendall(payload)
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
    with Emulator(host="0.0.0.0", allow_remote=True) as emu:
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
    request = b"GET /v1beta/models HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET /v1beta/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
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


# --- malformed HTTP ----------------------------------------------------------------------------------


def test_garbage_request_line_gets_a_json_400(emulator: Emulator) -> None:
    status, body = _status_and_body(_raw(emulator.url, b"THIS IS NOT HTTP\r\n\r\n"))
    assert status == 400
    assert body["error"]["status"] == "INVALID_ARGUMENT"  # type: ignore[index]


def test_unknown_verb_gets_404_not_501(emulator: Emulator) -> None:
    raw = _raw(emulator.url, b"BREW /v1beta/tunedModels HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, body = _status_and_body(raw)
    assert status == 404
    assert body["error"]["status"] == "NOT_FOUND"  # type: ignore[index]


def test_bad_content_length_is_400(emulator: Emulator) -> None:
    raw = _raw(emulator.url, b"POST /v1beta/tunedModels HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}")
    assert _status_and_body(raw)[0] == 400


def test_body_over_the_limit_is_refused_without_reading_it(emulator: Emulator) -> None:
    head = f"POST /v1beta/tunedModels HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"
    status, body = _status_and_body(_raw(emulator.url, head.encode() + b"{"))
    assert status == 400
    assert "payload size exceeds the limit" in body["error"]["message"]  # type: ignore[index]


def test_truncated_body_does_not_hang(emulator: Emulator) -> None:
    raw = _raw(emulator.url, b"POST /v1beta/tunedModels HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{}")
    assert _status_and_body(raw)[0] == 400


def test_chunked_request_body(emulator: Emulator) -> None:
    body = json.dumps({"contents": [{"parts": [{"text": "ping"}]}]}).encode()
    emulator.seed_gemini_model(tuned_model_id="chunky")
    chunked = (
        b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (body[:10], body[10:]))
        + b"0\r\n\r\n"
    )
    head = (
        b"POST /v1beta/tunedModels/chunky:generateContent HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    status, answer = _status_and_body(_raw(emulator.url, head + chunked))
    assert status == 200
    assert answer["candidates"][0]["content"]["parts"][0]["text"] == "pong"  # type: ignore[index]


def test_head_request_has_no_body(emulator: Emulator) -> None:
    raw = _raw(emulator.url, b"HEAD /v1beta/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 404")
    assert raw.endswith(b"\r\n\r\n")


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


def test_serve_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    script = (
        "import signal, sys\n"
        "from tuneport_emulator import serve\n"
        "serve('127.0.0.1', 0, on_ready=lambda url: print(url, flush=True))\n"
        "print('stopped', flush=True)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert httpx.get(f"{url}/v1beta/models").status_code == 200
        process.send_signal(2)  # SIGINT, as Ctrl-C sends
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "stopped" in out
    assert "Traceback" not in err


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
