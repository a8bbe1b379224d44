"""Where the emulated Cloud Storage keeps object bytes: one file per object or upload session.

Records (names, sizes, hashes) live in the store; the bytes live in files
under one directory, named by a random key that the record holds.  Without
``--state`` the directory is a temporary one, removed when the emulator is
garbage-collected or the process exits; with ``--state FILE`` it is
``FILE.objects/`` beside the state file, so objects survive restarts.

Writes go to ``incoming/`` first and are renamed into place once complete,
so a file under its key is always whole.  Files no record refers to (an
upload whose state was never saved, objects forgotten by a reset) are removed
by :meth:`ObjectFiles.sweep`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import threading
import uuid
import weakref
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["COPY_BLOCK", "ObjectFiles", "Spooled", "copy_stream", "md5_of_file"]

#: Bytes moved at a time when copying bodies and files (memory per copy stays this small).
COPY_BLOCK = 1 << 20
_KEY = re.compile(r"[0-9a-f]{32}")
_INCOMING = "incoming"


def copy_stream(source: BinaryIO, sink: BinaryIO, length: int | None = None, *, hasher: object = None) -> int:
    """Copy ``length`` bytes (all, if None) from ``source`` to ``sink`` in blocks; bytes copied.

    ``hasher`` (a :mod:`hashlib` object) is updated with every block.
    """
    copied = 0
    while length is None or copied < length:
        want = COPY_BLOCK if length is None else min(COPY_BLOCK, length - copied)
        block = source.read(want)
        if not block:
            break
        sink.write(block)
        if hasher is not None:
            hasher.update(block)  # type: ignore[attr-defined]
        copied += len(block)
    return copied


def md5_of_file(path: Path) -> bytes:
    """The MD5 digest of a file, read in blocks."""
    digest = hashlib.md5()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(COPY_BLOCK), b""):
            digest.update(block)
    return digest.digest()


class Spooled:
    """A file being written under ``incoming/``: becomes an object file with :meth:`ObjectFiles.adopt`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self._md5 = hashlib.md5()
        self._stream: BinaryIO | None = path.open("wb")

    def write(self, data: bytes) -> None:
        """Append bytes."""
        assert self._stream is not None
        self._stream.write(data)
        self._md5.update(data)
        self.size += len(data)

    def copy_from(self, source: BinaryIO, length: int | None = None) -> int:
        """Append ``length`` bytes (all, if None) read from ``source``; bytes copied."""
        assert self._stream is not None
        copied = copy_stream(source, self._stream, length, hasher=self._md5)
        self.size += copied
        return copied

    @property
    def md5(self) -> bytes:
        """The MD5 digest of what was written."""
        return self._md5.digest()

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def discard(self) -> None:
        """Close and delete the file."""
        self.close()
        self.path.unlink(missing_ok=True)


