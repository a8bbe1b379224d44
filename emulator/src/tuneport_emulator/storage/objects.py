"""Buckets, objects and resumable upload sessions of the emulated Cloud Storage.

Records live in the store's ``storage`` section as plain JSON.  An object's
bytes are kept as a ``latin-1`` string (one character per byte): Python
stores such a string compactly (one byte per character, copied for free),
and the state stays JSON-serializable for a later ``--state FILE``.  All of
it is in memory, so an object is capped at :data:`MAX_OBJECT_BYTES`.

Buckets are created by the first write into them (there is no bucket API).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from tuneport_emulator.paging import decode_page_token, encode_page_token, page_size
from tuneport_emulator.surface import EmulatorContext
from tuneport_emulator.wire import ApiError, bad_request, format_timestamp

__all__ = [
    "CHUNK_GRANULARITY",
    "MAX_OBJECT_BYTES",
    "SESSION_LIFETIME",
    "Objects",
    "UploadProgress",
    "check_bucket",
    "check_object_name",
    "object_resource",
    "parse_gs_uri",
]

SECTION = "storage"
#: Largest object the emulator keeps (everything is in memory); Cloud Storage allows 5 TiB.
MAX_OBJECT_BYTES = 1 << 30
#: Resumable chunks other than the last must be multiples of 256 KiB (Cloud Storage's rule).
CHUNK_GRANULARITY = 256 * 1024
#: A resumable session (finished or not) is forgotten a week after it was opened, as on Cloud Storage.
SESSION_LIFETIME = 7 * 24 * 3600.0
#: Listing: ``maxResults`` defaults to (and is capped at) 1000, as on Cloud Storage.
MAX_LIST_RESULTS = 1000

_BUCKET = re.compile(r"[a-z0-9][a-z0-9_.-]{1,220}[a-z0-9]")
_BUCKET_PART = re.compile(r"[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?")
_RANGE = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)")
_GS_URI = re.compile(r"gs://([^/]+)/(.+)")


def check_bucket(name: str) -> None:
    """400 unless ``name`` follows Cloud Storage's bucket naming rules."""
    valid = bool(_BUCKET.fullmatch(name)) and all(_BUCKET_PART.fullmatch(p) for p in name.split("."))
    if not valid or (len(name) > 63 and "." not in name) or name.startswith("goog"):
        raise bad_request(f"Invalid bucket name: '{name}'", field="bucket")


def check_object_name(name: str) -> None:
    """400 unless ``name`` is a valid object name (1-1024 bytes of UTF-8, no CR/LF, not . or ..)."""
    if (
        not name
        or len(name.encode("utf-8", "surrogatepass")) > 1024
        or "\r" in name
        or "\n" in name
        or name in (".", "..")
    ):
        raise bad_request(f"Invalid object name: '{name[:100]}'", field="name")


def parse_gs_uri(uri: str) -> tuple[str, str] | None:
    """``gs://bucket/object`` → ``(bucket, object)``; None if it is not one."""
    match = _GS_URI.fullmatch(uri)
    return (match.group(1), match.group(2)) if match else None


def _pack(data: bytes) -> str:
    return data.decode("latin-1")


def _unpack(text: str) -> bytes:
    return text.encode("latin-1")


def _not_found(bucket: str, name: str) -> ApiError:
    return ApiError("NOT_FOUND", f"No such object: {bucket}/{name}")


