"""Dataset formats: one codec per format, and the lookup by name."""

from __future__ import annotations

from tuneport.datasets.formats.base import Codec, DatasetFormat, FileLayout, Gap
from tuneport.datasets.formats.gemini import GeminiCodec
from tuneport.datasets.formats.openai import OpenAICodec
from tuneport.datasets.formats.vertex import VertexCodec

__all__ = ["Codec", "DatasetFormat", "FileLayout", "Gap", "codec_for", "coerce_format", "coerce_layout"]

_CODECS: dict[DatasetFormat, Codec] = {
    DatasetFormat.GEMINI: GeminiCodec(),
    DatasetFormat.VERTEX: VertexCodec(),
    DatasetFormat.OPENAI: OpenAICodec(),
}


def coerce_format(value: DatasetFormat | str) -> DatasetFormat:
    """A :class:`DatasetFormat` from itself or its name; ``ValueError`` names the choices."""
    try:
        return DatasetFormat(value)
    except ValueError:
        choices = ", ".join(f.value for f in DatasetFormat)
        raise ValueError(f"unknown dataset format {value!r} (choose from {choices})") from None


def coerce_layout(value: FileLayout | str) -> FileLayout:
    """A :class:`FileLayout` from itself or its name."""
    try:
        return FileLayout(value)
    except ValueError:
        choices = ", ".join(f.value for f in FileLayout)
        raise ValueError(f"unknown file layout {value!r} (choose from {choices})") from None


def codec_for(fmt: DatasetFormat | str) -> Codec:
    """The codec of a format."""
    return _CODECS[coerce_format(fmt)]