class ObjectFiles:
    """A directory of object files, shared by everything that reads or writes objects.

    ``ObjectFiles()`` is a temporary directory, made on first use;
    ``ObjectFiles(root)`` keeps the files in ``root`` (made if missing).
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self._root = None if root is None else Path(root)
        self._temporary = root is None
        self._made = False
        self._lock = threading.Lock()
        self._session_locks: dict[str, threading.Lock] = {}
        #: upload id → (bytes hashed, running MD5) of a resumable session's file.
        self._hashers: dict[str, tuple[int, hashlib._Hash]] = {}
        self._finalizer: Callable[[], object] | None = None

    @classmethod
    def beside(cls, state_path: str | os.PathLike[str]) -> ObjectFiles:
        """The directory kept beside a state file: ``<state>.objects``."""
        return cls(f"{os.fspath(state_path)}.objects")

    @property
    def root(self) -> Path:
        """The directory (created on first use)."""
        with self._lock:
            if not self._made:
                if self._root is None:
                    self._root = Path(tempfile.mkdtemp(prefix="tuneport-emulator-objects-"))
                    self._finalizer = weakref.finalize(self, shutil.rmtree, self._root, True)
                (self._root / _INCOMING).mkdir(parents=True, exist_ok=True)
                self._made = True
            assert self._root is not None
            return self._root

    @property
    def temporary(self) -> bool:
        """Whether the directory goes away with the emulator."""
        return self._temporary

    def path(self, key: str) -> Path:
        """The file of an object or session key."""
        if not _KEY.fullmatch(key):
            raise ValueError(f"not an object file key: {key!r}")
        return self.root / key

    def exists(self, key: str) -> bool:
        """Whether the file of ``key`` is there."""
        return self.path(key).is_file()

    def spool(self) -> Spooled:
        """A new file under ``incoming/`` to write into."""
        return Spooled(self.root / _INCOMING / uuid.uuid4().hex)

    def adopt(self, spooled: Spooled) -> str:
        """Move a written file into place; its new key."""
        spooled.close()
        key = uuid.uuid4().hex
        os.replace(spooled.path, self.path(key))
        return key

    def create_empty(self) -> str:
        """An empty file (a resumable session's); its key."""
        key = uuid.uuid4().hex
        self.path(key).touch()
        return key

    def write_bytes(self, data: bytes) -> tuple[str, bytes]:
        """Store ``data`` in a new file; (key, MD5 digest)."""
        spooled = self.spool()
        try:
            spooled.write(data)
        except BaseException:
            spooled.discard()
            raise
        return self.adopt(spooled), spooled.md5

    def ensure(self, key: str, produce: Callable[[], bytes]) -> None:
        """Write the file of ``key`` with ``produce()`` unless it is there (whole, or not at all)."""
        if self.exists(key):
            return
        spooled = self.spool()
        try:
            spooled.write(produce())
            spooled.close()
            os.replace(spooled.path, self.path(key))
        except BaseException:
            spooled.discard()
            raise

    def read_bytes(self, key: str) -> bytes:
        """The whole content of a file."""
        return self.path(key).read_bytes()

    def open(self, key: str) -> BinaryIO:
        """The file of ``key`` opened for reading."""
        return self.path(key).open("rb")

    def discard(self, key: str | None) -> None:
        """Delete the file of ``key`` if there is one (an open reader keeps its copy)."""
        if key and _KEY.fullmatch(key):
            self.path(key).unlink(missing_ok=True)

    # --- resumable sessions --------------------------------------------------------------

    @contextlib.contextmanager
    def session_lock(self, upload_id: str) -> Iterator[None]:
        """Serialize the requests of one resumable session (its file is appended outside the store lock)."""
        with self._lock:
            lock = self._session_locks.setdefault(upload_id, threading.Lock())
        with lock:
            yield

    def forget_session(self, upload_id: str) -> None:
        """Drop what is cached about a session (its lock stays until no one holds it)."""
        with self._lock:
            self._hashers.pop(upload_id, None)
            lock = self._session_locks.get(upload_id)
            if lock is not None and not lock.locked():
                del self._session_locks[upload_id]

    def append(self, upload_id: str, key: str, offset: int, source: BinaryIO, length: int) -> None:
        """Write ``length`` bytes of ``source`` at ``offset`` of a session file (cut there first).

        Cutting first drops whatever a refused or interrupted request left past
        the bytes the session counts.
        """
        # O_CREAT: a session file removed behind the emulator's back is started again, not a crash.
        descriptor = os.open(self.path(key), os.O_RDWR | os.O_CREAT, 0o644)
        with os.fdopen(descriptor, "r+b") as sink:
            sink.truncate(offset)
            sink.seek(offset)
            known = self._hashers.get(upload_id)
            hasher = known[1] if known is not None and known[0] == offset else None
            copied = copy_stream(source, sink, length, hasher=hasher)
        if hasher is not None:
            self._hashers[upload_id] = (offset + copied, hasher)

    def start_hash(self, upload_id: str) -> None:
        """Begin hashing a new (empty) session file as it is appended to."""
        self._hashers[upload_id] = (0, hashlib.md5())

    def session_md5(self, upload_id: str, key: str, size: int) -> bytes:
        """The MD5 digest of a finished session file (hashed as it grew, else read again)."""
        known = self._hashers.pop(upload_id, None)
        if known is not None and known[0] == size:
            return known[1].digest()
        return md5_of_file(self.path(key))

    # --- housekeeping --------------------------------------------------------------------

    def sweep(self, keep: Collection[str], *, incoming: bool = False) -> int:
        """Delete object files whose key is not in ``keep`` (and, if ``incoming``, unfinished writes).

        Only call ``incoming=True`` when no write can be under way (at start-up).
        Returns how many files were deleted.
        """
        if not self._made and (self._root is None or not self._root.is_dir()):
            return 0
        root = self.root
        removed = 0
        wanted = set(keep)
        for entry in os.scandir(root):
            if entry.is_file() and _KEY.fullmatch(entry.name) and entry.name not in wanted:
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
        if incoming:
            for entry in os.scandir(root / _INCOMING):
                Path(entry.path).unlink(missing_ok=True)
        return removed

    def close(self) -> None:
        """Remove a temporary directory now (a kept one stays)."""
        if self._finalizer is not None:
            self._finalizer()
