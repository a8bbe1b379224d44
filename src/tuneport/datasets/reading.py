"""Reading datasets: one streaming pass (:class:`Scan`), and examples as pydantic objects.

:class:`Scan` ties a source to its layout reader and format.  It yields
``(line, example, size)`` for every record without errors, reports every
problem of the others to the log, and counts records as it goes.  Nothing
in it builds a pydantic object for a file source: that is the hot path,
which works on the light form (``light.py``).

:func:`read_records` and :func:`read_examples` are the public way in, and the
only place file records become :class:`~tuneport.models.Example` objects.
Reading stops at the first error with a :class:`~tuneport.errors.DatasetError`
naming the file, line, field and rule (validate first to see them all).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Generic, Literal, TypeVar, Union, overload

from tuneport._methods import TuningMethod
from tuneport.datasets.formats import (
    Codec,
    DatasetFormat,
    FileLayout,
    codec_for,
    coerce_format,
    coerce_layout,
    coerce_method,
    in_memory_reader,
    method_noun,
)
from tuneport.datasets.formats.base import Light
from tuneport.datasets.formats.grammar import FastDecoder
from tuneport.datasets.formats.neutral import NeutralFormat, NeutralReader
from tuneport.datasets.json_codecs import JsonCodec, resolve_codec
from tuneport.datasets.layouts import (
    BLANK,
    MALFORMED,
    decode_line,
    detect_shape,
    iter_csv,
    iter_json_array,
    open_lines,
    refuse_special_file,
    sniff_layout,
)
from tuneport.datasets.light import (
    LightExample,
    to_example,
    to_preference,
    to_prompt,
)
from tuneport.datasets.problems import FailFastLog, ProblemLog, Rule
from tuneport.datasets.sources import (
    DatasetSource,
    InMemory,
    LocalFile,
    RemoteFile,
    Resolved,
    remote_error,
    resolve_source,
    unreadable_error,
)
from tuneport.errors import Call, DatasetError, Problem, Remedy
from tuneport.models import Example, PreferenceExample, PromptExample

__all__ = [
    "AnyExample",
    "ExampleRecord",
    "Scan",
    "Scanned",
    "read_examples",
    "read_preference_examples",
    "read_prompt_examples",
    "read_records",
]

#: ``(line, example, size in bytes or None)``.
Scanned = tuple[int, LightExample, "int | None"]
#: An example of any tuning method.
AnyExample = Union[Example, PreferenceExample, PromptExample]
_NEUTRAL_FIELDS: NeutralFormat[Any] = NeutralFormat(NeutralReader())

_READERS: dict[FileLayout, Callable[..., Iterator[tuple[int, Any]]]] = {
    FileLayout.JSON: iter_json_array,
    FileLayout.CSV: iter_csv,
}


class Scan(Generic[Light]):
    """A pass over *source*: iterate it for ``(line, example, size)`` of the valid examples.

    *example* is the light form of *method*'s data (:class:`LightExample`,
    :class:`LightPreference` or :class:`LightPrompt`); *size* is the
    record's length in bytes when the reader knows it cheaply (JSON Lines),
    else ``None``.  A file whose shape is another method's data (Vertex
    ``completions`` read as supervised examples) raises
    :class:`~tuneport.errors.DatasetError` (``method-mismatch``).
    """

    def __init__(
        self,
        source: Resolved,
        log: ProblemLog,
        *,
        format: DatasetFormat | str | None = None,
        layout: FileLayout | str | None = None,
        byte_range: tuple[int, int] | None = None,
        codec: JsonCodec | None = None,
        method: TuningMethod | str = TuningMethod.SUPERVISED,
    ) -> None:
        if isinstance(source, RemoteFile):
            raise remote_error(source)
        self.source = source
        self.log = log
        #: How JSON is parsed (the fastest installed by default).
        self.codec = resolve_codec(codec)
        #: Records read, valid or not (blank lines are not records); complete after the pass.
        self.records = 0
        #: Physical lines read (JSON Lines only; after the pass).
        self.lines = 0
        #: Only the lines from byte ``start`` to ``end`` (both line starts) of a
        #: JSON Lines file, numbered from 1 (how parallel validation splits a file).
        self.byte_range = byte_range
        #: Size of the file in bytes (``None`` in memory).
        self.size_bytes: int | None = None
        #: Which kind of data is read.
        self.method = coerce_method(method)
        self.format: DatasetFormat | None = coerce_format(format) if format is not None else None
        self.layout: FileLayout | None = coerce_layout(layout) if layout is not None else None
        #: The format's reader and writer (``None`` in memory or for an empty file).
        self.reader: Codec[Light] | None = None
        if self.format is not None:
            codec_for(self.format, self.method)  # ValueError now when the format cannot hold the data
        if isinstance(source, LocalFile):
            refuse_special_file(source.path)  # a NUL in the path, a FIFO, /dev/zero: never opened
            try:
                self.size_bytes = source.path.stat().st_size
            except OSError as exc:
                raise unreadable_error(source.path, exc) from exc
            if source.path.is_dir():
                raise unreadable_error(source.path, IsADirectoryError(21, "it is a directory"))
            if self.format is None:
                self.layout, self.format, shown = detect_shape(source, self.codec, layout=self.layout)
                if self.format is not None and _mismatched(shown, self.method):
                    raise _mismatch(source.name, self.format, shown, self.method)
            elif self.layout is None:
                self.layout = sniff_layout(source.path)
            if self.format is not None:
                self.reader = codec_for(self.format, self.method)

    @property
    def name(self) -> str:
        """The source's name in problems (path, URI or ``<examples>``)."""
        return self.source.name

    def field(
        self, example: Light, *, turn: int | None = None, part: int | None = None, system: bool = False
    ) -> str | None:
        """The path of a turn/part/system in the source's own format."""
        if self.reader is None:
            return _NEUTRAL_FIELDS.field(example, turn=turn, part=part, system=system)
        return self.reader.field(example, turn=turn, part=part, system=system)

    def __iter__(self) -> Iterator[tuple[int, Light, int | None]]:
        # Returns the right generator rather than delegating with `yield from`:
        # one generator frame per record instead of two, on the hot path.
        if isinstance(self.source, InMemory):
            return self._in_memory(self.source)
        if self.reader is None or self.layout is None:
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
            return self._jsonl(self.reader.fast_decoder(self.codec))
        return self._records()

    def _in_memory(self, source: InMemory) -> Iterator[tuple[int, Light, int | None]]:
        reader = in_memory_reader(self.method)
        for line, item in enumerate(source.items, 1):
            self.records += 1
            example = reader.parse(item, line, self.log)
            if example is not None:
                yield line, example, None

    def _records(self) -> Iterator[tuple[int, Light, int | None]]:
        # JSON arrays and CSV: a reader yields parsed values, the codec checks them.
        assert isinstance(self.source, LocalFile)
        assert self.reader is not None
        assert self.layout is not None
        parse, log = self.reader.parse, self.log
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

    def _jsonl(self, fast: FastDecoder | None) -> Iterator[tuple[int, Light, int | None]]:
        # The hot loop of large files.  With a fast decoder (msgspec installed),
        # a line it accepts costs one C decode and a short conversion; any other
        # line goes the slow way, which reports its problems (formats/grammar.py).
        assert isinstance(self.source, LocalFile)
        assert self.reader is not None
        parse, log, loads = self.reader.parse, self.log, self.codec.loads
        at_file_start = self.byte_range is None or self.byte_range[0] == 0
        records = line = 0
        try:
            with open_lines(self.source.path) as f:
                lines = f if self.byte_range is None else _lines_in_range(f, *self.byte_range)
                for line, raw in enumerate(lines, 1):
                    try:
                        example = fast(raw) if fast is not None else None
                    except RecursionError:  # msgspec on deep nesting: the slow way reports it
                        example = None
                    if example is None:
                        value = decode_line(raw, line, log, loads, bom_allowed=at_file_start)
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


