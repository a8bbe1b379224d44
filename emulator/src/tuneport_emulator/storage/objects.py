"""Buckets, objects and resumable upload sessions of the emulated Cloud Storage.

Records live in the store's ``storage`` section as JSON (typed as
:mod:`~tuneport_emulator.storage.records` here); the bytes live in files
(:class:`~tuneport_emulator.storage.files.ObjectFiles`), so neither an
upload nor a stored object sits in memory: bodies are copied to disk in
blocks, hashed on the way, and renamed into place under the store's lock.
An object is capped at :data:`MAX_OBJECT_BYTES`.

Buckets are created by the first write into them (there is no bucket API).
"""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any, BinaryIO

from tuneport_emulator.paging import decode_page_token, encode_page_token, page_size
from tuneport_emulator.storage.files import ObjectFiles, Spooled
from tuneport_emulator.storage.payload import Payload
from tuneport_emulator.storage.records import StoredObject, UploadSession, UploadState
from tuneport_emulator.storage.samples import (
    SAMPLES_BUCKET,
    sample_bytes,
    sample_key,
    sample_names,
    sample_object,
)
from tuneport_emulator.wire import ApiError, bad_request, format_timestamp

if TYPE_CHECKING:
    from tuneport_emulator.surface import EmulatorContext

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
#: Largest object the emulator keeps (objects live on disk); Cloud Storage allows 5 TiB.
MAX_OBJECT_BYTES = 5 << 30
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


def _not_found(bucket: str, name: str) -> ApiError:
    return ApiError("NOT_FOUND", f"No such object: {bucket}/{name}")


def object_resource(record: StoredObject, base_url: str) -> dict[str, Any]:
    """The ``storage#object`` JSON of an object (sizes and generations as strings)."""
    from urllib.parse import quote

    generation = str(record.generation)
    path = f"b/{quote(record.bucket, safe='')}/o/{quote(record.name, safe='')}"
    resource: dict[str, Any] = {
        "kind": "storage#object",
        "id": f"{record.bucket}/{record.name}/{generation}",
        "selfLink": f"{base_url}/storage/v1/{path}",
        "mediaLink": f"{base_url}/download/storage/v1/{path}?generation={generation}&alt=media",
        "name": record.name,
        "bucket": record.bucket,
        "generation": generation,
        "metageneration": str(record.metageneration),
        "contentType": record.content_type,
        "storageClass": "STANDARD",
        "size": str(record.size),
        "md5Hash": record.md5_hash,
        "etag": base64.b64encode(f"{generation}/{record.metageneration}".encode()).decode("ascii"),
        "timeCreated": format_timestamp(record.time_created),
        "updated": format_timestamp(record.updated),
        "timeStorageClassUpdated": format_timestamp(record.time_created),
    }
    if record.metadata:
        resource["metadata"] = dict(record.metadata)
    return resource


class UploadProgress:
    """What a resumable chunk achieved: still incomplete (``received`` bytes), or the object."""

    def __init__(self, received: int, record: StoredObject | None = None) -> None:
        self.received = received
        self.record = record

    @property
    def done(self) -> bool:
        return self.record is not None


