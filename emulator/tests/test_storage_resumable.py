"""Resumable uploads as Cloud Storage runs them: status queries, Range, finished sessions kept (issue #13)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from emulator_helpers import assert_error

from tuneport_emulator import Emulator, EmulatorClock
from tuneport_emulator.storage.objects import SESSION_LIFETIME

BUCKET = "tuneport-test"
UPLOAD = f"/upload/storage/v1/b/{BUCKET}/o"
CHUNK = 256 * 1024


def _open(client: httpx.Client, name: str, size: int) -> str:
    opened = client.post(
        UPLOAD,
        params={"uploadType": "resumable", "name": name},
        json={"contentType": "application/jsonl"},
        headers={"x-upload-content-length": str(size)},
    )
    assert opened.status_code == 200, opened.text
    return opened.headers["location"]


def _status(client: httpx.Client, location: str, size: int) -> httpx.Response:
    return client.put(location, headers={"content-range": f"bytes */{size}"})


def test_a_status_query_reports_what_is_stored(client: httpx.Client) -> None:
    data = os.urandom(3 * CHUNK + 10)
    location = _open(client, "s.bin", len(data))
    empty = _status(client, location, len(data))
    assert empty.status_code == 308
    assert "range" not in empty.headers  # nothing stored: start from byte 0
    put = client.put(
        location, content=data[:CHUNK], headers={"content-range": f"bytes 0-{CHUNK - 1}/{len(data)}"}
    )
    assert put.headers["range"] == f"bytes=0-{CHUNK - 1}"
    queried = _status(client, location, len(data))
    assert queried.status_code == 308
    assert queried.headers["range"] == f"bytes=0-{CHUNK - 1}"
    assert queried.content == b""
    assert_error(_status(client, location, len(data) + 1), 400, "INVALID_ARGUMENT", contains="does not match")


def test_the_last_chunk_resent_after_a_lost_answer_gets_the_object(
    emulator: Emulator, client: httpx.Client
) -> None:
    data = os.urandom(CHUNK + 100)
    location = _open(client, "lost.bin", len(data))
    client.put(location, content=data[:CHUNK], headers={"content-range": f"bytes 0-{CHUNK - 1}/{len(data)}"})
    last_range = {"content-range": f"bytes {CHUNK}-{len(data) - 1}/{len(data)}"}
    done = client.put(location, content=data[CHUNK:], headers=last_range)
    assert done.status_code == 200
    # The client never saw that answer: it asks, or sends the last chunk again.
    assert _status(client, location, len(data)).json() == done.json()
    again = client.put(location, content=data[CHUNK:], headers=last_range)
    assert again.status_code == 200
    assert again.json() == done.json()
    assert again.json()["generation"] == done.json()["generation"]  # not written twice
    assert emulator.storage_object(BUCKET, "lost.bin") == data


def test_a_lost_answer_injected_by_a_fault_is_recovered_by_a_status_query(
    emulator: Emulator, client: httpx.Client
) -> None:
    data = os.urandom(CHUNK + 100)
    location = _open(client, "fault.bin", len(data))
    emulator.configure_faults("storage.objects.upload: reset-after=1")
    try:
        client.put(location, content=data, headers={"content-range": f"bytes 0-{len(data) - 1}/{len(data)}"})
    except httpx.TransportError:
        pass
    else:
        raise AssertionError("the answer was not lost")
    emulator.configure_faults(None)
    answer = _status(client, location, len(data))
    assert answer.status_code == 200
    assert answer.json()["size"] == str(len(data))
    assert emulator.storage_object(BUCKET, "fault.bin") == data


def test_sessions_expire_after_a_week(emulator: Emulator, client: httpx.Client) -> None:
    location = _open(client, "old.bin", 10)
    finished = _open(client, "done.bin", 3)
    assert client.put(finished, content=b"abc", headers={"content-range": "bytes 0-2/3"}).status_code == 200
    emulator.advance(SESSION_LIFETIME + 1)
    assert_error(_status(client, location, 10), 404, "NOT_FOUND", contains="No such upload session")
    assert_error(_status(client, finished, 3), 404, "NOT_FOUND", contains="No such upload session")
    assert emulator.storage_object(BUCKET, "done.bin") == b"abc"  # the object stays


def test_a_refused_object_ends_its_session(client: httpx.Client) -> None:
    opened = client.post(
        UPLOAD, params={"uploadType": "resumable", "name": "fresh", "ifGenerationMatch": "0"}
    )
    location = opened.headers["location"]
    client.post(UPLOAD, params={"uploadType": "media", "name": "fresh"}, content=b"first")
    refused = client.put(location, content=b"abc", headers={"content-range": "bytes 0-2/3"})
    assert refused.status_code == 412
    assert_error(_status(client, location, 3), 404, "NOT_FOUND")


def test_a_finished_session_survives_a_restart_without_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    data = os.urandom(CHUNK + 5000)
    with Emulator(clock=EmulatorClock.manual(), state=path) as first:
        with httpx.Client(base_url=first.url) as client:
            location = _open(client, "kept.bin", len(data))
            done = client.put(
                location, content=data, headers={"content-range": f"bytes 0-{len(data) - 1}/{len(data)}"}
            )
            assert done.status_code == 200
        session = next(iter(first.store.snapshot()["sections"]["storage"]["uploads"].values()))
        assert session["state"] == "FINISHED"
        assert session["file"] == ""  # the bytes live in the object's file only
        assert session["object"]["file"] == ""
        objects_dir = Path(f"{path}.objects")
        assert [p.name for p in objects_dir.iterdir() if p.is_file()] == [
            first.store.snapshot()["sections"]["storage"]["buckets"][BUCKET]["objects"]["kept.bin"]["file"]
        ]
        assert first.state_file is not None
        assert first.state_file.counts()["blobs"] == 0  # no bytes in SQLite
        old_url = first.url
    with (
        Emulator(clock=EmulatorClock.manual(), state=path) as second,
        httpx.Client(base_url=second.url) as client,
    ):
        answer = _status(client, location.replace(old_url, second.url), len(data))
        assert answer.status_code == 200
        assert answer.json()["md5Hash"] == done.json()["md5Hash"]
        assert answer.json()["generation"] == done.json()["generation"]