#: What a shape that does not tell its method (Vertex ``contents``, OpenAI ``messages``) may hold.
_UNTOLD = (TuningMethod.SUPERVISED, TuningMethod.DISTILLATION)


def _mismatched(shown: TuningMethod | None, asked: TuningMethod) -> bool:
    if shown is None:
        return asked not in _UNTOLD
    return shown is not asked


def _mismatch(name: str, fmt: DatasetFormat, shown: TuningMethod | None, asked: TuningMethod) -> DatasetError:
    # The ways out are remedies (kept as data): the library spells them as keywords, the CLI as flags.
    if shown is None:
        held = " or ".join(method_noun(m) for m in _UNTOLD)
        remedies = [Remedy("method", choices=tuple(m.value for m in _UNTOLD), effect="reads it as such")]
    else:
        held = method_noun(shown)
        remedies = [Remedy("method", shown.value, effect="reads it as such")]
        if (shown, asked) in _PROJECTIONS:
            convert = Call(
                python="tuneport.datasets.convert_dataset",
                cli="tuneport dataset convert",
                arguments=("SOURCE", "TARGET"),
                options=(("to", None), ("source_method", shown.value)),
                flags=(("source_method", "--from-method"),),
            )
            remedies.append(
                Remedy("method", asked.value, effect=f"converts it into {method_noun(asked)}", call=convert)
            )
    problem = Problem(
        message=f"this file holds {held} ({fmt} format), not {method_noun(asked)}",
        source=name,
        rule=Rule.METHOD_MISMATCH.value,
        remedies=tuple(remedies),
    )
    # The summary does not repeat the problem: str() of the error lists it below.
    return DatasetError([problem], summary=f"{name}: not {method_noun(asked)}")


