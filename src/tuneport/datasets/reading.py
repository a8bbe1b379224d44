"""Reading examples as pydantic objects: the public, convenient way in.

This is the only place file records become :class:`~tuneport.models.Example`
objects; validation, conversion and stats work on the light form.  Reading
stops at the first error with a :class:`~tuneport.errors.DatasetError`
naming the file, line, field and rule (validate first to see them all).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tuneport.datasets.formats import DatasetFormat
from tuneport.datasets.light import to_example
from tuneport.datasets.problems import FailFastLog
from tuneport.datasets.scanning import Scan
from tuneport.datasets.sources import DatasetSource, resolve_source
from tuneport.models import Example

__all__ = ["ExampleRecord", "read_examples", "read_records"]


@dataclass(frozen=True)
class ExampleRecord:
    """An example and where it came from."""

    #: 1-based line the record starts on (position, for in-memory examples).
    line: int
    example: Example
    #: The file path, URI, or ``<examples>``.
    source: str


def read_records(
    source: DatasetSource, *, format: DatasetFormat | str | None = None
) -> Iterator[ExampleRecord]:
    """Stream the examples of *source* with their line numbers.

    *format* overrides detection.  Raises :class:`~tuneport.errors.DatasetError`
    at the first invalid record (and for a ``gs://`` source, which cannot be
    read locally).
    """
    resolved = resolve_source(source)
    # Built eagerly, so a remote, missing or unrecognised file fails at the call, not at first next().
    scan = Scan(resolved, FailFastLog(resolved.name), format=format)
    return (
        ExampleRecord(line=line, example=to_example(light), source=resolved.name) for line, light, _ in scan
    )


def read_examples(source: DatasetSource, *, format: DatasetFormat | str | None = None) -> Iterator[Example]:
    """Stream the examples of *source* as :class:`~tuneport.models.Example` objects.

    Same as :func:`read_records` without the line numbers.
    """
    return (record.example for record in read_records(source, format=format))
