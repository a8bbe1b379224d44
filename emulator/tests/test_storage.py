"""The emulated Cloud Storage JSON API: uploads (media, multipart, resumable), reads, listing, delete."""

from __future__ import annotations

import base64
import hashlib
import json
import os

import httpx
import pytest
from emulator_helpers import assert_error

from tuneport_emulator import Emulator, EmulatorError
from tuneport_emulator.storage import objects as storage_objects

BUCKET = "tuneport-test"
UPLOAD = f"/upload/storage/v1/b/{BUCKET}/o"
CHUNK = 256 * 1024


def _media(
    client: httpx.Client, name: str, data: bytes, content_type: str = "application/jsonl"
) -> httpx.Response:
    return client.post(
        UPLOAD,
        params={"uploadType": "media", "name": name},
        content=data,
        headers={"content-type": content_type},
    )


def test_media_upload_then_metadata_and_download(client: httpx.Client) -> None:
    data = b'{"a": 1}\n\x00\xff binary too\r\n'
    created = _media(client, "dir/train.jsonl", data)
    assert created.status_code == 200, created.text
    resource = created.json()
    assert resource["kind"] == "storage#object"
    assert resource["name"] == "dir/train.jsonl"
    assert resource["bucket"] == BUCKET
    assert resource["size"] == str(len(data))  # int64 as a string
    assert resource["md5Hash"] == base64.b64encode(hashlib.md5(data).digest()).decode()
    assert resource["contentType"] == "application/jsonl"
    assert resource["generation"].isdigit()
    assert resource["metageneration"] == "1"
    path = f"/storage/v1/b/{BUCKET}/o/dir%2Ftrain.jsonl"
    assert client.get(path).json() == resource
    for url in (path, f"/download/storage/v1/b/{BUCKET}/o/dir%2Ftrain.jsonl"):
        download = client.get(url, params={"alt": "media"})
        assert download.status_code == 200
        assert download.content == data
        assert download.headers["content-type"] == "application/jsonl"
        assert download.headers["x-goog-generation"] == resource["generation"]
    assert client.get(resource["mediaLink"]).content == data  # the absolute link works too


def test_a_rewrite_is_a_new_generation(client: httpx.Client) -> None:
    first = _media(client, "x", b"one").json()
    second = _media(client, "x", b"two").json()
    assert int(second["generation"]) > int(first["generation"])
    stale = client.get(
        f"/storage/v1/b/{BUCKET}/o/x", params={"generation": first["generation"], "alt": "media"}
    )
    assert_error(stale, 404, "NOT_FOUND")
    precondition = client.post(
        UPLOAD, params={"uploadType": "media", "name": "x", "ifGenerationMatch": "0"}, content=b"three"
    )
    assert precondition.status_code == 412
    assert client.get(f"/storage/v1/b/{BUCKET}/o/x", params={"alt": "media"}).content == b"two"


def test_multipart_upload(client: httpx.Client) -> None:
    data = os.urandom(3000) + b"\r\n--not-the-boundary\r\n"
    body = (
        b"--==b==\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
        + json.dumps({"name": "m.bin", "metadata": {"k": "v"}}).encode()
        + b"\r\n--==b==\r\nContent-Type: application/octet-stream\r\n\r\n"
        + data
        + b"\r\n--==b==--\r\n"
    )
    created = client.post(
        UPLOAD,
        params={"uploadType": "multipart"},
        content=body,
        headers={"content-type": 'multipart/related; boundary="==b=="'},
    )
    assert created.status_code == 200, created.text
    assert created.json()["metadata"] == {"k": "v"}
    assert created.json()["contentType"] == "application/octet-stream"
    assert client.get(f"/storage/v1/b/{BUCKET}/o/m.bin", params={"alt": "media"}).content == data


def test_multipart_base64_part_and_bad_bodies(client: httpx.Client) -> None:
    body = (
        b"--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(b"hello") + b"\r\n--b--"
    )
    created = client.post(
        UPLOAD,
        params={"uploadType": "multipart", "name": "b64"},
        content=body,
        headers={"content-type": "multipart/related; boundary=b"},
    )
    assert created.status_code == 200, created.text
    assert client.get(f"/storage/v1/b/{BUCKET}/o/b64", params={"alt": "media"}).content == b"hello"
    one_part = b"--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b--"
    refused = client.post(
        UPLOAD,
        params={"uploadType": "multipart", "name": "x"},
        content=one_part,
        headers={"content-type": "multipart/related; boundary=b"},
    )
    assert_error(refused, 400, "INVALID_ARGUMENT", contains="two parts")
    no_boundary = client.post(UPLOAD, params={"uploadType": "multipart"}, content=b"x")
    assert_error(no_boundary, 400, "INVALID_ARGUMENT", contains="boundary")