#: ``(from, to)`` pairs of methods whose data converts (the rest cannot: no answer to invent).
_PROJECTIONS = frozenset(
    {
        (TuningMethod.PREFERENCE, TuningMethod.SUPERVISED),
        (TuningMethod.PREFERENCE, TuningMethod.DISTILLATION),
        (TuningMethod.SUPERVISED, TuningMethod.DISTILLATION),
    }
)


def _lines_in_range(f: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    """The lines of *f* from byte *start* (a line start) up to byte *end* (a line start)."""
    f.seek(start)
    remaining = end - start
    for raw in f:
        yield raw
        remaining -= len(raw)
        if remaining <= 0:
            return


# --- examples as pydantic objects ------------------------------------------------------------

E = TypeVar("E", Example, PreferenceExample, PromptExample)


@dataclass(frozen=True)
class ExampleRecord(Generic[E]):
    """An example and where it came from."""

    #: 1-based line the record starts on (position, for in-memory examples).
    line: int
    example: E
    #: The file path, URI, or ``<examples>``.
    source: str


_TO_MODEL: dict[TuningMethod, Callable[[Any], Any]] = {
    TuningMethod.SUPERVISED: to_example,
    TuningMethod.PREFERENCE: to_preference,
    TuningMethod.DISTILLATION: to_prompt,
}

_Supervised = Literal[TuningMethod.SUPERVISED, "supervised"]
_Preference = Literal[TuningMethod.PREFERENCE, "preference"]
_Distillation = Literal[TuningMethod.DISTILLATION, "distillation"]


@overload
def read_records(
    source: DatasetSource,
    *,
    format: DatasetFormat | str | None = None,
    codec: JsonCodec | None = None,
    method: _Supervised = ...,
) -> Iterator[ExampleRecord[Example]]: ...
@overload
def read_records(
    source: DatasetSource,
    *,
    format: DatasetFormat | str | None = None,
    codec: JsonCodec | None = None,
    method: _Preference,
) -> Iterator[ExampleRecord[PreferenceExample]]: ...
@overload
def read_records(
    source: DatasetSource,
    *,
    format: DatasetFormat | str | None = None,
    codec: JsonCodec | None = None,
    method: _Distillation,
) -> Iterator[ExampleRecord[PromptExample]]: ...
@overload
def read_records(
    source: DatasetSource,
    *,
    format: DatasetFormat | str | None = None,
    codec: JsonCodec | None = None,
    method: TuningMethod | str,
) -> Iterator[ExampleRecord[Any]]: ...
def read_records(
    source: DatasetSource,
    *,
    format: DatasetFormat | str | None = None,
    codec: JsonCodec | None = None,
    method: TuningMethod | str = TuningMethod.SUPERVISED,
) -> Iterator[ExampleRecord[Any]]:
    """Stream the examples of *source* with their line numbers.

    *method* says which kind of data *source* holds: ``supervised``
    (:class:`~tuneport.models.Example`), ``preference``
    (:class:`~tuneport.models.PreferenceExample`) or ``distillation``
    (:class:`~tuneport.models.PromptExample`).  *format* overrides detection;
    *codec* chooses the JSON library (the fastest installed by default).
    Raises :class:`~tuneport.errors.DatasetError` at the first invalid record
    (and for a ``gs://`` source, which cannot be read locally, or a file of
    another method's data: ``method-mismatch``).
    """
    resolved = resolve_source(source)
    kind = coerce_method(method)
    # Built eagerly, so a remote, missing or unrecognised file fails at the call, not at first next().
    scan: Scan[Any] = Scan(resolved, FailFastLog(resolved.name), format=format, codec=codec, method=kind)
    to_model = _TO_MODEL[kind]
    return (
        ExampleRecord(line=line, example=to_model(light), source=resolved.name) for line, light, _ in scan
    )


def read_examples(
    source: DatasetSource, *, format: DatasetFormat | str | None = None, codec: JsonCodec | None = None
) -> Iterator[Example]:
    """Stream the supervised examples of *source* as :class:`~tuneport.models.Example` objects.

    Same as :func:`read_records` without the line numbers.
    """
    return (record.example for record in read_records(source, format=format, codec=codec))


def read_preference_examples(
    source: DatasetSource, *, format: DatasetFormat | str | None = None, codec: JsonCodec | None = None
) -> Iterator[PreferenceExample]:
    """Stream the preference examples of *source* (Vertex, OpenAI DPO, ``chosen``/``rejected``, neutral)."""
    return (
        r.example for r in read_records(source, format=format, codec=codec, method=TuningMethod.PREFERENCE)
    )


def read_prompt_examples(
    source: DatasetSource, *, format: DatasetFormat | str | None = None, codec: JsonCodec | None = None
) -> Iterator[PromptExample]:
    """Stream the distillation prompts of *source* (Vertex, OpenAI ``messages``, ``{"prompt"}``, neutral)."""
    return (
        r.example for r in read_records(source, format=format, codec=codec, method=TuningMethod.DISTILLATION)
    )
