"""Format and layout detection, by content (the file name only breaks ties).

The layout comes from the first significant byte: ``[`` is a JSON array,
``{`` is JSON Lines, anything else is a CSV header.  The format comes from
the keys of the first few records: ``contents``/``systemInstruction`` is
Vertex, ``messages`` is OpenAI, ``text_input``/``textInput``/``output`` is
the Gemini API.  The majority of the sampled records wins; a file whose
records match no format raises ``DatasetError`` (rule ``unknown-format``),
and ``format=`` overrides detection everywhere.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tuneport.datasets import _json
from tuneport.datasets.containers import MALFORMED, JsonArrayReader
from tuneport.datasets.formats import DatasetFormat, FileLayout
from tuneport.datasets.formats.gemini import INPUT_KEYS, OUTPUT_KEY
from tuneport.datasets.problems import ProblemLog
from tuneport.datasets.rules import Rule
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

__all__ = ["classify_record", "detect_format", "detect_layout_and_format", "sniff_layout"]

_HEAD_BYTES = 64 * 1024
_VERTEX_KEYS = frozenset({"contents", "systemInstruction", "system_instruction"})
_GEMINI_KEYS = frozenset({*INPUT_KEYS, OUTPUT_KEY})


def classify_record(value: Any) -> DatasetFormat | None:
    """The format one parsed record looks like (``None``: none of them)."""
    if not isinstance(value, dict):
        return None
    if "messages" in value:
        return DatasetFormat.OPENAI
    if not _VERTEX_KEYS.isdisjoint(value):
        return DatasetFormat.VERTEX
    if not _GEMINI_KEYS.isdisjoint(value):
        return DatasetFormat.GEMINI
    return None


def sniff_layout(path: Path) -> FileLayout:
    """The layout of a local file, from its first significant byte (or its suffix when empty)."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
    except OSError as exc:
        raise unreadable_error(path, exc) from exc
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"["):
        return FileLayout.JSON
    if head.startswith(b"{"):
        return FileLayout.JSONL
    if head or path.suffix.lower() == ".csv":
        return FileLayout.CSV
    return FileLayout.JSONL


def _sample(path: Path, layout: FileLayout, sample_lines: int) -> Iterable[Any]:
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
                values.append(_json.loads(raw.removeprefix(b"\xef\xbb\xbf")))
            except ValueError:
                continue
            if len(values) >= sample_lines:
                break
    return values


def detect_format(source: DatasetSource, *, sample_lines: int = 20) -> DatasetFormat:
    """The format of a local dataset file, from its first *sample_lines* records.

    Raises :class:`~tuneport.errors.DatasetError` (rule ``unknown-format``)
    when no record looks like any format, and for remote or in-memory sources,
    which have no file format to detect.
    """
    resolved = resolve_source(source)
    if isinstance(resolved, RemoteFile):
        raise remote_error(resolved)
    if isinstance(resolved, InMemory):
        raise TypeError("in-memory examples have no file format to detect")
    found = detect_layout_and_format(resolved, sample_lines=sample_lines)[1]
    if found is None:
        problem = Problem(
            message="the file holds no examples", source=str(resolved.path), rule=Rule.UNKNOWN_FORMAT.value
        )
        raise DatasetError([problem], summary=f"{resolved.path}: {problem.message}")
    return found


def detect_layout_and_format(
    local: LocalFile, *, sample_lines: int = 20, layout: FileLayout | None = None
) -> tuple[FileLayout, DatasetFormat | None]:
    """Layout and format of a local file (the layout may be given).

    The format is ``None`` for a file with nothing in it but whitespace
    (validation then reports ``empty-dataset``).
    """
    path = local.path
    layout = layout or sniff_layout(path)
    try:
        sample = list(_sample(path, layout, sample_lines))
    except (OSError, UnicodeDecodeError, csv.Error):
        sample = []
    votes = Counter(f for f in map(classify_record, sample) if f is not None)
    if not votes:
        if layout is FileLayout.JSONL and _is_blank(path):
            return layout, None
        if layout is FileLayout.CSV:
            problem = Problem(
                message="not a recognised dataset: a CSV needs a header with text_input and output",
                source=str(path),
                line=1,
                rule=Rule.UNKNOWN_FORMAT.value,
            )
        else:
            problem = Problem(
                message="cannot tell the format from the content (no record has 'contents', 'messages' "
                "or 'text_input'/'output'); pass format= explicitly",
                source=str(path),
                rule=Rule.UNKNOWN_FORMAT.value,
            )
        raise DatasetError([problem], summary=f"{path}: {problem.message}")
    # Ties go to the order of the enum (gemini, vertex, openai) for stability.
    best = max(DatasetFormat, key=lambda f: (votes[f], -list(DatasetFormat).index(f)))
    return layout, best


def _is_blank(path: Path) -> bool:
    with open(path, "rb") as f:
        return all(not chunk.strip() for chunk in iter(lambda: f.read(_HEAD_BYTES), b""))
