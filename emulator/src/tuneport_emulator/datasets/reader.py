"""Reading a JSON Lines file one line at a time, from a stream, in bounded memory.

Each line is read with a length bound (a longer one is skipped in blocks and
reported, never held whole), decoded as UTF-8 (a byte-order mark before the
first line is dropped) and parsed.  Blank lines are skipped: Google's
documentation does not say how Vertex treats them.  Nothing a file holds
raises here: JSON nested too deeply for the parser is a problem of its line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

__all__ = ["Line", "read_lines"]

_SKIP_BLOCK = 1 << 20
_MISSING = object()


@dataclass(frozen=True)
class Line:
    """One non-blank line: its number (from 1) and its JSON value, or why it has none."""

    number: int
    value: Any = None
    #: Why the line could not be read as JSON (None if it was).
    problem: str | None = None
    #: The line does not parse and looks like the start of a JSON document spread over lines.
    opens_document: bool = False


def _skip_rest(stream: BinaryIO) -> None:
    """Consume the rest of an over-long line, a block at a time."""
    while True:
        block = stream.readline(_SKIP_BLOCK)
        if not block or block.endswith(b"\n"):
            return


def _parse(text: str) -> tuple[Any, str | None]:
    try:
        return json.loads(text), None
    except RecursionError:
        return _MISSING, "its JSON is nested too deeply to read"
    except ValueError as exc:
        return _MISSING, f"it is not valid JSON ({exc})"


def read_lines(stream: BinaryIO, *, max_line_bytes: int) -> Iterator[Line]:
    """The non-blank lines of ``stream``, parsed; a line's problem instead of its value if it has one."""
    number = 0
    while True:
        raw = stream.readline(max_line_bytes + 1)
        if not raw:
            return
        number += 1
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            _skip_rest(stream)
            yield Line(number, problem=f"it is longer than {max_line_bytes:,} bytes")
            continue
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Line(number, problem=f"it is not UTF-8 (byte {exc.start + 1})")
            continue
        if not text.strip():
            continue
        value, problem = _parse(text)
        if problem is None:
            yield Line(number, value)
        else:
            stripped = text.strip()
            yield Line(number, problem=problem, opens_document=stripped.startswith("[") or stripped == "{")
