"""Cloud Storage objects live in files: streamed in and out in blocks, deleted when forgotten.

The bytes of an object are a file under the emulator's object directory (a
temporary one, or ``<state>.objects/`` with ``--state``); records only name
it.  Copying a body into place, a resumable chunk, and a multipart body all
work in 1 MiB blocks, so none of them holds an upload in memory.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import io
import os
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
import pytest

from tuneport_emulator import Emulator, EmulatorClock
from tuneport_emulator.persistence import StateFile
from tuneport_emulator.storage import Objects
from tuneport_emulator.storage.files import ObjectFiles
from tuneport_emulator.storage.multipart import split_multipart
from tuneport_emulator.storage.payload import Payload

BUCKET = "tuneport-test"
UPLOAD = f"/upload/storage/v1/b/{BUCKET}/o"
CHUNK = 256 * 1024


def _files(emulator: Emulator) -> list[Path]:
    root = emulator.context.object_files.root
    return sorted(p for p in root.iterdir() if p.is_file())


def _record(emulator: Emulator, name: str) -> dict[str, Any]:
    objects = emulator.store.snapshot()["sections"]["storage"]["buckets"][BUCKET]["objects"]
    return objects[name]  # type: ignore[no-any-return]


def test_an_object_is_a_file_named_by_its_record(emulator: Emulator, client: httpx.Client) -> None:
    data = os.urandom(100_000)
    client.post(UPLOAD, params={"uploadType": "media", "name": "a.bin"}, content=data).raise_for_status()
    record = _record(emulator, "a.bin")
    assert "data" not in record  # no bytes in the state
    (file,) = _files(emulator)
    assert file.name == record["file"]
    assert file.read_bytes() == data


def test_rewrites_deletes_and_resets_leave_no_file_behind(emulator: Emulator, client: httpx.Client) -> None:
    for content in (b"one", b"two"):
        client.post(UPLOAD, params={"uploadType": "media", "name": "x"}, content=content).raise_for_status()
    client.post(UPLOAD, params={"uploadType": "media", "name": "y"}, content=b"y").raise_for_status()
    assert sorted(p.read_bytes() for p in _files(emulator)) == [b"two", b"y"]
    assert client.delete(f"/storage/v1/b/{BUCKET}/o/y").status_code == 204
    assert [p.read_bytes() for p in _files(emulator)] == [b"two"]
    opened = client.post(UPLOAD, params={"uploadType": "resumable", "name": "z"})
    client.put(
        opened.headers["location"], content=b"z" * CHUNK, headers={"content-range": f"bytes 0-{CHUNK - 1}/*"}
    )
    assert len(_files(emulator)) == 2  # the object and the open session's file
    emulator.reset()
    assert _files(emulator) == []


def test_a_cancelled_session_deletes_its_file(emulator: Emulator, client: httpx.Client) -> None:
    location = client.post(UPLOAD, params={"uploadType": "resumable", "name": "c"}).headers["location"]
    client.put(location, content=b"c" * CHUNK, headers={"content-range": f"bytes 0-{CHUNK - 1}/*"})
    assert len(_files(emulator)) == 1
    assert client.delete(location).status_code == 499
    assert _files(emulator) == []


def test_bytes_past_what_a_session_counts_are_cut(emulator: Emulator, client: httpx.Client) -> None:
    """A chunk written but never saved (a crash, a refusal) leaves bytes the session does not count."""
    data = os.urandom(2 * CHUNK)
    location = client.post(UPLOAD, params={"uploadType": "resumable", "name": "s"}).headers["location"]
    client.put(location, content=data[:CHUNK], headers={"content-range": f"bytes 0-{CHUNK - 1}/*"})
    (session_file,) = _files(emulator)
    with session_file.open("ab") as stream:
        stream.write(b"garbage that was never acknowledged")
    done = client.put(
        location,
        content=data[CHUNK:],
        headers={"content-range": f"bytes {CHUNK}-{2 * CHUNK - 1}/{2 * CHUNK}"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["md5Hash"] == base64.b64encode(hashlib.md5(data).digest()).decode()
    assert emulator.storage_object(BUCKET, "s") == data


def test_the_temporary_directory_goes_with_the_emulator() -> None:
    emulator = Emulator(clock=EmulatorClock.manual())
    emulator.put_storage_object(BUCKET, "t", b"t")
    root = emulator.context.object_files.root
    assert root.is_dir()
    del emulator
    gc.collect()
    assert not root.exists()


def test_with_state_files_sit_beside_it_and_orphans_are_swept(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with Emulator(clock=EmulatorClock.manual(), state=path) as first:
        first.put_storage_object(BUCKET, "kept", b"kept")
    objects_dir = Path(f"{path}.objects")
    orphan = objects_dir / ("0" * 32)
    orphan.write_bytes(b"no record names me")
    (objects_dir / "incoming" / "half-written").write_bytes(b"interrupted")
    with Emulator(clock=EmulatorClock.manual(), state=path) as second:
        assert second.storage_object(BUCKET, "kept") == b"kept"
    assert not orphan.exists()
    assert list((objects_dir / "incoming").iterdir()) == []


def test_a_state_file_of_the_earlier_layout_is_converted(tmp_path: Path) -> None:
    """Earlier versions kept an object's bytes in its record (one character per byte)."""
    path = tmp_path / "old.sqlite"
    payload = bytes(range(256)) * 100
    old_object = {
        "bucket": BUCKET, "name": "old.bin", "generation": 1, "metageneration": 1,
        "contentType": "application/octet-stream", "size": len(payload),
        "md5Hash": base64.b64encode(hashlib.md5(payload).digest()).decode(), "metadata": None,
        "timeCreated": 1.0, "updated": 1.0, "data": payload.decode("latin-1"),
    }  # fmt: skip
    old_session = {
        "bucket": BUCKET, "name": "half.bin", "contentType": None, "metadata": None, "total": 2 * CHUNK,
        "received": CHUNK, "chunks": [("h" * CHUNK)], "ifGenerationMatch": None, "created": None,
    }  # fmt: skip
    state = {
        "sections": {
            "storage": {
                "buckets": {BUCKET: {"name": BUCKET, "timeCreated": 1.0, "objects": {"old.bin": old_object}}},
                "uploads": {"u1": old_session},
            }
        },
        "counters": {},
    }
    old = StateFile(path)
    old.load()
    old.save(state, EmulatorClock.manual())
    old.close()
    with (
        Emulator(clock=EmulatorClock.manual(), state=path) as emulator,
        httpx.Client(base_url=emulator.url) as client,
    ):
        assert emulator.storage_object(BUCKET, "old.bin") == payload
        assert "data" not in _record(emulator, "old.bin")
        location = f"{UPLOAD}?uploadType=resumable&upload_id=u1"
        done = client.put(
            location,
            content=b"t" * CHUNK,
            headers={"content-range": f"bytes {CHUNK}-{2 * CHUNK - 1}/{2 * CHUNK}"},
        )
        assert done.status_code == 200, done.text
        assert emulator.storage_object(BUCKET, "half.bin") == b"h" * CHUNK + b"t" * CHUNK


