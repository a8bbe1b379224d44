"""Streaming readers of the file layouts: JSONL lines, a JSON array, CSV.

The JSON array and CSV readers yield ``(line, value)`` one record at a time,
where *line* is the 1-based physical line the record starts on; JSON Lines
are decoded line by line by the scan itself (:func:`decode_line`), which is
the hot loop.  Memory stays bounded by the largest record, never the file.
A record that cannot be parsed is reported to the log and yielded as
:data:`MALFORMED` (so it is still counted).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Final

from tuneport.datasets import _json
from tuneport.datasets.formats.gemini import INPUT_KEYS, OUTPUT_KEY
from tuneport.datasets.problems import ProblemLog
from tuneport.datasets.rules import Rule

__all__ = [
    "BLANK",
    "MALFORMED",
    "MAX_JSON_ELEMENT_CHARS",
    "JsonArrayReader",
    "decode_line",
    "iter_csv",
    "iter_json_array",
    "open_lines",
    "json_error_message",
]


class _Malformed:
    def __repr__(self) -> str:
        return "MALFORMED"


#: Stands for a record that could not be parsed (already reported).
MALFORMED: Final = _Malformed()

#: A JSON array element larger than this is refused: beyond it the reader
#: cannot tell a huge element from a broken file without buffering the rest.
MAX_JSON_ELEMENT_CHARS = 64 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"
_READ_CHUNK = 1 << 20
_JSON_POSITION = re.compile(r"line \d+ column (\d+) \(char \d+\)")
_WHITESPACE = re.compile(r"[ \t\r\n]*")


def json_error_message(exc: ValueError) -> str:
    """A JSON error message without its meaningless "line 1" (each line is parsed alone)."""
    if isinstance(exc, UnicodeDecodeError):
        return f"not valid UTF-8 (byte {exc.start})"
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return "invalid JSON: " + _JSON_POSITION.sub(r"column \1", message)


class _Blank:
    def __repr__(self) -> str:
        return "BLANK"


#: Stands for a blank line (not a record).
BLANK: Final = _Blank()


def decode_line(raw: bytes, line: int, log: ProblemLog, *, bom_allowed: bool = True) -> Any:
    """The JSON value of one JSONL line; :data:`BLANK`, or :data:`MALFORMED` after reporting.

    A UTF-8 byte order mark is skipped on the file's first line (*bom_allowed*
    is false when line 1 is not the file's first, in a split file).
    """
    try:
        return _json.loads(raw)
    except ValueError as exc:
        if raw.isspace():
            return BLANK
        if line == 1 and bom_allowed and raw.startswith(_BOM):
            return decode_line(raw[len(_BOM) :], line, log)
        log.report(line, None, Rule.MALFORMED_JSON, json_error_message(exc))
        return MALFORMED


def open_lines(path: Path) -> BinaryIO:
    """Open a JSONL file for line iteration (a large buffer: lines are read in C)."""
    return open(path, "rb", buffering=_READ_CHUNK)


class JsonArrayReader:
    """Pulls elements of one top-level JSON array from a text stream, chunk by chunk."""

    def __init__(self, stream: Any, log: ProblemLog) -> None:
        self.stream = stream
        self.log = log
        self.buf = ""
        self.pos = 0
        self.line = 1  # line number at self.pos
        self.eof = False
        self.decoder = json.JSONDecoder()

    def _fill(self) -> bool:
        """Read more text; drop what was consumed.  False at end of file."""
        if self.eof:
            return False
        chunk = self.stream.read(max(_READ_CHUNK, len(self.buf) - self.pos))
        if not chunk:
            self.eof = True
            return False
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        return True

    def _advance(self, to: int) -> None:
        self.line += self.buf.count("\n", self.pos, to)
        self.pos = to

    def _skip_whitespace(self) -> str | None:
        """The next significant character (not consumed), or None at end of file."""
        while True:
            end = _WHITESPACE.match(self.buf, self.pos)
            assert end is not None  # the pattern matches the empty string
            self._advance(end.end())
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return None

    def _fail(self, message: str, line: int | None = None) -> None:
        self.log.report(line or self.line, None, Rule.MALFORMED_JSON, message)

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        if self._skip_whitespace() != "[":
            self._fail("expected a JSON array ('[') or one JSON object per line")
            return
        self._advance(self.pos + 1)
        first = True
        while True:
            char = self._skip_whitespace()
            if char is None:
                self._fail("the JSON array is not closed (missing ']')")
                return
            if char == "]" and first:
                break
            if not first:
                if char == "]":
                    break
                if char != ",":
                    self._fail(f"expected ',' or ']' between array elements, found {char!r}")
                    return
                self._advance(self.pos + 1)
                if self._skip_whitespace() == "]":
                    self._fail("trailing comma before ']'")
                    return
            first = False
            start_line = self.line
            value = self._decode(start_line)
            if value is MALFORMED:
                return  # the rest of the array cannot be located reliably
            yield start_line, value
        self._advance(self.pos + 1)
        if self._skip_whitespace() is not None:
            self._fail("unexpected content after the JSON array")

    def _decode(self, start_line: int) -> Any:
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                # Maybe only the chunk ended mid-element: read more and retry,
                # up to a bound so that a broken file does not fill memory.
                if len(self.buf) - self.pos < MAX_JSON_ELEMENT_CHARS and self._fill():
                    continue
                line = start_line + self.buf.count("\n", self.pos, exc.pos)
                self._fail(f"invalid JSON: {exc.msg}", line)
                return MALFORMED
            self._advance(end)
            return value


def iter_json_array(path: Path, log: ProblemLog) -> Iterator[tuple[int, Any]]:
    """Elements of a file holding one JSON array (each at the line it starts on)."""
    with open(path, encoding="utf-8-sig") as f:
        try:
            yield from JsonArrayReader(f, log)
        except UnicodeDecodeError as exc:
            log.report(None, None, Rule.MALFORMED_JSON, f"not valid UTF-8 ({exc.reason})")


def iter_csv(path: Path, log: ProblemLog) -> Iterator[tuple[int, Any]]:
    """Rows of a Gemini API CSV (header ``text_input,output``) as dicts."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        try:
            yield from _csv_rows(reader, log)
        except UnicodeDecodeError as exc:
            log.report(reader.line_num + 1, None, Rule.MALFORMED_CSV, f"not valid UTF-8 ({exc.reason})")
        except csv.Error as exc:
            log.report(reader.line_num, None, Rule.MALFORMED_CSV, f"invalid CSV: {exc}")


def _csv_rows(reader: Any, log: ProblemLog) -> Iterator[tuple[int, Any]]:
    header = next(reader, None)
    if header is None:
        return
    columns: list[str | None] = []
    for name in header:
        if name in INPUT_KEYS or name == OUTPUT_KEY:
            columns.append(name)
        else:
            columns.append(None)
            log.report(
                1,
                name,
                Rule.UNKNOWN_FIELD,
                f"unknown column {name!r} (a Gemini API CSV has text_input,output)",
            )
    if OUTPUT_KEY not in columns or not any(c in INPUT_KEYS for c in columns):
        missing = OUTPUT_KEY if OUTPUT_KEY not in columns else "text_input"
        log.report(1, missing, Rule.MISSING_FIELD, f"the CSV header needs a '{missing}' column")
        return
    previous_end = reader.line_num
    for row in reader:
        line = previous_end + 1
        previous_end = reader.line_num
        if not row:
            continue
        if len(row) != len(columns):
            log.report(line, None, Rule.MALFORMED_CSV, f"expected {len(columns)} fields, got {len(row)}")
            yield line, MALFORMED
            continue
        yield line, {name: value for name, value in zip(columns, row, strict=True) if name is not None}