class Objects:
    """The emulated buckets and objects, over the shared store and object files."""

    def __init__(self, context: EmulatorContext) -> None:
        self._context = context
        self._store = context.store
        self._clock = context.clock
        self.files: ObjectFiles = context.object_files

    # --- records -----------------------------------------------------------------------

    # Reads go through ``create=False`` so that a request refused on a read creates nothing.
    def _buckets(self, *, create: bool = True) -> dict[str, dict[str, Any]]:
        section = self._store.section(SECTION)
        return section.setdefault("buckets", {}) if create else section.get("buckets", {})  # type: ignore[no-any-return]

    def _uploads(self, *, create: bool = True) -> dict[str, dict[str, Any]]:
        section = self._store.section(SECTION)
        return section.setdefault("uploads", {}) if create else section.get("uploads", {})  # type: ignore[no-any-return]

    def find(self, bucket: str, name: str) -> StoredObject | None:
        """The object, or None."""
        if bucket == SAMPLES_BUCKET:
            return sample_object(name)
        with self._store.lock:
            found = self._buckets(create=False).get(bucket, {}).get("objects", {}).get(name)
            return None if found is None else StoredObject.from_json(found)

    def record(self, bucket: str, name: str, generation: str | None = None) -> StoredObject:
        """The object; 404 if absent (or not at ``generation``)."""
        check_bucket(bucket)
        found = self.find(bucket, name)
        if found is None or (generation is not None and str(found.generation) != generation):
            raise _not_found(bucket, name)
        return found

    def open(self, bucket: str, name: str, generation: str | None = None) -> tuple[StoredObject, BinaryIO]:
        """(object, its bytes opened for reading); 404 if absent.  Close the stream."""
        with self._store.lock:
            found = self.record(bucket, name, generation)
            stream = self._open_file(found)
        return found, stream

    def read(self, bucket: str, name: str, generation: str | None = None) -> tuple[StoredObject, bytes]:
        """(object, its bytes); 404 if absent."""
        found, stream = self.open(bucket, name, generation)
        with stream:
            return found, stream.read()

    def find_uri(self, uri: str) -> StoredObject | None:
        """The object at ``gs://bucket/object`` (its record, not its bytes), or None."""
        parsed = parse_gs_uri(uri)
        return None if parsed is None else self.find(*parsed)

    def open_uri(self, uri: str) -> BinaryIO | None:
        """The bytes behind ``gs://bucket/object`` opened for reading, or None if there is no such object."""
        parsed = parse_gs_uri(uri)
        if parsed is None:
            return None
        with self._store.lock:
            found = self.find(*parsed)
            return None if found is None else self._open_file(found)

    def read_uri(self, uri: str) -> bytes | None:
        """The bytes behind ``gs://bucket/object``, or None if there is no such object."""
        stream = self.open_uri(uri)
        if stream is None:
            return None
        with stream:
            return stream.read()

    def _open_file(self, found: StoredObject) -> BinaryIO:
        """Open an object's file (hold the lock: a rewrite may delete it once released)."""
        try:
            if found.bucket == SAMPLES_BUCKET:
                self.files.ensure(found.file, lambda: sample_bytes(found.name))
            return self.files.open(found.file)
        except (OSError, ValueError):
            # The file went missing behind the emulator's back (deleted by hand): gone, as a 404.
            raise _not_found(found.bucket, found.name) from None

    # --- writes ------------------------------------------------------------------------

    def insert(
        self,
        bucket: str,
        name: str,
        data: bytes | Payload,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        if_generation_match: str | None = None,
    ) -> StoredObject:
        """Write an object (a new generation if it exists)."""
        check_bucket(bucket)
        _check_writable(bucket)
        check_object_name(name)
        payload = Payload.of(data)
        if len(payload) > MAX_OBJECT_BYTES:
            raise _too_large(len(payload))
        spooled = self.files.spool()
        try:
            spooled.copy_from(payload.open(), len(payload))
        except BaseException:
            spooled.discard()
            raise
        return self.insert_spooled(
            bucket,
            name,
            spooled,
            content_type=content_type,
            metadata=metadata,
            if_generation_match=if_generation_match,
        )

    def insert_spooled(
        self,
        bucket: str,
        name: str,
        spooled: Spooled,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        if_generation_match: str | None = None,
    ) -> StoredObject:
        """Write an object whose bytes were spooled to disk already (they are moved, not copied)."""
        try:
            check_bucket(bucket)
            _check_writable(bucket)
            check_object_name(name)
            if spooled.size > MAX_OBJECT_BYTES:
                raise _too_large(spooled.size)
        except BaseException:
            spooled.discard()
            raise
        md5 = base64.b64encode(spooled.md5).decode("ascii")
        # Adopted and recorded under one hold of the lock: a sweep never sees the file unreferenced.
        with self._store.lock:
            self.sweep()
            key = self.files.adopt(spooled)
            return self._place(
                bucket, name, key, spooled.size, md5, content_type, metadata, if_generation_match
            )

    def _place(
        self,
        bucket: str,
        name: str,
        key: str,
        size: int,
        md5: str,
        content_type: str | None,
        metadata: dict[str, str] | None,
        if_generation_match: str | None,
    ) -> StoredObject:
        """Record a complete file as the object's new generation; its old file is deleted."""
        with self._store.lock:
            previous = self.find(bucket, name)
            try:
                _check_precondition(previous, if_generation_match)
            except ApiError:
                self.files.discard(key)
                raise
            now = self._clock.now()
            # The first write that succeeds creates the bucket, not one refused by its precondition.
            holder = self._buckets().setdefault(bucket, {"name": bucket, "timeCreated": now, "objects": {}})
            generation = int(now * 1_000_000)
            if previous is not None:
                generation = max(generation, previous.generation + 1)
            record = StoredObject(
                bucket=bucket,
                name=name,
                generation=generation,
                metageneration=1,
                content_type=content_type or "application/octet-stream",
                size=size,
                md5_hash=md5,
                metadata=dict(metadata) if metadata else None,
                time_created=now,
                updated=now,
                file=key,
            )
            holder["objects"][name] = record.to_json()
            if previous is not None:
                self._release(previous.file)
            return record

    def _release(self, key: str) -> None:
        """Delete a file no record refers to any more, once that is saved (hold the lock).

        Saving first (a no-op without ``--state``) means a crash never leaves a
        saved record whose file is gone.
        """
        self._store.commit()
        self.files.discard(key)

    def delete(
        self,
        bucket: str,
        name: str,
        generation: str | None = None,
        *,
        if_metageneration_match: str | None = None,
    ) -> None:
        """Remove an object; 404 if absent, 412 if its metageneration is not the one named."""
        with self._store.lock:
            found = self.record(bucket, name, generation)
            _check_writable(bucket)
            _check_metageneration(found, if_metageneration_match)
            del self._buckets()[bucket]["objects"][name]
            self._release(found.file)

    def patch(
        self,
        bucket: str,
        name: str,
        changes: dict[str, Any],
        *,
        if_metageneration_match: str | None = None,
    ) -> StoredObject:
        """``objects.patch``: change an object's metadata (not its bytes); a new metageneration.

        ``metadata`` is merged key by key, and a key set to ``null`` is removed
        (Cloud Storage's patch semantics); ``contentType`` is replaced.  Other
        fields are not writable here and are refused.
        """
        unknown = sorted(set(changes) - {"metadata", "contentType"})
        if unknown:
            raise bad_request(f"The emulator patches metadata and contentType, not {', '.join(unknown)}.")
        custom = changes.get("metadata", {})
        if custom is None:
            custom = {}
        if not isinstance(custom, dict) or not all(v is None or isinstance(v, str) for v in custom.values()):
            message = "metadata must map strings to strings (or null, to remove a key)."
            raise bad_request(message, field="metadata")
        content_type = changes.get("contentType")
        if content_type is not None and not isinstance(content_type, str):
            raise bad_request("contentType must be a string.", field="contentType")
        with self._store.lock:
            found = self.record(bucket, name)
            _check_writable(bucket)
            _check_metageneration(found, if_metageneration_match)
            merged = dict(found.metadata or {})
            for key, value in custom.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[str(key)] = value
            updated = replace(
                found,
                metageneration=found.metageneration + 1,
                metadata=merged or None,
                content_type=content_type or found.content_type,
                updated=self._clock.now(),
            )
            self._buckets()[bucket]["objects"][name] = updated.to_json()
            return updated

    def list(
        self, bucket: str, *, prefix: str | None, size: str | None, token: str | None
    ) -> tuple[list[StoredObject], str | None]:
        """One page of a bucket's objects in name order, and the next page token."""
        check_bucket(bucket)
        limit = page_size(size, default=MAX_LIST_RESULTS, maximum=MAX_LIST_RESULTS)
        context = f"objects:{bucket}:{prefix or ''}"
        after = decode_page_token(token, context=context)
        if bucket == SAMPLES_BUCKET:
            names = [n for n in sample_names() if n.startswith(prefix or "")]
            page = [found for n in names[after : after + limit] if (found := sample_object(n)) is not None]
        else:
            with self._store.lock:
                holder = self._buckets(create=False).get(bucket)
                if holder is None:
                    raise ApiError("NOT_FOUND", "The specified bucket does not exist.")
                names = sorted(n for n in holder["objects"] if n.startswith(prefix or ""))
                page = [StoredObject.from_json(holder["objects"][n]) for n in names[after : after + limit]]
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
        _check_writable(bucket)
        check_object_name(name)
        if total is not None and total > MAX_OBJECT_BYTES:
            raise _too_large(total)
        upload_id = self._context.ids.token("storage.upload", 32)
        with self._store.lock:
            now = self._clock.now()
            uploads = self._uploads()
            for stale in [key for key, session in uploads.items() if _expired(session, now)]:
                self._drop_session(stale)
            _check_precondition(self.find(bucket, name), if_generation_match)
            self.sweep()
            session = UploadSession(
                upload_id=upload_id,
                bucket=bucket,
                name=name,
                content_type=content_type,
                metadata=dict(metadata) if metadata else None,
                total=total,
                received=0,
                if_generation_match=if_generation_match,
                created=now,
                state=UploadState.OPEN,
                file=self.files.create_empty(),
            )
            uploads[upload_id] = session.to_json()
            self.files.start_hash(upload_id)
        return upload_id

    def upload_chunk(
        self, upload_id: str, content_range: str | None, data: bytes | Payload, *, keep: float | None = None
    ) -> UploadProgress:
        """Apply one ``PUT`` of a resumable session (``Content-Range: bytes a-b/total``, ``bytes */total``).

        ``keep`` (the ``short-store`` fault): store only that share of the chunk's new
        bytes, rounded down to a multiple of 256 KiB, and answer as incomplete.

        A finished session is kept, as Cloud Storage keeps it (for a week): any later
        ``PUT`` — a status query, or the last chunk re-sent after its answer was lost —
        gets the object it created.

        The chunk is appended to the session's file outside the store's lock
        (one request of a session at a time), so a large chunk does not hold up
        other requests.
        """
        payload = Payload.of(data)
        first, last, total = _parse_range(content_range, len(payload))
        with self.files.session_lock(upload_id):
            # Checked in full before the session changes: a refused chunk leaves it as it was.
            with self._store.lock:
                session = self._session(upload_id)
                if session.state is UploadState.FINISHED and session.result is not None:
                    return UploadProgress(session.result.size, session.result)
                received = session.received
                known_total = session.total
                if total is not None:
                    if known_total is not None and known_total != total:
                        raise bad_request(
                            f"The total size {total} does not match the session's {known_total}."
                        )
                    if total > MAX_OBJECT_BYTES:
                        raise _too_large(total)
                    known_total = total
                skip = fresh = 0
                if first is not None and last is not None:
                    if first > received:
                        raise bad_request(
                            f"Invalid request. The chunk starts at byte {first} but {received} bytes were "
                            "received so far."
                        )
                    if known_total is not None and last >= known_total:
                        raise bad_request(
                            f"The chunk ends at byte {last}, past the total size {known_total}."
                        )
                    skip = min(len(payload), received - first)  # a re-sent overlap is skipped
                    fresh = len(payload) - skip
                    final = known_total is not None and last + 1 == known_total
                    if fresh and not final and len(payload) % CHUNK_GRANULARITY:
                        raise bad_request(
                            "Invalid request. The number of bytes uploaded is required to be a multiple of "
                            f"{CHUNK_GRANULARITY}, except for the final request."
                        )
                    if received + fresh > MAX_OBJECT_BYTES:
                        raise _too_large(received + fresh)
                short = fresh > 0 and keep is not None
                if short:
                    # A server that stores less than it was sent: a whole number of 256 KiB units.
                    assert keep is not None
                    kept = int(fresh * keep) // CHUNK_GRANULARITY * CHUNK_GRANULARITY
                    fresh = min(kept, fresh - 1)
                session_file = session.file
            if fresh:
                self.files.append(upload_id, session_file, received, payload.open(skip), fresh)
            with self._store.lock:
                session = self._session(upload_id)
                session = _updated(session, total=known_total, received=received + fresh)
                self._uploads()[upload_id] = session.to_json()
                if short or known_total is None or session.received < known_total:
                    return UploadProgress(session.received)
            return self._finish(session)

    def _finish(self, session: UploadSession) -> UploadProgress:
        """Turn a complete session's file into its object (hold the session's lock)."""
        md5 = base64.b64encode(self.files.session_md5(session.upload_id, session.file, session.received))
        try:
            record = self._place(
                session.bucket,
                session.name,
                session.file,
                session.received,
                md5.decode("ascii"),
                session.content_type,
                session.metadata,
                session.if_generation_match,
            )
        except ApiError:
            with self._store.lock:
                self._uploads().pop(session.upload_id, None)  # a session whose object is refused is over
            self.files.forget_session(session.upload_id)
            raise
        with self._store.lock:
            finished = _updated(session, state=UploadState.FINISHED, file="", result=record.without_file())
            self._uploads()[session.upload_id] = finished.to_json()
        self.files.forget_session(session.upload_id)
        return UploadProgress(record.size, finished.result)

    def _session(self, upload_id: str) -> UploadSession:
        """A live session (hold the lock); 404 if unknown or expired (a week after it was opened)."""
        uploads = self._uploads(create=False)
        stored = uploads.get(upload_id)
        if stored is not None and _expired(stored, self._clock.now()):
            self._drop_session(upload_id)
            stored = None
        if stored is None:
            raise ApiError("NOT_FOUND", f"No such upload session: {upload_id}")
        return UploadSession.from_json(upload_id, stored)

    def _drop_session(self, upload_id: str) -> None:
        """Forget a session and its unfinished bytes (hold the lock)."""
        stored = self._uploads().pop(upload_id, None)
        self.files.forget_session(upload_id)
        if stored is not None and stored.get("file"):
            self._release(str(stored["file"]))

    def cancel_upload(self, upload_id: str) -> None:
        """Forget a resumable session; 404 if unknown."""
        with self.files.session_lock(upload_id), self._store.lock:
            self._session(upload_id)
            self._drop_session(upload_id)

    # --- housekeeping ------------------------------------------------------------------

    def referenced_files(self) -> set[str]:
        """The keys of every file a record refers to (hold the lock)."""
        keys = {
            str(record.get("file") or "")
            for holder in self._buckets(create=False).values()
            for record in holder.get("objects", {}).values()
        }
        keys.update(str(session.get("file") or "") for session in self._uploads(create=False).values())
        keys.update(sample_key(name) for name in sample_names())  # written on first read, then kept
        keys.discard("")
        return keys

    def sweep(self) -> None:
        """Delete files no record refers to (after a reset, or an answer whose state was not saved)."""
        with self._store.lock:
            self.files.sweep(self.referenced_files())

    def recover(self) -> None:
        """Start-up: move bytes of older state files into object files, then sweep.

        State files of earlier versions kept an object's bytes in its record
        (``data``, one character per byte) and a session's in ``chunks``.
        """
        changed = False
        with self._store.lock:
            for holder in self._buckets(create=False).values():
                for record in holder.get("objects", {}).values():
                    if "data" in record:
                        record["file"], _ = self.files.write_bytes(str(record.pop("data")).encode("latin-1"))
                        changed = True
            for stored in self._uploads(create=False).values():
                if "chunks" in stored:
                    chunks = stored.pop("chunks")
                    if stored.get("object") is None:
                        data = "".join(chunks).encode("latin-1")
                        stored["file"], _ = self.files.write_bytes(data)
                        stored["received"] = len(data)
                    else:
                        stored["object"].pop("data", None)
                    changed = True
                if stored.get("object") is None and not stored.get("file"):
                    stored["file"] = self.files.create_empty()
                    stored["received"] = 0
                    changed = True
            self.files.sweep(self.referenced_files(), incoming=True)
            if changed:
                self._store.commit()


