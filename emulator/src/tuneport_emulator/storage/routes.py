"""The Cloud Storage JSON API routes (``/storage/v1``, ``/upload/storage/v1``, ``/download/storage/v1``).

Uploads: ``uploadType=media`` (the body is the object), ``multipart``
(``multipart/related``: JSON metadata, then the media) and ``resumable``
(``POST`` opens a session whose URI comes back in ``Location``; ``PUT``
chunks with ``Content-Range: bytes a-b/total`` get ``308`` with
``Range: bytes=0-b`` — what is stored — until the last one, which gets the
object; ``bytes */total`` with no body asks for the status; a finished
session keeps answering with its object, as on Cloud Storage).  Reads:
object metadata, ``?alt=media`` downloads, listing by prefix; ``PATCH`` of
an object's custom ``metadata`` (merged; a ``null`` value removes a key) and
delete, both honouring ``ifMetagenerationMatch``.
Credentials are not checked.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tuneport_emulator.faults import short_store_fraction
from tuneport_emulator.paging import page_size
from tuneport_emulator.routing import FileBody, Request, Response, Router
from tuneport_emulator.storage.multipart import MAX_METADATA_BYTES, split_multipart
from tuneport_emulator.storage.objects import MAX_LIST_RESULTS, Objects, object_resource
from tuneport_emulator.storage.payload import Payload
from tuneport_emulator.storage.records import StoredObject
from tuneport_emulator.wire import bad_request

if TYPE_CHECKING:
    from tuneport_emulator.surface import EmulatorContext

__all__ = ["base_url", "register"]

_OCTET = "application/octet-stream"
_CONDITIONS = (
    "ifGenerationMatch",
    "ifGenerationNotMatch",
    "ifMetagenerationMatch",
    "ifMetagenerationNotMatch",
)
_INSERT_QUERY = (
    "name", "upload_id", "predefinedAcl", "projection", "contentEncoding", "kmsKeyName", "userProject",
    *_CONDITIONS,
)  # fmt: skip
_GET_QUERY = ("generation", "projection", "userProject", *_CONDITIONS)
_LIST_QUERY = (
    "prefix", "maxResults", "pageToken", "projection", "versions", "userProject", "delimiter",
    "includeTrailingDelimiter", "matchGlob", "startOffset", "endOffset",
)  # fmt: skip


def base_url(request: Request) -> str:
    """``http://host:port`` as the client addressed this server (for links and session URIs)."""
    host = request.headers.get("host") or "127.0.0.1"
    return f"http://{host}"


def _json_reply(value: dict[str, Any], status: int = 200) -> Response:
    return Response(value, status=status)


def _media_reply(record: StoredObject, data: FileBody) -> Response:
    headers = {
        "x-goog-generation": str(record.generation),
        "x-goog-metageneration": str(record.metageneration),
        "x-goog-stored-content-length": str(record.size),
        "x-goog-hash": f"md5={record.md5_hash}",
        "ETag": f'"{record.md5_hash}"',
    }
    return Response(data, content_type=record.content_type, headers=headers)


def _header_content_type(request: Request) -> str | None:
    value = (request.headers.get("content-type") or "").strip()
    return value or None


def _payload(request: Request) -> Payload:
    """The request's body as a payload (spooled on disk by the server for these routes)."""
    return Payload(request.open_body(), request.body_size)


def _small_body(request: Request) -> bytes:
    """A body that must be small (resumable session metadata); 400 if it is not."""
    if request.body_size > MAX_METADATA_BYTES:
        raise bad_request("The object metadata is too large.")
    return request.open_body().read()


