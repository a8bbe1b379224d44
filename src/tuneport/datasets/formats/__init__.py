"""Dataset formats: one grammar and one codec per format and kind of data, and the lookup by name.

A kind of data is a tuning method's: supervised examples, preference
examples, or distillation prompts (:class:`~tuneport.models.TuningMethod`).
Each kind is read from and written to the formats of :func:`formats_of`.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from tuneport._methods import TuningMethod
from tuneport.datasets.formats.base import Codec, DatasetFormat, FileLayout, Format, Gap, GrammarCodec
from tuneport.datasets.formats.gemini import GeminiFormat
from tuneport.datasets.formats.neutral import (
    NeutralFormat,
    NeutralPreferenceReader,
    NeutralPromptReader,
    NeutralReader,
)
from tuneport.datasets.formats.openai import OpenAIFormat
from tuneport.datasets.formats.vertex import VertexFormat
from tuneport.datasets.light import LightExample

__all__ = [
    "Codec",
    "DatasetFormat",
    "FileLayout",
    "Format",
    "Gap",
    "GrammarCodec",
    "codec_for",
    "coerce_format",
    "coerce_layout",
    "coerce_method",
    "format_for",
    "formats_of",
    "in_memory_reader",
    "method_noun",
]

_FORMATS: dict[DatasetFormat, Codec[LightExample]] = {
    DatasetFormat.GEMINI: GeminiFormat(),
    DatasetFormat.VERTEX: VertexFormat(),
    DatasetFormat.OPENAI: OpenAIFormat(),
    DatasetFormat.NEUTRAL: NeutralFormat(NeutralReader()),
}

_NOUNS = {
    TuningMethod.SUPERVISED: "supervised examples",
    TuningMethod.PREFERENCE: "preference examples",
    TuningMethod.DISTILLATION: "distillation prompts",
}


_Choice = TypeVar("_Choice", DatasetFormat, FileLayout, TuningMethod)


def _coerce(kind: type[_Choice], value: _Choice | str, noun: str) -> _Choice:
    """A member of *kind* from itself or its name; ``ValueError`` names the choices."""
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise ValueError(f"unknown {noun} {value!r} (choose from {choices})") from None


def coerce_format(value: DatasetFormat | str) -> DatasetFormat:
    """A :class:`DatasetFormat` from itself or its name; ``ValueError`` names the choices."""
    return _coerce(DatasetFormat, value, "dataset format")


def coerce_layout(value: FileLayout | str) -> FileLayout:
    """A :class:`FileLayout` from itself or its name."""
    return _coerce(FileLayout, value, "file layout")


def coerce_method(value: TuningMethod | str) -> TuningMethod:
    """A :class:`~tuneport.models.TuningMethod` from itself or its name; ``ValueError`` names the choices."""
    return _coerce(TuningMethod, value, "tuning method")


def method_noun(method: TuningMethod | str) -> str:
    """What a method's data is called in messages ("preference examples")."""
    return _NOUNS[coerce_method(method)]


@functools.cache
def _codecs(method: TuningMethod) -> dict[DatasetFormat, Codec[Any]]:
    # Built on first use: compiling a grammar costs a little, and most programs read one kind.
    if method is TuningMethod.SUPERVISED:
        return dict(_FORMATS)
    if method is TuningMethod.PREFERENCE:
        from tuneport.datasets.formats.openai_methods import OpenAIPreferenceFormat
        from tuneport.datasets.formats.trl import TrlPreferenceFormat
        from tuneport.datasets.formats.vertex_methods import VertexPreferenceFormat

        return {
            DatasetFormat.VERTEX: VertexPreferenceFormat(),
            DatasetFormat.OPENAI: OpenAIPreferenceFormat(),
            DatasetFormat.TRL: TrlPreferenceFormat(),
            DatasetFormat.NEUTRAL: NeutralFormat(NeutralPreferenceReader()),
        }
    from tuneport.datasets.formats.openai_methods import OpenAIPromptFormat
    from tuneport.datasets.formats.trl import TrlPromptFormat
    from tuneport.datasets.formats.vertex_methods import VertexPromptFormat

    return {
        DatasetFormat.VERTEX: VertexPromptFormat(),
        DatasetFormat.OPENAI: OpenAIPromptFormat(),
        DatasetFormat.TRL: TrlPromptFormat(),
        DatasetFormat.NEUTRAL: NeutralFormat(NeutralPromptReader()),
    }


def formats_of(method: TuningMethod | str) -> tuple[DatasetFormat, ...]:
    """The formats that hold a method's data."""
    return tuple(_codecs(coerce_method(method)))


def codec_for(fmt: DatasetFormat | str, method: TuningMethod | str = TuningMethod.SUPERVISED) -> Codec[Any]:
    """The codec of a format for a method's data; ``ValueError`` when the format cannot hold it."""
    chosen, kind = coerce_format(fmt), coerce_method(method)
    codecs = _codecs(kind)
    found = codecs.get(chosen)
    if found is None:
        holds = [m for m in TuningMethod if chosen in _codecs(m)]
        raise ValueError(
            f"the {chosen} format holds {' and '.join(method_noun(m) for m in holds)}, not "
            f"{method_noun(kind)} (these are read from and written to: {', '.join(f.value for f in codecs)})"
        )
    return found


def in_memory_reader(method: TuningMethod | str) -> Any:
    """The reader of a method's examples in memory (the neutral models, or their fields as dicts)."""
    kind = coerce_method(method)
    if kind is TuningMethod.PREFERENCE:
        return NeutralPreferenceReader()
    if kind is TuningMethod.DISTILLATION:
        return NeutralPromptReader()
    return NeutralReader()


def format_for(fmt: DatasetFormat | str) -> Codec[LightExample]:
    """The codec of a format's supervised examples."""
    return codec_for(fmt)
