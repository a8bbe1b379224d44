"""Cloud Storage downloads (``alt=media``) stream from the object's file, in blocks.

The emulator runs in a subprocess so that its peak resident memory
(``VmHWM``) is its own: a 200 MB object is uploaded (spooled to disk as it
arrives) and downloaded, and the process never holds it whole.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest

from tuneport_emulator import Emulator

BUCKET = "tuneport-test"
BLOCK = 1024 * 1024

_SERVE = textwrap.dedent(
    """
    import sys
    from tuneport_emulator import Emulator, EmulatorClock

    with Emulator(clock=EmulatorClock.manual()) as emu:
        print(emu.url, flush=True)
        sys.stdin.read()  # until the test closes our stdin
    """
)


def _peak_rss(pid: int) -> int:
    """The process's peak resident set (``VmHWM``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


@pytest.fixture
def served() -> Iterator[tuple[str, int]]:
    """An emulator in a subprocess: (its base URL, its pid)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://"), url
        yield url, process.pid
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)


def _blocks(count: int) -> Iterator[bytes]:
    for index in range(count):
        yield index.to_bytes(4, "big") * (BLOCK // 4)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is read from Linux's /proc")
def test_a_large_download_streams_from_disk(served: tuple[str, int]) -> None:
    url, pid = served
    blocks = 200
    expected = hashlib.md5()
    for block in _blocks(blocks):
        expected.update(block)
    with httpx.Client(base_url=url, timeout=120) as http:
        uploaded = http.post(
            f"/upload/storage/v1/b/{BUCKET}/o",
            params={"uploadType": "media", "name": "big.bin"},
            content=_blocks(blocks),  # sent chunked, never whole in this process either
            headers={"Content-Type": "application/octet-stream"},
        )
        assert uploaded.status_code == 200, uploaded.text
        got = hashlib.md5()
        size = 0
        with http.stream("GET", f"/storage/v1/b/{BUCKET}/o/big.bin", params={"alt": "media"}) as answer:
            assert answer.status_code == 200
            assert answer.headers["content-length"] == str(blocks * BLOCK)
            assert answer.headers["content-type"] == "application/octet-stream"
            for chunk in answer.iter_raw():
                got.update(chunk)
                size += len(chunk)
    assert size == blocks * BLOCK
    assert got.hexdigest() == expected.hexdigest()
    peak = _peak_rss(pid)
    assert peak < 100 * 1024 * 1024, f"the emulator's peak RSS was {peak / 2**20:.0f} MiB"


def test_a_download_carries_the_object_and_its_headers(emulator: Emulator) -> None:
    data = b"".join(_blocks(3)) + b"tail"
    emulator.put_storage_object(BUCKET, "three.bin", data, content_type="text/plain")
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        answer = http.get(f"/storage/v1/b/{BUCKET}/o/three.bin", params={"alt": "media"})
        assert answer.status_code == 200
        assert answer.content == data
        assert answer.headers["content-type"] == "text/plain"
        assert answer.headers["content-length"] == str(len(data))
        assert answer.headers["x-goog-stored-content-length"] == str(len(data))
        assert answer.headers["x-goog-hash"].startswith("md5=")
        # The connection is kept alive and serves the next request.
        again = http.get(f"/storage/v1/b/{BUCKET}/o/three.bin", params={"alt": "media"})
        assert again.content == data
        emulator.put_storage_object(BUCKET, "empty.bin", b"")
        nothing = http.get(f"/storage/v1/b/{BUCKET}/o/empty.bin", params={"alt": "media"})
        assert nothing.status_code == 200
        assert nothing.content == b""
        assert nothing.headers["content-length"] == "0"


def _recording_opens(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> list[BinaryIO]:
    """Each object file the emulator opens from now on (kept referenced: only a close closes it)."""
    files = emulator.context.object_files
    opened: list[BinaryIO] = []
    real_open = files.open

    def recording_open(key: str) -> BinaryIO:
        stream = real_open(key)
        opened.append(stream)
        return stream

    monkeypatch.setattr(files, "open", recording_open)
    return opened


def _until(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_client_that_leaves_mid_download_does_not_leave_the_file_open(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.put_storage_object(BUCKET, "long.bin", b"".join(_blocks(64)))
    opened = _recording_opens(emulator, monkeypatch)
    with (
        httpx.Client(base_url=emulator.url, timeout=10) as http,
        http.stream("GET", f"/storage/v1/b/{BUCKET}/o/long.bin", params={"alt": "media"}) as answer,
    ):
        assert answer.status_code == 200
        next(answer.iter_raw())  # one piece, then the client goes
    assert len(opened) == 1
    assert _until(lambda: opened[0].closed)


@pytest.mark.parametrize("kind", ["html-after", "503-after", "reset-after"])
def test_a_fault_that_replaces_a_download_closes_its_file(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    emulator.put_storage_object(BUCKET, "faulted.bin", b"".join(_blocks(2)))
    opened = _recording_opens(emulator, monkeypatch)
    emulator.faults.configure(f"storage.objects.get: {kind}=1")
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        try:
            answer = http.get(f"/storage/v1/b/{BUCKET}/o/faulted.bin", params={"alt": "media"})
        except httpx.TransportError:
            assert kind == "reset-after"
        else:
            assert kind != "reset-after"
            assert answer.status_code == (200 if kind == "html-after" else 503)
            assert b"<html>" in answer.content or b'"UNAVAILABLE"' in answer.content
    emulator.faults.configure(None)
    assert len(opened) == 1
    assert _until(lambda: opened[0].closed)


def test_a_download_then_closes_its_file(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator.put_storage_object(BUCKET, "done.bin", b"x" * 10)
    opened = _recording_opens(emulator, monkeypatch)
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        assert http.get(f"/storage/v1/b/{BUCKET}/o/done.bin", params={"alt": "media"}).content == b"x" * 10
    assert len(opened) == 1
    assert _until(lambda: opened[0].closed)
