"""Writing datasets: atomically, in any format and layout the format allows.

Output goes to a hidden temporary file beside the target and is renamed
over it only when everything was written, so a failed or interrupted
conversion leaves no partial file and never clobbers a good one.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from tuneport.datasets import _json
from tuneport.datasets.formats import Codec, DatasetFormat, FileLayout, codec_for, coerce_layout
from tuneport.datasets.formats.neutral import NeutralReader, neutral_field
from tuneport.datasets.light import LightExample
from tuneport.datasets.problems import FailFastLog
from tuneport.datasets.sources import IN_MEMORY_NAME
from tuneport.errors import DatasetError, Problem

__all__ = ["atomic_output", "check_writable", "layout_for_path", "write_examples"]

_WRITE_BUFFER = 1 << 20


def layout_for_path(path: Path) -> FileLayout:
    """The layout a target's name asks for: ``.csv``, ``.json``, else JSON Lines."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return FileLayout.CSV
    if suffix == ".json":
        return FileLayout.JSON
    return FileLayout.JSONL


def check_writable(codec: Codec, layout: FileLayout) -> None:
    """Refuse a layout the format cannot be written in (e.g. Vertex as CSV)."""
    if layout not in codec.writable_layouts:
        allowed = ", ".join(sorted(layout.value for layout in codec.writable_layouts))
        raise ValueError(f"the {codec.format} format cannot be written as {layout.value} (only {allowed})")


@contextlib.contextmanager
def atomic_output(path: Path, codec: Codec, layout: FileLayout) -> Iterator[Callable[[LightExample], None]]:
    """Yield ``write(example)``; on a clean exit the file appears at *path*, else nothing does."""
    check_writable(codec, layout)
    path = Path(path)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    # Mode "xb" (not mkstemp) so the file gets the usual permissions from the umask.
    raw = open(temp, "xb", buffering=_WRITE_BUFFER)  # noqa: SIM115 - closed below on every path
    try:
        with raw:
            if layout is FileLayout.CSV:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                try:
                    yield _csv_writer(text, codec)
                finally:
                    text.detach()  # flushes, and leaves closing the file to `with raw`
            else:
                write, close = _json_writers(raw, codec, layout)
                yield write
                close()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def _json_writers(
    raw: IO[bytes], codec: Codec, layout: FileLayout
) -> tuple[Callable[[LightExample], None], Callable[[], None]]:
    dump = codec.dump
    if layout is FileLayout.JSONL:

        def write_line(example: LightExample) -> None:
            raw.write(_json.dumps_line(dump(example)))

        return write_line, lambda: None
    # A JSON array with one element per line, so line numbers stay meaningful.
    raw.write(b"[")
    separator = [b"\n"]

    def write_element(example: LightExample) -> None:
        raw.write(separator[0])
        raw.write(_json.dumps(dump(example)))
        separator[0] = b",\n"

    def close() -> None:
        raw.write(b"\n]\n")

    return write_element, close


def _csv_writer(text: IO[str], codec: Codec) -> Callable[[LightExample], None]:
    writer = csv.writer(text)
    writer.writerow(["text_input", "output"])
    dump = codec.dump

    def write_row(example: LightExample) -> None:
        row: dict[str, Any] = dump(example)
        try:
            writer.writerow([row["text_input"], row["output"]])
        except csv.Error as exc:
            # Python 3.10's csv module cannot write NUL characters (3.11 can).
            raise ValueError(f"this example cannot be written as CSV ({exc}); use JSON Lines") from exc

    return write_row


def write_examples(
    examples: Iterable[Any],
    path: str | os.PathLike[str],
    *,
    format: DatasetFormat | str,
    layout: FileLayout | str | None = None,
) -> int:
    """Write examples to *path* in *format*; return how many were written.

    *examples* are :class:`~tuneport.models.Example` objects (or pairs / pair
    dicts).  The layout follows the file name (``.csv``, ``.json``, else
    JSON Lines) unless given.  An example the format cannot hold (e.g. a
    multi-turn one as Gemini API pairs) raises
    :class:`~tuneport.errors.DatasetError` naming its 1-based position, and
    nothing is written.  Use :func:`convert_dataset` for skip/split policies.
    """
    target = Path(path)
    codec = codec_for(format)
    chosen = coerce_layout(layout) if layout is not None else layout_for_path(target)
    reader = NeutralReader()
    log = FailFastLog(IN_MEMORY_NAME)
    count = 0
    with atomic_output(target, codec, chosen) as write:
        for index, item in enumerate(examples, 1):
            light = reader.parse(item, index, log)
            assert light is not None  # FailFastLog raised otherwise
            gaps = codec.gaps(light)
            if gaps:
                gap = gaps[0]
                problem = Problem(
                    message=f"cannot be written as {codec.format}: {gap.reason}",
                    field=neutral_field(turn=gap.turn, part=gap.part, system=gap.system),
                    line=index,
                    source=IN_MEMORY_NAME,
                    rule=gap.rule.value,
                )
                raise DatasetError([problem], summary=f"example {index}: {problem.message}")
            write(light)
            count += 1
    return count
