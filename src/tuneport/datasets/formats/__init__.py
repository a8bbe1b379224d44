"""Dataset formats: one grammar and one :class:`Format` per format, and the lookup by name."""

from __future__ import annotations

from tuneport.datasets.formats.base import DatasetFormat, FileLayout, Format, Gap
from tuneport.datasets.formats.gemini import GeminiFormat
from tuneport.datasets.formats.openai import OpenAIFormat
from tuneport.datasets.formats.vertex import VertexFormat

__all__ = ["DatasetFormat", "FileLayout", "Format", "Gap", "coerce_format", "coerce_layout", "format_for"]

_FORMATS: dict[DatasetFormat, Format] = {
    DatasetFormat.GEMINI: GeminiFormat(),
    DatasetFormat.VERTEX: VertexFormat(),
    DatasetFormat.OPENAI: OpenAIFormat(),
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


def format_for(fmt: DatasetFormat | str) -> Format:
    """The :class:`Format` of a format name."""
    return _FORMATS[coerce_format(fmt)]