def object_resource(record: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The ``storage#object`` JSON of an object record (sizes and generations as strings)."""
    from urllib.parse import quote

    bucket, name = record["bucket"], record["name"]
    generation = str(record["generation"])
    path = f"b/{quote(bucket, safe='')}/o/{quote(name, safe='')}"
    resource: dict[str, Any] = {
        "kind": "storage#object",
        "id": f"{bucket}/{name}/{generation}",
        "selfLink": f"{base_url}/storage/v1/{path}",
        "mediaLink": f"{base_url}/download/storage/v1/{path}?generation={generation}&alt=media",
        "name": name,
        "bucket": bucket,
        "generation": generation,
        "metageneration": str(record["metageneration"]),
        "contentType": record["contentType"],
        "storageClass": "STANDARD",
        "size": str(record["size"]),
        "md5Hash": record["md5Hash"],
        "etag": base64.b64encode(f"{generation}/{record['metageneration']}".encode()).decode("ascii"),
        "timeCreated": format_timestamp(record["timeCreated"]),
        "updated": format_timestamp(record["updated"]),
        "timeStorageClassUpdated": format_timestamp(record["timeCreated"]),
    }
    if record.get("metadata"):
        resource["metadata"] = dict(record["metadata"])
    return resource


class UploadProgress:
    """What a resumable chunk achieved: still incomplete (``received`` bytes), or the object."""

    def __init__(self, received: int, record: dict[str, Any] | None = None) -> None:
        self.received = received
        self.record = record

    @property
    def done(self) -> bool:
        return self.record is not None


class Objects:
    """The emulated buckets and objects, over the shared store."""

    def __init__(self, context: EmulatorContext) -> None:
        self._context = context
        self._store = context.store
        self._clock = context.clock

    # --- records -----------------------------------------------------------------------

    # Reads go through ``create=False`` so that a request refused on a read creates nothing.
    def _buckets(self, *, create: bool = True) -> dict[str, dict[str, Any]]:
        section = self._store.section(SECTION)
        return section.setdefault("buckets", {}) if create else section.get("buckets", {})  # type: ignore[no-any-return]

    def _uploads(self, *, create: bool = True) -> dict[str, dict[str, Any]]:
        section = self._store.section(SECTION)
        return section.setdefault("uploads", {}) if create else section.get("uploads", {})  # type: ignore[no-any-return]

    def find(self, bucket: str, name: str) -> dict[str, Any] | None:
        """The object's record, or None.  Hold the lock to use it."""
        with self._store.lock:
            return self._buckets(create=False).get(bucket, {}).get("objects", {}).get(name)  # type: ignore[no-any-return]

    def record(self, bucket: str, name: str, generation: str | None = None) -> dict[str, Any]:
        """The object's record; 404 if absent (or not at ``generation``)."""
        check_bucket(bucket)
        with self._store.lock:
            found = self.find(bucket, name)
            if found is None or (generation is not None and str(found["generation"]) != generation):
                raise _not_found(bucket, name)
            return found

    def read(self, bucket: str, name: str, generation: str | None = None) -> tuple[dict[str, Any], bytes]:
        """(record, bytes) of an object; 404 if absent."""
        with self._store.lock:
            found = self.record(bucket, name, generation)
            data = found["data"]
        return found, _unpack(data)

    def read_uri(self, uri: str) -> bytes | None:
        """The bytes behind ``gs://bucket/object``, or None if there is no such object."""
        parsed = parse_gs_uri(uri)
        if parsed is None:
            return None
        with self._store.lock:
            found = self.find(*parsed)
            data = None if found is None else found["data"]
        return None if data is None else _unpack(data)

    # --- writes ------------------------------------------------------------------------

    def insert(
        self,
        bucket: str,
        name: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        if_generation_match: str | None = None,
    ) -> dict[str, Any]:
        """Write an object (a new generation if it exists); its record."""
        check_bucket(bucket)
        check_object_name(name)
        if len(data) > MAX_OBJECT_BYTES:
            raise _too_large(len(data))
        packed = _pack(data)
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode("ascii")
        with self._store.lock:
            now = self._clock.now()
            previous = self.find(bucket, name)
            _check_precondition(previous, if_generation_match)
            # The first write that succeeds creates the bucket, not one refused by its precondition.
            holder = self._buckets().setdefault(bucket, {"name": bucket, "timeCreated": now, "objects": {}})
            objects: dict[str, dict[str, Any]] = holder["objects"]
            generation = int(now * 1_000_000)
            if previous is not None:
                generation = max(generation, int(previous["generation"]) + 1)
            record = {
                "bucket": bucket,
                "name": name,
                "generation": generation,
                "metageneration": 1,
                "contentType": content_type or "application/octet-stream",
                "size": len(data),
                "md5Hash": md5,
                "metadata": dict(metadata) if metadata else None,
                "timeCreated": now,
                "updated": now,
                "data": packed,
            }
            objects[name] = record
            return record

    def delete(self, bucket: str, name: str, generation: str | None = None) -> None:
        """Remove an object; 404 if absent."""
        with self._store.lock:
            self.record(bucket, name, generation)
            del self._buckets()[bucket]["objects"][name]

    def list(
        self, bucket: str, *, prefix: str | None, size: str | None, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a bucket's objects in name order, and the next page token."""
        check_bucket(bucket)
        limit = page_size(size, default=MAX_LIST_RESULTS, maximum=MAX_LIST_RESULTS)
        context = f"objects:{bucket}:{prefix or ''}"
        after = decode_page_token(token, context=context)
        with self._store.lock:
            holder = self._buckets(create=False).get(bucket)
            if holder is None:
                raise ApiError("NOT_FOUND", "The specified bucket does not exist.")
            names = sorted(n for n in holder["objects"] if n.startswith(prefix or ""))
            page = [holder["objects"][n] for n in names[after : after + limit]]
        following = encode_page_token(after + limit, context=context) if len(names) > after + limit else None
        return page, following

    # --- resumable uploads -------------------------------------------------------------

    def start_upload(
        self,
        bucket: str,
        name: str,
        *,
        content_type: str | None,
        total: int | None,
        metadata: dict[str, str] | None,
        if_generation_match: str | None,
    ) -> str:
        """Open a resumable upload session; its id."""
        check_bucket(bucket)
        check_object_name(name)
        if total is not None and total > MAX_OBJECT_BYTES:
            raise _too_large(total)
        upload_id = self._context.ids.token("storage.upload", 32)
        with self._store.lock:
            now = self._clock.now()
            uploads = self._uploads()
            for stale in [key for key, session in uploads.items() if _expired(session, now)]:
                del uploads[stale]
            _check_precondition(self.find(bucket, name), if_generation_match)
            uploads[upload_id] = {
                "bucket": bucket,
                "name": name,
                "contentType": content_type,
                "metadata": dict(metadata) if metadata else None,
                "total": total,
                "received": 0,
                "chunks": [],
                "ifGenerationMatch": if_generation_match,
                "created": now,
            }
        return upload_id

    def upload_chunk(
        self, upload_id: str, content_range: str | None, data: bytes, *, keep: float | None = None
    ) -> UploadProgress:
        """Apply one ``PUT`` of a resumable session (``Content-Range: bytes a-b/total``, ``bytes */total``).

        ``keep`` (the ``short-store`` fault): store only that share of the chunk's new
        bytes, rounded down to a multiple of 256 KiB, and answer as incomplete.

        A finished session is kept, as Cloud Storage keeps it (for a week): any later
        ``PUT`` — a status query, or the last chunk re-sent after its answer was lost —
        gets the object it created.
        """
        first, last, total = _parse_range(content_range, len(data))
        with self._store.lock:
            session = self._session(upload_id)
            if session.get("object") is not None:
                return UploadProgress(int(session["object"]["size"]), session["object"])
            received = int(session["received"])
            # Checked in full before the session changes: a refused chunk leaves it as it was.
            known_total = session["total"]
            if total is not None:
                if known_total is not None and known_total != total:
                    raise bad_request(f"The total size {total} does not match the session's {known_total}.")
                if total > MAX_OBJECT_BYTES:
                    raise _too_large(total)
                known_total = total
            fresh = b""
            if first is not None and last is not None:
                if first > received:
                    raise bad_request(
                        f"Invalid request. The chunk starts at byte {first} but {received} bytes were "
                        "received so far."
                    )
                if known_total is not None and last >= known_total:
                    raise bad_request(f"The chunk ends at byte {last}, past the total size {known_total}.")
                fresh = data[received - first :]  # a re-sent overlap is skipped
                final = known_total is not None and last + 1 == known_total
                if fresh and not final and len(data) % CHUNK_GRANULARITY:
                    raise bad_request(
                        "Invalid request. The number of bytes uploaded is required to be a multiple of "
                        f"{CHUNK_GRANULARITY}, except for the final request."
                    )
                if received + len(fresh) > MAX_OBJECT_BYTES:
                    raise _too_large(received + len(fresh))
            session["total"] = known_total
            if fresh and keep is not None:
                # A server that stores less than it was sent: a whole number of 256 KiB units.
                kept = int(len(fresh) * keep) // CHUNK_GRANULARITY * CHUNK_GRANULARITY
                fresh = fresh[: min(kept, len(fresh) - 1)]
                if fresh:
                    session["chunks"].append(_pack(fresh))
                    session["received"] = received = received + len(fresh)
                return UploadProgress(received)
            if fresh:
                session["chunks"].append(_pack(fresh))
                session["received"] = received = received + len(fresh)
            if known_total is None or received < known_total:
                return UploadProgress(received)
            content = "".join(session["chunks"])
            try:
                record = self.insert(
                    session["bucket"],
                    session["name"],
                    _unpack(content),
                    content_type=session["contentType"],
                    metadata=session["metadata"],
                    if_generation_match=session["ifGenerationMatch"],
                )
            except ApiError:
                del self._uploads()[upload_id]  # a session whose object is refused is over
                raise
            # Kept without its bytes (they are the object's now): what a later query answers.
            session["chunks"] = []
            session["object"] = {key: value for key, value in record.items() if key != "data"}
        return UploadProgress(record["size"], session["object"])

    def _session(self, upload_id: str) -> dict[str, Any]:
        """A live session (hold the lock); 404 if unknown or expired (a week after it was opened)."""
        uploads = self._uploads(create=False)
        session = uploads.get(upload_id)
        if session is not None and _expired(session, self._clock.now()):
            del uploads[upload_id]
            session = None
        if session is None:
            raise ApiError("NOT_FOUND", f"No such upload session: {upload_id}")
        return session

    def cancel_upload(self, upload_id: str) -> None:
        """Forget a resumable session; 404 if unknown."""
        with self._store.lock:
            self._session(upload_id)
            del self._uploads()[upload_id]


def _expired(session: dict[str, Any], now: float) -> bool:
    created = session.get("created")  # absent in sessions saved by older versions: never expire
    return created is not None and now - float(created) > SESSION_LIFETIME


def _parse_range(header: str | None, length: int) -> tuple[int | None, int | None, int | None]:
    """(first, last, total) of a Content-Range; no header means the whole object in one request."""
    if header is None or not header.strip():
        return (0, length - 1, length) if length else (None, None, 0)
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        raise bad_request(f"Invalid Content-Range header: '{header}'")
    first = int(match.group(1)) if match.group(1) is not None else None
    last = int(match.group(2)) if match.group(2) is not None else None
    total = int(match.group(3)) if match.group(3) != "*" else None
    if first is not None and last is not None:
        if last < first:
            raise bad_request(f"Invalid Content-Range header: '{header}'")
        if last - first + 1 != length:
            raise bad_request(
                f"The Content-Range covers {last - first + 1} bytes but the request carries {length}."
            )
    elif length:
        raise bad_request("A request with data needs a byte range in Content-Range.")
    return first, last, total


def _check_precondition(existing: dict[str, Any] | None, if_generation_match: str | None) -> None:
    if if_generation_match is None:
        return
    try:
        wanted = int(if_generation_match)
    except ValueError:
        raise bad_request(f"Invalid ifGenerationMatch: '{if_generation_match}'") from None
    current = 0 if existing is None else int(existing["generation"])
    if wanted != current:
        raise ApiError(
            "FAILED_PRECONDITION",
            "At least one of the pre-conditions you specified did not hold.",
            http_status=412,
        )


def _too_large(size: int) -> ApiError:
    return bad_request(
        f"The object has {size:,} bytes; the emulator keeps objects of at most {MAX_OBJECT_BYTES:,} "
        "bytes (they live in memory)."
    )
