"""The bytes an upload carried, in memory or spooled to disk by the server, read without copying them all.

Upload routes are registered with ``stream_body=True``: the server may hand
the body over as a file (``Request.open_body()``).  A :class:`Payload` is a
view of it: its length, a stream positioned anywhere, and slices as bytes
(for small parts, and for code that treats a chunk as ``bytes``).
"""

from __future__ import annotations

import io
from typing import BinaryIO

__all__ = ["Payload"]


class Payload:
    """A body of known length, read through a seekable binary stream."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self._stream = stream
        self._size = size

    @classmethod
    def of(cls, data: bytes | bytearray | memoryview | Payload) -> Payload:
        """A payload of bytes (or the payload itself)."""
        if isinstance(data, Payload):
            return data
        raw = bytes(data)
        return cls(io.BytesIO(raw), len(raw))

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0

    def open(self, offset: int = 0) -> BinaryIO:
        """The stream, positioned at ``offset`` (one stream: read it before opening again)."""
        self._stream.seek(offset)
        return self._stream

    def __getitem__(self, index: slice) -> bytes:
        """A slice as bytes, like ``data[a:b]`` on bytes (step 1 only); reads just that range."""
        if not isinstance(index, slice):
            raise TypeError("a Payload is sliced, not indexed")
        start, stop, step = index.indices(self._size)
        if step != 1:
            raise ValueError("a Payload slice has step 1")
        if stop <= start:
            return b""
        return self.open(start).read(stop - start)
