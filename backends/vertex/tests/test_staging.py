"""The staging upload flow, driven by hand against a fake Cloud Storage (issue #13, item 4).

Cloud Storage's resumable protocol, as the client must follow it:

* an ambiguous failure of a chunk ``PUT`` (a reset, a timeout, a 5xx, a lost
  answer) is followed by a status query (``PUT`` with ``Content-Range: bytes */N``)
  and the upload resumes from what the server says it stored;
* a ``308``'s ``Range: bytes=0-N`` is what the server *stored*: the next chunk
  starts at ``N + 1``, even if more was sent;
* the bearer token goes only to the configured storage host: a session
  ``Location`` on another host is refused before anything is sent there.

The fake plays Cloud Storage with knobs for each misbehaviour; a small driver
runs the flow like the real ones do (typed errors thrown back into the flow,
``Backoff`` giving up after the policy's attempts).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tuneport.errors import (
    APIConnectionError,
    APIError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
)
from tuneport.protocol import Backoff, BlockingCall, Effect, HttpRequest, HttpResponse, Sleep
from tuneport_vertex import staging

STORAGE = "https://storage.googleapis.com"
BUCKET = "tp-bucket"
NAME = "tuneport/datasets/abc.jsonl"
CHUNK = 256 * 1024
MAX_ATTEMPTS = 5


@dataclass
class Sent:
    method: str
    url: str
    content_range: str | None
    size: int
    authenticate: bool


@dataclass
class FakeStorage:
    """Cloud Storage's JSON API for one object, with the misbehaviours to test."""

    #: Where session URIs point (Cloud Storage: its own host).
    session_host: str = STORAGE
    #: Per data PUT (by index): how many of the bytes it carries are stored (None: all).
    store_at_most: dict[int, int] = field(default_factory=dict)
    #: Data PUTs (by index) whose answer is lost after the commit (a reset).
    lose_answer: set[int] = field(default_factory=set)
    #: Data PUTs (by index) refused with a 503 before the commit.
    fail_before: set[int] = field(default_factory=set)
    #: Corrupt the md5Hash the object resource reports.
    wrong_md5: bool = False
    objects: dict[str, bytes] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    data_puts: int = 0

    def resource(self, data: bytes) -> dict[str, Any]:
        md5 = hashlib.md5(data + (b"x" if self.wrong_md5 else b"")).digest()
        return {
            "name": NAME,
            "bucket": BUCKET,
            "size": str(len(data)),
            "md5Hash": base64.b64encode(md5).decode(),
        }

    def handle(self, req: HttpRequest) -> HttpResponse:
        self.sent.append(
            Sent(
                req.method,
                req.url,
                req.headers.get("content-range"),
                len(req.content or b""),
                req.authenticate,
            )
        )
        parts = urlsplit(req.url)
        params = {**dict(parse_qsl(parts.query)), **{k: str(v) for k, v in req.params.items()}}
        if req.method == "GET":
            if NAME in self.objects:
                return _json(200, self.resource(self.objects[NAME]))
            return HttpResponse(404, {}, b'{"error": {"code": 404, "message": "No such object"}}')
        if req.method == "POST" and params.get("uploadType") == "media":
            self.objects[NAME] = req.content or b""
            return _json(200, self.resource(self.objects[NAME]))
        if req.method == "POST" and params.get("uploadType") == "resumable":
            upload_id = f"session{len(self.sessions)}"
            total = int(req.headers["x-upload-content-length"])
            self.sessions[upload_id] = {"data": b"", "total": total, "done": False}
            query = f"uploadType=resumable&upload_id={upload_id}"
            location = f"{self.session_host}/upload/storage/v1/b/{BUCKET}/o?{query}"
            return HttpResponse(200, {"location": location}, b"")
        assert req.method == "PUT", req
        session = self.sessions[params["upload_id"]]
        header = req.headers["content-range"]
        status_query = re.fullmatch(r"bytes \*/(\d+)", header)
        if status_query:
            return self._progress(session)
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", header)
        assert match, header
        index = self.data_puts
        self.data_puts += 1
        if index in self.fail_before:
            raise InternalServerError("503 UNAVAILABLE", status_code=503)
        if session["done"]:
            return self._progress(session)
        first = int(match.group(1))
        content = req.content or b""
        stored = session["data"]
        if first > len(stored):
            raise BadRequestError(f"starts at {first} but {len(stored)} stored", status_code=400)
        fresh = content[len(stored) - first :]
        limit = self.store_at_most.get(index)
        if limit is not None:
            fresh = fresh[:limit]
        session["data"] = stored + fresh
        if len(session["data"]) == session["total"]:
            session["done"] = True
            self.objects[NAME] = session["data"]
        if index in self.lose_answer:
            raise APIConnectionError("connection reset", request_sent=True)
        return self._progress(session)

    def _progress(self, session: dict[str, Any]) -> HttpResponse:
        if session["done"]:
            return _json(200, self.resource(session["data"]))
        stored = len(session["data"])
        return HttpResponse(308, {"range": f"bytes=0-{stored - 1}"} if stored else {}, b"")

    def data_ranges(self) -> list[str]:
        return [s.content_range or "" for s in self.sent if s.method == "PUT" and s.size]

    def status_queries(self) -> list[str]:
        return [s.content_range or "" for s in self.sent if s.method == "PUT" and not s.size]


