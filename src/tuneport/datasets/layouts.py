"""File layouts: streaming readers of JSON Lines, a JSON array and CSV, and detection.

The JSON array and CSV readers yield ``(line, value)`` one record at a time,
where *line* is the 1-based physical line the record starts on; JSON Lines
are decoded line by line by the scan itself (:func:`decode_line`), which is
the hot loop.  Memory stays bounded by the largest record, never the file.
A record that cannot be parsed is reported to the log and yielded as
:data:`MALFORMED` (so it is still counted).

Detection is by content (the file name only breaks ties).  The layout comes
from the first significant byte: ``[`` is a JSON array, ``{`` is JSON Lines,
anything else is a CSV header.  The format comes from the keys of the first
few records: ``contents``/``systemInstruction`` is Vertex, ``messages`` is
OpenAI, ``text_input``/``textInput``/``output`` is the Gemini API.  The
majority of the sampled records wins; a file whose records match no format
raises ``DatasetError`` (rule ``unknown-format``), and ``format=`` overrides
detection everywhere.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Final

from tuneport._file_permissions import not_a_regular_file
from tuneport._methods import TuningMethod
from tuneport._nesting import first_lone_surrogate, nested_too_deep, nesting_message
from tuneport.datasets.fixes import fixes_for
from tuneport.datasets.formats import DatasetFormat, FileLayout
from tuneport.datasets.formats.gemini import INPUT_KEYS, OUTPUT_KEY
from tuneport.datasets.json_codecs import JsonCodec, resolve_codec
from tuneport.datasets.problems import ProblemLog, Rule
from tuneport.datasets.sources import (
    DatasetSource,
    InMemory,
    LocalFile,
    RemoteFile,
    remote_error,
    resolve_source,
    unreadable_error,
)
from tuneport.errors import DatasetError, Problem

__all__ = [
    "BLANK",
    "MALFORMED",
    "MAX_JSON_ELEMENT_CHARS",
    "JsonArrayReader",
    "classify_record",
    "classify_shape",
    "detect_method",
    "detect_shape",
    "decode_line",
    "detect_format",
    "detect_layout_and_format",
    "iter_csv",
    "iter_json_array",
    "json_error_message",
    "open_lines",
    "refuse_special_file",
    "sniff_layout",
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
#: A JSON escape of a UTF-16 surrogate: only then can a decoded string hold a lone one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
#: gzip's magic number: a compressed file is reported as such, not as a broken CSV.
_GZIP_MAGIC = b"\x1f\x8b"


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


def decode_line(
    raw: bytes, line: int, log: ProblemLog, loads: Callable[[bytes], Any], *, bom_allowed: bool = True
) -> Any:
    """The JSON value of one JSONL line; :data:`BLANK`, or :data:`MALFORMED` after reporting.

    A UTF-8 byte order mark is skipped on the file's first line (*bom_allowed*
    is false when line 1 is not the file's first, in a split file).
    """
    try:
        return loads(raw)
    except ValueError as exc:
        if raw.isspace():
            return BLANK
        if line == 1 and bom_allowed and raw.startswith(_BOM):
            return decode_line(raw[len(_BOM) :], line, log, loads)
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
            except RecursionError:
                self._fail(f"invalid JSON: {nesting_message()}", start_line)
                return MALFORMED
            except json.JSONDecodeError as exc:
                # Maybe only the chunk ended mid-element: read more and retry,
                # up to a bound so that a broken file does not fill memory.
                if len(self.buf) - self.pos < MAX_JSON_ELEMENT_CHARS and self._fill():
                    continue
                line = start_line + self.buf.count("\n", self.pos, exc.pos)
                self._fail(f"invalid JSON: {exc.msg}", line)
                return MALFORMED
            if _SURROGATE_ESCAPE.search(self.buf, self.pos, end):
                problem = None if nested_too_deep(value) else first_lone_surrogate(value)
                if problem or nested_too_deep(value):
                    self._fail(f"invalid JSON: {problem or nesting_message()}", start_line)
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


# --- detection ----------------------------------------------------------------------------

_HEAD_BYTES = 64 * 1024
_VERTEX_KEYS = frozenset({"contents", "systemInstruction", "system_instruction"})
_GEMINI_KEYS = frozenset({*INPUT_KEYS, OUTPUT_KEY})


#: ``(format, method)`` of a record's shape; the method is ``None`` when the shape does not tell
#: (Vertex ``contents`` and OpenAI ``messages`` hold supervised examples and prompts alike).
Shape = tuple[DatasetFormat, "TuningMethod | None"]


def classify_shape(value: Any) -> Shape | None:
    """The format, and the tuning method where the keys tell, of one parsed record (``None``: none)."""
    if not isinstance(value, dict):
        return None
    if "completions" in value:
        return DatasetFormat.VERTEX, TuningMethod.PREFERENCE
    if "preferred_output" in value or "non_preferred_output" in value:
        return DatasetFormat.OPENAI, TuningMethod.PREFERENCE
    if "messages" in value:
        return DatasetFormat.OPENAI, None
    if not _VERTEX_KEYS.isdisjoint(value):
        return DatasetFormat.VERTEX, None
    if "preferred" in value:
        return DatasetFormat.NEUTRAL, TuningMethod.PREFERENCE
    if "chosen" in value or "rejected" in value:
        return DatasetFormat.TRL, TuningMethod.PREFERENCE
    if "turns" in value:
        return DatasetFormat.NEUTRAL, TuningMethod.SUPERVISED
    if "prompt" in value and "completion" not in value:  # prompt/completion is supervised data, not read
        prompt = value["prompt"]
        neutral = "system" in value or (
            isinstance(prompt, list) and bool(prompt) and isinstance(prompt[0], dict) and "parts" in prompt[0]
        )
        return (DatasetFormat.NEUTRAL if neutral else DatasetFormat.TRL), TuningMethod.DISTILLATION
    if not _GEMINI_KEYS.isdisjoint(value):
        return DatasetFormat.GEMINI, TuningMethod.SUPERVISED
    return None


def classify_record(value: Any) -> DatasetFormat | None:
    """The format one parsed record looks like (``None``: none of them)."""
    shape = classify_shape(value)
    return shape[0] if shape is not None else None


def sniff_layout(path: Path) -> FileLayout:
    """The layout of a local file, from its first significant byte (or its suffix when empty)."""
    refuse_special_file(path)
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
    except OSError as exc:
        raise unreadable_error(path, exc) from exc
    if head.startswith(_GZIP_MAGIC):
        problem = Problem(
            message="a compressed (gzip) file: decompress it first (gunzip)",
            source=str(path),
            rule=Rule.COMPRESSED_FILE.value,
        )
        raise DatasetError([problem], summary=f"{path}: {problem.message}")
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"["):
        return FileLayout.JSON
    if head.startswith(b"{"):
        return FileLayout.JSONL
    if head or path.suffix.lower() == ".csv":
        return FileLayout.CSV
    return FileLayout.JSONL


def _sample(path: Path, layout: FileLayout, sample_lines: int, codec: JsonCodec) -> Iterable[Any]:
    if layout is FileLayout.CSV:
        # A CSV can only be the Gemini API's; check that its header says so.
        with open(path, encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(io.StringIO(f.readline())), [])
        return [dict.fromkeys(header, "")]
    quiet = ProblemLog(str(path), max_problems=0)
    if layout is FileLayout.JSON:
        with open(path, encoding="utf-8-sig") as f:
            elements = (value for _, value in JsonArrayReader(f, quiet) if value is not MALFORMED)
            return list(itertools.islice(elements, sample_lines))
    values = []
    with open(path, "rb") as f:
        for raw in itertools.islice(f, sample_lines * 4):
            try:
                values.append(codec.loads(raw.removeprefix(b"\xef\xbb\xbf")))
            except (ValueError, RecursionError):
                continue
            if len(values) >= sample_lines:
                break
    return values


def detect_format(
    source: DatasetSource, *, sample_lines: int = 20, codec: JsonCodec | None = None
) -> DatasetFormat:
    """The format of a local dataset file, from its first *sample_lines* records.

    Raises :class:`~tuneport.errors.DatasetError` (rule ``unknown-format``)
    when no record looks like any format, and for remote or in-memory sources,
    which have no file format to detect.  *codec* parses the sample (the
    fastest installed by default).
    """
    resolved = resolve_source(source)
    if isinstance(resolved, RemoteFile):
        raise remote_error(resolved)
    if isinstance(resolved, InMemory):
        raise TypeError("in-memory examples have no file format to detect")
    found = detect_layout_and_format(resolved, resolve_codec(codec), sample_lines=sample_lines)[1]
    if found is None:
        problem = Problem(
            message="the file holds no examples", source=str(resolved.path), rule=Rule.UNKNOWN_FORMAT.value
        )
        raise DatasetError([problem], summary=f"{resolved.path}: {problem.message}")
    return found


def detect_method(
    source: DatasetSource, *, sample_lines: int = 20, codec: JsonCodec | None = None
) -> TuningMethod | None:
    """The tuning method a local file's data is for, where its shape tells (else ``None``).

    Preference shapes (Vertex ``completions``, OpenAI ``preferred_output``,
    ``chosen``/``rejected``) and ``{"prompt"}`` records tell; Vertex
    ``contents`` and OpenAI ``messages`` hold supervised examples and
    distillation prompts alike, so they do not (``None``).  Raises like
    :func:`detect_format`.
    """
    resolved = resolve_source(source)
    if isinstance(resolved, RemoteFile):
        raise remote_error(resolved)
    if isinstance(resolved, InMemory):
        raise TypeError("in-memory examples have no file format to detect")
    return detect_shape(resolved, resolve_codec(codec), sample_lines=sample_lines)[2]


def detect_layout_and_format(
    local: LocalFile, codec: JsonCodec, *, sample_lines: int = 20, layout: FileLayout | None = None
) -> tuple[FileLayout, DatasetFormat | None]:
    """Layout and format of a local file (the layout may be given).

    The format is ``None`` for a file with nothing in it but whitespace
    (validation then reports ``empty-dataset``).
    """
    found_layout, found_format, _ = detect_shape(local, codec, sample_lines=sample_lines, layout=layout)
    return found_layout, found_format


def detect_shape(
    local: LocalFile, codec: JsonCodec, *, sample_lines: int = 20, layout: FileLayout | None = None
) -> tuple[FileLayout, DatasetFormat | None, TuningMethod | None]:
    """Layout, format and (where the shape tells) tuning method of a local file."""
    path = local.path
    layout = layout or sniff_layout(path)
    try:
        sample = list(_sample(path, layout, sample_lines, codec))
    except (OSError, UnicodeDecodeError, csv.Error):
        sample = []
    shapes = [shape for shape in map(classify_shape, sample) if shape is not None]
    votes = Counter(fmt for fmt, _ in shapes)
    if not votes:
        if layout is FileLayout.JSONL and _is_blank(path):
            return layout, None, None
        first_bad = _first_malformed(path, layout, sample_lines, codec)
        if first_bad is not None:
            raise DatasetError([first_bad], summary=f"{path}: no record of the first lines can be read")
        if layout is FileLayout.CSV:
            problem = Problem(
                message="not a recognised dataset: a CSV needs a header with text_input and output",
                source=str(path),
                line=1,
                rule=Rule.UNKNOWN_FORMAT.value,
            )
        else:
            problem = Problem(
                message="cannot tell the format from the content (no record has 'contents', 'messages', "
                "'text_input'/'output', 'completions', 'preferred_output', 'prompt'/'chosen'/'rejected' "
                "or 'turns')",
                source=str(path),
                rule=Rule.UNKNOWN_FORMAT.value,
                remedies=fixes_for(Rule.UNKNOWN_FORMAT.value),
            )
        # The summary does not repeat the problem: str() of the error lists it below.
        raise DatasetError([problem], summary=f"{path}: unknown format")
    # Ties go to the order of the enum (gemini, vertex, openai, ...) for stability.
    best = max(DatasetFormat, key=lambda f: (votes[f], -list(DatasetFormat).index(f)))
    # A record whose keys tell its method outweighs those that do not (a Vertex preference
    # record without its completions is a broken preference record, not a supervised one).
    told = Counter(method for fmt, method in shapes if fmt is best and method is not None)
    return layout, best, max(told, key=told.__getitem__) if told else None


def _first_malformed(path: Path, layout: FileLayout, sample_lines: int, codec: JsonCodec) -> Problem | None:
    """The first record of the sample that is not valid JSON (when none could be classified)."""
    if layout is FileLayout.CSV:
        return None
    log = ProblemLog(str(path), max_problems=1)
    try:
        if layout is FileLayout.JSON:
            with open(path, encoding="utf-8-sig") as f:
                for _ in itertools.islice(JsonArrayReader(f, log), sample_lines):
                    pass
        else:
            with open(path, "rb") as f:
                for line, raw in enumerate(itertools.islice(f, sample_lines * 4), 1):
                    try:
                        decode_line(raw, line, log, codec.loads)
                    except RecursionError:
                        log.report(line, None, Rule.MALFORMED_JSON, f"invalid JSON: {nesting_message()}")
                    if log.problems:
                        break
    except (OSError, UnicodeDecodeError):
        return None
    return log.problems[0] if log.problems else None


def refuse_special_file(path: Path) -> None:
    """Raise :class:`DatasetError` unless *path* is a regular file (or does not exist).

    A FIFO would block the reader forever and ``/dev/zero`` feed it until memory
    runs out: only regular files are opened.
    """
    reason = not_a_regular_file(path)
    if reason is not None and not path.is_dir():
        problem = Problem(
            message=f"cannot read the file: {reason}", source=str(path), rule=Rule.FILE_NOT_READABLE.value
        )
        raise DatasetError([problem], summary=f"{path}: not a readable file")


def _is_blank(path: Path) -> bool:
    with open(path, "rb") as f:
        return all(not chunk.strip() for chunk in iter(lambda: f.read(_HEAD_BYTES), b""))
