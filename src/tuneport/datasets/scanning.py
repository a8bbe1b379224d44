"""One streaming pass over a dataset: records in, light examples out.

:class:`Scan` ties a source to its layout reader and format codec.  It
yields ``(line, example, size)`` for every record without errors, reports every
problem of the others to the log, and counts records as it goes.  Nothing
in it builds a pydantic object for a file source: that is the hot path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from tuneport.datasets.containers import (
    BLANK,
    MALFORMED,
    decode_line,
    iter_csv,
    iter_json_array,
    open_lines,
)
from tuneport.datasets.detect import detect_layout_and_format, sniff_layout
from tuneport.datasets.formats import (
    Codec,
    DatasetFormat,
    FileLayout,
    codec_for,
    coerce_format,
    coerce_layout,
)
from tuneport.datasets.formats.neutral import NeutralReader, neutral_field
from tuneport.datasets.formats.vertex_fast import FastDecoder, vertex_fast_decoder
from tuneport.datasets.light import LightExample
from tuneport.datasets.problems import ProblemLog
from tuneport.datasets.rules import Rule
from tuneport.datasets.sources import (
    InMemory,
    LocalFile,
    RemoteFile,
    Resolved,
    remote_error,
    unreadable_error,
)

__all__ = ["Scan", "Scanned"]

#: ``(line, example, size in bytes or None)``.
Scanned = tuple[int, LightExample, "int | None"]

_READERS: dict[FileLayout, Callable[..., Iterator[tuple[int, Any]]]] = {
    FileLayout.JSON: iter_json_array,
    FileLayout.CSV: iter_csv,
}


class Scan:
    """A pass over *source*: iterate it for ``(line, example, size)`` of the valid examples.

    *example* is a :class:`LightExample`; *size* is the record's length in
    bytes when the reader knows it cheaply (JSON Lines), else ``None``.
    """

    def __init__(
        self,
        source: Resolved,
        log: ProblemLog,
        *,
        format: DatasetFormat | str | None = None,
        layout: FileLayout | str | None = None,
        byte_range: tuple[int, int] | None = None,
    ) -> None:
        if isinstance(source, RemoteFile):
            raise remote_error(source)
        self.source = source
        self.log = log
        #: Records read, valid or not (blank lines are not records); complete after the pass.
        self.records = 0
        #: Physical lines read (JSON Lines only; after the pass).
        self.lines = 0
        #: Only the lines from byte ``start`` to ``end`` (both line starts) of a
        #: JSON Lines file, numbered from 1 (how parallel validation splits a file).
        self.byte_range = byte_range
        #: Size of the file in bytes (``None`` in memory).
        self.size_bytes: int | None = None
        self.format: DatasetFormat | None = coerce_format(format) if format is not None else None
        self.layout: FileLayout | None = coerce_layout(layout) if layout is not None else None
        self.codec: Codec | None = None
        if isinstance(source, LocalFile):
            try:
                self.size_bytes = source.path.stat().st_size
            except OSError as exc:
                raise unreadable_error(source.path, exc) from exc
            if source.path.is_dir():
                raise unreadable_error(source.path, IsADirectoryError(21, "it is a directory"))
            if self.format is None:
                self.layout, self.format = detect_layout_and_format(source, layout=self.layout)
            elif self.layout is None:
                self.layout = sniff_layout(source.path)
            if self.format is not None:
                self.codec = codec_for(self.format)

    @property
    def name(self) -> str:
        """The source's name in problems (path, URI or ``<examples>``)."""
        return self.source.name

    def field(
        self, example: LightExample, *, turn: int | None = None, part: int | None = None, system: bool = False
    ) -> str | None:
        """The path of a turn/part/system in the source's own format."""
        if self.codec is None:
            return neutral_field(turn=turn, part=part, system=system)
        return self.codec.field(example, turn=turn, part=part, system=system)

    def __iter__(self) -> Iterator[Scanned]:
        # Returns the right generator rather than delegating with `yield from`:
        # one generator frame per record instead of two, on the hot path.
        if isinstance(self.source, InMemory):
            return self._in_memory(self.source)
        if self.codec is None or self.layout is None:
            return iter(())  # an empty file: nothing to read
        if self.layout is FileLayout.CSV and self.format is not DatasetFormat.GEMINI:
            self.log.report_always(
                None,
                None,
                Rule.UNKNOWN_FORMAT,
                f"a CSV file can only hold the gemini format, not {self.format}",
            )
            return iter(())
        if self.layout is FileLayout.JSONL:
            fast = vertex_fast_decoder() if self.format is DatasetFormat.VERTEX else None
            return self._jsonl(fast)
        return self._records()

    def _in_memory(self, source: InMemory) -> Iterator[Scanned]:
        reader = NeutralReader()
        for line, item in enumerate(source.items, 1):
            self.records += 1
            example = reader.parse(item, line, self.log)
            if example is not None:
                yield line, example, None

    def _records(self) -> Iterator[Scanned]:
        # JSON arrays and CSV: a reader yields parsed values, the codec checks them.
        assert isinstance(self.source, LocalFile)
        assert self.codec is not None
        assert self.layout is not None
        parse, log = self.codec.parse, self.log
        records = 0
        try:
            for line, value in _READERS[self.layout](self.source.path, log):
                records += 1
                if value is MALFORMED:
                    continue
                example = parse(value, line, log)
                if example is not None:
                    yield line, example, None
        except OSError as exc:
            raise unreadable_error(self.source.path, exc) from exc
        finally:
            self.records += records

    def _jsonl(self, fast: FastDecoder | None) -> Iterator[Scanned]:
        # The hot loop of large files.  With a fast decoder (Vertex and msgspec),
        # a line it accepts costs one C decode and a short loop; any other line
        # goes the slow way, which reports its problems (formats/vertex_fast.py).
        assert isinstance(self.source, LocalFile)
        assert self.codec is not None
        parse, log = self.codec.parse, self.log
        at_file_start = self.byte_range is None or self.byte_range[0] == 0
        records = line = 0
        try:
            with open_lines(self.source.path) as f:
                lines = f if self.byte_range is None else _lines_in_range(f, *self.byte_range)
                for line, raw in enumerate(lines, 1):
                    example = fast(raw) if fast is not None else None
                    if example is None:
                        value = decode_line(raw, line, log, bom_allowed=at_file_start)
                        if value is BLANK:
                            continue
                        records += 1
                        if value is MALFORMED:
                            continue
                        example = parse(value, line, log)
                        if example is None:
                            continue
                    else:
                        records += 1
                    yield line, example, len(raw)
        except OSError as exc:
            raise unreadable_error(self.source.path, exc) from exc
        finally:
            self.records += records
            self.lines += line


def _lines_in_range(f: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    """The lines of *f* from byte *start* (a line start) up to byte *end* (a line start)."""
    f.seek(start)
    remaining = end - start
    for raw in f:
        yield raw
        remaining -= len(raw)
        if remaining <= 0:
            return