def _updated(session: UploadSession, **changes: Any) -> UploadSession:
    from dataclasses import replace

    return replace(session, **changes)


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


def _check_precondition(existing: StoredObject | None, if_generation_match: str | None) -> None:
    if if_generation_match is None:
        return
    try:
        wanted = int(if_generation_match)
    except ValueError:
        raise bad_request(f"Invalid ifGenerationMatch: '{if_generation_match}'") from None
    current = 0 if existing is None else existing.generation
    if wanted != current:
        raise ApiError(
            "FAILED_PRECONDITION",
            "At least one of the pre-conditions you specified did not hold.",
            http_status=412,
        )


def _check_metageneration(existing: StoredObject, if_metageneration_match: str | None) -> None:
    """412 unless the object is at the metageneration named (none named: any)."""
    if if_metageneration_match is None:
        return
    try:
        wanted = int(if_metageneration_match)
    except ValueError:
        raise bad_request(f"Invalid ifMetagenerationMatch: '{if_metageneration_match}'") from None
    if wanted != existing.metageneration:
        raise ApiError(
            "FAILED_PRECONDITION",
            "At least one of the pre-conditions you specified did not hold.",
            http_status=412,
        )


def _check_writable(bucket: str) -> None:
    """403 for Google's public samples bucket, which only Google writes to."""
    if bucket == SAMPLES_BUCKET:
        raise ApiError(
            "PERMISSION_DENIED",
            "The caller does not have storage.objects.create access to the Google Cloud Storage bucket "
            f"{bucket} (Google's public samples, read-only).",
        )


def _too_large(size: int) -> ApiError:
    return bad_request(
        f"The object has {size:,} bytes; the emulator keeps objects of at most {MAX_OBJECT_BYTES:,} bytes."
    )
