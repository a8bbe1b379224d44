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
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from tuneport.errors import APIError, Problem, SpecError
from tuneport.models import DataSource
from tuneport.protocol import Effect, HttpRequest, call, request

#: Up to this size a dataset is uploaded in one request.
SINGLE_REQUEST_LIMIT = 8 * 1024 * 1024
#: Resumable chunks must be multiples of 256 KiB (Cloud Storage's rule).
CHUNK = 32 * 256 * 1024
JSONL = "application/jsonl"


@dataclass(frozen=True)
class StagedFile:
    """A converted dataset ready to upload: its local path, hash and size."""

    path: Path
    sha256: str
    size: int


def prepare(source: DataSource, field: str) -> StagedFile:
    """Convert *source* to Vertex JSONL in a temporary file and hash it."""
    from tuneport.datasets import convert_dataset

    handle, name = tempfile.mkstemp(prefix="tuneport-", suffix=".jsonl")
    os.close(handle)
    path = Path(name)
    try:
        convert_dataset(source, path, to="vertex")
    except Exception:
        path.unlink(missing_ok=True)
        raise
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    size = path.stat().st_size
    if size == 0:
        path.unlink(missing_ok=True)
        raise SpecError([Problem("the dataset holds no examples", field=field, rule="too-few-examples")])
    return StagedFile(path, digest.hexdigest(), size)


def split_bucket(staging_bucket: str) -> tuple[str, str]:
    """``gs://bucket/prefix`` → (``bucket``, ``prefix/`` or ``""``)."""
    bare = staging_bucket.removeprefix("gs://")
    bucket, _, prefix = bare.partition("/")
    return bucket, (prefix.strip("/") + "/") if prefix.strip("/") else ""


def object_name(staged: StagedFile, prefix: str) -> str:
    """The content-addressed object name of a staged dataset."""
    return f"{prefix}tuneport/datasets/{staged.sha256}.jsonl"


def upload(staged: StagedFile, *, storage: str, bucket: str, name: str) -> Generator[Effect, Any, str]:
    """Upload *staged* (unless already there); returns its ``gs://`` URI."""
    uri = f"gs://{bucket}/{name}"
    quoted_bucket, quoted_name = quote(bucket, safe=""), quote(name, safe="")
    existing = yield from request(
        HttpRequest(
            "GET", f"{storage}/storage/v1/b/{quoted_bucket}/o/{quoted_name}", expected=frozenset({404})
        )
    )
    if existing.status_code == 200 and str(existing.json().get("size")) == str(staged.size):
        return uri  # same content hash and size: re-use it
    upload_url = f"{storage}/upload/storage/v1/b/{quoted_bucket}/o"
    if staged.size <= SINGLE_REQUEST_LIMIT:
        yield from request(
            HttpRequest(
                "POST",
                upload_url,
                params={"uploadType": "media", "name": name},
                headers={"content-type": JSONL},
                content=(yield from call(staged.path.read_bytes)),
            )
        )
        return uri
    session = yield from request(
        HttpRequest(
            "POST",
            upload_url,
            params={"uploadType": "resumable", "name": name},
            headers={"x-upload-content-type": JSONL, "x-upload-content-length": str(staged.size)},
            json={"name": name, "contentType": JSONL},
        )
    )
    location = session.headers.get("location")
    if not location:
        raise APIError("Cloud Storage opened no resumable upload session (no Location header)")
    # The session URI carries its id in the query (…?uploadType=resumable&upload_id=…); the
    # HTTP layer replaces a URL's query with the request's params, so pass it as params.
    parts = urlsplit(location)
    session_url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    session_params = dict(parse_qsl(parts.query, keep_blank_values=True))
    offset = 0
    while offset < staged.size:
        chunk = yield from call(read_chunk, staged.path, offset, CHUNK)
        if not chunk:
            raise APIError(f"{staged.path} shrank while it was uploaded")
        end = offset + len(chunk) - 1
        yield from request(
            HttpRequest(
                "PUT",
                session_url,
                params=session_params,
                headers={"content-range": f"bytes {offset}-{end}/{staged.size}", "content-type": JSONL},
                content=chunk,
                # 308 Resume Incomplete: the chunk is stored, send the next one.
                expected=frozenset({308}),
            )
        )
        offset = end + 1
    return uri


def read_chunk(path: Path, offset: int, size: int) -> bytes:
    """Up to *size* bytes of *path* from *offset* (blocking: run it through a ``BlockingCall``)."""
    with path.open("rb") as stream:
        stream.seek(offset)
        return stream.read(size)
