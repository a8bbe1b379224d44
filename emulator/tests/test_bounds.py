"""Memory bounds: the request log, and what listing it costs.

Issue #14 part 4: the log kept parsed bodies of up to 4 MiB for 1,000
entries (40 POSTs of 4 MiB held 3.9 GB; ``GET /_emulator/requests`` then
took 10 GB).  Each entry's body and the whole log now have byte bounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tuneport_emulator import Emulator, EmulatorClock, guard, head_limit
from tuneport_emulator.head_limit import MAX_HEAD_BYTES, bounded_http_protocol
from tuneport_emulator.request_log import (
    MAX_LOGGED_BODY_BYTES,
    REQUEST_LOG_BYTES,
    RequestLog,
    loggable_body,
)


def _wide_body(size: int) -> dict[str, Any]:
    """A JSON object of about ``size`` bytes made of many small values (costly once parsed)."""
    return {"displayName": "x", "tuningTask": {"values": list(range(size // 8))}}


def test_a_large_body_is_summarized_with_its_size_and_field_names() -> None:
    log = RequestLog(max_body_bytes=100)
    log.append({"method": "POST", "body": {"a": "x" * 200, "b": 1}})
    log.append({"method": "POST", "body": {"small": True}})
    log.append({"method": "POST", "body": ["y" * 200]})
    big, small, listed = log.entries()
    assert big["body"] == {"omitted": "214 bytes", "keys": ["a", "b"]}  # {"a":"x…x","b":1}
    assert small["body"] == {"small": True}
    assert listed["body"] == {"omitted": "204 bytes"}
    assert [e["seq"] for e in log.entries()] == [1, 2, 3]


def test_the_log_drops_its_oldest_entries_beyond_its_byte_budget() -> None:
    log = RequestLog(max_entries=1000, max_bytes=2000, max_body_bytes=500)
    for number in range(50):
        log.append({"method": "POST", "body": {"text": "z" * 400, "n": number}})
        assert log.size_bytes <= 2000
    kept = log.entries()
    assert 1 <= len(kept) < 50
    assert [e["body"]["n"] for e in kept] == list(range(50 - len(kept), 50))
    assert log.size_bytes == len(log.json_array()) - 2 - (len(kept) - 1)
    assert json.loads(log.json_array()) == kept


def test_the_log_drops_its_oldest_entries_beyond_its_count() -> None:
    log = RequestLog(max_entries=3)
    for number in range(5):
        log.append({"n": number})
    assert [(e["seq"], e["n"]) for e in log.entries()] == [(3, 2), (4, 3), (5, 4)]
    log.clear()
    log.append({"n": 5})
    assert [e["seq"] for e in log.entries()] == [6]
    log.reset()
    log.append({"n": 6})
    assert [e["seq"] for e in log.entries()] == [1]


def test_entries_are_copies_and_odd_values_do_not_fail_the_log() -> None:
    log = RequestLog()
    log.append({"body": {"lone": "\ud800", "bytes": b"\x00", "set": {1}}})
    (entry,) = log.entries()
    assert entry["body"] == {"lone": "\ud800", "bytes": "<bytes>", "set": "<set>"}
    entry["body"]["lone"] = "changed"
    assert log.entries()[0]["body"]["lone"] == "\ud800"


def test_loggable_body_summarizes_a_large_raw_body_before_encoding_it() -> None:
    assert loggable_body({"a": 1}, MAX_LOGGED_BODY_BYTES) == {"a": 1}
    assert loggable_body({"a": 1}, MAX_LOGGED_BODY_BYTES + 1) == {
        "omitted": f"{MAX_LOGGED_BODY_BYTES + 1} bytes",
        "keys": ["a"],
    }


@pytest.mark.parametrize("bad", [{"max_entries": -1}, {"max_bytes": -1}, {"max_body_bytes": -1}])
def test_negative_bounds_are_a_bug(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="bounds"):
        RequestLog(**bad)


def test_large_posts_leave_the_log_within_its_budget() -> None:
    """The attack, scaled down: POSTs of 1 MiB each would have kept 1 MiB each, parsed."""
    body = json.dumps({"displayName": "x", "tuningTask": {"note": "n" * 1024 * 1024}}).encode()
    with Emulator(clock=EmulatorClock.manual()) as emu, httpx.Client(base_url=emu.url, timeout=60) as http:
        for _ in range(24):
            http.post("/v1beta/tunedModels", content=body, headers={"Content-Type": "application/json"})
        listed = http.get("/_emulator/requests")
        entries = emu.requests()
        state = http.get("/_emulator/state").json()
    assert listed.status_code == 200
    assert len(listed.content) <= REQUEST_LOG_BYTES + 64
    assert listed.json()["requests"] == entries
    assert len(entries) == 24 == state["requestCount"]
    assert all(len(json.dumps(e["body"])) < 200 for e in entries)  # summaries, not bodies
    assert {e["body"]["omitted"].split()[1] for e in entries} == {"bytes"}
    assert entries[0]["body"]["keys"] == ["displayName", "tuningTask"]
    assert emu.store.request_log.size_bytes <= REQUEST_LOG_BYTES


def test_many_medium_posts_stay_within_the_total_budget() -> None:
    body = json.dumps(_wide_body(MAX_LOGGED_BODY_BYTES // 2), separators=(",", ":")).encode()  # kept whole
    count = REQUEST_LOG_BYTES // len(body) + 40
    log = RequestLog(max_entries=10_000)
    parsed = json.loads(body)
    for _ in range(count):
        log.append({"method": "POST", "path": "/v1beta/tunedModels", "body": parsed})
    assert log.size_bytes <= REQUEST_LOG_BYTES
    assert len(log) < count
    assert log.entries()[-1]["body"] == parsed


# --- request heads (uvicorn's httptools protocol buffers a head of any size) -----------------------


async def _hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def _serve_bounded() -> tuple[Any, asyncio.Task[None], int]:
    import uvicorn

    protocol = bounded_http_protocol()
    assert protocol is not None  # httptools is installed with the emulator's stack
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(_hello, http=protocol, lifespan="off", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    return server, task, sock.getsockname()[1]


async def _exchange(port: int, *parts: bytes, pause: float = 0.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        with contextlib.suppress(ConnectionError):  # the server may stop reading: its answer is still read
            for part in parts:
                writer.write(part)
                await writer.drain()
                await asyncio.sleep(pause)
        return await asyncio.wait_for(reader.read(), 10)
    except ConnectionError:
        return b"(reset)"
    finally:
        writer.close()


async def test_a_head_beyond_the_limit_is_refused_with_431() -> None:
    server, task, port = await _serve_bounded()
    try:
        ok = await _exchange(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert ok.startswith(b"HTTP/1.1 200")
        filler = b"a" * 4096
        refused = await _exchange(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: ", *[filler] * 64)
        assert refused.startswith(b"HTTP/1.1 431"), refused[:80]
        assert json.loads(refused.split(b"\r\n\r\n", 1)[1])["error"]["code"] == 431
        big_body = b"x" * (4 * MAX_HEAD_BYTES)  # a large body in the same read is not a head
        head = f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {len(big_body)}\r\nConnection: close\r\n\r\n"
        assert (await _exchange(port, head.encode() + big_body)).startswith(b"HTTP/1.1 200")
    finally:
        server.should_exit = True
        await task


async def test_a_head_that_never_completes_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(head_limit, "HEAD_TIMEOUT", 0.2)
    server, task, port = await _serve_bounded()
    try:
        started = time.monotonic()
        assert await _exchange(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n") in (b"", b"(reset)")
        assert await _exchange(port) in (b"", b"(reset)")  # connected, silent
        assert time.monotonic() - started < 5
        keep_alive = await _exchange(
            port,
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            pause=0.5,  # longer than the head timeout between requests: the idle wait is not a head
        )
        assert keep_alive.count(b"HTTP/1.1 200") == 2
    finally:
        server.should_exit = True
        await task


# --- end to end: bodies against a running emulator ---------------------------------------------


def _send_raw(url: str, data: bytes) -> bytes:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_body_in_one_byte_chunks_costs_about_its_size(emulator: Emulator) -> None:
    # The stdlib server kept each chunk as its own bytes object: about 90 times the body.
    size = 256 * 1024
    wire = (
        b"POST /v1beta/tunedModels HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + b"1\r\nx\r\n" * size + b"0\r\n\r\n"
    )
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        answer = _send_raw(emulator.url, wire)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert answer.startswith(b"HTTP/1.1 400")  # "x…x" is no JSON; it was read whole first
    assert (peak - before) < 8 * size, f"{(peak - before) / size:.1f} times the body"


def test_bodies_beyond_the_in_flight_budget_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "MAX_INFLIGHT_BODY_BYTES", 64 * 1024)
    with Emulator(clock=EmulatorClock.manual()) as emu, httpx.Client(base_url=emu.url, timeout=30) as http:
        body = json.dumps({"displayName": "d" * 100 * 1024}).encode()

        def chunked() -> Iterator[bytes]:
            yield from (body[i : i + 8192] for i in range(0, len(body), 8192))

        declared = http.post(
            "/v1beta/tunedModels", content=body, headers={"Content-Type": "application/json"}
        )
        streamed = http.post(
            "/v1beta/tunedModels", content=chunked(), headers={"Content-Type": "application/json"}
        )
        small = http.post("/v1beta/tunedModels", json={"displayName": "d"})
        assert emu.internal_errors == []
    for refused in (declared, streamed):
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
        assert refused.headers["retry-after"] == "1"
    assert small.status_code == 400  # read and judged (no base model): within the budget


def test_connections_beyond_the_limit_are_answered_503(emulator: Emulator) -> None:
    host, port = emulator.url.removeprefix("http://").rsplit(":", 1)
    held = [socket.create_connection((host, int(port)), timeout=10) for _ in range(guard.MAX_CONNECTIONS)]
    try:
        time.sleep(0.2)  # let the server accept them all
        with httpx.Client(base_url=emulator.url, timeout=10) as http:
            assert http.get("/v1beta/tunedModels").status_code == 503
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 10
    while True:
        with httpx.Client(base_url=emulator.url, timeout=10) as http:
            status = http.get("/v1beta/tunedModels").status_code
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status == 200
