"""Staging local datasets to Cloud Storage (the JSON API) under a content-hash name.

A local file or in-memory examples are converted to Vertex JSONL, hashed, and
uploaded to ``gs://{staging_bucket}/tuneport/datasets/{sha256}.jsonl`` — unless
an object of that name is already there, in which case it is re-used: same
bytes, same name, no second upload.  Small files go up in one media upload;
large ones through a resumable session in 8 MiB chunks, so memory stays
bounded whatever the file size.

:func:`prepare` is blocking work (convert, hash) that flows run through a
``BlockingCall``; :func:`upload` is a flow that reads each chunk through one
too, so neither ever runs file I/O on an event loop.

Every object tuneport stages carries Cloud Storage custom ``metadata``
(:func:`staged_metadata`): ``tuneport-staged: "1"`` (tuneport created it),
``tuneport-staged-at`` (when it was last staged) and ``tuneport-parents``
(the ``projects/P/locations/L`` whose jobs were given it).  Re-using an
object refreshes the time and adds the parent (``objects.patch``, guarded by
``ifMetagenerationMatch``).  ``tuneport cleanup`` and ``delete --staged``
read these (:mod:`tuneport_vertex.cleanup`); an object without them is never
removed.

Progress is told on the ``tuneport.upload`` logger (:data:`PROGRESS_LOG`), at
DEBUG: a record when an upload starts, after each chunk the server stored,
and when it is done, each carrying ``tuneport_upload`` =
``(gs_uri, bytes_stored, total_bytes)``.  Whoever shows progress (the CLI)
listens there; the port stays as it is.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from tuneport.errors import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APIStatusError,
    InternalServerError,
    Problem,
    RateLimitError,
    SpecError,
)
from tuneport.models import DataSource, TuningMethod
from tuneport.protocol import Effect, HttpRequest, HttpResponse, backoff, call, request

#: The logger upload progress is told on (see the module's docstring).
PROGRESS_LOG = logging.getLogger("tuneport.upload")

#: Up to this size a dataset is uploaded in one request.
SINGLE_REQUEST_LIMIT = 8 * 1024 * 1024
#: Resumable chunks must be multiples of 256 KiB (Cloud Storage's rule).
CHUNK = 32 * 256 * 1024
JSONL = "application/jsonl"


@dataclass(frozen=True)
class StagedFile:
    """A converted dataset ready to upload: its local path, hash and size (and base64 md5, to check)."""

    path: Path
    sha256: str
    size: int
    #: Base64 MD5, as Cloud Storage's ``md5Hash`` (empty: not checked).
    md5: str = ""


def prepare(source: DataSource, field: str, method: TuningMethod = TuningMethod.SUPERVISED) -> StagedFile:
    """Convert *source* to Vertex JSONL of *method*'s format in a temporary file and hash it."""
    from tuneport.datasets import convert_dataset

    # Typed Any: DatasetSource names only supervised examples, yet convert_dataset reads the
    # preference and prompt examples a JobSpec of those methods holds (Vertex's JSONL of the method).
    examples: Any = source
    handle, name = tempfile.mkstemp(prefix="tuneport-", suffix=".jsonl")
    os.close(handle)
    path = Path(name)
    try:
        convert_dataset(examples, path, to="vertex", method=method)
    except Exception:
        path.unlink(missing_ok=True)
        raise
    digest, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
            md5.update(block)
    size = path.stat().st_size
    if size == 0:
        path.unlink(missing_ok=True)
        raise SpecError([Problem("the dataset holds no examples", field=field, rule="too-few-examples")])
    return StagedFile(path, digest.hexdigest(), size, base64.b64encode(md5.digest()).decode("ascii"))


def split_bucket(staging_bucket: str) -> tuple[str, str]:
    """``gs://bucket/prefix`` → (``bucket``, ``prefix/`` or ``""``)."""
    bare = staging_bucket.removeprefix("gs://")
    bucket, _, prefix = bare.partition("/")
    return bucket, (prefix.strip("/") + "/") if prefix.strip("/") else ""


def object_name(staged: StagedFile, prefix: str) -> str:
    """The content-addressed object name of a staged dataset."""
    return f"{prefix}tuneport/datasets/{staged.sha256}.jsonl"


#: Custom metadata keys of a staged object (Cloud Storage ``metadata``).
STAGED_KEY = "tuneport-staged"
STAGED_AT_KEY = "tuneport-staged-at"
PARENTS_KEY = "tuneport-parents"
#: How often a re-use's metadata refresh is retried when the object changed under it (412).
_REFRESH_ATTEMPTS = 3


