"""The typed records of the emulated Cloud Storage, and their JSON form in the store.

The store keeps plain JSON (so ``--state`` and ``GET /_emulator/state`` can
serialize it); these dataclasses are what the storage code works with.  An
object's bytes are not in its record: ``file`` is the key of its file in
:class:`~tuneport_emulator.storage.files.ObjectFiles`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["StoredObject", "UploadSession", "UploadState"]


@dataclass(frozen=True)
class StoredObject:
    """One object (its current generation)."""

    bucket: str
    name: str
    generation: int
    metageneration: int
    content_type: str
    size: int
    #: Base64 of the MD5 digest, as Cloud Storage reports it.
    md5_hash: str
    metadata: dict[str, str] | None
    time_created: float
    updated: float
    #: Key of the file holding the bytes ("" in a finished session's copy, which has none).
    file: str

    def to_json(self) -> dict[str, Any]:
        """The record as stored."""
        return {
            "bucket": self.bucket,
            "name": self.name,
            "generation": self.generation,
            "metageneration": self.metageneration,
            "contentType": self.content_type,
            "size": self.size,
            "md5Hash": self.md5_hash,
            "metadata": dict(self.metadata) if self.metadata else None,
            "timeCreated": self.time_created,
            "updated": self.updated,
            "file": self.file,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> StoredObject:
        """A stored record."""
        return cls(
            bucket=str(value["bucket"]),
            name=str(value["name"]),
            generation=int(value["generation"]),
            metageneration=int(value["metageneration"]),
            content_type=str(value["contentType"]),
            size=int(value["size"]),
            md5_hash=str(value["md5Hash"]),
            metadata=dict(value["metadata"]) if value.get("metadata") else None,
            time_created=float(value["timeCreated"]),
            updated=float(value["updated"]),
            file=str(value.get("file") or ""),
        )

    def without_file(self) -> StoredObject:
        """A copy that refers to no file (what a finished upload session remembers)."""
        return replace(self, file="")


class UploadState(enum.Enum):
    """Where a resumable upload session is."""

    #: Receiving chunks.
    OPEN = "OPEN"
    #: Its object was written; later requests are answered with it.
    FINISHED = "FINISHED"


@dataclass(frozen=True)
class UploadSession:
    """A resumable upload session."""

    upload_id: str
    bucket: str
    name: str
    content_type: str | None
    metadata: dict[str, str] | None
    #: The object's size, once the client said it.
    total: int | None
    #: Bytes stored so far (the prefix of the object in ``file``).
    received: int
    if_generation_match: str | None
    #: When it was opened (a session is forgotten a week later); None in sessions of old state files.
    created: float | None
    state: UploadState
    #: Key of the file the chunks are appended to (while OPEN).
    file: str
    #: The object it wrote (when FINISHED), without a file.
    result: StoredObject | None = None

    def to_json(self) -> dict[str, Any]:
        """The record as stored."""
        return {
            "bucket": self.bucket,
            "name": self.name,
            "contentType": self.content_type,
            "metadata": dict(self.metadata) if self.metadata else None,
            "total": self.total,
            "received": self.received,
            "ifGenerationMatch": self.if_generation_match,
            "created": self.created,
            "state": self.state.value,
            "file": self.file,
            "object": None if self.result is None else self.result.to_json(),
        }

    @classmethod
    def from_json(cls, upload_id: str, value: dict[str, Any]) -> UploadSession:
        """A stored record."""
        result = value.get("object")
        state = value.get("state") or (UploadState.FINISHED.value if result else UploadState.OPEN.value)
        return cls(
            upload_id=upload_id,
            bucket=str(value["bucket"]),
            name=str(value["name"]),
            content_type=value.get("contentType"),
            metadata=dict(value["metadata"]) if value.get("metadata") else None,
            total=None if value.get("total") is None else int(value["total"]),
            received=int(value.get("received") or 0),
            if_generation_match=value.get("ifGenerationMatch"),
            created=None if value.get("created") is None else float(value["created"]),
            state=UploadState(state),
            file=str(value.get("file") or ""),
            result=None if not result else StoredObject.from_json(result),
        )