def test_resumable_upload_in_chunks(emulator: Emulator, client: httpx.Client) -> None:
    data = os.urandom(2 * CHUNK + 1000)
    opened = client.post(
        UPLOAD,
        params={"uploadType": "resumable", "name": "big.bin"},
        json={"contentType": "application/x-test"},
        headers={"x-upload-content-length": str(len(data))},
    )
    assert opened.status_code == 200, opened.text
    location = opened.headers["location"]
    assert location.startswith(
        f"{emulator.url}/upload/storage/v1/b/{BUCKET}/o?uploadType=resumable&upload_id="
    )
    status = client.put(location, headers={"content-range": f"bytes */{len(data)}"})
    assert status.status_code == 308
    assert "range" not in status.headers  # nothing received yet
    first = client.put(location, content=data[:CHUNK], headers={"content-range": f"bytes 0-{CHUNK - 1}/*"})
    assert first.status_code == 308
    assert first.headers["range"] == f"bytes=0-{CHUNK - 1}"
    # A re-sent chunk (the client lost the 308) is accepted and its overlap skipped.
    again = client.put(
        location, content=data[: CHUNK * 2], headers={"content-range": f"bytes 0-{2 * CHUNK - 1}/*"}
    )
    assert again.headers["range"] == f"bytes=0-{2 * CHUNK - 1}"
    last = client.put(
        location,
        content=data[2 * CHUNK :],
        headers={"content-range": f"bytes {2 * CHUNK}-{len(data) - 1}/{len(data)}"},
    )
    assert last.status_code == 200, last.text
    assert last.json()["size"] == str(len(data))
    assert last.json()["contentType"] == "application/x-test"
    assert emulator.storage_object(BUCKET, "big.bin") == data
    # The finished session is kept (as on Cloud Storage): it answers with its object.
    finished = client.put(location, headers={"content-range": f"bytes */{len(data)}"})
    assert finished.status_code == 200
    assert finished.json() == last.json()


def test_resumable_upload_rules(client: httpx.Client) -> None:
    opened = client.post(
        UPLOAD, params={"uploadType": "resumable", "name": "r"}, headers={"x-upload-content-length": "600000"}
    )
    location = opened.headers["location"]
    small = client.put(location, content=b"x" * 1000, headers={"content-range": "bytes 0-999/*"})
    assert_error(small, 400, "INVALID_ARGUMENT", contains="multiple of 262144")
    gap = client.put(location, content=b"x" * CHUNK, headers={"content-range": f"bytes 10-{CHUNK + 9}/*"})
    assert_error(gap, 400, "INVALID_ARGUMENT", contains="starts at byte 10")
    mismatch = client.put(location, content=b"xy", headers={"content-range": "bytes 0-0/600000"})
    assert_error(mismatch, 400, "INVALID_ARGUMENT", contains="covers 1 bytes")
    wrong_total = client.put(location, content=b"x", headers={"content-range": "bytes 0-0/1"})
    assert_error(wrong_total, 400, "INVALID_ARGUMENT", contains="does not match")
    assert_error(client.put(location, headers={"content-range": "lines 1-2"}), 400, "INVALID_ARGUMENT")
    cancelled = client.delete(location)
    assert cancelled.status_code == 499
    assert_error(client.put(UPLOAD, content=b"x"), 400, "INVALID_ARGUMENT", contains="upload_id")


def test_a_single_put_without_content_range_is_the_whole_object(client: httpx.Client) -> None:
    location = client.post(UPLOAD, params={"uploadType": "resumable", "name": "one"}).headers["location"]
    done = client.put(location, content=b"all at once")
    assert done.status_code == 200
    assert done.json()["size"] == "11"