def _metadata_part(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise bad_request("Invalid JSON in the object metadata.") from None
    if not isinstance(value, dict):
        raise bad_request("The object metadata must be a JSON object.")
    custom = value.get("metadata")
    if custom is not None and (
        not isinstance(custom, dict) or not all(isinstance(v, str) for v in custom.values())
    ):
        raise bad_request("metadata must map strings to strings.", field="metadata")
    for key in ("name", "contentType"):
        if key in value and not isinstance(value[key], str):
            raise bad_request(f"{key} must be a string.", field=key)
    return value


def register(router: Router, context: EmulatorContext) -> None:
    """Add the Cloud Storage JSON API routes to ``router``."""
    objects = Objects(context)
    objects.recover()
    context.store.on_reset(objects.sweep)  # a reset forgets the objects: their files go too

    # --- uploads ---------------------------------------------------------------------

    def insert(request: Request) -> Response:
        bucket = request.params["bucket"]
        kind = request.param("uploadType")
        condition = request.param("ifGenerationMatch")
        if kind == "media":
            name = request.param("name")
            if not name:
                raise bad_request("Required parameter: name", field="name")
            request.log_body = {"media": f"{request.body_size} bytes"}
            record = objects.insert(
                bucket,
                name,
                _payload(request),
                content_type=_header_content_type(request) or _OCTET,
                if_generation_match=condition,
            )
            return _json_reply(object_resource(record, base_url(request)))
        if kind == "multipart":
            spooled = objects.files.spool()
            try:
                meta_raw, media_headers = split_multipart(
                    _header_content_type(request) or "", request.open_body(), spooled.write
                )
                metadata = _metadata_part(meta_raw)
                request.log_body = {"metadata": metadata, "media": f"{spooled.size} bytes"}
                name = request.param("name") or metadata.get("name")
                if not name:
                    raise bad_request("Required parameter: name", field="name")
            except BaseException:
                spooled.discard()
                raise
            record = objects.insert_spooled(
                bucket,
                name,
                spooled,
                content_type=metadata.get("contentType") or media_headers.get("content-type") or _OCTET,
                metadata=metadata.get("metadata"),
                if_generation_match=condition,
            )
            return _json_reply(object_resource(record, base_url(request)))
        if kind == "resumable":
            metadata = _metadata_part(_small_body(request))
            request.log_body = metadata
            name = request.param("name") or metadata.get("name")
            if not name:
                raise bad_request("Required parameter: name", field="name")
            total = _length_header(request.headers.get("x-upload-content-length"))
            upload_id = objects.start_upload(
                bucket,
                name,
                content_type=request.headers.get("x-upload-content-type")
                or metadata.get("contentType")
                or _OCTET,
                total=total,
                metadata=metadata.get("metadata"),
                if_generation_match=condition,
            )
            location = (
                f"{base_url(request)}/upload/storage/v1/b/{quote(bucket, safe='')}/o"
                f"?uploadType=resumable&upload_id={upload_id}"
            )
            headers = {"Location": location, "X-GUploader-UploadID": upload_id}
            return Response(b"", content_type="text/plain; charset=utf-8", headers=headers)
        if kind is None:
            raise bad_request("Upload requests must include an uploadType URL parameter.", field="uploadType")
        raise bad_request(
            f"Invalid upload type: '{kind}' (media, multipart or resumable).", field="uploadType"
        )

    def upload_chunk(request: Request) -> Response:
        upload_id = request.param("upload_id")
        if not upload_id:
            raise bad_request("Required parameter: upload_id", field="upload_id")
        request.log_body = {
            "media": f"{request.body_size} bytes",
            "contentRange": request.headers.get("content-range"),
        }
        progress = objects.upload_chunk(
            upload_id, request.headers.get("content-range"), _payload(request), keep=short_store_fraction()
        )
        if progress.record is not None:
            return _json_reply(object_resource(progress.record, base_url(request)))
        headers = {"Range": f"bytes=0-{progress.received - 1}"} if progress.received else {}
        # 308 "Resume Incomplete": Range is what is stored (no Range: nothing yet); resume after it.
        return Response(b"", status=308, content_type="text/plain; charset=utf-8", headers=headers)

    def cancel_upload(request: Request) -> Response:
        upload_id = request.param("upload_id")
        if not upload_id:
            raise bad_request("Required parameter: upload_id", field="upload_id")
        objects.cancel_upload(upload_id)
        # Cloud Storage answers a cancelled session with 499 Client Closed Request.
        return Response(b"", status=499, content_type="text/plain; charset=utf-8")

    upload = "/upload/storage/v1/b/{bucket}/o"
    router.add("POST", upload, insert, name="storage.objects.insert", query=_INSERT_QUERY, stream_body=True)
    router.add(
        "PUT", upload, upload_chunk, name="storage.objects.upload", query=_INSERT_QUERY, stream_body=True
    )
    router.add("DELETE", upload, cancel_upload, name="storage.objects.cancelUpload", query=_INSERT_QUERY)

    # --- reads -------------------------------------------------------------------------

    def get(request: Request) -> Response:
        bucket, name = request.params["bucket"], request.params["object"]
        alt = request.alt.split(";", 1)[0].strip().lower()
        if alt == "media":
            # The open file: the server sends it in blocks and closes it (never whole in memory).
            # Opened under the store's lock; a rewrite or delete that follows leaves it readable.
            record, stream = objects.open(bucket, name, request.param("generation"))
            return _media_reply(record, FileBody(stream, record.size))
        if alt not in ("", "json"):
            raise bad_request(f"Invalid value for the alt parameter: '{alt}'.", field="alt")
        record = objects.record(bucket, name, request.param("generation"))
        return _json_reply(object_resource(record, base_url(request)))

    def delete(request: Request) -> Response:
        objects.delete(
            request.params["bucket"],
            request.params["object"],
            request.param("generation"),
            if_metageneration_match=request.param("ifMetagenerationMatch"),
        )
        return Response(b"", status=204)

    def patch(request: Request) -> Response:
        record = objects.patch(
            request.params["bucket"],
            request.params["object"],
            request.json(),
            if_metageneration_match=request.param("ifMetagenerationMatch"),
        )
        return _json_reply(object_resource(record, base_url(request)))

    def list_objects(request: Request) -> Response:
        size = request.param("maxResults")
        page_size(size, default=MAX_LIST_RESULTS, maximum=MAX_LIST_RESULTS)  # validates
        records, token = objects.list(
            request.params["bucket"],
            prefix=request.param("prefix"),
            size=size,
            token=request.param("pageToken"),
        )
        body: dict[str, Any] = {"kind": "storage#objects"}
        if token:
            body["nextPageToken"] = token
        if records:
            body["items"] = [object_resource(r, base_url(request)) for r in records]
        return _json_reply(body)

    path = "/storage/v1/b/{bucket}/o/{object:path}"
    router.add("GET", path, get, name="storage.objects.get", query=_GET_QUERY)
    router.add("DELETE", path, delete, name="storage.objects.delete", query=_GET_QUERY)
    router.add("PATCH", path, patch, name="storage.objects.patch", query=_GET_QUERY)
    router.add(
        "GET", "/download/storage/v1/b/{bucket}/o/{object:path}", get, name="storage.objects.download",
        query=_GET_QUERY,
    )  # fmt: skip
    router.add(
        "GET", "/storage/v1/b/{bucket}/o", list_objects, name="storage.objects.list", query=_LIST_QUERY
    )

    # --- admin: write an object directly -----------------------------------------------

    def admin_put(request: Request) -> Response:
        record = objects.insert(
            request.params["bucket"],
            request.params["object"],
            _payload(request),
            content_type=_header_content_type(request) or _OCTET,
        )
        return _json_reply(object_resource(record, base_url(request)))

    router.add(
        "POST",
        "/_emulator/storage/b/{bucket}/o/{object:path}",
        admin_put,
        name="admin.storage.put",
        log=False,
        stream_body=True,
    )


def _length_header(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        length = int(value)
    except ValueError:
        raise bad_request(f"Invalid X-Upload-Content-Length: '{value}'") from None
    if length < 0:
        raise bad_request(f"Invalid X-Upload-Content-Length: '{value}'")
    return length