def staged_metadata(parent: str, when: dt.datetime | None = None) -> dict[str, str]:
    """The metadata tuneport puts on an object it stages for a job under *parent*."""
    moment = (when or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    return {
        STAGED_KEY: "1",
        STAGED_AT_KEY: moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        PARENTS_KEY: parent,
    }


def is_staged(resource: dict[str, Any]) -> bool:
    """Whether an object resource is one tuneport staged (its ``tuneport-staged`` metadata)."""
    metadata = resource.get("metadata")
    return isinstance(metadata, dict) and metadata.get(STAGED_KEY) == "1"


def parents_of(resource: dict[str, Any]) -> list[str]:
    """The ``projects/P/locations/L`` a staged object was given to."""
    metadata = resource.get("metadata")
    value = metadata.get(PARENTS_KEY, "") if isinstance(metadata, dict) else ""
    return [p for p in str(value).split(",") if p]


def object_url(storage: str, bucket: str, name: str) -> str:
    """The JSON API URL of object *name* in *bucket*."""
    return f"{storage}/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}"


def upload(
    staged: StagedFile,
    *,
    storage: str,
    bucket: str,
    name: str,
    metadata: Mapping[str, str] | None = None,
) -> Generator[Effect, Any, str]:
    """Upload *staged* (unless already there) and check what was stored; returns its ``gs://`` URI.

    *metadata* (:func:`staged_metadata`) goes on the object; an object already
    there that tuneport staged gets its time refreshed and the parent added.
    """
    uri = f"gs://{bucket}/{name}"
    quoted_bucket = quote(bucket, safe="")
    url = object_url(storage, bucket, name)
    for _attempt in range(_REFRESH_ATTEMPTS):
        existing = yield from request(HttpRequest("GET", url, expected=frozenset({404})))
        if not (existing.status_code == 200 and _same_content(existing.json(), staged)):
            break
        if metadata is None or STAGED_AT_KEY not in metadata or not is_staged(existing.json()):
            return uri  # same content hash, size and checksum: re-use it (not ours: left as it is)
        refreshed = yield from _refresh(url, existing.json(), metadata)
        if refreshed:
            return uri  # re-used, its staging time and parents brought up to date
    upload_url = f"{storage}/upload/storage/v1/b/{quoted_bucket}/o"
    _progress(uri, 0, staged.size)
    if staged.size <= SINGLE_REQUEST_LIMIT:
        data = yield from call(staged.path.read_bytes)
        boundary, body = _multipart(
            {"name": name, "contentType": JSONL, "metadata": dict(metadata or {})}, data
        )
        response = yield from request(
            HttpRequest(
                "POST",
                upload_url,
                params={"uploadType": "multipart"},
                headers={"content-type": f"multipart/related; boundary={boundary}"},
                content=body,
            )
        )
        resource = response.json()
    else:
        resource = yield from _resumable(
            staged,
            storage=storage,
            upload_url=upload_url,
            object_url=url,
            name=name,
            metadata=metadata,
            uri=uri,
        )
    _verify(resource, staged, uri)
    _progress(uri, staged.size, staged.size)
    return uri


def _progress(uri: str, stored: int, size: int) -> None:
    """Tell :data:`PROGRESS_LOG` that *stored* of *size* bytes of *uri* are uploaded."""
    PROGRESS_LOG.debug(
        "%s: %d of %d bytes uploaded", uri, stored, size, extra={"tuneport_upload": (uri, stored, size)}
    )


def _refresh(url: str, resource: dict[str, Any], metadata: Mapping[str, str]) -> Generator[Effect, Any, bool]:
    """Refresh a re-used object's staging time and parents: ``False`` if it changed or went meanwhile."""
    parents = parents_of(resource)
    for parent in parents_of({"metadata": dict(metadata)}):
        if parent not in parents:
            parents.append(parent)
    changes = {STAGED_AT_KEY: metadata[STAGED_AT_KEY], PARENTS_KEY: ",".join(parents)}
    response = yield from request(
        HttpRequest(
            "PATCH",
            url,
            params={"ifMetagenerationMatch": str(resource.get("metageneration", ""))},
            json={"metadata": changes},
            expected=frozenset({404, 412}),
        )
    )
    return response.status_code == 200


def _multipart(metadata: dict[str, Any], data: bytes) -> tuple[str, bytes]:
    """A ``multipart/related`` upload body: the object's JSON metadata, then its bytes."""
    while True:
        boundary = f"tuneport-{secrets.token_hex(16)}"
        if boundary.encode() not in data:
            break
    head = (
        f"--{boundary}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n"
        f"{json.dumps(metadata)}\r\n--{boundary}\r\ncontent-type: {JSONL}\r\n\r\n"
    )
    return boundary, head.encode() + data + f"\r\n--{boundary}--\r\n".encode()


class ForeignSessionError(APIError):
    """Cloud Storage's answer put the upload session on another host than the configured one.

    Refused before anything is sent there: neither the dataset nor the bearer
    token leaves for a host the profile did not name.
    """


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in, for comparing hosts."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1  # a malformed port matches nothing
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


_DEFAULT_PORTS = {"https": 443, "http": 80}


def _shown(origin: tuple[str, str, int | None]) -> str:
    scheme, host, port = origin
    return f"{scheme}://{host}" + ("" if port == _DEFAULT_PORTS.get(scheme) else f":{port}")


def _ambiguous(error: Exception) -> bool:
    """Whether a chunk ``PUT`` that failed so may have been stored in part, in full or not at all."""
    if isinstance(error, APIConnectionError | APIResponseError | InternalServerError | RateLimitError):
        return True
    return isinstance(error, APIStatusError) and error.status_code == 408


def _stored(response: HttpResponse, sent: int) -> int:
    """How many bytes a ``308`` says the server has (its ``Range: bytes=0-N``; none: 0)."""
    header = response.headers.get("range")
    if header is None:
        return 0
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        raise APIError(f"Cloud Storage answered 308 with an unreadable Range header: {header[:100]!r}")
    stored = int(match.group(1)) + 1
    if stored > sent:
        raise APIError(f"Cloud Storage's Range says it stored {stored:,} bytes, more than the {sent:,} sent")
    return stored


_RANGE = re.compile(r"bytes=0-(\d+)")


def _resumable(
    staged: StagedFile,
    *,
    storage: str,
    upload_url: str,
    object_url: str,
    name: str,
    metadata: Mapping[str, str] | None = None,
    uri: str,
) -> Generator[Effect, Any, dict[str, Any]]:
    """Cloud Storage's resumable protocol; the object resource it ends with.

    Each chunk starts where the server says its stored bytes end (a ``308``'s
    ``Range``), never where the client stopped sending: a server may store less
    than it was sent.  After an ambiguous failure (reset, timeout, 5xx, an
    unreadable answer) the client asks (``Content-Range: bytes */{size}``) and
    resumes from the answer, or is told the upload is complete.  Those retries
    go through the client's retry policy (``backoff``); making progress starts
    the count again.  Each chunk stored is told on :data:`PROGRESS_LOG` (*uri*
    names the upload there).
    """
    session_url, session_params = yield from _open_session(
        staged, storage=storage, upload_url=upload_url, name=name, metadata=metadata
    )
    # Only the configured storage host gets the token; _open_session refused any other.
    authenticate = _origin(session_url) == _origin(storage)
    size = staged.size
    stored = sent = 0  # what the server has; the most it was sent
    attempt = restarts = 0
    while True:
        counted = False  # this round already asked the retry policy
        if stored < size:
            chunk = yield from call(read_chunk, staged.path, stored, CHUNK)
            if not chunk:
                raise APIError(f"{staged.path} shrank while it was uploaded")
            end = stored + len(chunk) - 1
            sent = max(sent, end + 1)
            put = HttpRequest(
                "PUT",
                session_url,
                params=session_params,
                headers={"content-range": f"bytes {stored}-{end}/{size}", "content-type": JSONL},
                content=chunk,
                # Not re-sent blindly by the driver: after an ambiguous failure the
                # flow asks what was stored, then resumes from there.
                idempotent=False,
                expected=_SESSION_ANSWERS,
                authenticate=authenticate,
            )
        else:  # everything was stored, yet the upload is not reported complete: ask
            put = _status_query(session_url, session_params, size, authenticate)
        try:
            response = yield from request(put)
        except Exception as error:
            if not _ambiguous(error):
                raise
            attempt += 1
            counted = True
            yield from backoff(error, attempt)  # raises when the retry policy gives up
            response = yield from request(_status_query(session_url, session_params, size, authenticate))
        if response.status_code in (404, 410):  # the session expired (or the server forgot it)
            found = yield from request(HttpRequest("GET", object_url, expected=frozenset({404})))
            if found.status_code == 200 and _same_content(found.json(), staged):
                return found.json()  # type: ignore[no-any-return]
            # Counted apart (progress does not reset it): a server forgetting sessions ends the loop.
            restarts += 1
            gone = APIError("the resumable upload session is gone (expired?); a new one is opened")
            yield from backoff(gone, restarts)
            session_url, session_params = yield from _open_session(
                staged, storage=storage, upload_url=upload_url, name=name, metadata=metadata
            )
            stored = sent = 0
            continue
        if response.status_code != 308:
            return response.json()  # type: ignore[no-any-return]
        now_stored = _stored(response, sent)
        if now_stored > stored:
            attempt = 0  # progress: a fresh count for the next failure
            _progress(uri, now_stored, size)
        elif not counted:
            attempt += 1
            yield from backoff(
                APIError(f"Cloud Storage stored nothing more (still {now_stored:,} bytes)"), attempt
            )
        stored = now_stored


#: What a session answers besides 2xx: 308 (incomplete), 404/410 (gone).
_SESSION_ANSWERS = frozenset({308, 404, 410})


def _status_query(session_url: str, params: dict[str, str], size: int, authenticate: bool) -> HttpRequest:
    """``PUT`` with no body and ``Content-Range: bytes */{size}``: what has the server stored?"""
    return HttpRequest(
        "PUT",
        session_url,
        params=params,
        headers={"content-range": f"bytes */{size}"},
        content=b"",
        expected=_SESSION_ANSWERS,
        authenticate=authenticate,
    )


def _open_session(
    staged: StagedFile,
    *,
    storage: str,
    upload_url: str,
    name: str,
    metadata: Mapping[str, str] | None = None,
) -> Generator[Effect, Any, tuple[str, dict[str, str]]]:
    """Open a resumable session; its URL and query, checked to be on the storage host."""
    session = yield from request(
        HttpRequest(
            "POST",
            upload_url,
            params={"uploadType": "resumable", "name": name},
            headers={"x-upload-content-type": JSONL, "x-upload-content-length": str(staged.size)},
            json={"name": name, "contentType": JSONL, "metadata": dict(metadata or {})},
        )
    )
    location = session.headers.get("location")
    if not location:
        raise APIError("Cloud Storage opened no resumable upload session (no Location header)")
    there, here = _origin(location), _origin(storage)
    if there != here:
        # The session URI is a capability (its upload_id): only its host is shown.
        raise ForeignSessionError(
            f"Cloud Storage put the upload session on {_shown(there)}, not on the configured storage host "
            f"{_shown(here)}: refused, nothing was sent there (the dataset and the credentials go only "
            "to the storage host)"
        )
    # The session URI carries its id in the query (…?uploadType=resumable&upload_id=…); the
    # HTTP layer replaces a URL's query with the request's params, so pass it as params.
    parts = urlsplit(location)
    session_url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return session_url, dict(parse_qsl(parts.query, keep_blank_values=True))


def _same_content(resource: dict[str, Any], staged: StagedFile) -> bool:
    """Whether an object resource describes *staged*'s bytes (size, and md5 when both sides have it)."""
    if str(resource.get("size")) != str(staged.size):
        return False
    md5 = resource.get("md5Hash")
    return not (md5 and staged.md5 and md5 != staged.md5)


def _verify(resource: Any, staged: StagedFile, uri: str) -> None:
    """Refuse an upload whose object is not the file: the wrong size or md5."""
    if not isinstance(resource, dict):
        raise APIError(f"Cloud Storage answered the upload of {uri} with no object resource")
    if str(resource.get("size")) != str(staged.size):
        raise APIError(
            f"Cloud Storage stored {resource.get('size')} bytes as {uri}, not the dataset's {staged.size:,}"
        )
    md5 = resource.get("md5Hash")
    if md5 and staged.md5 and md5 != staged.md5:
        raise APIError(f"Cloud Storage's md5 of {uri} ({md5}) is not the dataset's ({staged.md5})")


def read_chunk(path: Path, offset: int, size: int) -> bytes:
    """Up to *size* bytes of *path* from *offset* (blocking: run it through a ``BlockingCall``)."""
    with path.open("rb") as stream:
        stream.seek(offset)
        return stream.read(size)