def test_list_by_prefix_with_paging_and_delete(client: httpx.Client) -> None:
    for name in ("a/1", "a/2", "a/3", "b/1"):
        _media(client, name, name.encode())
    first = client.get(f"/storage/v1/b/{BUCKET}/o", params={"prefix": "a/", "maxResults": 2}).json()
    assert [o["name"] for o in first["items"]] == ["a/1", "a/2"]
    second = client.get(
        f"/storage/v1/b/{BUCKET}/o",
        params={"prefix": "a/", "maxResults": 2, "pageToken": first["nextPageToken"]},
    ).json()
    assert [o["name"] for o in second["items"]] == ["a/3"]
    assert "nextPageToken" not in second
    deleted = client.delete(f"/storage/v1/b/{BUCKET}/o/a%2F1")
    assert deleted.status_code == 204
    assert_error(client.delete(f"/storage/v1/b/{BUCKET}/o/a%2F1"), 404, "NOT_FOUND")
    assert_error(client.get("/storage/v1/b/no-such-bucket/o"), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("params", "contains"),
    [
        ({"name": "x"}, "uploadType"),
        ({"uploadType": "chunked", "name": "x"}, "Invalid upload type"),
        ({"uploadType": "media"}, "name"),
        ({"uploadType": "media", "name": "bad\nname"}, "Invalid object name"),
        ({"uploadType": "media", "name": "x", "bogus": "1"}, "bogus"),
    ],
)
def test_bad_uploads_are_refused(client: httpx.Client, params: dict[str, str], contains: str) -> None:
    assert_error(client.post(UPLOAD, params=params, content=b"x"), 400, "INVALID_ARGUMENT", contains=contains)


@pytest.mark.parametrize("bucket", ["b", "UPPER", "-dash", "a" * 64, "goog-bucket"])
def test_bucket_names_follow_the_rules(client: httpx.Client, bucket: str) -> None:
    response = client.post(
        f"/upload/storage/v1/b/{bucket}/o", params={"uploadType": "media", "name": "x"}, content=b"x"
    )
    assert_error(response, 400, "INVALID_ARGUMENT", contains="Invalid bucket name")


def test_missing_objects_are_404(client: httpx.Client) -> None:
    assert_error(client.get(f"/storage/v1/b/{BUCKET}/o/none"), 404, "NOT_FOUND", contains="No such object")
    assert_error(client.get(f"/storage/v1/b/{BUCKET}/o/none", params={"alt": "media"}), 404, "NOT_FOUND")


def test_objects_over_the_cap_are_refused(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage_objects, "MAX_OBJECT_BYTES", 10)
    assert_error(_media(client, "big", b"x" * 11), 400, "INVALID_ARGUMENT", contains="at most 10 bytes")
    opened = client.post(
        UPLOAD, params={"uploadType": "resumable", "name": "big"}, headers={"x-upload-content-length": "11"}
    )
    assert_error(opened, 400, "INVALID_ARGUMENT", contains="at most 10 bytes")


def test_backdoor_and_state_stay_json(emulator: Emulator, client: httpx.Client) -> None:
    resource = emulator.put_storage_object(BUCKET, "seeded.jsonl", b"\x00\x01\xff")
    assert resource["size"] == "3"
    assert emulator.storage_object(BUCKET, "seeded.jsonl") == b"\x00\x01\xff"
    assert emulator.storage_object(BUCKET, "missing") is None
    with pytest.raises(EmulatorError, match="Invalid bucket name"):
        emulator.put_storage_object("B", "x", b"")
    admin = client.post(  # a type no web page may send without a preflight (docs: Security)
        f"/_emulator/storage/b/{BUCKET}/o/via%2Fadmin",
        content=b"abc",
        headers={"Content-Type": "application/jsonl"},
    )
    assert admin.json()["name"] == "via/admin"
    state = client.get("/_emulator/state")
    assert state.status_code == 200  # object bytes are kept JSON-serializable
    assert [r["route"] for r in emulator.requests()] == []  # admin routes are not logged


def test_uploads_are_logged_without_their_bytes(emulator: Emulator, client: httpx.Client) -> None:
    _media(client, "logged", b"0123456789")
    (entry,) = emulator.requests()
    assert entry["route"] == "storage.objects.insert"
    assert entry["body"] == {"media": "10 bytes"}
    assert entry["query"] == {"uploadType": ["media"], "name": ["logged"]}
