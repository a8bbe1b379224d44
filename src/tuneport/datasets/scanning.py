"""One streaming pass over a dataset: records in, light examples out.

:class:`Scan` ties a source to its layout reader and format codec.  It
yields ``(line, example)`` for every record without errors, reports every
problem of the others to the log, and counts records as it goes.  Nothing
in it builds a pydantic object for a file source: that is the hot path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from tuneport.datasets.containers import (
    BLANK,
    MALFORMED,
    decode_line,
    iter_csv,
    iter_json_array,
    iter_jsonl,
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

__all__ = ["Scan"]

_READERS: dict[FileLayout, Callable[..., Iterator[tuple[int, Any]]]] = {
    FileLayout.JSONL: iter_jsonl,
    FileLayout.JSON: iter_json_array,
    FileLayout.CSV: iter_csv,
}


class Scan:
    """A pass over *source*: iterate it for ``(line, LightExample)`` of the valid examples."""

    def __init__(
        self,
        source: Resolved,
        log: ProblemLog,
        *,
        format: DatasetFormat | str | None = None,
        layout: FileLayout | str | None = None,
    ) -> None:
        if isinstance(source, RemoteFile):
            raise remote_error(source)
        self.source = source
        self.log = log
        #: Records seen so far (valid or not; blank lines are not records).
        self.records = 0
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

    def __iter__(self) -> Iterator[tuple[int, LightExample]]:
        log = self.log
        if isinstance(self.source, InMemory):
            reader = NeutralReader()
            for line, item in enumerate(self.source.items, 1):
                self.records += 1
                example = reader.parse(item, line, log)
                if example is not None:
                    yield line, example
            return
        if self.codec is None or self.layout is None:
            return  # an empty file: nothing to read
        if self.layout is FileLayout.CSV and self.format is not DatasetFormat.GEMINI:
            log.report_always(
                None,
                None,
                Rule.UNKNOWN_FORMAT,
                f"a CSV file can only hold the gemini format, not {self.format}",
            )
            return
        fast = vertex_fast_decoder() if self.format is DatasetFormat.VERTEX else None
        if self.layout is FileLayout.JSONL and fast is not None:
            yield from self._jsonl_fast(fast)
            return
        parse = self.codec.parse
        records = 0
        try:
            for line, value in _READERS[self.layout](self.source.path, log):
                records += 1
                if value is MALFORMED:
                    continue
                example = parse(value, line, log)
                if example is not None:
                    yield line, example
        except OSError as exc:
            raise unreadable_error(self.source.path, exc) from exc
        finally:
            self.records += records

    def _jsonl_fast(self, fast: FastDecoder) -> Iterator[tuple[int, LightExample]]:
        # The hot loop of large Vertex files: a line the fast decoder accepts
        # costs one C decode and a short loop; any other goes the slow way,
        # which reports its problems (see formats/vertex_fast.py).
        assert isinstance(self.source, LocalFile)
        assert self.codec is not None
        parse, log = self.codec.parse, self.log
        records = 0
        try:
            with open_lines(self.source.path) as f:
                for line, raw in enumerate(f, 1):
                    example = fast(raw)
                    if example is None:
                        value = decode_line(raw, line, log)
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
                    yield line, example
        except OSError as exc:
            raise unreadable_error(self.source.path, exc) from exc
        finally:
            self.records += records