def _json(status: int, value: dict[str, Any]) -> HttpResponse:
    return HttpResponse(status, {"content-type": "application/json"}, json.dumps(value).encode())


def drive(flow: Generator[Effect, Any, str], service: Callable[[HttpRequest], HttpResponse]) -> str:
    """Run *flow* like the drivers: errors thrown back in, ``Backoff`` raising after the attempts."""
    effect = next(flow)
    while True:
        try:
            result: Any = None
            if isinstance(effect, BlockingCall):
                result = effect.run()
            elif isinstance(effect, Backoff):
                if effect.attempt >= MAX_ATTEMPTS:
                    raise effect.error
            elif isinstance(effect, Sleep):
                pass
            else:
                result = service(effect)
                if result.status_code >= 400 and result.status_code not in effect.expected:
                    raise NotFoundError("404 NOT_FOUND", status_code=404)
        except Exception as error:
            try:
                effect = flow.throw(error)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
        else:
            try:
                effect = flow.send(result)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]


@pytest.fixture
def big(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> staging.StagedFile:
    """A dataset of three chunks and a bit (chunks shrunk to 256 KiB for the test)."""
    monkeypatch.setattr(staging, "SINGLE_REQUEST_LIMIT", CHUNK)
    monkeypatch.setattr(staging, "CHUNK", CHUNK)
    path = tmp_path / "big.jsonl"
    path.write_bytes(os.urandom(3 * CHUNK + 1000))
    return _staged(path)


def _staged(path: Path) -> staging.StagedFile:
    data = path.read_bytes()
    return staging.StagedFile(
        path,
        hashlib.sha256(data).hexdigest(),
        len(data),
        base64.b64encode(hashlib.md5(data).digest()).decode(),
    )


def _upload(staged: staging.StagedFile, fake: FakeStorage) -> str:
    return drive(staging.upload(staged, storage=STORAGE, bucket=BUCKET, name=NAME), fake.handle)


# --- (a) a lost answer to the last chunk ------------------------------------------------------------


def test_a_lost_answer_to_the_last_chunk_is_recovered_by_a_status_query(big: staging.StagedFile) -> None:
    fake = FakeStorage(lose_answer={3})  # the fourth data PUT is the last one
    assert _upload(big, fake) == f"gs://{BUCKET}/{NAME}"
    assert fake.objects[NAME] == big.path.read_bytes()
    assert fake.status_queries() == [f"bytes */{big.size}"]  # asked, and was told it is done
    assert len(fake.data_ranges()) == 4  # nothing sent twice


def test_a_lost_answer_to_a_middle_chunk_resumes_after_what_was_stored(big: staging.StagedFile) -> None:
    fake = FakeStorage(lose_answer={1})
    _upload(big, fake)
    assert fake.objects[NAME] == big.path.read_bytes()
    assert fake.status_queries() == [f"bytes */{big.size}"]
    assert fake.data_ranges() == [
        f"bytes 0-{CHUNK - 1}/{big.size}",
        f"bytes {CHUNK}-{2 * CHUNK - 1}/{big.size}",
        f"bytes {2 * CHUNK}-{3 * CHUNK - 1}/{big.size}",  # not the second chunk again
        f"bytes {3 * CHUNK}-{big.size - 1}/{big.size}",
    ]


def test_a_5xx_on_a_chunk_is_followed_by_a_status_query_then_a_resume(big: staging.StagedFile) -> None:
    fake = FakeStorage(fail_before={2})
    _upload(big, fake)
    assert fake.objects[NAME] == big.path.read_bytes()
    assert fake.status_queries() == [f"bytes */{big.size}"]
    assert fake.data_ranges()[2] == fake.data_ranges()[3] == f"bytes {2 * CHUNK}-{3 * CHUNK - 1}/{big.size}"


def test_retries_are_bounded_by_the_retry_policy(big: staging.StagedFile) -> None:
    fake = FakeStorage(fail_before=set(range(100)))
    with pytest.raises(InternalServerError):
        _upload(big, fake)
    assert len(fake.data_ranges()) == MAX_ATTEMPTS


# --- (b) a server storing less than it was sent --------------------------------------------------


def test_a_308_range_short_of_what_was_sent_resumes_from_it(big: staging.StagedFile) -> None:
    fake = FakeStorage(store_at_most={0: 1000, 1: CHUNK // 2})
    _upload(big, fake)
    assert fake.objects[NAME] == big.path.read_bytes()
    ranges = fake.data_ranges()
    assert ranges[:3] == [
        f"bytes 0-{CHUNK - 1}/{big.size}",
        f"bytes 1000-{1000 + CHUNK - 1}/{big.size}",  # re-sends what was not stored, never skips it
        f"bytes {1000 + CHUNK // 2}-{1000 + CHUNK // 2 + CHUNK - 1}/{big.size}",
    ]
    assert fake.status_queries() == []  # a 308 is not ambiguous: no status query needed


def test_a_308_claiming_more_than_was_sent_is_refused(big: staging.StagedFile) -> None:
    class Liar(FakeStorage):
        def handle(self, req: HttpRequest) -> HttpResponse:
            response = super().handle(req)
            if response.status_code == 308:
                return HttpResponse(308, {"range": f"bytes=0-{big.size + 10}"}, b"")
            return response

    with pytest.raises(APIError, match="Range"):
        _upload(big, Liar())


def test_a_final_object_whose_checksum_differs_is_refused(big: staging.StagedFile) -> None:
    with pytest.raises(APIError, match="md5"):
        _upload(big, FakeStorage(wrong_md5=True))


def test_an_existing_object_of_the_same_size_but_another_md5_is_uploaded_again(
    big: staging.StagedFile,
) -> None:
    fake = FakeStorage()
    fake.objects[NAME] = b"\0" * big.size  # a corrupt earlier upload under the content-hash name
    _upload(big, fake)
    assert fake.objects[NAME] == big.path.read_bytes()


# --- (c) a session on another host ----------------------------------------------------------------


def test_a_session_location_on_another_host_is_refused_before_anything_is_sent(
    big: staging.StagedFile,
) -> None:
    fake = FakeStorage(session_host="https://collector.example")
    with pytest.raises(staging.ForeignSessionError, match=r"collector\.example"):
        _upload(big, fake)
    assert [s.url for s in fake.sent if "collector.example" in s.url] == []


@pytest.mark.parametrize(
    "host",
    [
        "http://storage.googleapis.com",
        "https://storage.googleapis.com:8443",
        "https://storage.googleapis.com.evil",
    ],
)
def test_another_scheme_or_port_is_another_host(big: staging.StagedFile, host: str) -> None:
    with pytest.raises(staging.ForeignSessionError):
        _upload(big, FakeStorage(session_host=host))


def test_every_request_sent_is_to_the_storage_host_and_authenticated(big: staging.StagedFile) -> None:
    fake = FakeStorage(session_host="HTTPS://Storage.GoogleAPIs.com:443", lose_answer={3})
    _upload(big, fake)
    assert all(urlsplit(s.url).hostname == "storage.googleapis.com" for s in fake.sent)
    assert all(s.authenticate for s in fake.sent)


# --- through the real drivers: where the bearer token goes -------------------------------------------


class _Bearer:
    blocking = False

    def headers(self) -> dict[str, str]:
        return {"authorization": "Bearer canary-token"}

    def secrets(self) -> list[str]:
        return ["canary-token"]


@pytest.mark.parametrize("session_host", [STORAGE, "https://collector.example"])
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_the_token_goes_only_to_the_storage_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, session_host: str, kind: str
) -> None:
    import httpx

    import tuneport
    from tuneport.waiting import ManualClock
    from tuneport_vertex.backend import VertexBackend

    monkeypatch.setattr(staging, "SINGLE_REQUEST_LIMIT", CHUNK)
    monkeypatch.setattr(staging, "CHUNK", CHUNK)
    monkeypatch.setattr(VertexBackend, "authenticator", lambda self: _Bearer())
    train = tmp_path / "train.jsonl"
    line = json.dumps({"contents": [{"role": "user", "parts": [{"text": "q" * 500}]}, MODEL_TURN]}) + "\n"
    train.write_text(line * 1200)  # over 256 KiB: resumable
    seen: list[tuple[str, str, str | None]] = []
    sessions: dict[str, int] = {}

    def handle(request: httpx.Request) -> httpx.Response:
        url = request.url
        seen.append((request.method, f"{url.scheme}://{url.host}", request.headers.get("authorization")))
        if request.method == "GET":
            return httpx.Response(404, json={"error": {"code": 404, "message": "No such object"}})
        if request.method == "POST" and url.params.get("uploadType") == "resumable":
            sessions["s"] = int(request.headers["x-upload-content-length"])
            location = f"{session_host}/upload/storage/v1/b/{BUCKET}/o?uploadType=resumable&upload_id=s"
            return httpx.Response(200, headers={"location": location})
        if request.method == "PUT":
            _, last, total = (int(n) for n in re.findall(r"\d+", request.headers["content-range"]))
            if last + 1 < total:
                return httpx.Response(308, headers={"range": f"bytes=0-{last}"})
            body = request.read()
            return httpx.Response(200, json={"name": NAME, "size": str(total), "bytes": len(body)})
        return httpx.Response(500, json={"error": {"code": 500, "message": "not in this test"}})

    options: dict[str, Any] = {
        "project": "tuneport-test",
        "location": "us-central1",
        "staging_bucket": f"gs://{BUCKET}",
        "environ": {},
        "clock": ManualClock(),
        "retry": tuneport.RetryPolicy(max_attempts=1),
    }
    error = await _create(kind, handle, options, train)
    storage_requests = [s for s in seen if "aiplatform" not in s[1]]
    assert storage_requests, seen
    assert all(token == "Bearer canary-token" for _, _, token in storage_requests)
    assert all(host == STORAGE for _, host, _ in seen if "aiplatform" not in host)
    if session_host == STORAGE:
        assert [m for m, _, _ in storage_requests].count("PUT") >= 2  # staged, then the create failed
        assert not isinstance(error, staging.ForeignSessionError)
    else:
        assert isinstance(error, staging.ForeignSessionError)
        assert [m for m, _, _ in seen] == ["GET", "POST"]  # nothing after the session was refused
        assert "upload_id" not in str(error)


MODEL_TURN = {"role": "model", "parts": [{"text": "a"}]}


async def _create(kind: str, handle: Callable[[Any], Any], options: dict[str, Any], train: Path) -> APIError:
    """Run a create through the sync or the async client; the APIError it ends with."""
    import httpx

    import tuneport

    try:
        if kind == "sync":
            with tuneport.connect(
                backend="vertex", transport=httpx.MockTransport(handle), **options
            ) as client:
                client.create(base_model="gemini-2.5-flash", training_data=str(train))
        else:

            async def ahandle(request: httpx.Request) -> httpx.Response:
                await request.aread()
                return handle(request)  # type: ignore[no-any-return]

            async with tuneport.connect_async(
                backend="vertex", transport=httpx.MockTransport(ahandle), **options
            ) as aclient:
                await aclient.create(base_model="gemini-2.5-flash", training_data=str(train))
    except APIError as error:
        return error
    raise AssertionError("the create did not fail")