def _peak(action: Any) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_inserting_and_appending_copy_in_blocks(emulator: Emulator, tmp_path: Path) -> None:
    size = 24 * 1024 * 1024
    source = tmp_path / "body"
    with source.open("wb") as stream:
        for _ in range(size // CHUNK):
            stream.write(os.urandom(CHUNK))
    objects = Objects(emulator.context)
    with source.open("rb") as body:
        peak = _peak(lambda: objects.insert(BUCKET, "big", Payload(body, size)))
    assert peak < 4 * 1024 * 1024, peak
    upload = objects.start_upload(
        BUCKET, "resumed", content_type=None, total=size, metadata=None, if_generation_match=None
    )
    with source.open("rb") as body:
        peak = _peak(lambda: objects.upload_chunk(upload, f"bytes 0-{size - 1}/{size}", Payload(body, size)))
    assert peak < 4 * 1024 * 1024, peak
    expected = source.read_bytes()
    assert objects.read(BUCKET, "big")[1] == expected
    assert objects.read(BUCKET, "resumed")[1] == expected


def test_multipart_bodies_are_split_as_a_stream(tmp_path: Path) -> None:
    boundary = b"bound"
    media = (os.urandom(300_000) + b"\r\n--boun" + os.urandom(10)) * 20  # near-delimiters across blocks
    body = (
        b'preamble\r\n--bound\r\nContent-Type: application/json\r\n\r\n{"name": "m"}\r\n--bound\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + media + b"\r\n--bound--\r\n"
    )
    received = io.BytesIO()
    metadata, headers = split_multipart(
        f"multipart/related; boundary={boundary.decode()}", io.BytesIO(body), received.write
    )
    assert metadata == b'{"name": "m"}'
    assert headers["content-type"] == "application/octet-stream"
    assert received.getvalue() == media
    files = ObjectFiles(tmp_path / "objects")
    spooled = files.spool()
    peak = _peak(
        lambda: split_multipart("multipart/related; boundary=bound", io.BytesIO(body), spooled.write)
    )
    spooled.close()
    assert peak < 4 * 1024 * 1024, peak
    assert spooled.path.read_bytes() == media


@pytest.mark.parametrize(
    ("index", "expected"), [(slice(None), b"0123456789"), (slice(2, 5), b"234"), (slice(-3, None), b"789")]
)
def test_a_payload_slices_like_bytes(index: slice, expected: bytes) -> None:
    assert Payload.of(b"0123456789")[index] == expected
    assert len(Payload.of(b"0123456789")) == 10
