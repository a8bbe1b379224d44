"""Reading a ``multipart/related`` upload (JSON metadata, then the media) as a stream.

The media part is written to a sink block by block, so a large multipart
upload never sits in memory.  Parts are separated by ``--boundary``; the
line end before a delimiter belongs to it, not to the content; a part whose
``Content-Transfer-Encoding`` is ``base64`` is decoded.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import BinaryIO

from tuneport_emulator.storage.files import COPY_BLOCK
from tuneport_emulator.wire import bad_request

__all__ = ["MAX_METADATA_BYTES", "boundary_of", "split_multipart"]

#: Largest metadata part (and header block) read; the metadata is a small JSON object.
MAX_METADATA_BYTES = 1 << 20
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=]")

Sink = Callable[[bytes], None]


def boundary_of(content_type: str) -> str:
    """The boundary parameter of a ``multipart/related`` Content-Type; 400 if there is none."""
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary" and value.strip().strip('"'):
            return value.strip().strip('"')
    raise bad_request("A multipart upload needs Content-Type: multipart/related; boundary=...")


class _Scanner:
    """Reads a stream up to delimiters, keeping only a block and a tail in memory."""

    def __init__(self, stream: BinaryIO, delimiter: bytes) -> None:
        self._stream = stream
        self._delimiter = delimiter
        self._buffer = b""
        self._eof = False

    def _fill(self) -> bool:
        if self._eof:
            return False
        block = self._stream.read(COPY_BLOCK)
        if not block:
            self._eof = True
            return False
        self._buffer += block
        return True

    def until_delimiter(self, sink: Sink) -> bool:
        """Send everything before the next delimiter to ``sink`` (line end before it dropped).

        Consumes the delimiter; False if the stream ended without one (what was
        read is then sent whole).
        """
        hold = len(self._delimiter) + 2  # a delimiter cut by a block edge, and the line end before it
        while True:
            found = self._buffer.find(self._delimiter)
            if found >= 0:
                content = self._buffer[:found]
                if content.endswith(b"\r\n"):
                    content = content[:-2]
                elif content.endswith(b"\n"):
                    content = content[:-1]
                sink(content)
                self._buffer = self._buffer[found + len(self._delimiter) :]
                return True
            if len(self._buffer) > hold:
                sink(self._buffer[:-hold])
                self._buffer = self._buffer[-hold:]
            if not self._fill():
                sink(self._buffer)
                self._buffer = b""
                return False

    def peek(self, size: int) -> bytes:
        """The next ``size`` bytes (fewer at the end), not consumed."""
        while len(self._buffer) < size and self._fill():
            pass
        return self._buffer[:size]

    def skip(self, size: int) -> None:
        """Consume ``size`` bytes already peeked."""
        self._buffer = self._buffer[size:]

    def headers(self) -> dict[str, str]:
        """A part's header lines up to the blank line (lower-cased names); 400 if malformed."""
        while True:
            for blank in (b"\r\n\r\n", b"\n\n"):
                at = self._buffer.find(blank)
                if at >= 0 and (blank == b"\n\n" or b"\n\n" not in self._buffer[:at]):
                    head = self._buffer[:at]
                    self._buffer = self._buffer[at + len(blank) :]
                    return _parse_headers(head)
            if len(self._buffer) > MAX_METADATA_BYTES or not self._fill():
                raise bad_request("Malformed multipart body: a part has no blank line after its headers.")


def _parse_headers(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines():
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers


class _Base64Sink:
    """Decodes base64 arriving in pieces (characters outside the alphabet are skipped)."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._pending = b""

    def __call__(self, data: bytes) -> None:
        self._pending += _NOT_BASE64.sub(b"", data)
        whole = len(self._pending) - len(self._pending) % 4
        if whole:
            self._decode(self._pending[:whole])
            self._pending = self._pending[whole:]

    def finish(self) -> None:
        if self._pending:
            self._decode(self._pending)
            self._pending = b""

    def _decode(self, data: bytes) -> None:
        try:
            self._sink(base64.b64decode(data, validate=False))
        except (binascii.Error, ValueError):
            raise bad_request("Malformed base64 in a multipart part.") from None


def split_multipart(content_type: str, stream: BinaryIO, media: Sink) -> tuple[bytes, dict[str, str]]:
    """Read a two-part ``multipart/related`` body: (metadata bytes, media part headers).

    The media part's content goes to ``media`` in blocks.  400 unless there are
    exactly two parts.
    """
    delimiter = b"--" + boundary_of(content_type).encode("latin-1")
    scanner = _Scanner(stream, delimiter)
    if not scanner.until_delimiter(lambda _: None):  # the preamble
        raise bad_request("A multipart upload has two parts (metadata, media); this one has 0.")
    metadata = bytearray()
    media_headers: dict[str, str] = {}
    count = 0
    while True:
        if scanner.peek(2) == b"--" or not scanner.peek(1):
            break  # the closing delimiter (or the end)
        for end in (b"\r\n", b"\n"):
            if scanner.peek(len(end)) == end:
                scanner.skip(len(end))
                break
        headers = scanner.headers()
        count += 1
        sink: Sink
        if count == 1:

            def sink(data: bytes) -> None:
                metadata.extend(data)
                if len(metadata) > MAX_METADATA_BYTES:
                    raise bad_request("The object metadata is too large.")

        elif count == 2:
            media_headers = headers
            sink = media
        else:

            def sink(data: bytes) -> None:
                return None

        decoder = None
        if headers.get("content-transfer-encoding", "").lower() == "base64":
            decoder = _Base64Sink(sink)
            sink = decoder
        found = scanner.until_delimiter(sink)
        if decoder is not None:
            decoder.finish()
        if not found:
            break
    if count != 2:
        raise bad_request(f"A multipart upload has two parts (metadata, media); this one has {count}.")
    return bytes(metadata), media_headers
